"""Every rule's own examples are its tests: diagnostics (code and range), fixed code, that
the fixed code parses, and that a second fix changes nothing."""
import pytest

from keras_migrate.engine.testing import check_invalid, check_valid
from keras_migrate.rules import all_rules

VALID = [(r, i, ex) for r in all_rules() for i, ex in enumerate(r.VALID)]
INVALID = [(r, i, ex) for r in all_rules() for i, ex in enumerate(r.INVALID)]


@pytest.mark.parametrize("rule,i,example", VALID, ids=[f"{r.code}-valid-{i}" for r, i, _ in VALID])
def test_valid_example(rule, i, example):
    check_valid(rule, example)


@pytest.mark.parametrize("rule,i,example", INVALID, ids=[f"{r.code}-invalid-{i}" for r, i, _ in INVALID])
def test_invalid_example(rule, i, example):
    check_invalid(rule, example)


def test_registry_has_rules():
    codes = [r.code for r in all_rules()]
    assert len(codes) == len(set(codes))
    assert "K101" in codes and "K102" in codes
