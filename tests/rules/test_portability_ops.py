"""The tf -> keras.ops table, K302's symbolic-tensor tracking and the K6xx family boundaries.

The numeric verification itself is the generator's (``scripts/generate_ops_table.py``, run on
real Keras); these tests check the committed table, the rewrite and the rules' reach.
"""
from __future__ import annotations

import ast
import json

import pytest

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import Settings
from keras_migrate.engine.fixer import fix_text
from keras_migrate.rules import rule_by_code
from keras_migrate.rules.portability import _ops

ALL = Settings(target_backends=("tensorflow", "jax", "torch"))
TF_ONLY = Settings(target_backends=("tensorflow",))
K6 = ("K601", "K602", "K603", "K604", "K605", "K606", "K607")


def findings(code: str, codes=("K302",) + K6, settings=ALL):
    eng = Engine([rule_by_code(c)() for c in codes], settings)
    res = eng.analyze(code, "t.py")
    assert not res.rule_errors, res.rule_errors
    return [(f.code, code[f.start:f.end]) for f in res.findings]


def fixed(code: str, codes=("K302",) + K6, unsafe=False):
    eng = Engine([rule_by_code(c)() for c in codes], ALL)
    return fix_text(code, lambda t: eng.analyze(t, "t.py"), unsafe=unsafe).text


# -- the table -----------------------------------------------------------------------------------
def test_table_matches_overrides():
    overrides = json.loads(_ops.OVERRIDES_PATH.read_text())["pairs"]
    names = {_ops.canonical(n) for p, spec in overrides.items() for n in [p] + spec.get("aliases", [])}
    assert names == set(_ops.table()), "ops_table.json is stale: run scripts/generate_ops_table.py"


def test_every_pair_was_verified_on_three_backends():
    for key, ent in _ops.table().items():
        for chk in ent["checks"]:
            if chk.get("ops") is None:
                assert ent["fix"] == "none", key
                continue
            for b in ("tensorflow", "jax", "torch"):
                assert b in chk, (key, b)
        if ent["safety"] == "safe":
            assert all(c[b].startswith("same") for c in ent["checks"] for b in ("tensorflow", "jax", "torch")), key
            assert not ent.get("trap"), key


def test_traps_are_unsafe_and_explained():
    t = _ops.table()
    for name in ("tensorflow.split", "tensorflow.nn.gelu", "tensorflow.math.segment_sum"):
        assert t[name]["safety"] == "unsafe" and t[name]["trap"], name
    assert "sizes" in t["tensorflow.split"]["trap"]
    assert "exact" in t["tensorflow.nn.gelu"]["trap"]
    assert "num_segments" in t["tensorflow.math.segment_sum"]["trap"]


def test_every_pair_has_an_example_run_on_all_backends():
    """Each table pair is flagged in some K601 example; those with a fix have a Run spec on
    TensorFlow, JAX and torch (segment_sum/segment_max without num_segments: TF and torch)."""
    k601 = rule_by_code("K601")
    covered, run_everywhere = set(), set()
    for ex in k601.INVALID:
        tree = ast.parse(ex.code)
        from keras_migrate.engine.resolve import Resolver
        r = Resolver(tree)
        for call, q in _ops.tf_calls(tree, r):
            covered.add(q)
            if ex.run is not None and set(ex.run.fixed_backends) == {"tensorflow", "jax", "torch"}:
                run_everywhere.add(q)
    t = _ops.table()
    assert set(t) <= covered, sorted(set(t) - covered)
    with_fix = {k for k, e in t.items() if e["safety"] != "none"}
    partial = {k for k, e in t.items() if e.get("fails_on") and
               not any(all(c.get(b, "").startswith("same") for b in ("tensorflow", "jax", "torch"))
                       for c in e["checks"])}
    assert with_fix - partial <= run_everywhere, sorted(with_fix - partial - run_everywhere)
    assert partial == {"tensorflow.math.segment_sum", "tensorflow.math.segment_max"}


# -- the rewrite -------------------------------------------------------------------------------------
@pytest.mark.parametrize("src,expected", [
    ("tf.reduce_sum(x, axis=1, keepdims=True, name='s')", "keras.ops.sum(x, axis=1, keepdims=True)"),
    ("tf.concat(v, 1)", "keras.ops.concatenate(v, 1)"),
    ("tf.transpose(x, perm=[1, 0])", "keras.ops.transpose(x, axes=[1, 0])"),
    ("tf.math.reduce_euclidean_norm(x, 1)", "keras.ops.norm(x, axis=1)"),
    ("tf.gather(x, i)", "keras.ops.take(x, i, axis=0)"),
    ("tf.math.argmax(x)", "keras.ops.argmax(x, axis=0)"),
    ("tf.cast(x, tf.float32)", 'keras.ops.cast(x, "float32")'),
    ("tf.split(x, [2, 3, 1], axis=1)", "keras.ops.split(x, [2, 5], axis=1)"),
    ("tf.split(x, 2)", "keras.ops.split(x, 2)"),
    ("tf.nn.gelu(x)", "keras.ops.gelu(x, approximate=False)"),
    ("tf.math.top_k(x, 2).values", "keras.ops.top_k(x, 2)[0]"),
    ("tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z)",
     "keras.ops.categorical_crossentropy(target=y, output=z, from_logits=True)"),
    ("tf.one_hot(i, 4, axis=0)", "keras.ops.one_hot(i, 4, axis=0)"),
    ("tf.reduce_mean(tf.nn.relu(x))", "keras.ops.mean(keras.ops.relu(x))"),
])
def test_rewrite(src, expected):
    assert _ops.rewrite_expression(src) == (expected, "")


@pytest.mark.parametrize("src", [
    "tf.split(x, sizes)",                 # sizes unknown: cannot turn them into indices
    "tf.reduce_sum(*args)",
    "tf.reduce_sum(x, **kw)",
    "tf.transpose(x, conjugate=True)",
    "tf.where(mask)",                     # one-argument form returns coordinates
    "tf.gather(x, i, batch_dims=1)",
    "tf.signal.rfft(x)",                  # (real, imag) pair: guidance only
])
def test_no_rewrite(src):
    new, why = _ops.rewrite_expression(src)
    assert new is None and why


def test_split_title_explains_the_trap():
    code = "import tensorflow as tf\nimport keras\ninp = keras.Input((4,))\na, b = tf.split(inp, [1, 3], axis=1)\n"
    eng = Engine([rule_by_code("K302")()], ALL)
    (f,) = eng.analyze(code, "t.py").findings
    assert f.fix_applicability.value == "unsafe" and "sizes" in f.fix_title and "indices" in f.fix_title
    code2 = code.replace("[1, 3]", "2")
    (f2,) = eng.analyze(code2, "t.py").findings
    assert f2.fix_applicability.value == "safe"


# -- K302 follows symbolic tensors ------------------------------------------------------------------
SYMBOLIC = """
import numpy as np
import tensorflow as tf
import keras
from keras import layers

inp = keras.Input((4,))
dense = layers.Dense(3)
h = dense(inp)
h = tf.nn.relu(h)
a, b = tf.split(h, 3, axis=1)
for t in tf.unstack(a, axis=1):
    h = h + tf.expand_dims(t, -1)
h += tf.square(b)
both = [h, inp]
merged = tf.concat(both, axis=-1) if True else None
eager = tf.reduce_sum(np.ones((2, 3), "float32"))
h = np.ones((2, 3), "float32")
late = tf.reduce_sum(h)


def block(x):
    return tf.nn.relu(x)


out = block(layers.Dense(1)(merged))
"""


def test_k302_follows_symbolic_tensors():
    got = [t for c, t in findings(SYMBOLIC, ("K302",))]
    # block(x) is called with a symbolic tensor, so its tf.nn.relu raises too
    assert got == ["tf.nn.relu", "tf.split", "tf.unstack", "tf.expand_dims", "tf.square", "tf.concat", "tf.nn.relu"]


def test_k302_helper_functions_and_methods():
    code = """
import numpy as np
import tensorflow as tf
import keras


def conv_block(x, units):
    x = keras.layers.Dense(units)(x)
    return tf.nn.relu(x)


def head(t, scale=1.0):
    return tf.reduce_sum(t, axis=-1) * scale


def eager_only(t):
    return tf.reduce_mean(t)


class Block(keras.layers.Layer):
    def call(self, inputs):
        return tf.nn.relu(inputs)


inp = keras.Input((4,))
h = conv_block(inp, 8)
out = head(t=h)
m = eager_only(np.ones(3))
y = Block()(h)
"""
    assert findings(code, ("K302",)) == [("K302", "tf.nn.relu"), ("K302", "tf.reduce_sum")]


def test_k302_model_and_nested_calls():
    code = """
import tensorflow as tf
import keras

def build():
    inp = keras.layers.Input(shape=(3,))
    base = keras.Model(inp, keras.layers.Dense(2)(inp))
    y = base(inp)
    return keras.Model(inp, tf.reduce_mean(tf.nn.softmax(y * 2.0), axis=-1))
"""
    assert [t for c, t in findings(code, ("K302",))] == ["tf.reduce_mean", "tf.nn.softmax"]


# -- one name, one diagnostic -----------------------------------------------------------------------
def test_families_never_flag_the_same_name():
    code = """
import tensorflow as tf
import keras


class Block(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d = keras.layers.Dense(2, activation=tf.nn.relu)

    @tf.function
    def call(self, x):
        inp = keras.Input((2,))
        sym = tf.nn.relu(inp)
        noise = tf.random.normal(tf.shape(x), seed=1) + keras.random.normal((1,), seed=2)
        return tf.reduce_sum(self.d(x) + noise)


class Net(keras.Model):
    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(data)
        return {}


lam = keras.layers.Lambda(lambda t: tf.nn.relu(t))
"""
    got = findings(code)
    spans = [t for c, t in got]
    assert len(set((c, t) for c, t in got)) == len(got)
    by_code = {}
    for c, t in got:
        by_code.setdefault(c, []).append(t)
    assert by_code == {
        "K302": ["tf.nn.relu"],
        "K601": ["tf.shape", "tf.reduce_sum", "tf.reduce_mean", "tf.nn.relu"],
        "K602": ["tf.GradientTape()"],
        "K603": ["tf.random.normal"],
        "K604": ["keras.random.normal((1,), seed=2)"],
        "K605": ["tf.function"],
        "K606": ["tf.nn.relu"],
    }, by_code
    assert spans.count("tf.nn.relu") == 3  # three different calls/values, one rule each


def test_portability_rules_are_off_for_tensorflow_only_projects():
    code = """
import tensorflow as tf
import keras

class Block(keras.layers.Layer):
    def call(self, x):
        return tf.reduce_sum(tf.random.normal((2,))) + keras.random.normal((1,), seed=1)

layer = keras.layers.Dense(2, activation=tf.nn.relu)
inp = keras.Input((2,))
out = tf.nn.relu(inp)
"""
    assert findings(code, settings=TF_ONLY) == [("K302", "tf.nn.relu")]


def test_fixes_reach_a_fixed_point_together():
    code = """
import tensorflow as tf
import keras


class Block(keras.layers.Layer):
    def call(self, x):
        h = tf.concat([x, tf.nn.relu(x)], axis=-1)
        return tf.reduce_mean(h, -1) + tf.random.uniform((1,), seed=3)


inp = keras.Input((4,))
out = tf.nn.softmax(Block()(inp))
"""
    out = fixed(code, unsafe=True)
    assert "tf." not in out and "import tensorflow" not in out
    assert "self.seed_generator = keras.random.SeedGenerator(3)" in out
    assert "keras.ops.softmax(Block()(inp))" in out
    assert fixed(out, unsafe=True) == out


@pytest.mark.conformance
def test_ops_table_is_current_on_real_keras():
    """Re-verifies every pair on TensorFlow, JAX and torch and compares with the committed table."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    if not (root / ".venv-keras" / "bin" / "python").exists():
        pytest.fail("the Keras stack (.venv-keras) is missing: run scripts/setup-keras-env.sh")
    proc = subprocess.run([sys.executable, str(root / "scripts" / "generate_ops_table.py"), "--check"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
