"""engine/testing.py: a rule's VALID/INVALID examples as checks; they fail when an example is
wrong (the rule examples' test, tests/test_rule_examples.py, relies on it)."""
from __future__ import annotations

import dataclasses

import pytest

from keras_migrate.engine.testing import check_invalid, check_valid, fixed_code
from keras_migrate.rules import rule_by_code

RULE = rule_by_code("K102")


def test_a_rules_own_examples_pass():
    for ex in RULE.VALID:
        check_valid(RULE, ex)
    for ex in RULE.INVALID:
        check_invalid(RULE, ex)


def test_a_flagged_valid_example_fails():
    with pytest.raises(AssertionError, match="VALID example flagged"):
        check_valid(RULE, dataclasses.replace(RULE.VALID[0], code=RULE.INVALID[0].code))


def test_a_wrong_flagged_text_or_fixed_code_fails():
    ex = RULE.INVALID[0]
    with pytest.raises(AssertionError, match="flagged"):
        check_invalid(RULE, dataclasses.replace(ex, flagged=("nothing like it",)))
    if ex.fixed is not None:
        assert fixed_code(RULE, ex) == ex.fixed
        with pytest.raises(AssertionError, match="fixed code differs"):
            check_invalid(RULE, dataclasses.replace(ex, fixed=ex.fixed + "# more\n"))
