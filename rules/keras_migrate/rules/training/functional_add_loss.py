"""K412 functional-add-loss."""
from __future__ import annotations

from keras_migrate.engine.api import Invalid, Rule, Run, Severity, Valid, method_calls

from ._helpers import functional_model


class FunctionalAddLoss(Rule):
    """`add_loss(...)` called on a functional model from outside.

    ## What it does
    Flags `model.add_loss(value)` where `model` was built in this file as a functional model
    (`keras.Model(inputs, outputs)`), the Keras 2 way to add a regularisation term that
    depends on the model's tensors (a VAE's KL term, an activity penalty).

    ## Why is this bad?
    Keras 3.15.1 raises `NotImplementedError` on every backend: a functional model does not
    accept losses added from outside; `add_loss` works only inside a layer's or a subclassed
    model's `call()`.

    ## Example
    ```python
    vae = keras.Model(inputs, outputs)
    vae.add_loss(kl_loss)
    ```

    ## Use instead
    ```python
    class KLLoss(keras.layers.Layer):
        def call(self, z_mean, z_log_var):
            self.add_loss(-0.5 * keras.ops.mean(1 + z_log_var - z_mean**2 - keras.ops.exp(z_log_var)))
            return z_mean
    # ... put KLLoss() in the graph, or subclass keras.Model and override compute_loss()
    ```

    ## Fix safety
    No automatic fix: where the term is computed and how it is weighted is the program's
    design. Guidance only.

    ## References
    - https://keras.io/api/losses/#the-addloss-api
    - https://keras.io/examples/generative/vae/
    """

    code = "K412"
    name = "functional-add-loss"
    message = ("`{recv}.add_loss(...)` on a functional model raises NotImplementedError in Keras 3; "
               "add the loss inside a layer's `call()` (`self.add_loss`) or override `compute_loss`")
    severity = Severity.ERROR
    fix = None
    requires = ("add_loss",)

    VALID = [
        Valid("""
            import keras
            class Reg(keras.layers.Layer):
                def call(self, x):
                    self.add_loss(keras.ops.mean(x))
                    return x
            inputs = keras.Input((3,))
            model = keras.Model(inputs, Reg()(inputs))
        """),
        # a subclassed model adding a loss in call() is fine
        Valid("""
            import keras
            class Net(keras.Model):
                def call(self, x):
                    self.add_loss(keras.ops.mean(x))
                    return x
            net = Net()
            other.add_loss(1.0)
        """),
    ]
    INVALID = [
        Invalid(
            """
            import tensorflow as tf
            import keras
            inputs = keras.Input((3,))
            outputs = keras.layers.Dense(1)(inputs)
            model = keras.Model(inputs, outputs)
            model.add_loss(lambda: tf.reduce_sum(model.layers[1].kernel))
            RESULT = len(model.losses)
            """,
            fixed=None,
            flagged=("model.add_loss(lambda: tf.reduce_sum(model.layers[1].kernel))",),
            run=Run(k3="NotImplementedError"),
        ),
        # the name is reassigned by a method of its own (a VAE script's `vae = vae.load_weights(...)`)
        Invalid(
            """
            from tensorflow.keras.layers import Dense, Input
            from tensorflow.keras.models import Model
            from tensorflow.keras import backend as K
            inputs = Input((3,))
            outputs = Dense(3)(inputs)
            vae = Model(inputs, outputs, name="vae")
            if __name__ == "__main__":
                vae.add_loss(K.mean(outputs))
                vae = vae.load_weights("w.h5")
            """,
            fixed=None,
            flagged=("vae.add_loss(K.mean(outputs))",),
        ),
    ]

    def check(self, ctx):
        for call, f in method_calls(ctx, ("add_loss",)):
            if functional_model(ctx, f.value) is not None:
                ctx.report(self, call, self.message.format(recv=ctx.segment(f.value)))
