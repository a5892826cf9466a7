"""engine/symbolic.py: the one is_symbolic (ordered bindings, unpacking, tf ops, helper functions)."""
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


def test_one_is_symbolic_follows_rebinding_and_helpers():
    ctx = ctx_for("""
        import tensorflow as tf
        import keras

        def block(t):
            return tf.nn.relu(t)

        x = keras.Input((3,))
        x = tf.nn.relu(x)
        a, b = tf.split(x, 2)
        y = block(a)
        n = 3
        out = keras.layers.Dense(2)(y)
        RESULT = [out, b, n]
    """)
    for ident in ("x", "a", "b", "y", "out"):
        node = _name(ctx, ident)
        assert api.is_symbolic(ctx, node), ident
        assert ctx.knowledge.is_symbolic(node) is True  # the same question, one answer
    assert not api.is_symbolic(ctx, _name(ctx, "n"))
    assert not ctx.knowledge._symbolic_operand(_name(ctx, "x"))  # value_kind's narrower test stops at tf
    dense = [c for c in ctx.nodes(ast.Call) if ctx.qualname(c.func) == "tensorflow.split"][0]
    assert api.any_symbolic_arg(ctx, dense)
    assert api.has_symbolic_sources(ctx)
    assert not api.has_symbolic_sources(ctx_for("import tensorflow as tf\nx = tf.ones(3)\n"))
