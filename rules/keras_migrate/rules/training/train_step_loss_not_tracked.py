"""K402 train-step-loss-not-tracked."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import MODEL, Invalid, Rule, Run, Severity, Valid, class_kinds, walk_no_nested

_STEPS = ("train_step", "test_step")


def _is_result_call(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("result", "stateless_result"))


class TrainStepLossNotTracked(Rule):
    """A custom `train_step`/`test_step` returns `{"loss": loss}` without a loss metric.

    ## What it does
    In a Keras Model subclass, flags the `"loss"` entry of a dict returned by `train_step` or
    `test_step` when its value is a raw tensor (not a metric's `.result()`) and the method
    updates no metric (`.update_state(...)`).

    ## Why is this bad?
    Silent on Keras 3.15.1, all backends: when the returned keys match the model's metric
    names (`compile(loss=...)` creates a `"loss"` metric), Keras reports the *metrics'*
    results instead of the returned values, and nothing updated the loss metric, so
    `fit()` logs and `History` show **`loss: 0.0`** every epoch while the model trains. With
    other compiled metrics the keys differ and Keras shows the last batch's raw value (Keras
    2 showed the same), or raises on the first epoch end.

    ## Example
    ```python
    def train_step(self, data):
        ...
        return {"loss": loss}
    ```

    ## Use instead
    ```python
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        ...
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}
    ```

    ## Fix safety
    No automatic fix: the tracker needs an attribute in `__init__`, a `metrics` property (so
    it is reset every epoch), and an update in each step method; with compiled metrics the
    loop over `self.metrics` (see K403) is the better shape.

    ## References
    - https://keras.io/guides/custom_train_step_in_tensorflow/
    - docs/research/keras3-facts.md#train_step-returning-only-the-loss
    """

    code = "K402"
    name = "train-step-loss-not-tracked"
    message = ("`{step}` returns a raw `\"loss\"` without updating a metric: Keras 3 silently reports loss 0.0; "
               "track it with a `keras.metrics.Mean(name=\"loss\")` and return its `.result()`")
    severity = Severity.ERROR
    fix = None
    requires = ("_step",)

    VALID = [
        Valid("""
            import keras
            class Net(keras.Model):
                def __init__(self, *args, **kwargs):
                    super().__init__(*args, **kwargs)
                    self.loss_tracker = keras.metrics.Mean(name="loss")
                @property
                def metrics(self):
                    return [self.loss_tracker]
                def train_step(self, data):
                    loss = self.compute_loss(y=data[1], y_pred=self(data[0]))
                    self.loss_tracker.update_state(loss)
                    return {"loss": self.loss_tracker.result()}
                def test_step(self, data):
                    loss = self.compute_loss(y=data[1], y_pred=self(data[0]))
                    self.loss_tracker.update_state(loss)
                    return {"loss": loss}
        """),
        # not a Keras model; a dict that is not returned; another key
        Valid("""
            import keras
            class Trainer:
                def train_step(self, batch):
                    return {"loss": 0.0}
            class Net(keras.Model):
                def train_step(self, data):
                    logs = {"loss": 1.0}
                    return {"mae": 1.0}
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
                        loss = tf.reduce_mean(tf.square(y - y_pred))
                    grads = tape.gradient(loss, self.trainable_variables)
                    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                    return {"loss": loss}

            inputs = keras.Input((3,))
            model = MyModel(inputs, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit(np.ones((4, 3), "float32"), np.zeros((4, 1), "float32"), batch_size=4, verbose=0)
            RESULT = round(float(h.history["loss"][0]), 4)
            """,
            fixed=None,
            flagged=('"loss": loss',),
            run=Run(k3="differs"),
        ),
        Invalid(
            """
            from tensorflow import keras
            from tensorflow.keras import ops

            class Regressor(keras.Sequential):
                def test_step(self, data):
                    x, y = data
                    y_pred = self(x, training=False)
                    return {"loss": ops.mean((y - y_pred) ** 2), "mae": self.mae.result()}
            """,
            fixed=None,
            flagged=('"loss": ops.mean((y - y_pred) ** 2)',),
        ),
    ]

    def check(self, ctx):
        for cls in ctx.nodes(ast.ClassDef):
            if MODEL not in class_kinds(ctx, cls):
                continue
            for fn in cls.body:
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name not in _STEPS:
                    continue
                body = list(walk_no_nested(fn))
                if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                       and n.func.attr in ("update_state", "stateless_update_state") for n in body):
                    continue
                results = set()
                for n in body:
                    if isinstance(n, ast.Assign) and _is_result_call(n.value):
                        results.update(t.id for t in n.targets if isinstance(t, ast.Name))
                for ret in body:
                    if not isinstance(ret, ast.Return) or not isinstance(ret.value, ast.Dict):
                        continue
                    for key, value in zip(ret.value.keys, ret.value.values):
                        if not (isinstance(key, ast.Constant) and key.value == "loss"):
                            continue
                        if _is_result_call(value) or (isinstance(value, ast.Name) and value.id in results):
                            continue
                        start = ctx.span(key)[0]
                        end = ctx.span(value)[1]
                        ctx.report(self, (start, end), self.message.format(step=fn.name))
