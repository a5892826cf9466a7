"""K602 gradient-tape-train-step."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import MODEL, Group, Invalid, Rule, Run, Severity, Valid

from ._model_code import model_code_calls

STEP_METHODS = ("train_step", "test_step")


class GradientTapeTrainStep(Rule):
    """A custom `train_step` that takes gradients with `tf.GradientTape`.

    ## What it does
    Flags `tf.GradientTape()` inside the `train_step` (or `test_step`) of a Keras Model
    subclass (found through local, Keras and workspace base classes). Guidance only.

    ## Why is this bad?
    The `GradientTape` step is TensorFlow's: Keras 3 runs it on the TensorFlow backend
    only. On JAX `fit()` calls `train_step(state, data)` and fails with
    `TypeError: MyModel.train_step() takes 2 positional arguments but 3 were given`; on
    torch it fails with `TypeError: Cannot convert the argument type_value: tensor(...) to
    a TensorFlow DType.` (Returning `{"loss": loss}` from it also reports 0.0: see K402.)

    ## Example
    ```python
    class MyModel(keras.Model):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                loss = self.compute_loss(y=y, y_pred=self(x, training=True))
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            ...
    ```

    ## Use instead
    ```python
    class MyModel(keras.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return keras.ops.mean(keras.ops.square(y - y_pred))
    ```
    When the step must stay custom, write one `train_step` per backend: JAX's is stateless
    (`stateless_call` + `jax.value_and_grad` + `optimizer.stateless_apply`), torch's uses
    `loss.backward()` and `self.optimizer.apply(gradients, trainable_weights)`; see the
    "Customizing what happens in fit()" guides for each backend.

    ## Fix safety
    No automatic fix: what replaces the tape depends on what the step does (a custom loss
    fits `compute_loss`; anything else needs a step per backend).

    ## References
    - https://keras.io/guides/custom_train_step_in_jax/
    - https://keras.io/guides/custom_train_step_in_torch/
    - https://keras.io/guides/custom_train_step_in_tensorflow/
    """

    code = "K602"
    name = "gradient-tape-train-step"
    message = ("`tf.GradientTape` in `{method}` runs only on the TensorFlow backend (JAX and torch: TypeError "
               "in fit); override `compute_loss`, or write one `{method}` per backend")
    severity = Severity.WARNING
    group = Group.PORTABILITY
    fix = None
    requires = ("GradientTape",)

    VALID = [
        Valid("""
            import tensorflow as tf

            def manual_loop(model, x, y, optimizer):
                with tf.GradientTape() as tape:
                    loss = model.compute_loss(y=y, y_pred=model(x))
                return tape.gradient(loss, model.trainable_variables)
            """),
        Valid("""
            import keras

            class MyModel(keras.Model):
                def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
                    return keras.ops.mean(keras.ops.square(y - y_pred))
            """),
        Valid("""
            import tensorflow as tf

            class Trainer:
                def train_step(self, data):
                    with tf.GradientTape() as tape:
                        pass
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras


            class MyModel(keras.Model):
                def train_step(self, data):
                    x, y = data
                    with tf.GradientTape() as tape:
                        y_pred = self(x, training=True)
                        loss = keras.losses.mean_squared_error(y, y_pred)
                    grads = tape.gradient(loss, self.trainable_variables)
                    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                    return {"loss": loss}


            inp = keras.Input((3,))
            model = MyModel(inp, keras.layers.Dense(1, kernel_initializer="ones")(inp))
            model.compile(optimizer="sgd", loss="mse")
            model.fit(np.ones((4, 3)), np.zeros((4, 1)), verbose=0)
            RESULT = float(np.asarray(model.layers[-1].kernel)[0, 0])
            """,
            fixed=None,
            flagged=("tf.GradientTape()",),
            run=Run(k3="ok"),
        ),
        Invalid(
            """
            import tensorflow as tf
            from tensorflow import keras


            class Base(keras.Model):
                pass


            class GAN(Base):
                def train_step(self, batch):
                    with tf.GradientTape() as g_tape, tf.GradientTape(persistent=True) as d_tape:
                        pass
                    return {}
            """,
            fixed=None,
            flagged=("tf.GradientTape()", "tf.GradientTape(persistent=True)"),
        ),
    ]

    def check(self, ctx):
        if not ctx.settings.portability:
            return
        for call in ctx.nodes(ast.Call):
            if ctx.qualname(call.func) != "tensorflow.GradientTape":
                continue
            site = model_code_calls(ctx).get(id(call))
            if site is None or site.method is None or site.method.name not in STEP_METHODS \
                    or MODEL not in site.kinds:
                continue
            ctx.report(self, call, self.message.format(method=site.method.name))
