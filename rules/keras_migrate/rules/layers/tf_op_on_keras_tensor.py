"""K302 tf-op-on-keras-tensor."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Invalid, Rule, Run, Severity, Valid, any_symbolic_arg,
                                      has_symbolic_sources, report_tf_call)



class TfOpOnKerasTensor(Rule):
    """A `tf.*` op applied to a symbolic Keras tensor while building a functional model.

    ## What it does
    Follows symbolic tensors (from `keras.Input` / `layers.Input`, layers or models applied
    to them, and a model's or layer's `.output` / `.input`) through assignments, unpacking,
    arithmetic, other ops and helper functions called with them (`def block(x): ...`), and flags
    every TensorFlow function (`tf.reduce_sum`, `tf.nn.relu`, `tf.concat`, ...) that
    receives one. The fix rewrites the call to its `keras.ops` equivalent from the
    project's verified tf -> `keras.ops` table (shared with K601).

    ## Why is this bad?
    Keras 2 wrapped such calls in hidden `TFOpLambda` layers. Keras 3.15.1 refuses them on
    every backend: `ValueError: A KerasTensor cannot be used as input to a TensorFlow
    function. A KerasTensor is a symbolic placeholder for a shape and dtype, used when
    constructing Keras Functional models or Keras Functions...`.
    A `tf.*` call on real (eager) tensors, or inside a layer's `call()`, is not flagged
    here (K601 reports the latter when JAX or torch are targets).

    ## Example
    ```python
    inp = keras.Input((4,))
    h = tf.nn.relu(keras.layers.Dense(3)(inp))
    out = tf.reduce_sum(h, axis=1, keepdims=True)
    model = keras.Model(inp, out)
    ```

    ## Use instead
    ```python
    inp = keras.Input((4,))
    h = keras.ops.relu(keras.layers.Dense(3)(inp))
    out = keras.ops.sum(h, axis=1, keepdims=True)
    model = keras.Model(inp, out)
    ```

    ## Fix safety
    Safe for pairs whose results were checked equal on TensorFlow, JAX and torch by
    `scripts/generate_ops_table.py` (argument names are renamed, `name=` is dropped, and
    defaults that differ are written out, e.g. `axis=0` for `tf.gather`). Unsafe, with the
    reason in the fix title, for the traps: `tf.split` takes sizes where `keras.ops.split`
    takes indices, `tf.nn.gelu` is exact where `keras.ops.gelu` is approximate,
    `keras.ops.segment_sum` needs `num_segments` on JAX, and `keras.ops.shape` returns a
    tuple with `None` for unknown dimensions. Ops without an equivalent get no fix: move
    them into a custom layer's `call()`.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/
    - https://keras.io/api/ops/
    """

    code = "K302"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "tf-op-on-keras-tensor"
    message = "`{old}` on a symbolic Keras tensor raises ValueError in Keras 3 (every backend); use `{new}`"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("tensorflow",)

    GUIDANCE = ("`{old}` on a symbolic Keras tensor raises ValueError in Keras 3 (every backend); "
                "no automatic fix ({why}): use a keras.ops function or move the op into a custom "
                "layer's call()")

    VALID = [
        Valid("""
            import tensorflow as tf
            x = tf.ones((2, 3))
            y = tf.reduce_sum(x, axis=1)
            """),
        Valid("""
            import numpy as np
            import tensorflow as tf
            import keras
            y = keras.layers.Dense(2)(np.ones((1, 3), "float32"))
            z = tf.nn.relu(y)
            """),
        Valid("""
            import tensorflow as tf
            import keras

            class Block(keras.layers.Layer):
                def call(self, inputs):
                    return tf.nn.relu(inputs)

            inp = keras.Input((4,))
            out = Block()(inp)
            """),
        Valid("""
            import numpy as np
            import tensorflow as tf
            import keras
            x = keras.Input((3,))
            x = np.ones((2, 3), "float32")
            total = tf.reduce_sum(x)
            """),
        Valid("""
            import tensorflow as tf
            inp = tf.keras.Input((3,))
            out = tf.keras.layers.Dense(2)(inp)
            shape = tf.TensorShape([None, 3])
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras

            inp = keras.Input((4,))
            h = keras.layers.Dense(3, kernel_initializer="ones")(inp)
            h = tf.nn.relu(h - 1.0)
            out = tf.reduce_sum(h, axis=1, keepdims=True)
            model = keras.Model(inp, out)
            RESULT = model.predict(np.arange(8.0).reshape(2, 4), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import keras

            inp = keras.Input((4,))
            h = keras.layers.Dense(3, kernel_initializer="ones")(inp)
            h = keras.ops.relu(h - 1.0)
            out = keras.ops.sum(h, axis=1, keepdims=True)
            model = keras.Model(inp, out)
            RESULT = model.predict(np.arange(8.0).reshape(2, 4), verbose=0).tolist()
            """,
            flagged=("tf.nn.relu", "tf.reduce_sum"),
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            from tensorflow import keras
            from tensorflow.keras import layers

            def build():
                a = layers.Input(shape=(4,))
                scaled = tf.math.square(a) * 0.5
                both = tf.concat([scaled, tf.reverse(a, axis=[1])], axis=-1)
                first, rest = tf.split(both, [3, 5], axis=1)
                mixed = tf.reduce_mean(tf.stack([first, rest[:, :3]], axis=1), axis=1, name="avg")
                return keras.Model(a, tf.nn.softmax(mixed))

            RESULT = build().predict(np.arange(8.0).reshape(2, 4) / 8.0, verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            from tensorflow import keras
            from tensorflow.keras import layers

            def build():
                a = layers.Input(shape=(4,))
                scaled = keras.ops.square(a) * 0.5
                both = keras.ops.concatenate([scaled, keras.ops.flip(a, axis=[1])], axis=-1)
                first, rest = keras.ops.split(both, [3], axis=1)
                mixed = keras.ops.mean(keras.ops.stack([first, rest[:, :3]], axis=1), axis=1)
                return keras.Model(a, keras.ops.softmax(mixed))

            RESULT = build().predict(np.arange(8.0).reshape(2, 4) / 8.0, verbose=0).tolist()
            """,
            flagged=("tf.math.square", "tf.concat", "tf.reverse", "tf.split", "tf.reduce_mean", "tf.stack",
                     "tf.nn.softmax"),
            unsafe=True,
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras

            inp = keras.Input((4, 4, 2))
            base = keras.Model(inp, keras.layers.Conv2D(3, 1, kernel_initializer="ones", name="conv")(inp))
            pooled = tf.reduce_mean(base.output, axis=[1, 2])
            peak = tf.reduce_max(base.get_layer("conv").output, axis=[1, 2])
            head = keras.Model(base.input, tf.concat([pooled, peak], axis=-1))
            RESULT = head.predict(np.linspace(0.0, 1.0, 32).reshape(1, 4, 4, 2), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import keras

            inp = keras.Input((4, 4, 2))
            base = keras.Model(inp, keras.layers.Conv2D(3, 1, kernel_initializer="ones", name="conv")(inp))
            pooled = keras.ops.mean(base.output, axis=[1, 2])
            peak = keras.ops.max(base.get_layer("conv").output, axis=[1, 2])
            head = keras.Model(base.input, keras.ops.concatenate([pooled, peak], axis=-1))
            RESULT = head.predict(np.linspace(0.0, 1.0, 32).reshape(1, 4, 4, 2), verbose=0).tolist()
            """,
            flagged=("tf.reduce_mean", "tf.reduce_max", "tf.concat"),
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            from tensorflow.keras import layers, Model


            def dense_block(x, units):
                x = layers.Dense(units, kernel_initializer="ones")(x)
                return tf.nn.relu6(x)


            inputs = layers.Input(shape=(3,))
            hidden = dense_block(inputs, 4)
            outputs = tf.math.l2_normalize(dense_block(hidden, 2), axis=-1)
            model = Model(inputs, outputs)
            RESULT = model.predict(np.array([[0.1, 0.2, -0.1]]), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            from tensorflow.keras import layers, Model
            import keras


            def dense_block(x, units):
                x = layers.Dense(units, kernel_initializer="ones")(x)
                return keras.ops.relu6(x)


            inputs = layers.Input(shape=(3,))
            hidden = dense_block(inputs, 4)
            outputs = keras.ops.normalize(dense_block(hidden, 2), axis=-1)
            model = Model(inputs, outputs)
            RESULT = model.predict(np.array([[0.1, 0.2, -0.1]]), verbose=0).tolist()
            """,
            flagged=("tf.nn.relu6", "tf.math.l2_normalize"),
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import tensorflow as tf
            import keras

            inp = keras.Input((4,))
            spectrum = tf.signal.rfft(inp)
            """,
            fixed=None,
            flagged=("tf.signal.rfft",),
        ),
    ]

    def check(self, ctx):
        if not has_symbolic_sources(ctx):
            return
        for call in ctx.nodes(ast.Call):
            q = ctx.qualname(call.func)
            if q is None or not q.startswith("tensorflow."):
                continue
            if not (call.args or call.keywords):
                continue
            if not any_symbolic_arg(ctx, call):
                continue
            report_tf_call(self, ctx, call, q, self.message, self.GUIDANCE)
