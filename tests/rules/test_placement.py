"""Findings sit where the problem is (issue 13 gap 8): K401 at the op, its compile() as a
related place; K205 only for a class a saved model is built with."""
from __future__ import annotations

import textwrap

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import Settings
from keras_migrate.rules import all_rules


def _findings(code, code_filter):
    eng = Engine([r() for r in all_rules()], Settings())
    code = textwrap.dedent(code)
    return code, [f for f in eng.analyze(code, "t.py").findings if f.code == code_filter]


def test_xla_finding_at_the_op_with_compile_related():
    code, got = _findings('''\
        import tensorflow as tf
        import keras
        class Net(keras.Model):
            def call(self, x):
                y = x + 1
                return tf.strings.to_number(tf.strings.as_string(y))
        net = Net()
        net.compile(optimizer="sgd", loss="mse")
    ''', "K401")
    f, = got
    assert code[f.start:f.end] == "tf.strings.to_number"
    lines = code.splitlines()
    places = [(r.start.line, lines[r.start.line][r.start.col:r.end.col]) for r, _ in f.related]
    assert places[0] == (7, "net.compile")
    assert (5, "tf.strings.as_string") in places


def test_unregistered_class_only_when_a_saved_model_uses_it():
    # the saved model is plain; the book-style notebook defines other classes for other models
    _, got = _findings('''\
        import keras
        class Scale(keras.layers.Layer):
            def call(self, x):
                return x * 2.0
        class Net(keras.Model):
            def call(self, x):
                return x
        inputs = keras.Input((3,))
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.save("plain.keras")
        other = keras.Model(inputs, Scale()(inputs))
        net = Net()
    ''', "K205")
    assert got == []
    code, got = _findings('''\
        import keras
        class Scale(keras.layers.Layer):
            def call(self, x):
                return x * 2.0
        model = keras.Sequential([keras.Input((3,)), Scale()])
        model.save("scaled.keras")
    ''', "K205")
    assert [code[f.start:f.end] for f in got] == ["Scale"]
