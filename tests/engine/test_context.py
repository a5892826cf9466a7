"""The engine's per-file indexes and memos give the answers the rescans they replace gave
(issue 14: per-query rescans made dense files cost quadratic time)."""
from __future__ import annotations

import ast
import textwrap

from keras_migrate.engine.context import FileContext
from keras_migrate.engine.knowledge import KERAS_TENSOR, LAYER, MODEL
from keras_migrate.engine.source import SourceText


def ctx_for(code: str) -> FileContext:
    code = textwrap.dedent(code)
    return FileContext(SourceText(code), ast.parse(code))


def names(ctx, ident):
    return [n for n in ctx.nodes(ast.Name) if n.id == ident and isinstance(n.ctx, ast.Load)]


def test_calls_named_lists_every_call_of_a_bare_name_in_order():
    ctx = ctx_for("""
        def block(x):
            return x
        a = block(1)
        b = [block(i) for i in range(3)]
        obj.block(2)
        def f():
            return block(block(3))
    """)
    calls = ctx.calls_named("block")
    assert [c.lineno for c in calls] == sorted(c.lineno for c in calls)
    assert len(calls) == 4  # obj.block(2) is an attribute call, not this name
    assert all(isinstance(c.func, ast.Name) and c.func.id == "block" for c in calls)
    assert ctx.calls_named("missing") == []
    assert ctx.calls_named("block") is calls  # built once


def test_memo_builds_once_per_key():
    ctx = ctx_for("x = 1\n")
    built = []
    assert ctx.memo("k", lambda: built.append(1) or "v") == "v"
    assert ctx.memo("k", lambda: built.append(1) or "w") == "v"
    assert ctx.memo("other", lambda: 3) == 3
    assert built == [1]


def test_a_name_rebound_many_times_at_module_level_keeps_its_kind():
    # a notebook exported to a script: `model` re-bound in one scope again and again
    code = "import tensorflow as tf\n" + "".join(
        f"model = tf.keras.Sequential()\nmodel.fit(x{i})\n" for i in range(200))
    ctx = ctx_for(code)
    uses = names(ctx, "model")
    assert len(uses) == 200
    assert {ctx.value_kind(u) for u in uses} == {MODEL}


def test_a_name_bound_to_different_kinds_has_no_kind_at_every_use():
    ctx = ctx_for("""
        import tensorflow as tf
        m = tf.keras.Sequential()
        m = tf.keras.layers.Dense(3)
        m.fit(x)
        m.build(y)
    """)
    assert {ctx.value_kind(u) for u in names(ctx, "m")} == {None}
    only_layer = ctx_for("""
        import tensorflow as tf
        d = tf.keras.layers.Dense(3)
        d = tf.keras.layers.Dense(4)
        d.build(y)
    """)
    assert [only_layer.value_kind(u) for u in names(only_layer, "d")] == [LAYER]


def test_memo_is_not_fooled_by_nodes_a_rule_builds_and_drops():
    # a node built on the fly and freed may get the id of the next one: the memo must not
    # hand the first node's answer to the second
    ctx = ctx_for("""
        import tensorflow as tf
        inp = tf.keras.Input(shape=(3,))
        model = tf.keras.Sequential()
    """)
    for _ in range(50):
        assert ctx.value_kind(ast.Name(id="inp", ctx=ast.Load(), lineno=9, col_offset=0)) == KERAS_TENSOR
        assert ctx.value_kind(ast.Name(id="model", ctx=ast.Load(), lineno=9, col_offset=0)) == MODEL
        assert ctx.knowledge.is_symbolic(ast.Name(id="inp", ctx=ast.Load(), lineno=9, col_offset=0))
        assert not ctx.knowledge.is_symbolic(ast.Name(id="model", ctx=ast.Load(), lineno=9, col_offset=0))
