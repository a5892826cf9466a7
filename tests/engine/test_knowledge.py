"""engine/knowledge.py: what the engine knows about a file's values and classes (Keras classes
through local bases, value kinds, symbolic tensors, enclosing methods)."""
from __future__ import annotations

import ast
import textwrap

from keras_migrate.engine.context import FileContext
from keras_migrate.engine.knowledge import KERAS_TENSOR, LAYER, MODEL
from keras_migrate.engine.source import SourceText

CODE = textwrap.dedent("""
    import keras
    class Base(keras.layers.Layer):
        pass
    class Block(Base):
        def call(self, x):
            return x
    class Plain:
        pass
    m = keras.Sequential()
    inp = keras.Input((3,))
    y = keras.layers.Dense(2)(inp)
    n = 3
""")


def _ctx():
    return FileContext(SourceText(CODE), ast.parse(CODE))


def test_classes_through_local_bases():
    ctx = _ctx()
    k = ctx.knowledge
    cls = {c.name: c for c in ast.walk(ctx.tree) if isinstance(c, ast.ClassDef)}
    assert k.is_kind_class(cls["Block"], LAYER) and k.is_kind_class(cls["Base"], LAYER)
    assert not k.is_kind_class(cls["Plain"], LAYER)


def test_value_kinds_and_symbolic_tensors():
    ctx = _ctx()
    k = ctx.knowledge
    values = {n.targets[0].id: n.value for n in ctx.tree.body if isinstance(n, ast.Assign)}
    assert k.value_kind(values["m"]) == MODEL
    assert k.value_kind(values["inp"]) == KERAS_TENSOR and k.value_kind(values["y"]) == KERAS_TENSOR
    assert k.is_symbolic(values["y"]) and not k.is_symbolic(values["n"])
    assert k.value_kind(values["n"]) is None


def test_enclosing_method_and_class():
    ctx = _ctx()
    ret = next(n for n in ast.walk(ctx.tree) if isinstance(n, ast.Return))
    cls, fn = ctx.knowledge.enclosing_method(ret)
    assert (cls.name, fn.name) == ("Block", "call")
    assert ctx.knowledge.enclosing_class(ret).name == "Block"
