"""K305 state-created-in-call."""
from __future__ import annotations

import ast

from keras_migrate.engine.knowledge import LAYER, MODEL, MODEL_FACTORIES, kind_of_class_name
from keras_migrate.engine.model import Severity
from keras_migrate.engine.rule import Invalid, Rule, Run, Valid
from keras_migrate.rules.layers._helpers import is_self, layer_methods, walk_function

_ADD_WEIGHT = ("add_weight", "add_variable")


class StateCreatedInCall(Rule):
    """Creates weights or sublayers inside `call()` (`self.add_weight(...)`, `Dense(4)(x)`).

    ## What it does
    Flags, in the `call()` method of a Keras `Layer`/`Model` subclass, calls of
    `self.add_weight(...)` and the construction of layers (Keras layers and your own Layer
    subclasses), including the lazy `if self.dense is None: self.dense = Dense(...)` idiom.

    ## Why is this bad?
    Keras 3 builds a layer's state before tracing `call()`, and refuses to create it later:
    `add_weight` in `call()` raises `ValueError` on all backends. A sublayer created in
    `call()` is built while tracing; that raises `ValueError` when the layer also defines
    `build()` or has no other sublayers, and otherwise works with a warning. A layer
    constructed and applied in one expression makes new, untrained weights on every call
    (in Keras 2 too, where `tf.function` then refused to create variables).

    ## Example
    ```python
    class Lazy(keras.layers.Layer):
        def call(self, x):
            self.w = self.add_weight(shape=(2,), initializer="ones")
            return x * self.w
    ```

    ## Use instead
    ```python
    class Lazy(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(2,), initializer="ones")

        def call(self, x):
            return x * self.w
    ```
    (create sublayers in `__init__`, weights in `build()`, and build sublayers there when
    their shapes depend on the input.)

    ## Fix safety
    No automatic fix: what moves to `__init__`/`build()` depends on values only known in
    `call()` (the input shape) and on whether the creation was guarded.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#layer-state-created-in-call
    - https://keras.io/guides/making_new_layers_and_models_via_subclassing/
    """

    code = "K305"
    name = "state-created-in-call"
    message = "{what} inside `call()`: Keras 3 creates state in `__init__`/`build()` only (ValueError); move it there"
    severity = Severity.ERROR
    fix = None
    requires = ("call",)

    VALID = [
        Valid("""
            import keras
            class Good(keras.layers.Layer):
                def __init__(self):
                    super().__init__()
                    self.dense = keras.layers.Dense(2)
                def build(self, input_shape):
                    self.w = self.add_weight(shape=(2,), initializer="ones")
                    self.dense.build(input_shape)
                def call(self, x):
                    return self.dense(x) * self.w
            """),
        Valid("""
            import keras
            class Maker:
                def call(self, x):
                    return keras.layers.Dense(2)(x)
            def call(x):
                return keras.layers.Dense(2)(x)
            """),
        Valid("""
            import keras
            class Uses(keras.layers.Layer):
                def call(self, x):
                    y = keras.activations.relu(x)
                    return keras.ops.add(y, 1.0)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import keras


            class Lazy(keras.layers.Layer):
                def call(self, x):
                    self.w = self.add_weight(shape=(2,), initializer="ones")
                    return x * self.w


            RESULT = np.asarray(Lazy()(np.ones((1, 2), "float32"))).tolist()
            """,
            fixed=None,
            flagged=('self.add_weight(shape=(2,), initializer="ones")',),
            run=Run(k3="ValueError"),
        ),
        Invalid(
            """
            import numpy as np
            import keras


            class Head(keras.layers.Layer):
                def __init__(self):
                    super().__init__()
                    self.dense = None

                def call(self, x):
                    if self.dense is None:
                        self.dense = keras.layers.Dense(1, kernel_initializer="ones")
                    return self.dense(x)


            model = keras.Sequential([Head()])
            RESULT = model.predict(np.ones((1, 2)), verbose=0).tolist()
            """,
            fixed=None,
            flagged=('keras.layers.Dense(1, kernel_initializer="ones")',),
            run=Run(k3="ValueError"),
        ),
        Invalid(
            """
            from tensorflow.keras import layers
            from tensorflow import keras

            class Block(layers.Layer):
                pass

            class Tower(keras.Model):
                def call(self, x):
                    x = layers.Dense(4)(x)
                    return Block()(x)
            """,
            fixed=None,
            flagged=("layers.Dense(4)", "Block()"),
        ),
    ]

    def check(self, ctx):
        for _cls, fn in layer_methods(ctx, ("call",)):
            hits = []
            for node in walk_function(fn):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                if isinstance(f, ast.Attribute) and f.attr in _ADD_WEIGHT and is_self(f.value):
                    hits.append((node, f"`self.{f.attr}(...)`"))
                elif self._constructs_layer(ctx, node):
                    hits.append((node, f"`{ctx.segment(f)}(...)` creates a layer"))
            for node, what in sorted(hits, key=lambda h: (h[0].lineno, h[0].col_offset)):
                ctx.report(self, node, self.message.format(what=what))

    @staticmethod
    def _constructs_layer(ctx, call: ast.Call) -> bool:
        """A layer class (Keras, local or workspace) or a function returning a new layer."""
        f = call.func
        q = ctx.qualname(f)
        if q is not None:
            return kind_of_class_name(q)[:1] in (("layer",), ("model",)) or q in MODEL_FACTORIES
        if not isinstance(f, ast.Name):
            return False                        # self.dense(x), obj.method(...): applications, not creations
        if f.id not in _module_level_names(ctx) and f.id not in ctx.knowledge.other_imports():
            return False
        return ctx.value_kind(call) in (LAYER, MODEL)


def _module_level_names(ctx) -> set[str]:
    return {n.name for n in ctx.tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}
