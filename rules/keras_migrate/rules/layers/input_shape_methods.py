"""K307 input-shape-methods."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, keras_methods,
                                      walk_function)

_METHODS = ("build", "compute_output_shape", "compute_output_signature", "compute_mask")
# TensorShape member -> template of the tuple equivalent ({} = the shape expression), None = guidance
_MEMBERS = {
    "as_list": ("call", "list({})"),
    "rank": ("attr", "len({})"),
    "ndims": ("attr", "len({})"),
    "is_fully_defined": ("call", "all(d is not None for d in {})"),
    "num_elements": ("call", None), "merge_with": ("call", None), "concatenate": ("call", None),
    "with_rank": ("call", None), "with_rank_at_least": ("call", None), "with_rank_at_most": ("call", None),
    "is_compatible_with": ("call", None), "assert_is_compatible_with": ("call", None),
    "assert_has_rank": ("call", None), "assert_same_rank": ("call", None),
    "most_specific_compatible_shape": ("call", None), "dims": ("attr", None),
}


class InputShapeMethods(Rule):
    """Calls `TensorShape` methods on the shape a layer's `build()` receives (`input_shape.as_list()`).

    ## What it does
    Flags `.as_list()`, `.rank`, `.ndims`, `.is_fully_defined()` and the other
    `tf.TensorShape` members used on the shape argument of `build()`,
    `compute_output_shape()` (and friends) in a Keras `Layer`/`Model` subclass, also on
    one element of it (`input_shape[0].as_list()` for several inputs).

    ## Why is this bad?
    Keras 2 passed a `tf.TensorShape`; Keras 3 passes a plain tuple (a list/dict of tuples
    for several inputs), on every backend. `input_shape.as_list()` raises
    `AttributeError: 'tuple' object has no attribute 'as_list'`.

    ## Example
    ```python
    def build(self, input_shape):
        dim = input_shape.as_list()[-1]
    ```

    ## Use instead
    ```python
    def build(self, input_shape):
        dim = list(input_shape)[-1]        # or simply input_shape[-1]
    ```

    ## Fix safety
    Safe: on a Keras 2 `TensorShape` and a Keras 3 tuple alike, `list(s)` equals
    `s.as_list()`, `len(s)` equals `s.rank`/`s.ndims` (the rank is always known in
    `build()`), and `all(d is not None for d in s)` equals `s.is_fully_defined()`. Other
    `TensorShape` members are reported without a fix.
    A shape first converted with `tf.TensorShape(input_shape)` (re-assigned) is not flagged.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/
    - https://keras.io/api/layers/base_layer/#build-method
    """

    code = "K307"
    name = "input-shape-methods"
    message = "`{param}` is a tuple in Keras 3, not a `TensorShape`: `.{member}` raises AttributeError"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("build", "shape")

    VALID = [
        Valid("""
            import keras
            class Proj(keras.layers.Layer):
                def build(self, input_shape):
                    dim = input_shape[-1]
                    self.k = self.add_weight(shape=(dim, 2))
            """),
        Valid("""
            import tensorflow as tf
            import keras
            class Proj(keras.layers.Layer):
                def build(self, input_shape):
                    input_shape = tf.TensorShape(input_shape)
                    dim = input_shape.as_list()[-1]
            """),
        Valid("""
            import tensorflow as tf
            class Helper:
                def build(self, input_shape):
                    return input_shape.as_list()
            def build(input_shape):
                return input_shape.as_list()
            """),
    ]
    INVALID = [
        Invalid(
            """
            import keras


            class Proj(keras.layers.Layer):
                def build(self, input_shape):
                    dim = input_shape.as_list()[-1]
                    self.k = self.add_weight(name="kernel", shape=(dim, 2), initializer="ones")

                def call(self, x):
                    return x @ self.k


            layer = Proj()
            y = layer(keras.Input((3,)))
            RESULT = list(layer.k.shape)
            """,
            fixed="""
            import keras


            class Proj(keras.layers.Layer):
                def build(self, input_shape):
                    dim = list(input_shape)[-1]
                    self.k = self.add_weight(name="kernel", shape=(dim, 2), initializer="ones")

                def call(self, x):
                    return x @ self.k


            layer = Proj()
            y = layer(keras.Input((3,)))
            RESULT = list(layer.k.shape)
            """,
            flagged=("input_shape.as_list()",),
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow import keras

            class Pair(keras.layers.Layer):
                def compute_output_shape(self, shapes):
                    if shapes[0].rank == 2 and shapes[0].is_fully_defined():
                        return shapes[0].as_list()[:-1] + [shapes[1].num_elements()]
                    return shapes[0]
            """,
            fixed="""
            from tensorflow import keras

            class Pair(keras.layers.Layer):
                def compute_output_shape(self, shapes):
                    if len(shapes[0]) == 2 and all(d is not None for d in shapes[0]):
                        return list(shapes[0])[:-1] + [shapes[1].num_elements()]
                    return shapes[0]
            """,
            flagged=("shapes[0].rank", "shapes[0].is_fully_defined()", "shapes[0].as_list()",
                     "shapes[1].num_elements()"),
        ),
    ]

    def check(self, ctx):
        for _cls, fn in keras_methods(ctx, _METHODS):
            if len(fn.args.args) < 2:
                continue
            param = fn.args.args[1].arg
            if self._rebound(fn, param):
                continue
            for node in walk_function(fn):
                if isinstance(node, ast.Attribute) and node.attr in _MEMBERS and self._is_shape(node.value, param):
                    how, template = _MEMBERS[node.attr]
                    parent = ctx.parent(node)
                    target = node
                    if how == "call":
                        if not (isinstance(parent, ast.Call) and parent.func is node):
                            continue
                        target = parent
                        if parent.args or parent.keywords:
                            template = None
                    msg = self.message.format(param=ctx.segment(node.value), member=node.attr)
                    if template is None:
                        ctx.report(self, target, msg)
                        continue
                    new = template.format(ctx.segment(node.value))
                    title = f"Replace with `{new}`"
                    ctx.report(self, target, msg, fix=Fix.safe(title, ctx.replace, target, new))


    @staticmethod
    def _is_shape(node: ast.AST, param: str) -> bool:
        if isinstance(node, ast.Subscript):
            node = node.value
        return isinstance(node, ast.Name) and node.id == param

    @staticmethod
    def _rebound(fn: ast.AST, param: str) -> bool:
        for node in walk_function(fn):
            targets: list[Optional[ast.AST]] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif isinstance(node, ast.For):
                targets = [node.target]
            if any(isinstance(t, ast.Name) and t.id == param for t in targets):
                return True
        return False
