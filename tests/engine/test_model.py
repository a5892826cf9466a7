"""engine/model.py: the finding and fix model (applicability, edit overlap, lazy fixes)."""
from __future__ import annotations

from keras_migrate.engine.model import Applicability, Edit, Finding, Fix, Position, Range, Severity


def test_applicability_allowed():
    assert Applicability.SAFE.allowed(False) and Applicability.SAFE.allowed(True)
    assert not Applicability.UNSAFE.allowed(False) and Applicability.UNSAFE.allowed(True)
    assert not Applicability.DISPLAY.allowed(True)


def test_edit_overlap():
    assert Edit(0, 5, "").overlaps(Edit(4, 6, ""))
    assert not Edit(0, 5, "").overlaps(Edit(5, 6, ""))          # touching replacements
    assert Edit(3, 3, "a").overlaps(Edit(3, 3, "b"))            # two insertions at one point
    assert Edit(3, 3, "a").overlaps(Edit(1, 5, ""))             # an insertion inside a replacement
    assert not Edit(5, 5, "a").overlaps(Edit(1, 5, ""))         # ... at its end


def _finding(factory, applicability=Applicability.SAFE):
    r = Range(Position(0, 0), Position(0, 1))
    return Finding("K101", "x", "m", Severity.WARNING, 0, 1, r, fix_title="t", fix_applicability=applicability,
                   fix_factory=factory)


def test_a_fix_is_built_once_on_demand_and_a_broken_one_is_none():
    calls = []
    f = _finding(lambda: calls.append(1) or Fix("t", Applicability.SAFE, (Edit(0, 1, "y"),)))
    assert calls == [] and f.has_fix and f.fixable()
    assert f.fix() is f.fix() and calls == [1]
    assert _finding(lambda: 1 / 0).fix() is None
    unsafe = _finding(lambda: None, Applicability.UNSAFE)
    assert not unsafe.fixable() and unsafe.fixable(unsafe=True)
