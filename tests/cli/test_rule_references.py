"""``keras-migrate rule CODE`` prints the rule's references: each is a URL or a path in this
repository that exists (a ``#anchor`` into a markdown file names one of its headings).  The
rule docs once cited a ``keras3-facts.md`` the repository did not have."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from keras_migrate.cli import main
from keras_migrate.rules import all_rules

ROOT = Path(__file__).resolve().parents[2]
CODES = [r.code for r in all_rules()]


def _slug(heading: str) -> str:   # GitHub's heading anchors
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def printed_references(capsys, code: str) -> list[str]:
    rc = main(["rule", code])
    out = capsys.readouterr().out
    assert rc == 0
    refs, on = [], False
    for line in out.splitlines():
        if line.startswith("## "):
            on = line.strip() == "## References"
        elif on and line.strip().startswith("- "):
            refs.append(line.strip()[2:])
    return refs


@pytest.mark.parametrize("code", CODES)
def test_rule_prints_references_that_exist(capsys, code):
    refs = printed_references(capsys, code)
    assert refs, f"`keras-migrate rule {code}` prints no references"
    bad = []
    for ref in refs:
        target = re.split(r"[\s,;]", ref)[0].strip("`")
        if re.match(r"^https?://", target):
            continue
        name, _, anchor = target.partition("#")
        path = (ROOT / name).resolve()
        if not (path.is_file() and ROOT in path.parents):
            bad.append(f"{ref!r}: not a URL and not a file in the repository")
        elif anchor and path.suffix == ".md":
            headings = {_slug(l.lstrip("#")) for l in path.read_text(encoding="utf-8").splitlines() if l.startswith("#")}
            if anchor not in headings:
                bad.append(f"{ref!r}: {name} has no heading #{anchor}")
    assert not bad, bad


def test_the_research_notes_are_cited(capsys):
    """The references do point into the repository (rules citing only URLs would pass the
    test above without it checking a path)."""
    local = [r for code in CODES for r in printed_references(capsys, code) if not r.startswith("http")]
    assert sum("docs/research/keras3-facts.md#" in r for r in local) >= 10, local
