"""K304 none-in-call-output."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Invalid, Rule, Run, Severity, Valid, iter_child_nodes, keras_methods,
                                      visible_values)

from ._helpers import contains_none


def _own_returns(fn: ast.AST):
    """``return`` statements of fn itself (not of nested functions, lambdas or classes)."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            yield node
        for child in iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                stack.append(child)


class NoneInCallOutput(Rule):
    """`call()` returns a nested structure holding `None` (`return [x, None]`).

    ## What it does
    Flags `return` statements in the `call()` method of a Keras `Layer`/`Model` subclass whose
    value is a list, tuple or dict literal with a `None` inside it, also where the `None`
    arrives through a conditional expression (`[x, m if flag else None]`) or a variable
    assigned one (`mask = None`, `mask = m if flag else None`).

    ## Why is this bad?
    Keras 3 requires every output of an operation to be a tensor. Applied to a symbolic
    input (functional models, `Sequential` builds, `fit`) the layer raises
    `ValueError: All operation outputs must be tensors. ... Non-tensor received: None`
    (TensorFlow and JAX; `AttributeError` on torch). Keras 2 accepted it.
    (`None` inside nested call *arguments* is a different, older guide pattern: K310.)

    ## Example
    ```python
    class Pair(keras.layers.Layer):
        def call(self, x):
            return [x, None]
    ```

    ## Use instead
    ```python
    class Pair(keras.layers.Layer):
        def call(self, x):
            return x            # or a placeholder tensor: [x, keras.ops.zeros_like(x)]
    ```

    ## Fix safety
    No automatic fix: whether to drop the output or return a placeholder tensor changes the
    layer's interface, and its callers must agree.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#nested-structures-with-none
    """

    code = "K304"
    name = "none-in-call-output"
    message = "`call()` returns a nested structure holding `None`: Keras 3 requires every output to be a tensor (ValueError)"
    severity = Severity.ERROR
    fix = None
    requires = ("None",)

    VALID = [
        # the variable and the conditional never hold None
        Valid("""
            import keras
            class Gate(keras.layers.Layer):
                def call(self, x, flag=False):
                    mask = x * 2.0
                    return [x, mask, x if flag else mask]
        """),
        Valid("""
            import keras
            class Pair(keras.layers.Layer):
                def call(self, x, mask=None):
                    if mask is None:
                        return x
                    return [x, mask]
                def compute_mask(self, inputs, mask=None):
                    return [None, None]
            """),
        Valid("""
            def call(x):
                return [x, None]
            class Plain:
                def call(self, x):
                    return (x, None)
            """),
        Valid("""
            import keras
            class Head(keras.layers.Layer):
                def call(self, x):
                    def helper():
                        return None
                    return x
            """),
    ]
    INVALID = [
        # None through a conditional expression and through a variable
        Invalid(
            """
            import keras


            class Gate(keras.layers.Layer):
                def __init__(self, with_mask=False, **kwargs):
                    super().__init__(**kwargs)
                    self.with_mask = with_mask

                def call(self, x):
                    mask = x * 0.0 if self.with_mask else None
                    return [x, mask]


            class Pick(keras.layers.Layer):
                def call(self, x, flag=False):
                    return (x, x if flag else None)


            out = Gate()(keras.Input((2,)))
            """,
            fixed=None,
            flagged=("[x, mask]", "(x, x if flag else None)"),
            run=Run(k3="ValueError"),
        ),
        Invalid(
            """
            import keras


            class Pair(keras.layers.Layer):
                def call(self, x):
                    return [x, None]


            out = Pair()(keras.Input((2,)))
            """,
            fixed=None,
            flagged=("[x, None]",),
            run=Run(k3="ValueError"),
        ),
        Invalid(
            """
            from tensorflow import keras

            class Encoder(keras.Model):
                def call(self, inputs, training=None):
                    h = inputs * 2
                    if training:
                        return {"hidden": h, "attention": None}
                    return h, (None, h)
            """,
            fixed=None,
            flagged=('{"hidden": h, "attention": None}', "h, (None, h)"),
        ),
    ]

    def check(self, ctx):
        for _cls, fn in keras_methods(ctx, ("call",)):
            for node in _own_returns(fn):
                if node.value is not None and (contains_none(node.value) is not None
                                               or _none_through_values(ctx, node.value)):
                    ctx.report(self, node.value)


def _may_be_none(ctx, node: ast.AST, depth: int = 0) -> bool:
    """``None``, ``x if flag else None``, or a name assigned one of those in its scope."""
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.IfExp):
        return _may_be_none(ctx, node.body, depth) or _may_be_none(ctx, node.orelse, depth)
    if isinstance(node, ast.Name) and depth < 3:
        return any(_may_be_none(ctx, v, depth + 1) for v in visible_values(ctx, node))
    return False


def _none_through_values(ctx, value: ast.AST) -> bool:
    """An element of the returned list/tuple/dict literal that may be ``None``: through a
    conditional expression or a variable (``return [x, mask]`` with ``mask = m if flag else None``)."""
    if isinstance(value, ast.IfExp):
        return _none_through_values(ctx, value.body) or _none_through_values(ctx, value.orelse)
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        elts = value.elts
    elif isinstance(value, ast.Dict):
        elts = [v for v in value.values if v is not None]
    else:
        return False
    return any(_may_be_none(ctx, e) or _none_through_values(ctx, e) for e in elts)
