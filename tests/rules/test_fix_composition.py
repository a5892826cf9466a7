"""Every default rule's fixes applied together (as `keras-migrate fix --unsafe-fixes` does)
compose into a program whose imports Keras 3 has.

Each rule's own examples run with that rule alone (tests/test_rule_examples.py); the
failures of issue 13 came from fixes that were each right and wrong together (an import
rewritten to ``keras`` while another rule rewrote its uses). tests/conformance/
test_composition.py runs the same cases on real Keras 2 and Keras 3.
"""
from __future__ import annotations

import pytest

from composition_cases import CASES, compose, keras_imports_missing


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_fixes_compose(case):
    got = compose(case["code"], case["backends"])
    assert got == case["fixed"], got
    assert keras_imports_missing(got) == []


def test_the_import_check_finds_a_missing_name():
    # the check above cannot pass vacuously
    assert keras_imports_missing("from keras.losses import MeanSquaredError, Reduction\n") == [
        "keras.losses.Reduction"]
    assert keras_imports_missing("from keras.layers import Dense\nimport keras.ops\n") == []
