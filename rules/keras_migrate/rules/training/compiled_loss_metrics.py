"""K403 compiled-loss-metrics."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      class_kinds, keyword, newline, walk_no_nested)

_K2_STEP = '''
import numpy as np
import tensorflow as tf
import keras

class MyModel(keras.Model):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

inputs = keras.Input((3,))
model = MyModel(inputs, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
h = model.fit(np.ones((4, 3), "float32"), np.zeros((4, 1), "float32"), batch_size=4, verbose=0)
RESULT = [round(float(h.history["loss"][0]), 4), round(float(h.history["mae"][0]), 4)]
'''


def _self_attr(node, name) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == name and isinstance(node.value, ast.Name)
            and node.value.id == "self")


class CompiledLossMetrics(Rule):
    """A custom step uses Keras 2's `self.compiled_loss(...)` / `self.compiled_metrics.update_state(...)`.

    ## What it does
    In a Keras Model subclass, flags `self.compiled_loss(...)` and
    `self.compiled_metrics.update_state(...)`, and rewrites them to `self.compute_loss(...)`
    and `self.compute_metrics(None, y, y_pred)`, feeding the step's loss to the `"loss"`
    metric (what Keras 2's `compiled_loss` did).

    ## Why is this bad?
    On Keras 3.15.1 both exist only as deprecated shims on the TensorFlow backend (JAX and
    torch raise `AttributeError`). On TensorFlow the metrics shim is **silently wrong**: it
    updates every metric of the model, and feeds `y_pred` to each `Mean` among them,
    including the `"loss"` tracker, so `fit()` reports the mean of the predictions as the loss
    (nonsensical, even negative) while `compiled_loss` no longer updates any loss metric.

    ## Example
    ```python
    loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
    ...
    self.compiled_metrics.update_state(y, y_pred)
    return {m.name: m.result() for m in self.metrics}
    ```

    ## Use instead
    ```python
    loss = self.compute_loss(y=y, y_pred=y_pred)
    ...
    for metric in self.metrics:
        if metric.name == "loss":
            metric.update_state(loss)
    self.compute_metrics(None, y, y_pred)   # the compile() metrics, as compiled_metrics did
    return {m.name: m.result() for m in self.metrics}
    ```

    ## Fix safety
    Unsafe. `compute_loss` adds `self.losses` (regularization) itself, so an explicit
    `regularization_losses=` argument is dropped: a value other than `self.losses` changes
    the loss. The `"loss"` metric update needs the loss variable: the target of
    `self.compiled_loss(...)`/`self.compute_loss(...)` in the same method, else the first
    argument of `tape.gradient(...)`; without one only the compiled metrics are updated.
    `compute_metrics` updates only the `compile()` metrics, like Keras 2's
    `compiled_metrics`; trackers of your own are left to your code (the Keras 3 shim and a
    plain loop over `self.metrics` would feed them `(y, y_pred)`). The step stays
    TensorFlow-only if it uses `tf.GradientTape` (K6xx reports that).

    ## References
    - https://keras.io/guides/custom_train_step_in_tensorflow/
    - docs/research/keras3-facts.md#compiled_loss-and-compiled_metrics
    """

    code = "K403"
    name = "compiled-loss-metrics"
    message = "`self.{name}` is a deprecated TensorFlow-only shim in Keras 3 that mis-tracks the loss; use {new}"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("compiled_loss", "compiled_metrics")

    VALID = [
        Valid("""
            import keras
            class Net(keras.Model):
                def train_step(self, data):
                    x, y = data
                    y_pred = self(x)
                    loss = self.compute_loss(y=y, y_pred=y_pred)
                    for metric in self.metrics:
                        metric.update_state(y, y_pred)
        """),
        Valid("""
            class Wrapper:
                def step(self, y, p):
                    self.compiled_metrics.update_state(y, p)
                    return self.compiled_loss(y, p)
        """),
    ]
    INVALID = [
        Invalid(
            _K2_STEP,
            fixed=_K2_STEP.replace(
                "self.compiled_loss(y, y_pred, regularization_losses=self.losses)",
                "self.compute_loss(y=y, y_pred=y_pred)").replace(
                "        self.compiled_metrics.update_state(y, y_pred)\n",
                '        for metric in self.metrics:\n'
                '            if metric.name == "loss":\n'
                '                metric.update_state(loss)\n'
                '        self.compute_metrics(None, y, y_pred)\n'),
            flagged=("self.compiled_loss", "self.compiled_metrics"),
            unsafe=True,
            run=Run(k3="differs", fixed_backends=("tensorflow",)),
        ),
        # sample weights forwarded; no loss variable: only the compiled metrics are updated
        Invalid(
            """
            from tensorflow import keras
            class Net(keras.Model):
                def test_step(self, data):
                    x, y, sw = data
                    y_pred = self(x, training=False)
                    self.compiled_loss(y, y_pred, sw)
                    self.compiled_metrics.update_state(y, y_pred, sample_weight=sw)
                    return {m.name: m.result() for m in self.metrics}
            """,
            fixed="""
            from tensorflow import keras
            class Net(keras.Model):
                def test_step(self, data):
                    x, y, sw = data
                    y_pred = self(x, training=False)
                    self.compute_loss(y=y, y_pred=y_pred, sample_weight=sw)
                    self.compute_metrics(None, y, y_pred, sample_weight=sw)
                    return {m.name: m.result() for m in self.metrics}
            """,
            flagged=("self.compiled_loss", "self.compiled_metrics"),
            unsafe=True,
        ),
        # a hand-written loss (found through `tape.gradient`); the model's own tracker is
        # left alone by `compute_metrics` (the Keras 3 shim would feed it `y_pred`)
        Invalid(
            """
            import tensorflow as tf
            import keras
            class Net(keras.Model):
                def train_step(self, data):
                    x, y = data
                    with tf.GradientTape() as tape:
                        y_pred = self(x, training=True)
                        total = tf.reduce_mean(tf.abs(y - y_pred)) + 0.1 * tf.add_n(self.losses)
                    grads = tape.gradient(total, self.trainable_variables)
                    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                    self.compiled_metrics.update_state(y, y_pred)
                    return {m.name: m.result() for m in self.metrics}
            """,
            fixed="""
            import tensorflow as tf
            import keras
            class Net(keras.Model):
                def train_step(self, data):
                    x, y = data
                    with tf.GradientTape() as tape:
                        y_pred = self(x, training=True)
                        total = tf.reduce_mean(tf.abs(y - y_pred)) + 0.1 * tf.add_n(self.losses)
                    grads = tape.gradient(total, self.trainable_variables)
                    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                    for metric in self.metrics:
                        if metric.name == "loss":
                            metric.update_state(total)
                    self.compute_metrics(None, y, y_pred)
                    return {m.name: m.result() for m in self.metrics}
            """,
            flagged=("self.compiled_metrics",),
            unsafe=True,
        ),
        # compiled_loss alone: the "loss" metric is updated right after it
        Invalid(
            """
            import keras
            class Net(keras.Model):
                def test_step(self, data):
                    x, y = data
                    loss = self.compiled_loss(y, self(x), regularization_losses=self.losses)
                    return {m.name: m.result() for m in self.metrics}
            """,
            fixed="""
            import keras
            class Net(keras.Model):
                def test_step(self, data):
                    x, y = data
                    loss = self.compute_loss(y=y, y_pred=self(x))
                    for metric in self.metrics:
                        if metric.name == "loss":
                            metric.update_state(loss)
                    return {m.name: m.result() for m in self.metrics}
            """,
            flagged=("self.compiled_loss",),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for cls in ctx.nodes(ast.ClassDef):
            if MODEL not in class_kinds(ctx, cls):
                continue
            for fn in cls.body:
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                body = list(walk_no_nested(fn))
                calls = sorted((n for n in body if isinstance(n, ast.Call)), key=lambda c: (c.lineno, c.col_offset))
                metric_calls = [n for n in calls if isinstance(n.func, ast.Attribute) and n.func.attr == "update_state"
                                and _self_attr(n.func.value, "compiled_metrics")]
                loss_calls = [n for n in calls if _self_attr(n.func, "compiled_loss")]
                if not metric_calls and not loss_calls:
                    continue
                loss_var = _loss_variable(body)
                for n in loss_calls:
                    self._loss(ctx, n, track=not metric_calls)
                for n in metric_calls:
                    self._metrics(ctx, n, loss_var)

    def _loss(self, ctx, call, track):
        title = "Use `self.compute_loss(...)` (unsafe: it adds `self.losses` itself; `regularization_losses=` is dropped)"
        msg = self.message.format(name="compiled_loss", new="`self.compute_loss(y=..., y_pred=...)`")
        stmt = ctx.parent(call)
        # no compiled_metrics call to hang the loss-metric update on: do it after the assignment
        tracked = (track and isinstance(stmt, ast.Assign) and stmt.value is call and len(stmt.targets) == 1
                   and isinstance(stmt.targets[0], ast.Name))

        def build():
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return None
            names = ("y", "y_pred", "sample_weight")
            parts = [f"{names[i]}={ctx.segment(a)}" for i, a in enumerate(call.args[:3])]
            parts += [f"{k.arg}={ctx.segment(k.value)}" for k in call.keywords if k.arg != "regularization_losses"]
            edits = [ctx.replace(call, f"self.compute_loss({', '.join(parts)})")]
            if tracked:
                nl, ind = newline(ctx), ctx.line_indent(stmt)
                loop = _loss_loop(stmt.targets[0].id)
                edits.append(ctx.insert(ctx.span(stmt)[1], "".join(nl + ind + line for line in loop)))
            return edits
        ctx.report(self, call.func, msg, fix=Fix.unsafe(title, build))

    def _metrics(self, ctx, call, loss_var):
        target = call.func.value
        msg = self.message.format(name="compiled_metrics",
                                  new="`self.compute_metrics(x, y, y_pred, sample_weight)` (and feed the loss to the "
                                      "`\"loss\"` metric)")
        stmt = ctx.parent(call)
        if not isinstance(stmt, ast.Expr) or any(isinstance(a, ast.Starred) for a in call.args) \
                or any(k.arg is None for k in call.keywords) or len(call.args) < 2:
            ctx.report(self, target, msg)
            return
        title = ("Use `self.compute_metrics(...)`" + (f" and update the `\"loss\"` metric with `{loss_var}`"
                                                       if loss_var else "") + " (unsafe)")

        def build():
            ind = ctx.line_indent(stmt)
            nl = newline(ctx)
            args = [ctx.segment(a) for a in call.args[:2]]
            sw = call.args[2] if len(call.args) > 2 else (keyword(call, "sample_weight").value
                                                           if keyword(call, "sample_weight") else None)
            if sw is not None:
                args.append(f"sample_weight={ctx.segment(sw)}")
            lines = (_loss_loop(loss_var) if loss_var else []) + [f"self.compute_metrics(None, {', '.join(args)})"]
            return ctx.replace(stmt, (nl + ind).join(lines))
        ctx.report(self, target, msg, fix=Fix.unsafe(title, build))



def _loss_loop(var):
    return ["for metric in self.metrics:",
            '    if metric.name == "loss":',
            f"        metric.update_state({var})"]


def _loss_variable(body):
    """The step's loss: the target of ``self.compiled_loss(...)``/``self.compute_loss(...)``,
    else the first argument of ``tape.gradient(loss, ...)``."""
    for n in body:
        if (isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
                and isinstance(n.value, ast.Call)
                and (_self_attr(n.value.func, "compiled_loss") or _self_attr(n.value.func, "compute_loss"))):
            return n.targets[0].id
    for n in body:
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "gradient"
                and n.args and isinstance(n.args[0], ast.Name)):
            return n.args[0].id
    return None
