"""K308 add-weight-positional-name."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import LAYER, MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid

# Keras 2's positional order of Layer.add_weight
_K2_ORDER = ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint")


def _is_string(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _is_string(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _is_string(node.func.value)
    return False


class AddWeightPositionalName(Rule):
    """Passes the weight name positionally: `self.add_weight("kernel", shape=...)`.

    ## What it does
    Flags the first positional argument of `add_weight(...)` on a Keras layer (usually
    `self` in a `Layer`/`Model` subclass) when it is a string: Keras 2's `name`. (The range
    is the name, so K305's "`add_weight` inside `call()`" on the whole call never collides.)
    Also flags every `add_variable(...)` on a Keras layer: Keras 2's alias of `add_weight`,
    fixed by calling `add_weight` with the arguments by keyword.

    ## Why is this bad?
    Keras 3's `add_weight` starts with `shape`, and refuses a positional name on every
    backend: ``ValueError: `name` must be passed as a keyword argument. Received:
    add_weight('kernel', ...). Use: add_weight(shape=..., name='kernel').``

    ## Example
    ```python
    self.kernel = self.add_weight("kernel", shape=(dim, units), initializer="ones")
    ```

    ## Use instead
    ```python
    self.kernel = self.add_weight(name="kernel", shape=(dim, units), initializer="ones")
    ```

    ## Fix safety
    Safe: every positional argument gets its Keras 2 keyword (`name`, `shape`, `dtype`,
    `initializer`, `regularizer`, `trainable`, `constraint`), which means the same on Keras 2
    and Keras 3. Not offered when there are more positional arguments than that, or `*args`.

    ## References
    - https://keras.io/api/layers/base_layer/#addweight-method
    """

    code = "K308"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "add-weight-positional-name"
    message = "`add_weight` takes `name` as a keyword in Keras 3 (ValueError); write `name={name}`"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("add_weight", "add_variable")

    VALID = [
        Valid("""
            import keras
            class Scale(keras.layers.Layer):
                def build(self, input_shape):
                    self.k = self.add_weight(name="kernel", shape=(input_shape[-1],))
                    self.b = self.add_weight((input_shape[-1],), "zeros")
            """),
        Valid("""
            class Store:
                def add_weight(self, name, value):
                    return value
            Store().add_weight("kernel", 1)
            """),
    ]
    INVALID = [
        # add_variable: Keras 2's alias of add_weight, a different signature in Keras 3
        Invalid(
            """
            import numpy as np
            import keras


            class Scale(keras.layers.Layer):
                def build(self, input_shape):
                    self.k = self.add_variable("k", (input_shape[-1],), initializer="ones")
                    self.b = self.add_variable(name="b", shape=(input_shape[-1],))

                def call(self, x):
                    return x * self.k + self.b


            layer = Scale()
            RESULT = [int(layer(np.ones((1, 2), "float32")).shape[-1]), len(layer.weights)]
            """,
            fixed="""
            import numpy as np
            import keras


            class Scale(keras.layers.Layer):
                def build(self, input_shape):
                    self.k = self.add_weight(name="k", shape=(input_shape[-1],), initializer="ones")
                    self.b = self.add_weight(name="b", shape=(input_shape[-1],))

                def call(self, x):
                    return x * self.k + self.b


            layer = Scale()
            RESULT = [int(layer(np.ones((1, 2), "float32")).shape[-1]), len(layer.weights)]
            """,
            flagged=('self.add_variable("k", (input_shape[-1],), initializer="ones")',
                     'self.add_variable(name="b", shape=(input_shape[-1],))'),
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras


            class Scale(keras.layers.Layer):
                def build(self, input_shape):
                    self.k = self.add_weight("kernel", shape=(input_shape[-1],), initializer="ones")


            layer = Scale()
            layer.build((None, 3))
            RESULT = [len(layer.trainable_weights)] + list(layer.k.shape)
            """,
            fixed="""
            import keras


            class Scale(keras.layers.Layer):
                def build(self, input_shape):
                    self.k = self.add_weight(name="kernel", shape=(input_shape[-1],), initializer="ones")


            layer = Scale()
            layer.build((None, 3))
            RESULT = [len(layer.trainable_weights)] + list(layer.k.shape)
            """,
            flagged=('"kernel"',),
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow import keras

            class Bias(keras.layers.Layer):
                def build(self, input_shape):
                    for i in range(2):
                        setattr(self, f"b{i}", self.add_weight(
                            f"bias_{i}", (input_shape[-1],), "float32",  # keep
                            trainable=True))
            dense = keras.layers.Dense(2)
            extra = dense.add_weight("extra", (2,))
            """,
            fixed="""
            from tensorflow import keras

            class Bias(keras.layers.Layer):
                def build(self, input_shape):
                    for i in range(2):
                        setattr(self, f"b{i}", self.add_weight(
                            name=f"bias_{i}", shape=(input_shape[-1],), dtype="float32",  # keep
                            trainable=True))
            dense = keras.layers.Dense(2)
            extra = dense.add_weight(name="extra", shape=(2,))
            """,
            flagged=('f"bias_{i}"', '"extra"'),
        ),
    ]

    def check(self, ctx):
        if any(isinstance(f, ast.FunctionDef) and f.name == "add_weight"
               for c in ctx.nodes(ast.ClassDef) for f in c.body):
            return                                  # the file overrides add_weight: its own signature
        for call in ctx.nodes(ast.Call):
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "add_variable" and ctx.value_kind(f.value) in (LAYER, MODEL):
                self._add_variable(ctx, call, f)
                continue
            if not (isinstance(f, ast.Attribute) and f.attr == "add_weight" and call.args and _is_string(call.args[0])):
                continue
            if ctx.value_kind(f.value) not in (LAYER, MODEL):
                continue
            msg = self.message.format(name=ctx.segment(call.args[0]))
            if len(call.args) > len(_K2_ORDER) or any(isinstance(a, ast.Starred) for a in call.args) \
                    or any(kw.arg in _K2_ORDER[:len(call.args)] for kw in call.keywords):
                ctx.report(self, call.args[0], msg)
                continue
            title = "Pass the positional arguments by keyword (`name=`, `shape=`, ...)"
            ctx.report(self, call.args[0], msg, fix=Fix.safe(title, _by_keyword, ctx, call))

    def _add_variable(self, ctx, call, f):
        """Keras 2's ``add_variable`` was ``add_weight`` (same arguments, ``name`` first);
        Keras 3's takes ``(shape, initializer, ...)``, the initializer required."""
        if any(isinstance(fn, ast.FunctionDef) and fn.name == "add_variable"
               for c in ctx.nodes(ast.ClassDef) for fn in c.body):
            return
        if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > len(_K2_ORDER) \
                or any(kw.arg in _K2_ORDER[:len(call.args)] for kw in call.keywords):
            ctx.report(self, call, "Keras 2's `add_variable` is `add_weight` in Keras 3 (whose `add_variable` takes "
                                   "`shape, initializer` first); call `add_weight` with keywords")
            return
        title = "Call `add_weight` (Keras 2's `add_variable`), arguments by keyword"
        start, _ = ctx.span(f)
        name_start = start + len(ctx.segment(f)) - len("add_variable")
        ctx.report(self, call,
                   "Keras 2's `add_variable` is `add_weight`: Keras 3's `add_variable(shape, initializer, ...)` "
                   "rejects a positional name and requires an initializer",
                   fix=Fix.safe(title, _by_keyword, ctx, call, (name_start, name_start + len("add_variable"))))


def _by_keyword(ctx, call, rename=None):
    """Keras 2's positional arguments passed by keyword (and ``add_variable`` renamed)."""
    edits = [ctx.replace(rename, "add_weight")] if rename is not None else []
    return edits + [ctx.insert(ctx.span(a)[0], f"{k}=") for k, a in zip(_K2_ORDER, call.args)]

