"""K301 tf-variable-attribute."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, ancestors,
                                      keras_classes, keras_method)

from ._helpers import self_attr_target

_VARIABLE = {"tensorflow.Variable", "tensorflow.compat.v1.Variable", "tensorflow.compat.v2.Variable"}
# tf.Variable keywords add_weight/keras.Variable understand under the same name
_PASS = ("trainable", "name", "dtype")
_SIMPLE = {  # tf initial-value op -> string initializer (exact same values)
    "tensorflow.zeros": "zeros", "tensorflow.ones": "ones",
}


def _arg(call: ast.Call, pos: int, name: str) -> Optional[ast.AST]:
    if len(call.args) > pos:
        return call.args[pos]
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _only(call: ast.Call, allowed: tuple[str, ...], npos: int) -> bool:
    return (len(call.args) <= npos and not any(isinstance(a, ast.Starred) for a in call.args)
            and all(kw.arg in allowed for kw in call.keywords))


class TfVariableAttribute(Rule):
    """Stores a `tf.Variable` on a Keras layer or model (`self.w = tf.Variable(...)`).

    ## What it does
    Flags `tf.Variable(...)` created in a method of a Keras `Layer`/`Model` subclass and
    stored on `self` (directly or inside a list/dict), including subclasses of your own
    base classes, in this file or imported from another module of the workspace.

    ## Why is this bad?
    Keras 3 tracks only `keras.Variable`s. On the TensorFlow backend a `tf.Variable`
    attribute is **silently untracked**: it is missing from `layer.weights` and
    `trainable_weights`, so `fit()` trains nothing in it and saving drops it (whether it
    was created in `__init__` or `build()`). On JAX and torch the layer fails outright.

    ## Example
    ```python
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.w = tf.Variable(tf.ones([input_shape[-1], 2]))
    ```

    ## Use instead
    ```python
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=[input_shape[-1], 2], initializer="ones")
    ```

    ## Fix safety
    Unsafe. When the initial value is `tf.zeros`/`tf.ones`/`tf.random.normal`/
    `tf.random.uniform`/`tf.random.truncated_normal` of a shape, or a number, the fix
    writes `self.add_weight(shape=..., initializer=...)` with the same distribution
    (`trainable`, `name`, `dtype` kept); otherwise it writes `keras.Variable(<initial
    value>, ...)`, which is tracked but still holds a TensorFlow value if the initial value
    is a `tf.*` tensor. Either way the variable becomes a tracked weight: it now trains,
    is saved, and changes the weight order, names and checkpoint layout. Random initial
    values are drawn from a different generator.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#tfvariable-objects-are-no-longer-tracked
    - https://keras.io/api/layers/base_layer/#addweight-method
    """

    code = "K301"
    name = "tf-variable-attribute"
    message = "`tf.Variable` on a Keras layer is not tracked by Keras 3: `fit()` never trains it; use `self.add_weight(...)`"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("Variable",)

    VALID = [
        Valid("import tensorflow as tf\nstep = tf.Variable(0)\n"),
        Valid("""
            import tensorflow as tf
            class Counter:
                def __init__(self):
                    self.v = tf.Variable(1.0)
            """),
        Valid("""
            import tensorflow as tf
            class Tracker(tf.Module):
                def __init__(self):
                    self.v = tf.Variable(1.0)
            """),
        Valid("""
            import keras
            class Scale(keras.layers.Layer):
                def build(self, input_shape):
                    self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
                    self.v = keras.Variable(1.0)
            """),
        Valid("""
            import tensorflow as tf
            import keras
            class Step(keras.layers.Layer):
                def call(self, x):
                    local = tf.Variable(1.0)  # not stored on the layer: a different problem
                    return x
            """),
    ]
    INVALID = [
        Invalid(
            """
            import tensorflow as tf
            import keras


            class Scale(keras.layers.Layer):
                def build(self, input_shape):
                    self.w = tf.Variable(tf.ones([input_shape[-1], 2]))
                    self.b = tf.Variable(0.0, trainable=False)


            layer = Scale()
            layer.build((None, 3))
            RESULT = [len(layer.trainable_weights), len(layer.weights)]
            """,
            fixed="""
            import keras


            class Scale(keras.layers.Layer):
                def build(self, input_shape):
                    self.w = self.add_weight(shape=[input_shape[-1], 2], initializer="ones")
                    self.b = self.add_weight(shape=(), initializer=keras.initializers.Constant(0.0), trainable=False)


            layer = Scale()
            layer.build((None, 3))
            RESULT = [len(layer.trainable_weights), len(layer.weights)]
            """,
            flagged=("tf.Variable(tf.ones([input_shape[-1], 2]))", "tf.Variable(0.0, trainable=False)"),
            unsafe=True,
            run=Run(k3="differs", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow import keras
            import tensorflow as tf

            class Block(keras.Model):
                def __init__(self, units):
                    super().__init__()
                    self.scale = tf.Variable(tf.random.normal([units], stddev=0.1), name="scale")
                    self.table = tf.Variable(tf.constant([[1.0, 2.0]]))
                    self.steps = [tf.Variable(tf.zeros([units])) for _ in range(2)]
            """,
            fixed="""
            from tensorflow import keras
            import tensorflow as tf

            class Block(keras.Model):
                def __init__(self, units):
                    super().__init__()
                    self.scale = self.add_weight(shape=[units], initializer=keras.initializers.RandomNormal(mean=0.0, stddev=0.1), name="scale")
                    self.table = keras.Variable(tf.constant([[1.0, 2.0]]))
                    self.steps = [self.add_weight(shape=[units], initializer="zeros") for _ in range(2)]
            """,
            flagged=("tf.Variable(tf.random.normal([units], stddev=0.1), name=\"scale\")",
                     "tf.Variable(tf.constant([[1.0, 2.0]]))", "tf.Variable(tf.zeros([units]))"),
            unsafe=True,
        ),
        Invalid(
            """
            import tensorflow as tf
            import keras

            class Odd(keras.layers.Layer):
                def build(self, input_shape):
                    self.w = tf.Variable(tf.ones([2]), synchronization=tf.VariableSynchronization.ON_READ)
            """,
            fixed=None,
            flagged=("tf.Variable(tf.ones([2]), synchronization=tf.VariableSynchronization.ON_READ)",),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        calls = [c for c in ctx.nodes(ast.Call) if ctx.qualname(c.func) in _VARIABLE]
        if not calls or not keras_classes(ctx):
            return                              # cheap exits before any parent map is built
        for call in calls:
            if not self._stored_on_self(ctx, call):
                continue
            if keras_method(ctx, call) is None:
                continue
            new, _ = self._replacement(ctx, call, "keras")
            if new is None:
                ctx.report(self, call)
                continue
            title = ("Replace with `self.add_weight(...)` (now a tracked, trained weight)" if new.startswith("self.")
                     else "Replace with `keras.Variable(...)` (now a tracked, trained weight)")
            ctx.report(self, call, fix=Fix.unsafe(title, self._fix, ctx, call))

    def _fix(self, ctx, call):
        k, imp = ctx.imports.ensure("keras", at=call)
        new, uses_keras = self._replacement(ctx, call, k)
        return [ctx.replace(call, new), imp if uses_keras else None]

    @staticmethod
    def _stored_on_self(ctx, call: ast.Call) -> bool:
        """The call's value lands in ``self.x = ...`` (directly, or in a list/dict/comprehension)."""
        node = call
        for parent in ancestors(ctx, call):
            if isinstance(parent, (ast.Assign, ast.AnnAssign)):
                targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                return parent.value is node and any(self_attr_target(t) is not None for t in targets)
            if isinstance(parent, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
                if isinstance(parent, ast.Dict) and node not in parent.values:
                    return False
            elif isinstance(parent, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
                if parent.elt is not node:
                    return False
            elif isinstance(parent, ast.DictComp):
                if parent.value is not node:
                    return False
            else:
                return False
            node = parent
        return False

    def _replacement(self, ctx, call: ast.Call, k: str) -> tuple[Optional[str], bool]:
        """The new code, ``k`` spelling the ``keras`` module, and whether it names it."""
        if not _only(call, ("initial_value",) + _PASS, 1):
            return None, False
        init = _arg(call, 0, "initial_value")
        if init is None:
            return None, False
        extra = "".join(f", {kw.arg}={ctx.segment(kw.value)}" for kw in call.keywords if kw.arg in _PASS)
        spec = self._initializer(ctx, init, k)
        if spec is not None:
            shape, initializer, uses_keras = spec
            return f"self.add_weight(shape={shape}, initializer={initializer}{extra})", uses_keras
        return f"{k}.Variable({ctx.segment(init)}{extra})", True

    @staticmethod
    def _initializer(ctx, init: ast.AST, k: str) -> Optional[tuple[str, str, bool]]:
        """(shape source, initializer source, needs keras) for initial values that map exactly."""
        if isinstance(init, ast.Constant) and isinstance(init.value, (int, float)) and not isinstance(init.value, bool):
            return "()", f"{k}.initializers.Constant({ctx.segment(init)})", True
        if isinstance(init, ast.UnaryOp) and isinstance(init.op, ast.USub) and isinstance(init.operand, ast.Constant) \
                and isinstance(init.operand.value, (int, float)):
            return "()", f"{k}.initializers.Constant({ctx.segment(init)})", True
        if not isinstance(init, ast.Call):
            return None
        q = ctx.qualname(init.func)
        if q in _SIMPLE and _only(init, ("shape",), 1):
            shape = _arg(init, 0, "shape")
            return (ctx.segment(shape), f'"{_SIMPLE[q]}"', False) if shape is not None else None
        randoms = {"tensorflow.random.normal": ("RandomNormal", ("mean", "stddev"), ("0.0", "1.0")),
                   "tensorflow.random.truncated_normal": ("TruncatedNormal", ("mean", "stddev"), ("0.0", "1.0")),
                   "tensorflow.random.uniform": ("RandomUniform", ("minval", "maxval"), ("0.0", "1.0"))}
        if q in randoms and _only(init, ("shape",) + randoms[q][1], 3):
            cls, params, defaults = randoms[q]
            shape = _arg(init, 0, "shape")
            if shape is None:
                return None
            vals = []
            for i, (p, dflt) in enumerate(zip(params, defaults)):
                v = _arg(init, i + 1, p)
                if q == "tensorflow.random.uniform" and p == "maxval" and isinstance(v, ast.Constant) and v.value is None:
                    v = None
                vals.append(f"{p}={ctx.segment(v) if v is not None else dflt}")
            return ctx.segment(shape), f"{k}.initializers.{cls}({', '.join(vals)})", True
        return None
