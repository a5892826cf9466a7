"""The migration report analyses each file once whatever the number of target backends, and
says exactly what one analysis per backend said (``file_record_per_backend``, the reference);
it runs on the CLI's pool with the same data as in one process, and stops when cancelled."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from keras_migrate import batch, report
from keras_migrate.config import Config
from keras_migrate.rules import all_rules
from keras_migrate.service import Linter

RULES = all_rules()
EXAMPLES = sorted({ex.code for r in RULES for ex in (*r.VALID, *r.INVALID)})
CONFIGS = {
    "default": Config(),
    "jax": Config(target_backends=("jax",)),
    "tf+torch": Config(target_backends=("tensorflow", "torch")),
    "all-selected": Config(select=("K",), extend_select=tuple(r.code for r in RULES)),
    "portability-named-on-tf": Config(extend_select=("K601", "K603")),   # one analysis cannot say it
    "ignores": Config(ignore=("K1",), per_file_ignores=(("*.py", ("K3",)),)),
    "old-keras": Config(keras_version="3.0.0"),
}


SENSITIVE = {r.code for r in RULES if report.backend_sensitive(r)}
# their own small runs also enable the rules they may defer to (ownership as in the full run)
SMALL = SENSITIVE | {c for r in RULES if r.code in SENSITIVE for c in report._named_codes(r)}


class Counting:
    """Linters that count analyses: ``analyses`` all of them, ``full`` those that run more
    than the few rules that read the exact target backends (``report.backend_sensitive``)."""

    def __init__(self):
        self.linters: dict = {}
        self.analyses = 0
        self.full = 0

    def __call__(self, cfg):
        lin = self.linters.get(cfg)
        if lin is None:
            lin = self.linters[cfg] = Linter(cfg, RULES)
            inner = lin.check_source

            small = cfg.select is not None and set(cfg.select) <= SMALL

            def counted(*a, _inner=inner, _small=small, **k):
                self.analyses += 1
                self.full += not _small
                return _inner(*a, **k)

            lin.check_source = counted
        return lin


@pytest.mark.parametrize("name", list(CONFIGS))
def test_one_analysis_says_what_one_per_backend_said(tmp_path, name):
    cfg = CONFIGS[name]
    once, per = Counting(), Counting()
    compared = single = 0
    texts = EXAMPLES + [EXAMPLES[0] + "\nx = 1  # noqa: K102, K601\n"]
    for i, text in enumerate(texts):
        path = tmp_path / f"e{i}.py"
        path.write_text(text, encoding="utf-8")
        before = once.full
        got = report.file_record(once, cfg, path, path.name)
        assert got == report.file_record_per_backend(per, cfg, path, path.name), text
        compared += 1
        single += once.full - before == 1
    assert compared == len(texts)
    if name in ("portability-named-on-tf", "all-selected"):   # portability rules named, a TF target
        assert single == 0          # every file falls back to one analysis per configuration
    else:
        # files with a noqa comment fall back (K900 judges them by the enabled rules)
        assert single >= sum("noqa" not in t.lower() for t in texts) > 250
        assert per.full > once.full
        # the rules that read the exact targets are few, and K608 is one of them
        assert "K608" in SENSITIVE and len(SENSITIVE) <= 5


def test_report_on_the_pool_equals_the_report_in_one_process(tmp_path, capsys):
    from keras_migrate.cli import main
    for i, text in enumerate(EXAMPLES[:40]):
        (tmp_path / f"e{i:03d}.py").write_text(text, encoding="utf-8")
    (tmp_path / "bad.py").write_bytes(b"x = \"\xff\xfe\"\n")   # not UTF-8: listed as a problem
    outs = []
    for jobs in ("1", "2"):
        main(["report", str(tmp_path), "--format", "json", "--jobs", jobs])
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0] == outs[1]
    assert outs[0]["files"] == 41 and outs[0]["problems"] and outs[0]["perRule"]


def test_cancel_stops_the_scan_and_says_so(tmp_path):
    for i, text in enumerate(EXAMPLES[:30]):
        (tmp_path / f"e{i:03d}.py").write_text(text, encoding="utf-8")
    seen = []

    def progress(done, total, name):
        seen.append((done, total))

    data = report.scan([tmp_path], lambda p: Config(root=str(tmp_path)), lambda c, p: Linter(c, RULES),
                       progress, cancelled=lambda: len(seen) > 5)
    assert data["cancelled"] is True
    assert 0 < len(data["records"]) < 30 and data["files"] == 30
    assert all(t == 30 for _, t in seen)
    full = report.scan([tmp_path], lambda p: Config(root=str(tmp_path)), lambda c, p: Linter(c, RULES))
    assert "cancelled" not in full and len(full["records"]) == 30
    # on the pool too
    data = report.scan([tmp_path], lambda p: Config(root=str(tmp_path)), lambda c, p: Linter(c, RULES),
                       progress, cancelled=lambda: len(seen) > 8, options=batch.Options(jobs=2))
    assert data["cancelled"] is True and len(data["records"]) < 30
