"""K601 tf-op-in-model-code."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Group, Invalid, Rule, Run, Severity, Valid,
                                      any_symbolic_arg, report_tf_call)

from ._model_code import where_in_model_code
from ._ops import table_examples

# names other rules own (one name, one diagnostic): prefix -> the owning rule, or None for
# names K601 never reports; an owner that is not enabled hands the name back to K601
OWNED_ELSEWHERE = (
    ("tensorflow.random.", "K603"), ("tensorflow.nn.dropout", "K603"),  # tf-random
    ("tensorflow.Variable", "K301"),       # tf-variable-attribute
    ("tensorflow.GradientTape", "K602"),   # gradient-tape-train-step
    ("tensorflow.function", "K605"),       # tf-function-in-model
    ("tensorflow.strings.", "K401"), ("tensorflow.io.", "K401"),
    ("tensorflow.py_function", "K401"), ("tensorflow.numpy_function", "K401"),
    ("tensorflow.data.", None),            # input pipelines: tf.data feeds fit() on every backend
    ("tensorflow.keras", None),            # K1xx (never a TensorFlow op)
)


def owned_elsewhere(q: str, ctx=None) -> bool:
    """True when another rule reports ``q`` (enabled in ``ctx``; without one: exists)."""
    return any((owner is None or ctx is None or ctx.enabled(owner))
               and (q.startswith(p) if p.endswith(".") else (q == p or q.startswith(p + ".")))
               for p, owner in OWNED_ELSEWHERE)


def _examples():
    out = []
    for ex in table_examples():
        run = None
        if ex["backends"]:
            run = Run(k3="ok", fixed_backends=ex["backends"], tolerance=1e-4)
        out.append(Invalid(ex["code"], fixed=ex["fixed"], flagged=ex["flagged"], unsafe=ex["unsafe"], run=run))
    return out


class TfOpInModelCode(Rule):
    """A TensorFlow op (`tf.*`, `tf.math.*`, `tf.nn.*`, `tf.linalg.*`) in layer, model, loss or metric code.

    ## What it does
    Flags TensorFlow functions called in the methods of Keras Layer, Model, Loss and Metric
    subclasses (found through local, Keras and workspace base classes), in functions passed
    as `loss=`/`metrics=` to `compile`, and in the function of a `Lambda` layer. The fix
    rewrites them to `keras.ops` from the project's verified tf -> `keras.ops` table (the
    same table K302 uses). Calls on symbolic tensors are K302's, `tf.random.*` K603's,
    `tf.GradientTape` K602's, `tf.function` K605's, `tf.strings`/`tf.io`/`tf.py_function`
    K401's and `tf.Variable` K301's: each name gets one diagnostic.

    ## Why is this bad?
    Model code runs on the configured backend's tensors. On JAX a TensorFlow op meets a
    JAX tracer and fails (`AttributeError: 'str' object has no attribute '_error_repr'`
    inside `fit`/`predict`); on torch it converts through NumPy, losing gradients and the
    device. Only `keras.ops` runs on TensorFlow, JAX and torch alike.

    ## Example
    ```python
    class SumRelu(keras.layers.Layer):
        def call(self, x):
            return tf.reduce_sum(tf.nn.relu(x), axis=-1, keepdims=True)
    ```

    ## Use instead
    ```python
    class SumRelu(keras.layers.Layer):
        def call(self, x):
            return keras.ops.sum(keras.ops.relu(x), axis=-1, keepdims=True)
    ```

    ## Fix safety
    Safe for the pairs whose results `scripts/generate_ops_table.py` checked equal on
    TensorFlow, JAX and torch (arguments renamed, `name=` dropped, differing defaults
    written out, `tf.float32` turned into `"float32"`). Unsafe, with the reason in the fix
    title, for the traps: `tf.split` sizes vs `keras.ops.split` indices, exact `tf.nn.gelu`
    vs approximate `keras.ops.gelu`, `segment_sum`/`segment_max` needing `num_segments` on
    JAX, `keras.ops.shape` returning a tuple. Ops without a `keras.ops` equivalent are
    reported without a fix. Integer results of `argmax`/`argmin`/`count_nonzero` become
    int32 instead of int64 (values are the same).

    ## References
    - https://keras.io/api/ops/
    - https://keras.io/guides/migrating_to_keras_3/
    """

    code = "K601"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "tf-op-in-model-code"
    message = "`{old}` in model code runs only on the TensorFlow backend; use `{new}`"
    severity = Severity.WARNING
    group = Group.PORTABILITY
    fix = Applicability.SAFE
    requires = ("tensorflow",)

    GUIDANCE = ("`{old}` in model code runs only on the TensorFlow backend; no automatic fix ({why})")

    VALID = [
        Valid("""
            import tensorflow as tf

            def preprocess(image):
                return tf.cast(image, tf.float32) / 255.0
            """),
        Valid("""
            import tensorflow as tf
            import keras

            class Wrapper(keras.Model):
                def __init__(self):
                    inp = keras.Input((3,))
                    super().__init__(inp, tf.nn.relu(inp))
            """),
        Valid("""
            import tensorflow as tf
            import keras

            class Noise(keras.layers.Layer):
                def call(self, x):
                    return x + tf.random.normal(tf.shape(x)) if False else x
            """.replace("tf.shape(x)", "(2,)")),
        Valid("""
            import keras

            class Block(keras.layers.Layer):
                def call(self, x):
                    return keras.ops.sum(keras.ops.relu(x), axis=-1)
            """),
        Valid("""
            import tensorflow as tf

            class Plain:
                def call(self, x):
                    return tf.reduce_sum(x)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras


            class SumRelu(keras.layers.Layer):
                def call(self, x):
                    return tf.reduce_sum(tf.nn.relu(x - 0.5), axis=-1, keepdims=True, name="total")


            model = keras.Sequential([keras.Input((4,)), SumRelu()])
            RESULT = model.predict(np.arange(8.0).reshape(2, 4) / 4.0, verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import keras


            class SumRelu(keras.layers.Layer):
                def call(self, x):
                    return keras.ops.sum(keras.ops.relu(x - 0.5), axis=-1, keepdims=True)


            model = keras.Sequential([keras.Input((4,)), SumRelu()])
            RESULT = model.predict(np.arange(8.0).reshape(2, 4) / 4.0, verbose=0).tolist()
            """,
            flagged=("tf.reduce_sum", "tf.nn.relu"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras


            class Mse(keras.losses.Loss):
                def call(self, y_true, y_pred):
                    return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)


            def mean_abs(y_true, y_pred):
                return tf.reduce_mean(tf.abs(y_true - y_pred), axis=-1)


            def unrelated(t):
                return tf.reduce_sum(t)


            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss=Mse(), metrics=[mean_abs])
            RESULT = model.evaluate(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)
            """,
            fixed="""
            import numpy as np
            import tensorflow as tf
            import keras


            class Mse(keras.losses.Loss):
                def call(self, y_true, y_pred):
                    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


            def mean_abs(y_true, y_pred):
                return keras.ops.mean(keras.ops.absolute(y_true - y_pred), axis=-1)


            def unrelated(t):
                return tf.reduce_sum(t)


            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss=Mse(), metrics=[mean_abs])
            RESULT = model.evaluate(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)
            """,
            flagged=("tf.reduce_mean", "tf.square", "tf.reduce_mean", "tf.abs"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras


            def gate(t):
                return t * tf.math.sigmoid(t)


            inp = keras.Input((3,))
            h = keras.layers.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(inp)
            out = keras.layers.Lambda(gate)(h)
            model = keras.Model(inp, out)
            RESULT = model.predict(np.array([[-2.0, 0.5, 3.0]]), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import keras


            def gate(t):
                return t * keras.ops.sigmoid(t)


            inp = keras.Input((3,))
            h = keras.layers.Lambda(lambda t: keras.ops.clip(t, -1.0, 1.0))(inp)
            out = keras.layers.Lambda(gate)(h)
            model = keras.Model(inp, out)
            RESULT = model.predict(np.array([[-2.0, 0.5, 3.0]]), verbose=0).tolist()
            """,
            flagged=("tf.math.sigmoid", "tf.clip_by_value"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ] + _examples()

    def check(self, ctx):
        if not ctx.settings.portability:
            return
        for call in ctx.nodes(ast.Call):
            q = ctx.qualname(call.func)
            if q is None or not q.startswith("tensorflow.") or owned_elsewhere(q, ctx):
                continue
            where = where_in_model_code(ctx, call)
            if where is None:
                continue
            if ctx.enabled("K302") and any_symbolic_arg(ctx, call):
                continue  # K302 reports it (ValueError on every backend)
            report_tf_call(self, ctx, call, q, self.message, self.GUIDANCE)
