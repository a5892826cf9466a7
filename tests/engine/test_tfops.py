"""engine/tfops.py: a tf call rewritten by its table entry (the portability family's table, through the catalogue)."""
from __future__ import annotations

import ast
import textwrap

import keras_migrate.rules  # noqa: F401  (the registry installs the rule set's tables)
from keras_migrate.engine import api
from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import FileContext
from keras_migrate.engine.source import SourceText


def ctx_for(code: str, enabled=None) -> FileContext:
    code = textwrap.dedent(code)
    return FileContext(SourceText(code), ast.parse(code), enabled=enabled)


def _name(ctx, ident: str, nth: int = -1) -> ast.Name:
    """The ``nth`` use (a load) of ``ident``."""
    return [n for n in ctx.nodes(ast.Name) if n.id == ident and isinstance(n.ctx, ast.Load)][nth]


def test_k302_finds_the_op_through_the_door_table():
    # layers (K302) uses the portability family's table only through the engine
    from keras_migrate.rules.layers.tf_op_on_keras_tensor import TfOpOnKerasTensor
    code = "import tensorflow as tf\nimport keras\nx = keras.Input((3,))\ny = tf.reduce_sum(x)\n"
    res = Engine([TfOpOnKerasTensor()]).analyze(code)
    assert [(f.code, code[f.start:f.end]) for f in res.findings] == [("K302", "tf.reduce_sum")]
    assert res.findings[0].fix_title == "Replace `tf.reduce_sum` with `keras.ops.sum`"


def test_rewrite_expression_by_the_installed_table():
    assert api.rewrite_expression("tf.reduce_sum(x, axis=1)") == ("keras.ops.sum(x, axis=1)", "")
    assert api.rewrite_expression("tf.cast(x, tf.float32)") == ('keras.ops.cast(x, "float32")', "")
    assert api.rewrite_expression("tf.no_such_op(x)") == (None, "`tf.no_such_op` is not in the table")
    assert api.dtype_string("tensorflow.half") == '"float16"' and api.dtype_string("tensorflow.nn") is None
    assert api.display(api.canonical("tf.nn.relu")) == "tf.nn.relu"
