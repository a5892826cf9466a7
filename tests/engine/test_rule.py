"""engine/rule.py: the rule format is enforced when a rule class is defined (code, name,
message, the six doc sections, VALID and INVALID examples, a fixed example for a fixable rule)."""
from __future__ import annotations

import pytest

from keras_migrate.engine.model import Applicability
from keras_migrate.engine.rule import DOC_SECTIONS, Invalid, Rule, RuleDefinitionError, Valid
from keras_migrate.rules import rule_by_code

DOC = "Flags x.\n\n" + "\n\n".join(f"## {s}\ntext" for s in DOC_SECTIONS)


def _define(**attrs):
    ns = {"code": "K999", "name": "some-rule", "message": "m", "__doc__": DOC,
          "VALID": [Valid("x = 1\n")], "INVALID": [Invalid("x = 2\n")], **attrs}
    return type("R", (Rule,), ns)


def test_a_well_formed_rule_is_accepted():
    R = _define()
    assert R.summary() == "Flags x." and R.anchor() == "k999-some-rule"
    assert list(R.doc_sections())[1:] == list(DOC_SECTIONS)


@pytest.mark.parametrize("attrs,problem", [
    ({"code": "K99"}, r"K \+ 3 digits"),
    ({"name": "Some_Rule"}, "kebab-case"),
    ({"message": ""}, "message missing"),
    ({"__doc__": "Flags x.\n\n## What it does\ntext"}, "doc lacks sections"),
    ({"VALID": []}, "VALID and INVALID"),
    ({"fix": Applicability.SAFE}, "fixed code"),
])
def test_a_malformed_rule_is_refused_at_definition(attrs, problem):
    with pytest.raises(RuleDefinitionError, match=problem):
        _define(**attrs)


def test_examples_are_dedented_and_a_real_rules_doc_has_every_section():
    assert Invalid("\n    x = 1\n", flagged="x").code == "x = 1\n" and Invalid("x", flagged="x").flagged == ("x",)
    sections = rule_by_code("K101").doc_sections()
    assert all(sections.get(s) for s in DOC_SECTIONS)
