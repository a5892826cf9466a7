"""K606 tf-activation-function."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import Applicability, Fix, Group, Invalid, Rule, Run, Severity, Valid

# TensorFlow function -> the Keras activation name with the same definition
ACTIVATIONS = {
    "tensorflow.nn.relu": "relu", "tensorflow.nn.relu6": "relu6", "tensorflow.nn.elu": "elu",
    "tensorflow.nn.selu": "selu", "tensorflow.nn.gelu": "gelu", "tensorflow.nn.leaky_relu": "leaky_relu",
    "tensorflow.nn.sigmoid": "sigmoid", "tensorflow.sigmoid": "sigmoid", "tensorflow.math.sigmoid": "sigmoid",
    "tensorflow.nn.tanh": "tanh", "tensorflow.tanh": "tanh", "tensorflow.math.tanh": "tanh",
    "tensorflow.nn.softmax": "softmax", "tensorflow.math.softmax": "softmax",
    "tensorflow.nn.log_softmax": "log_softmax", "tensorflow.math.log_softmax": "log_softmax",
    "tensorflow.nn.softplus": "softplus", "tensorflow.math.softplus": "softplus",
    "tensorflow.nn.softsign": "softsign", "tensorflow.math.softsign": "softsign",
    "tensorflow.nn.swish": "swish", "tensorflow.nn.silu": "silu",
    "tensorflow.exp": "exponential", "tensorflow.math.exp": "exponential",
}
# a model using these saves to .keras but cannot be loaded again, on every backend
BREAKS_RELOAD = {"tensorflow.nn.swish", "tensorflow.nn.silu"}
_KEYWORDS = ("activation", "recurrent_activation")


class TfActivationFunction(Rule):
    """A TensorFlow function passed as a layer activation (`activation=tf.nn.relu`).

    ## What it does
    Flags `activation=` / `recurrent_activation=` arguments of Keras calls, and the argument
    of `keras.layers.Activation(...)`, that are TensorFlow functions (`tf.nn.relu`,
    `tf.nn.sigmoid`, `tf.math.tanh`, `tf.nn.swish`, ...), and replaces them with the Keras
    activation name of the same function (`"relu"`, `"sigmoid"`, `"tanh"`, `"swish"`, ...).

    ## Why is this bad?
    On JAX and torch the TensorFlow function meets the backend's tensors: building the
    model fails with `RuntimeError: Unable to automatically build the model...` (JAX) or
    `RuntimeError: Can't call numpy() on Tensor that requires grad.` (torch). On every
    backend `activation=tf.nn.swish` trains but the saved `.keras` file cannot be loaded
    again (`TypeError: Could not locate function 'swish'`), so that case is an error even
    for TensorFlow-only projects; the string round-trips.

    ## Example
    ```python
    keras.layers.Dense(64, activation=tf.nn.relu)
    ```

    ## Use instead
    ```python
    keras.layers.Dense(64, activation="relu")
    ```

    ## Fix safety
    Safe: each Keras activation named here computes the same function as the TensorFlow
    one it replaces (`"gelu"` is exact like `tf.nn.gelu`, `"leaky_relu"` uses the same
    0.2 slope), and the string also serialises.

    ## References
    - https://keras.io/api/layers/activations/
    """

    code = "K606"
    name = "tf-activation-function"
    message = "`{old}` as an activation fails on JAX and torch; use `\"{new}\"`"
    severity = Severity.WARNING
    group = Group.PORTABILITY
    fix = Applicability.SAFE
    requires = ("tensorflow",)

    VALID = [
        Valid("""
            import keras
            layer = keras.layers.Dense(4, activation="relu")
            """),
        Valid("""
            import tensorflow as tf
            y = tf.nn.relu(tf.ones((2,)))
            """),
        Valid("""
            import tensorflow as tf
            import keras
            layer = keras.layers.Dense(4, activation=keras.activations.relu)
            other = dict(activation=tf.nn.relu)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras

            model = keras.Sequential([
                keras.Input((3,)),
                keras.layers.Dense(2, activation=tf.nn.relu, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.math.tanh, kernel_initializer="ones"),
                keras.layers.Activation(tf.nn.softmax),
            ])
            RESULT = model.predict(np.array([[1.0, -2.0, 0.5]]), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import keras

            model = keras.Sequential([
                keras.Input((3,)),
                keras.layers.Dense(2, activation="relu", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="tanh", kernel_initializer="ones"),
                keras.layers.Activation("softmax"),
            ])
            RESULT = model.predict(np.array([[1.0, -2.0, 0.5]]), verbose=0).tolist()
            """,
            flagged=("tf.nn.relu", "tf.math.tanh", "tf.nn.softmax"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            from tensorflow import keras

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=tf.nn.swish, kernel_initializer="ones")])
            model.save("m.keras")
            RESULT = keras.models.load_model("m.keras").predict(np.ones((1, 3)), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            from tensorflow import keras

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="swish", kernel_initializer="ones")])
            model.save("m.keras")
            RESULT = keras.models.load_model("m.keras").predict(np.ones((1, 3)), verbose=0).tolist()
            """,
            flagged=("tf.nn.swish",),
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras

            model = keras.Sequential([
                keras.Input((2, 3)),
                keras.layers.LSTM(2, activation=tf.nn.elu, recurrent_activation=tf.nn.sigmoid,
                                  kernel_initializer="ones", recurrent_initializer="ones"),
                keras.layers.Dense(2, activation=tf.nn.gelu, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.nn.leaky_relu, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.nn.selu, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.nn.softplus, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.nn.softsign, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.nn.relu6, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.nn.silu, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.math.exp, kernel_initializer="ones"),
                keras.layers.Dense(2, activation=tf.nn.log_softmax, kernel_initializer="ones"),
            ])
            RESULT = model.predict(np.linspace(-1.0, 1.0, 6).reshape(1, 2, 3), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import keras

            model = keras.Sequential([
                keras.Input((2, 3)),
                keras.layers.LSTM(2, activation="elu", recurrent_activation="sigmoid",
                                  kernel_initializer="ones", recurrent_initializer="ones"),
                keras.layers.Dense(2, activation="gelu", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="leaky_relu", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="selu", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="softplus", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="softsign", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="relu6", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="silu", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="exponential", kernel_initializer="ones"),
                keras.layers.Dense(2, activation="log_softmax", kernel_initializer="ones"),
            ])
            RESULT = model.predict(np.linspace(-1.0, 1.0, 6).reshape(1, 2, 3), verbose=0).tolist()
            """,
            flagged=("tf.nn.elu", "tf.nn.sigmoid", "tf.nn.gelu", "tf.nn.leaky_relu", "tf.nn.selu",
                     "tf.nn.softplus", "tf.nn.softsign", "tf.nn.relu6", "tf.nn.silu", "tf.math.exp",
                     "tf.nn.log_softmax"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch"), tolerance=1e-4),
        ),
    ]

    def check(self, ctx):
        if not ctx.settings.portability:
            return
        for call in ctx.nodes(ast.Call):
            fq = ctx.qualname(call.func)
            if fq is None or not fq.startswith("keras."):
                continue
            values = [kw.value for kw in call.keywords if kw.arg in _KEYWORDS]
            if fq == "keras.layers.Activation" and call.args:
                values.append(call.args[0])
            for value in values:
                q = ctx.qualname(value)
                new = ACTIVATIONS.get(q or "")
                if new is None:
                    continue
                old = "tf" + q[len("tensorflow"):]
                title = f"Replace `{old}` with `\"{new}\"`"
                severity = Severity.ERROR if q in BREAKS_RELOAD else None
                msg = self.message.format(old=old, new=new)
                if severity is not None:
                    msg += "; a model saved with it cannot be loaded again, on any backend"
                ctx.report(self, value, msg, severity=severity,
                           fix=Fix.safe(title, ctx.replace, value, f'"{new}"'))

