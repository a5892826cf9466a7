"""engine/resolve.py: import-aware resolution of dotted names to canonical Keras/TensorFlow names."""
from __future__ import annotations

import ast

from keras_migrate.engine.resolve import Resolver, canonicalize

CODE = ("import tensorflow as tf\nfrom tensorflow import keras as K\nimport numpy as np\n"
        "a = tf.keras.layers.Dense\nb = K.optimizers.Adam\nc = np.zeros\nd = tf.constant\ne = undefined.x\n")


def _values():
    tree = ast.parse(CODE)
    return Resolver(tree), {s.targets[0].id: s.value for s in tree.body if isinstance(s, ast.Assign)}


def test_aliases_resolve_to_canonical_names():
    r, v = _values()
    assert r.qualname(v["a"]) == "keras.layers.Dense" and r.raw(v["a"]) == "tensorflow.keras.layers.Dense"
    assert r.qualname(v["b"]) == "keras.optimizers.Adam"
    assert r.resolve(v["a"]).is_keras and not r.resolve(v["a"]).is_tensorflow_op
    assert r.resolve(v["d"]).is_tensorflow_op and not r.resolve(v["d"]).is_keras


def test_other_libraries_and_unknown_names_do_not_resolve():
    r, v = _values()
    assert r.qualname(v["c"]) is None and r.resolve(v["e"]) is None


def test_canonicalize_names_the_source_api():
    assert canonicalize("tensorflow.keras.layers.Dense") == ("keras.layers.Dense", "tf.keras")
    assert canonicalize("tf_keras.Model") == ("keras.Model", "tf_keras")
    assert canonicalize("keras.src.x")[1] == "private"
