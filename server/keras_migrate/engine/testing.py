"""Turns a rule's VALID/INVALID examples into checks (used by the parametrized test)."""
from __future__ import annotations

import ast
from typing import Optional

from .analyze import Engine
from .catalog import known_codes
from .context import Settings
from .fixer import fix_text
from .rule import Invalid, Rule, Valid


def settings_for(example) -> Settings:
    cfg = dict(example.config)
    return Settings(target_backends=tuple(cfg.get("target_backends", ("tensorflow", "jax", "torch"))),
                    keras_version=cfg.get("keras_version", "3.15.1"),
                    unsafe_fixes=getattr(example, "unsafe", False))


def engine_for(rule_cls: type[Rule], example, workspace=None) -> Engine:
    """The rule alone, with ownership settled as under the default config: the rules it
    defers to count as on (tests/rules/test_ownership.py checks what happens when not)."""
    return Engine([rule_cls()], settings_for(example), workspace=workspace,
                  enabled=known_codes())  # the rule set's codes, installed by its registry


def check_valid(rule_cls: type[Rule], example: Valid, workspace=None) -> None:
    res = engine_for(rule_cls, example, workspace).analyze(example.code, example.path)
    assert res.error is None, f"VALID example does not parse: {res.error}"
    assert not res.rule_errors, res.rule_errors
    assert not res.findings, "VALID example flagged: " + "; ".join(
        f"{f.code} {example.code[f.start:f.end]!r}" for f in res.findings)


def fixed_code(rule_cls: type[Rule], example: Invalid, unsafe: Optional[bool] = None, workspace=None) -> str:
    eng = engine_for(rule_cls, example, workspace)
    out = fix_text(example.code, lambda t: eng.analyze(t, example.path),
                   unsafe=example.unsafe if unsafe is None else unsafe)
    return out.text


def check_invalid(rule_cls: type[Rule], example: Invalid, workspace=None) -> None:
    eng = engine_for(rule_cls, example, workspace)
    res = eng.analyze(example.code, example.path)
    assert res.error is None, f"INVALID example does not parse: {res.error}"
    assert not res.rule_errors, res.rule_errors
    got = [f for f in res.findings if f.code == rule_cls.code]
    assert got, f"{rule_cls.code} did not flag:\n{example.code}"
    if example.flagged:
        texts = tuple(example.code[f.start:f.end] for f in got)
        assert texts == tuple(example.flagged), f"flagged {texts}, expected {example.flagged}"
    out = fix_text(example.code, lambda t: eng.analyze(t, example.path), unsafe=example.unsafe)
    assert not out.failed, out.failed
    if example.fixed is None:
        assert out.text == example.code, f"no fix expected, got:\n{out.text}"
        return
    assert out.text == example.fixed, f"fixed code differs:\n--- got ---\n{out.text}\n--- expected ---\n{example.fixed}"
    ast.parse(out.text)
    again = fix_text(out.text, lambda t: eng.analyze(t, example.path), unsafe=example.unsafe)
    assert again.text == out.text, "a second fix changed the code again"
