"""The K3xx family as a whole: no two of its rules flag the same range, guide patterns are off
by default with a release range, and layer detection reaches across workspace files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import Settings
from keras_migrate.engine.model import Severity
from keras_migrate.engine.workspace import WorkspaceIndex
from keras_migrate.rules import all_rules, rule_by_code

MINE = ("K301", "K303", "K304", "K305", "K306", "K307", "K308", "K309", "K310", "K311")
GUIDE_ONLY = ("K306", "K310", "K311")        # no longer break on Keras 3.15.1
# measured on every 3.x release: docs/research/keras-version-ranges.md (K311: never an error)
RANGES = {"K306": ("3.0.0", "3.4.0"), "K310": ("3.0.0", "3.13.0"), "K311": None}
SILENT = ("K301", "K303")                   # silent behaviour changes: ERROR
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "workspace"


def _rules():
    return [rule_by_code(c) for c in MINE]


def test_all_registered():
    codes = {r.code for r in all_rules()}
    assert set(MINE) <= codes


@pytest.mark.parametrize("code", GUIDE_ONLY)
def test_guide_patterns_are_off_by_default_with_a_range(code):
    rule = rule_by_code(code)
    assert rule.default_enabled is False
    assert rule.keras_versions == RANGES[code]
    assert rule.severity == Severity.INFO


@pytest.mark.parametrize("code", SILENT)
def test_silent_changes_are_errors(code):
    assert rule_by_code(code).severity == Severity.ERROR


def test_no_two_layer_rules_flag_the_same_range():
    engine = Engine([r() for r in _rules()], Settings(target_backends=("tensorflow", "jax", "torch")))
    for rule in _rules():
        for ex in rule.INVALID:
            res = engine.analyze(ex.code, ex.path)
            spans: dict[tuple[int, int], str] = {}
            for f in res.findings:
                other = spans.setdefault((f.start, f.end), f.code)
                assert other == f.code, f"{other} and {f.code} both flag {ex.code[f.start:f.end]!r}"


def test_layer_rules_see_workspace_base_classes(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    (root / "layers_user.py").write_text(
        "import tensorflow as tf\n"
        "from pkg.base import BaseLayer\n"
        "from models import build_model\n\n"
        "class Gate(BaseLayer):\n"
        "    def build(self, input_shape):\n"
        "        dim = input_shape.as_list()[-1]\n"
        "        self.k = self.add_weight('kernel', shape=(dim,))\n\n"
        "    def call(self, x):\n"
        "        if tf.reduce_sum(x) > 0:\n"
        "            return [x, None]\n"
        "        return x\n\n"
        "model = build_model()\n"
        "model.reset_states()\n"
        "print(model.layers[0].output_shape)\n")
    path = root / "layers_user.py"
    text = path.read_text()
    engine = Engine([r() for r in _rules()], Settings(), workspace=WorkspaceIndex(str(root), timeout_s=30))
    got = {(f.code, text[f.start:f.end]) for f in engine.analyze(text, str(path)).findings}
    assert got == {
        ("K307", "input_shape.as_list()"),
        ("K308", "'kernel'"),
        ("K303", "tf.reduce_sum(x) > 0"),
        ("K304", "[x, None]"),
        ("K309", "model.reset_states()"),
        ("K309", "model.layers[0].output_shape"),
    }
    # without the workspace index nothing about the class is known, and nothing is guessed
    bare = {f.code for f in Engine([r() for r in _rules()], Settings()).analyze(text, str(path)).findings}
    assert bare == set()
