"""Every reference the docs make to a file resolves to a file in the repository.

The rule docs used to cite ``keras3-facts.md``, which the repository did not contain
(18 times in docs/rules.md, and in ``keras-migrate rule``). Checked here:
- markdown links ``[text](target)`` in ``docs/**/*.md`` (relative to the document);
- every file name ending in ``.md`` that ``docs/**/*.md`` mentions (relative to the document
  or to the repository root);
- the non-URL items of each rule's ``## References`` (relative to the repository root);
and a ``#anchor`` into a markdown file names one of its headings (GitHub's slugs).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from keras_migrate.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").rglob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# names of files the tool writes, not references (docs/ci.md: the report next to the outputs)
WRITTEN = {"keras-migrate-report.md"}
MD_NAME = re.compile(r"(?<![\w/.-])((?:\.\.?/)?[\w./-]*[\w-]\.md(?:#[\w-]+)?)(?![\w/-])")


def _slug(heading: str) -> str:
    h = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return h.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")}


def _problem(target: str, bases: list[Path]) -> str | None:
    name, _, anchor = target.partition("#")
    if not name:
        return None
    for base in bases:
        p = (base / name).resolve()
        if p.is_file() and ROOT in p.parents:
            if anchor and p.suffix == ".md" and anchor not in _anchors(p):
                return f"{target}: no heading #{anchor} in {p.relative_to(ROOT)}"
            return None
    return f"{target}: no such file in the repository"


def _external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target) is not None


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_doc_references_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    refs = [t for t in LINK.findall(text) if not _external(t) and not t.startswith("#")]
    linked = set(refs)
    for line in text.splitlines():
        if "http://" in line or "https://" in line:
            line = re.sub(r"https?://\S+", "", line)
        refs += [m for m in MD_NAME.findall(line) if m not in linked and m not in WRITTEN]
    bad = [p for p in (_problem(t, [doc.parent, ROOT]) for t in refs) if p]
    assert not bad, f"{doc.relative_to(ROOT)}: " + "; ".join(sorted(set(bad)))


def _references(doc: str) -> list[str]:
    out, on = [], False
    for line in doc.splitlines():
        s = line.strip()
        if s.startswith("## "):
            on = s == "## References"
        elif on and s.startswith("- "):
            out.append(s[2:])
    return out


RULES = all_rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_references_resolve(rule):
    refs = _references(rule.__doc__ or "")
    assert refs, f"{rule.code} has no references"
    bad = []
    for ref in refs:
        if _external(ref.split()[0]):
            continue
        target = re.split(r"[\s,;]", ref)[0].strip("`")
        bad.append(_problem(target, [ROOT]) if re.search(r"\.\w+(#|$)", target)
                   else f"{ref!r}: neither a URL nor a path in the repository")
    bad = [b for b in bad if b]
    assert not bad, f"{rule.code}: " + "; ".join(bad)
