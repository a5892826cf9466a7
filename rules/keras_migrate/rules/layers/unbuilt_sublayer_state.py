"""K311 unbuilt-sublayer-state (guide pattern; off by default)."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (LAYER, MODEL, Invalid, Rule, Run, Severity, Valid, ast_offset,
                                      class_kinds, keras_classes, method_named, walk_function)

from ._helpers import is_self, self_attr_target


class UnbuiltSublayerState(Rule):
    """A layer with sublayers and no `build()`: its sublayers are built only by tracing `call()`.

    ## What it does
    Flags a Keras `Layer` subclass (not a `Model`) that creates sublayers in `__init__`,
    uses them in `call()`, and defines no `build()` (in the class or a local base class).
    This is the migration guide's `PositionalEmbedding` "unbuilt state" pattern; it is advice,
    off by default.

    ## Why is this bad?
    Keras 3 must build all state before it can compile `call()`. Without a `build()`, it
    traces `call()` symbolically to build the sublayers. When that trace works (the usual
    case) nothing happens. When it cannot (for example the feature size is unknown, or
    `call()` uses `inputs.shape[1]` of a variable-length input as a Python number), every
    Keras 3 release warns ``UserWarning: Layer ... looks like it has unbuilt state, but
    Keras is not able to trace the layer `call()` in order to build it automatically`` and
    then fails on JAX and torch with whatever the trace raised. The guide shows this as an
    error, but that was keras-core 0.1.x: measured on all 40 releases 3.0.0-3.15.1 it is
    never an error by itself (docs/research/keras-version-ranges.md, pattern d), so the rule
    has no `keras_versions` range and is advice, off by default.

    ## Example
    ```python
    class PositionalEmbedding(keras.layers.Layer):
        def __init__(self, length, dim):
            super().__init__()
            self.embed = keras.layers.Embedding(length, dim)

        def call(self, x):
            return x + self.embed(keras.ops.arange(keras.ops.shape(x)[1]))
    ```

    ## Use instead
    ```python
    class PositionalEmbedding(keras.layers.Layer):
        def __init__(self, length, dim):
            super().__init__()
            self.embed = keras.layers.Embedding(length, dim)

        def build(self, input_shape):
            self.embed.build(input_shape)

        def call(self, x):
            return x + self.embed(keras.ops.arange(keras.ops.shape(x)[1]))
    ```

    ## Fix safety
    No automatic fix: the shape each sublayer must be built with depends on what `call()`
    feeds it, which is not always the layer's input shape.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#layer-state-created-in-call
    """

    code = "K311"
    name = "unbuilt-sublayer-state"
    message = "`{cls}` has sublayers but no `build()`: Keras 3 builds them by tracing `call()` (\"unbuilt state\" when it cannot); build them in `build()`"
    severity = Severity.INFO
    fix = None
    keras_versions = None                 # never an error on a 3.x release (measured)
    default_enabled = False
    requires = ("call",)

    VALID = [
        Valid("""
            import keras
            class Built(keras.layers.Layer):
                def __init__(self):
                    super().__init__()
                    self.embed = keras.layers.Embedding(4, 2)
                def build(self, input_shape):
                    self.embed.build(input_shape)
                def call(self, x):
                    return self.embed(x)
            """),
        Valid("""
            import keras
            class Net(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.dense = keras.layers.Dense(2)
                def call(self, x):
                    return self.dense(x)
            """),
        Valid("""
            import keras
            class Unused(keras.layers.Layer):
                def __init__(self):
                    super().__init__()
                    self.dense = keras.layers.Dense(2)
                    self.rate = 0.5
                def call(self, x):
                    return x * self.rate
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import keras


            class PositionalEmbedding(keras.layers.Layer):
                def __init__(self, length, dim):
                    super().__init__()
                    self.embed = keras.layers.Embedding(length, dim)

                def call(self, x):
                    return x + self.embed(np.arange(4))


            model = keras.Sequential([PositionalEmbedding(4, 2)])
            model.compile(loss="mse")
            model.fit(np.ones((2, 4, 2)), np.ones((2, 4, 2)), verbose=0)
            RESULT = len(model.trainable_weights)
            """,
            fixed=None,
            flagged=("PositionalEmbedding",),
            run=Run(k3="ok"),
        ),
    ]

    def check(self, ctx):
        for cls in keras_classes(ctx):
            if MODEL in class_kinds(ctx, cls) or self._has_build(ctx, cls):
                continue
            init, call = method_named(cls, "__init__"), method_named(cls, "call")
            if init is None or call is None:
                continue
            sublayers = set()
            for node in walk_function(init):
                if isinstance(node, ast.Assign) and ctx.value_kind(node.value) in (LAYER, MODEL):
                    sublayers.update(a for a in map(self_attr_target, node.targets) if a)
            used = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and is_self(n.func.value)
                       and n.func.attr in sublayers for n in walk_function(call))
            if not used:
                continue
            start = ast_offset(ctx, cls.lineno, cls.col_offset)
            name_at = ctx.text.index(cls.name, start + len("class"))
            ctx.report(self, (name_at, name_at + len(cls.name)), self.message.format(cls=cls.name))

    @staticmethod
    def _has_build(ctx, cls: ast.ClassDef, depth: int = 0) -> bool:
        if method_named(cls, "build") is not None:
            return True
        if depth > 8:
            return False
        local = {n.name: n for n in ctx.tree.body if isinstance(n, ast.ClassDef)}
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id in local and local[base.id] is not cls:
                if UnbuiltSublayerState._has_build(ctx, local[base.id], depth + 1):
                    return True
        return False
