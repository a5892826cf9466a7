"""engine/scopes.py: the one scope/values query, the one Keras-methods query, receivers."""
from __future__ import annotations

import ast
import textwrap

import keras_migrate.rules  # noqa: F401  (the registry installs the rule set's tables)
from keras_migrate.engine import api
from keras_migrate.engine.context import FileContext
from keras_migrate.engine.source import SourceText


def ctx_for(code: str, enabled=None) -> FileContext:
    code = textwrap.dedent(code)
    return FileContext(SourceText(code), ast.parse(code), enabled=enabled)


def _name(ctx, ident: str, nth: int = -1) -> ast.Name:
    """The ``nth`` use (a load) of ``ident``."""
    return [n for n in ctx.nodes(ast.Name) if n.id == ident and isinstance(n.ctx, ast.Load)][nth]


def test_one_scope_values_query():
    ctx = ctx_for("""
        import keras
        m = keras.Sequential()

        def f():
            m2 = m
            return m2

        def g(model: keras.Model, other):
            return model, other
    """)
    uses = [n for n in ctx.nodes(ast.Name) if n.id == "m" and isinstance(n.ctx, ast.Load)]
    assert [ctx.segment(v) for v in api.visible_values(ctx, uses[0])] == ["keras.Sequential()"]
    assert api.receiver_kind(ctx, _name(ctx, "model")) == api.MODEL  # the annotation
    assert api.receiver_kind(ctx, _name(ctx, "other")) is None
    assert api.is_opaque(ctx, _name(ctx, "other"))


def test_one_keras_methods_query_top_down_and_bottom_up_agree():
    ctx = ctx_for("""
        import keras

        class Block(keras.layers.Layer):
            def build(self, shape):
                pass

            def call(self, x):
                return x + 1

        class Plain:
            def call(self, x):
                return x

        class Score(keras.metrics.Metric):
            def update_state(self, y):
                return y
    """)
    top_down = [(c.name, f.name) for c, f in api.keras_methods(ctx)]
    assert top_down == [("Block", "build"), ("Block", "call")]
    assert [(c.name, f.name) for c, f in api.keras_methods(ctx, ("call",))] == [("Block", "call")]
    assert [(c.name, f.name) for c, f in api.keras_methods(ctx, kinds=(api.METRIC,))] == [("Score", "update_state")]
    for binop in ctx.nodes(ast.BinOp):
        cls, fn = api.keras_method(ctx, binop)
        assert (cls.name, fn.name) == ("Block", "call")
        assert api.keras_method(ctx, binop, names=("build",)) is None
    plain_x = [r for r in ctx.nodes(ast.Return) if ctx.segment(r) == "return x"][0]
    assert api.keras_method(ctx, plain_x) is None
    assert [c.name for c in api.keras_classes(ctx)] == ["Block"]
