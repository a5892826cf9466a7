"""K303 tensor-condition-in-call."""
from __future__ import annotations

import ast
from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      ast_offset, bindings, function_nodes, keras_methods, walk)

# tf.* / keras.ops.* calls whose result is a Python value, not a tensor
_PYTHON_RESULT = {
    "tensorflow.executing_eagerly", "tensorflow.is_tensor", "tensorflow.get_static_value",
    "keras.ops.is_tensor", "keras.ops.shape", "keras.ops.ndim", "keras.backend.backend",
    "keras.config.backend", "keras.backend.is_keras_tensor",
}
_STATIC_ATTRS = {"shape", "ndim", "dtype", "name", "rank", "device"}
_TENSOR_PARAMS = {"mask"}            # defaulted parameters that still hold tensors


def _is_tf_function(ctx, fn: ast.AST) -> bool:
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if ctx.qualname(target) == "tensorflow.function":
            return True
    return False


class _Tensors:
    """Which expressions of one ``call()`` are tensors (a small forward taint analysis)."""

    def __init__(self, ctx, fn: ast.AST):
        self.ctx = ctx
        args = fn.args
        positional = args.posonlyargs + args.args
        n_default = len(args.defaults)
        names = set()
        for i, a in enumerate(positional[1:], start=1):            # skip self
            has_default = i >= len(positional) - n_default
            if (not has_default or a.arg in _TENSOR_PARAMS) and a.arg != "training":
                names.add(a.arg)
        for a, d in zip(args.kwonlyargs, args.kw_defaults):
            if (d is None or a.arg in _TENSOR_PARAMS) and a.arg != "training":
                names.add(a.arg)
        self.names = names
        assigns = [n for n in function_nodes(ctx, fn) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))]
        for _ in range(4):                                         # to a fixed point (short chains)
            before = len(self.names)
            for node in assigns:
                if node.value is None:
                    continue
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                tensor = self.is_tensor(node.value)
                for t in targets:
                    for name in _target_names(t):
                        if tensor:
                            self.names.add(name)
            if len(self.names) == before:
                break
        # names re-bound to plain Python values somewhere are ambiguous: drop them
        for node in assigns:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for t in node.targets:
                    for name in _target_names(t):
                        self.names.discard(name)

    def is_tensor(self, e: ast.AST) -> bool:
        if isinstance(e, ast.Name):
            return e.id in self.names
        if isinstance(e, ast.Call):
            q = self.ctx.qualname(e.func)
            if q is not None:
                if q in _PYTHON_RESULT:
                    return False
                return q.startswith(("tensorflow.", "keras.ops.", "keras.random.", "keras.activations."))
            # a sublayer applied to a tensor: self.dense(x)
            if any(self.is_tensor(a) for a in e.args) and self.ctx.value_kind(e.func) in (LAYER, MODEL):
                return True
            return False
        if isinstance(e, ast.BinOp):
            return self.is_tensor(e.left) or self.is_tensor(e.right)
        if isinstance(e, ast.UnaryOp):
            return not isinstance(e.op, ast.Not) and self.is_tensor(e.operand)
        if isinstance(e, ast.Compare):
            if any(isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) for op in e.ops):
                return False
            if any(isinstance(x, ast.Constant) and isinstance(x.value, (str, bool, type(None)))
                   for x in [e.left, *e.comparators]):
                return False                  # mode == "train": a Python argument, not a tensor
            return any(self.is_tensor(x) for x in [e.left, *e.comparators])
        if isinstance(e, ast.Subscript):
            return self.is_tensor(e.value)
        if isinstance(e, ast.Attribute):
            return e.attr == "T" and self.is_tensor(e.value)
        if isinstance(e, ast.IfExp):
            return self.is_tensor(e.body) or self.is_tensor(e.orelse)
        if isinstance(e, ast.BoolOp):
            return any(self.is_tensor(v) for v in e.values)
        return False

    def truth_tested(self, test: ast.AST) -> bool:
        """Python would call ``bool()`` on a tensor to evaluate this condition."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self.truth_tested(test.operand)
        if isinstance(test, ast.BoolOp):
            return any(self.truth_tested(v) for v in test.values)
        return self.is_tensor(test)


def _decorate(ctx, fn, tf_name):
    """``@tf.function`` (the file's name for TensorFlow) above ``fn``."""
    return ctx.insert(ast_offset(ctx, fn.lineno, fn.col_offset), f"@{tf_name}.function\n{ctx.line_indent(fn)}")


def _target_names(t: ast.AST):

    if isinstance(t, ast.Name):
        yield t.id
    elif isinstance(t, (ast.Tuple, ast.List)):
        for e in t.elts:
            yield from _target_names(e)
    elif isinstance(t, ast.Starred):
        yield from _target_names(t.value)


_WHAT = {ast.If: "`if`", ast.While: "`while`", ast.IfExp: "conditional expression", ast.Assert: "`assert`",
         ast.BoolOp: "`and`/`or`", ast.UnaryOp: "`not`"}


class TensorConditionInCall(Rule):
    """Python `if`/`while`/`and`/`or`/`not` on a tensor inside a layer's `call()`.

    ## What it does
    Flags conditions in the `call()` method of a Keras `Layer`/`Model` subclass that make
    Python decide on the *value* of a tensor: `if tf.reduce_sum(x) > 0:`, `while x[0] < n:`,
    `y = a if x > 0 else b`, `mask and x`. Conditions on Python values (`training`, shapes,
    `x is None`, `isinstance`) are not flagged.

    ## Why is this bad?
    Keras 2 ran `call()` through TensorFlow's AutoGraph, which rewrote such statements into
    `tf.cond`/`tf.while_loop`. Keras 3 does not. On the TensorFlow backend the compiled
    `fit`/`predict`/functional build raises `OperatorNotAllowedInGraphError` ("using a
    `tf.Tensor` as a Python `bool` is not allowed"). On JAX a condition on a concrete value
    is evaluated **once at trace time and frozen**: every later batch takes the same branch,
    silently; a condition on a traced value raises a tracer error.

    ## Example
    ```python
    class Gate(keras.layers.Layer):
        def call(self, x):
            if tf.reduce_sum(x) > 0:
                return x * 2.0
            return x / 2.0
    ```

    ## Use instead
    ```python
    class Gate(keras.layers.Layer):
        def call(self, x):
            return keras.ops.cond(keras.ops.sum(x) > 0, lambda: x * 2.0, lambda: x / 2.0)
    ```
    (or `keras.ops.where(cond, a, b)` for element-wise choices, `keras.ops.while_loop`).

    ## Fix safety
    No automatic rewrite to `keras.ops.cond` (both branches must become functions returning
    the same structure). When the project targets only the TensorFlow backend, an unsafe fix
    decorates `call()` with `@tf.function`, which brings AutoGraph back; it makes the layer
    TensorFlow-only (JAX: AttributeError, torch: ValueError) and compiles `call()` even when
    the layer is used eagerly.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#autograph-is-no-longer-applied-to-layer-call
    - https://keras.io/api/ops/core/#cond-function
    """

    code = "K303"
    name = "tensor-condition-in-call"
    message = ("Python {what} on a tensor in `call()`: Keras 3 applies no AutoGraph (TensorFlow raises, "
               "JAX freezes the branch at trace time); use `keras.ops.cond` / `keras.ops.where`")
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("call",)

    VALID = [
        Valid("""
            import keras
            class Drop(keras.layers.Layer):
                def call(self, x, mode, training=None, mask=None):
                    if training or mode == "train":
                        x = x * 0.5
                    if mask is not None and x.shape[-1] > 3:
                        x = x * mask
                    if self.use_bias and len(x.shape) == 2:
                        x = x + 1
                    return x
            """),
        Valid("""
            import tensorflow as tf
            class NotALayer:
                def call(self, x):
                    if tf.reduce_sum(x) > 0:
                        return x
            """),
        Valid("""
            import tensorflow as tf
            import keras
            class Gate(keras.layers.Layer):
                def build(self, input_shape):
                    if input_shape[-1] > 2:
                        self.wide = True
                def call(self, x, scale=2.0):
                    if scale > 1:
                        x = x * scale
                    return keras.ops.cond(keras.ops.sum(x) > 0, lambda: x, lambda: -x)
            """),
        Valid("""
            import tensorflow as tf
            import keras
            class Traced(keras.layers.Layer):
                @tf.function
                def call(self, x):
                    if tf.reduce_sum(x) > 0:
                        return x
                    return -x
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras


            class Gate(keras.layers.Layer):
                def call(self, x):
                    if tf.reduce_sum(x) > 0:
                        return x * 2.0
                    return x / 2.0


            model = keras.Sequential([Gate()])
            RESULT = model.predict(np.ones((1, 2)), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import tensorflow as tf
            import keras


            class Gate(keras.layers.Layer):
                @tf.function
                def call(self, x):
                    if tf.reduce_sum(x) > 0:
                        return x * 2.0
                    return x / 2.0


            model = keras.Sequential([Gate()])
            RESULT = model.predict(np.ones((1, 2)), verbose=0).tolist()
            """,
            flagged=("tf.reduce_sum(x) > 0",),
            unsafe=True,
            config={"target_backends": ["tensorflow"]},
            run=Run(k3="OperatorNotAllowedInGraphError", fixed_backends=("tensorflow",)),
        ),
        Invalid(
            """
            import keras
            from keras import ops

            class Clip(keras.layers.Layer):
                def call(self, inputs, mask=None):
                    total = ops.sum(inputs)
                    while total > 10:
                        inputs = inputs / 2
                        total = ops.sum(inputs)
                    y = inputs if ops.max(inputs) > 0 else -inputs
                    assert not ops.any(ops.isnan(y))
                    return mask and y
            """,
            fixed=None,
            flagged=("total > 10", "ops.max(inputs) > 0", "not ops.any(ops.isnan(y))", "mask and y"),
        ),
        Invalid(
            """
            import tensorflow as tf
            from tensorflow import keras

            class Residual(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.dense = keras.layers.Dense(4)

                def call(self, x):
                    h = self.dense(x)
                    if tf.reduce_mean(h) > 0:
                        h = h + x
                    return h
            """,
            fixed=None,
            flagged=("tf.reduce_mean(h) > 0",),
        ),
    ]

    def check(self, ctx):
        tf_name = next((b.name for b in bindings(ctx).values()
                        if b.target == "tensorflow" and b.module_level), None)
        tf_only = tuple(ctx.settings.target_backends) == ("tensorflow",)
        for _cls, fn in keras_methods(ctx, ("call",)):
            if _is_tf_function(ctx, fn):
                continue
            tensors = _Tensors(ctx, fn)
            covered: set[int] = set()
            found: list[tuple[ast.AST, str]] = []
            nodes = sorted(function_nodes(ctx, fn), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
            for node in nodes:
                if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
                    test = node.test
                elif isinstance(node, ast.BoolOp) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
                    test = node
                else:
                    continue
                if id(test) in covered:
                    continue
                for sub in walk(test):
                    covered.add(id(sub))
                if tensors.truth_tested(test):
                    found.append((test, _WHAT[type(node)]))
            for test, what in found:
                msg = self.message.format(what=what)
                if tf_only and tf_name is not None:
                    title = "Decorate `call()` with `@tf.function` (AutoGraph; TensorFlow backend only)"
                    ctx.report(self, test, msg, fix=Fix.unsafe(title, _decorate, ctx, fn, tf_name))

                else:
                    ctx.report(self, test, msg)
