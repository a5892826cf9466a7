"""Cross-rule ownership is settled against the *enabled* rules (ruff's ``checker.enabled``).

A rule that leaves a pattern to another rule ("K201 reports ``save_format``") must report it
itself when that rule is ignored or not selected: ``--ignore K201`` or ``--select K5`` on
``model.save("out", save_format="tf")`` used to say "All checks passed!".

The global check runs every rule's examples (INVALID and VALID) through the whole registry:
- *greedy*: every rule, with no owner enabled - what each rule reports when it defers to nobody;
- under the default config, each single-family ``select`` (``K1`` ... ``K9``, as ``--select``
  takes them) and each single-rule ``ignore`` (every rule that reports here, or whose enabled
  state a rule asked about): every range is reported by exactly one enabled rule - no range
  by two (every example), and on an INVALID example every range a greedy enabled rule
  reports is still reported, by some enabled rule on that range or by an enabled owner it
  defers to (nothing silently lost).
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from keras_migrate.config import Config, rule_enabled
from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import FileContext
from keras_migrate.engine.testing import settings_for
from keras_migrate.rules import all_rules

RULES = all_rules()
CODES = [r.code for r in RULES]
FAMILIES = sorted({c[:2] for c in CODES})
EXAMPLES = [(r, kind, i, ex) for r in RULES for kind, examples in (("invalid", r.INVALID), ("valid", r.VALID))
            for i, ex in enumerate(examples)]
IDS = [f"{r.code}-{kind}-{i}" for r, kind, i, _ in EXAMPLES]


def _config(example, **kw) -> Config:
    s = settings_for(example)
    return Config(target_backends=s.target_backends, keras_version=s.keras_version, **kw)


def _findings(example, rules, enabled=None):
    res = Engine([r() for r in rules], settings_for(example), enabled=enabled).analyze(example.code, example.path)
    assert not res.rule_errors, res.rule_errors
    return res.findings


def _asked(example) -> set:
    """The codes rules ask ``ctx.enabled`` about on this example (their decisions' inputs)."""
    asked = set()
    real = FileContext.enabled

    def spy(self, code):
        asked.add(code)
        return real(self, code)
    FileContext.enabled = spy
    try:
        _findings(example, RULES)
    finally:
        FileContext.enabled = real
    return asked


def _under(example, cfg):
    on = [r for r in RULES if rule_enabled(r, cfg)]
    return {r.code for r in on}, _findings(example, on)


def _overlaps(f, found) -> bool:
    return any(g.start < f.end and f.start < g.end or (g.start, g.end) == (f.start, f.end) for g in found)


def _lost(example, greedy, on, found):
    """Greedy findings of enabled rules that no enabled rule reports: neither a finding on an
    overlapping range nor an enabled owner that reports in the file and without which the
    rule reports it (K201 flags the path of ``model.save(path, save_format=...)``, K103 the
    import a later use comes from: one pattern, one diagnostic)."""
    out = []
    for f in greedy:
        if f.code not in on or _overlaps(f, found):
            continue
        owners = {g.code for g in found} - {f.code}
        if any((f.code, f.start, f.end) in {(h.code, h.start, h.end) for h in _findings(
                example, [r for r in RULES if r.code in on - {q}])} for q in owners):
            continue
        out.append((f.code, f.start, f.end))
    return out


def configs_for(example, greedy) -> list:
    """(name, Config): the default, each single-family select, each single-rule ignore that
    can change a decision here."""
    out = [("default", _config(example))]
    out += [(f"select {fam}", _config(example, select=(fam,))) for fam in FAMILIES]
    codes = {f.code for f in greedy} | (_asked(example) & set(CODES))
    out += [(f"ignore {c}", _config(example, ignore=(c,))) for c in sorted(codes)]
    return out


@pytest.mark.parametrize("rule,kind,i,example", EXAMPLES, ids=IDS)
def test_every_range_reported_by_exactly_one_enabled_rule(rule, kind, i, example):
    greedy = _findings(example, RULES, enabled=())
    problems = []
    for name, cfg in configs_for(example, greedy):
        on, found = _under(example, cfg)
        # a VALID example is its rule's verdict that the code is fine: a rule deferring to it
        # rightly says nothing there (K502 leaves a legacy `.h5` file's `by_name=` to K203)
        lost = _lost(example, greedy, on, found) if kind == "invalid" else []
        problems += [f"{name}: reported by no enabled rule: {c} {example.code[s:e]!r}" for c, s, e in lost]
        if kind == "invalid" and rule.code in on and not found:
            problems.append(f"{name}: {rule.code}'s example flagged by no enabled rule")
        by_range: dict = {}
        for f in found:
            by_range.setdefault((f.start, f.end), set()).add(f.code)
        problems += [f"{name}: reported by more than one enabled rule: {example.code[s:e]!r} {sorted(c)}"
                     for (s, e), c in by_range.items() if len(c) > 1]
    assert not problems, "\n".join(problems)


SAVE = 'import keras\nmodel = keras.Sequential()\nmodel.save("out", save_format="tf")\n'


@pytest.mark.parametrize("args", [[], ["--ignore", "K201"], ["--select", "K5"]])
def test_save_format_reported_whichever_rules_are_on(tmp_path, args):
    (tmp_path / "m.py").write_text(SAVE)
    out = subprocess.run([sys.executable, "-m", "keras_migrate", "check", "--no-cache", *args, "m.py"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "save_format" in out.stdout and "All checks passed" not in out.stdout
    assert ("K201" in out.stdout) == (not args)


# decisions found by the global check above once routed through ctx.enabled (each was a
# skip settled against the registry): K202 left a load of a path that K201 renames with
# its save to K201 even with K201 off; K101 left a `tensorflow.keras` import of names Keras
# 3 lacks to K501 even with K501 off
LOAD = 'import keras\nmodel = keras.Sequential()\nmodel.save("out")\nm = keras.models.load_model("out")\n'
REDUCTION = "from tensorflow.keras.losses import Reduction\nr = Reduction.SUM\n"


@pytest.mark.parametrize("text,args,line,code", [
    (LOAD, [], "m.py:4:29:", "K201"),
    (LOAD, ["--ignore", "K201"], "m.py:4:29:", "K202"),
    (LOAD, ["--select", "K202"], "m.py:4:29:", "K202"),
    (REDUCTION, [], "m.py:2:5:", "K501"),
    (REDUCTION, ["--ignore", "K501"], "m.py:1:1:", "K101"),
    (REDUCTION, ["--select", "K1"], "m.py:1:1:", "K101"),
])
def test_a_deferred_pattern_is_reported_by_whichever_rule_is_on(tmp_path, text, args, line, code):
    (tmp_path / "m.py").write_text(text)
    out = subprocess.run([sys.executable, "-m", "keras_migrate", "check", "--no-cache", *args, "m.py"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"{line} {code}" in out.stdout, out.stdout


def _other_codes_and_asks(path):

    """Rule codes a rules/ module names besides its own ``code = ...``, and whether it asks
    the enabled set (``ctx.enabled(...)`` or ``owned_by(ctx, ...)``)."""
    import ast
    import re
    tree = ast.parse(path.read_text())
    own = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
           and any(isinstance(t, ast.Name) and t.id == "code" for t in n.targets)}
    codes = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in own
             and isinstance(n.value, str) and re.fullmatch(r"K\d{3}", n.value)}
    asks = any(isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Attribute) and n.func.attr == "enabled")
        or (isinstance(n.func, ast.Name) and n.func.id == "owned_by" and n.args
            and isinstance(n.args[0], ast.Name) and n.args[0].id == "ctx")) for n in ast.walk(tree))
    return codes, asks


def test_every_module_naming_another_rule_asks_the_enabled_set():
    """The global check above sees only decisions that go through ``ctx.enabled``; a table
    of owners settled against the registry (or nothing) is invisible to it, so: a module
    that names another rule's code must ask whether that rule is enabled."""
    from pathlib import Path
    import keras_migrate.rules as pkg
    root = Path(pkg.__file__).parent
    bad = []
    for p in sorted(root.rglob("*.py")):
        codes, asks = _other_codes_and_asks(p)
        if codes and not asks:
            bad.append(f"{p.relative_to(root)}: {sorted(codes)}")
    assert not bad, "names other rules without asking ctx.enabled: " + "; ".join(bad)
