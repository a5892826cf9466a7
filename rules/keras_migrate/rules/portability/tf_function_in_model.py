"""K605 tf-function-in-model."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import LAYER, MODEL, Group, Invalid, Rule, Run, Severity, Valid, class_kinds

METHODS = ("call", "train_step", "test_step", "predict_step")


class TfFunctionInModel(Rule):
    """`@tf.function` on a layer's or model's `call`, `train_step`, `test_step` or `predict_step`.

    ## What it does
    Flags the `@tf.function` decorator (with or without arguments) on those methods of
    Keras Layer and Model subclasses. Guidance only.

    ## Why is this bad?
    Keras 3 compiles these methods itself, per backend (`jit_compile`, `tf.function` on
    TensorFlow, `jax.jit` on JAX). A `tf.function` on them ties the model to TensorFlow:
    on JAX it fails with `AttributeError: 'str' object has no attribute '_error_repr'`, on
    torch with `ValueError: All operation outputs must be tensors...`. On TensorFlow it
    still works, and it is sometimes there for autograph (a Python `if` on a tensor, see
    K303), which Keras 3 no longer applies to `call()`.

    ## Example
    ```python
    class Gate(keras.layers.Layer):
        @tf.function
        def call(self, x):
            return x * 2
    ```

    ## Use instead
    ```python
    class Gate(keras.layers.Layer):
        def call(self, x):
            return x * 2
    ```
    Write tensor-dependent branches with `keras.ops.cond` / `keras.ops.where` so the
    method traces on every backend.

    ## Fix safety
    No automatic fix: removing the decorator breaks a `call()` that relies on autograph
    for Python control flow on tensors; rewrite that control flow first.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/
    - https://keras.io/api/ops/core/#cond-function
    """

    code = "K605"
    name = "tf-function-in-model"
    message = ("`@{deco}` on `{method}` ties the {kind} to the TensorFlow backend (JAX: AttributeError, "
               "torch: ValueError); Keras 3 compiles `{method}` itself: drop it once the body uses keras.ops")
    severity = Severity.WARNING
    group = Group.PORTABILITY
    fix = None
    requires = ("function",)

    VALID = [
        Valid("""
            import tensorflow as tf

            @tf.function
            def serve(x):
                return x * 2
            """),
        Valid("""
            import tensorflow as tf
            import keras

            class Gate(keras.layers.Layer):
                def call(self, x):
                    return x * 2

                @tf.function
                def export_fn(self, x):
                    return self(x)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras


            class Gate(keras.layers.Layer):
                @tf.function
                def call(self, x):
                    return x * 2.0


            model = keras.Sequential([keras.Input((2,)), Gate()])
            RESULT = model.predict(np.ones((1, 2)), verbose=0).tolist()
            """,
            fixed=None,
            flagged=("tf.function",),
            run=Run(k3="ok"),
        ),
        Invalid(
            """
            import tensorflow as tf
            from tensorflow import keras


            class Net(keras.Model):
                @tf.function(jit_compile=True)
                def train_step(self, data):
                    return {}
            """,
            fixed=None,
            flagged=("tf.function(jit_compile=True)",),
        ),
    ]

    def check(self, ctx):
        if not ctx.settings.portability:
            return
        for cls in ctx.nodes(ast.ClassDef):
            methods = [fn for fn in cls.body if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and fn.name in METHODS and fn.decorator_list]
            if not methods:
                continue
            kinds = class_kinds(ctx, cls) & {LAYER, MODEL}
            if not kinds:
                continue
            for fn, deco in ((f, d) for f in methods for d in f.decorator_list):
                target = deco.func if isinstance(deco, ast.Call) else deco
                if ctx.qualname(target) != "tensorflow.function":
                    continue
                kind = "model" if MODEL in kinds else "layer"
                ctx.report(self, deco, self.message.format(deco=ctx.segment(target), method=fn.name, kind=kind))
