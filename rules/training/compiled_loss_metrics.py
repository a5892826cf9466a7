"""K403 compiled-loss-metrics."""
from __future__ import annotations

import ast

from keras_migrate.engine.knowledge import MODEL
from keras_migrate.engine.model import Applicability, Severity
from keras_migrate.engine.rule import Invalid, Rule, Run, Valid
from keras_migrate.rules.training._helpers import keyword, walk_no_nested

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
    and a loop over `self.metrics` that feeds the loss to the `"loss"` metric.

    ## Why is this bad?
    On Keras 3.15.1 both exist only as deprecated shims on the TensorFlow backend (JAX and
    torch raise `AttributeError`). On TensorFlow the metrics shim is **silently wrong**: it
    updates every metric of the model, including the `"loss"` tracker, with `update_state(y,
    y_pred)`, so `fit()` reports the mean of the predictions as the loss (nonsensical, even
    negative) while `compiled_loss` no longer updates any loss metric.

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
        else:
            metric.update_state(y, y_pred)
    return {m.name: m.result() for m in self.metrics}
    ```

    ## Fix safety
    Unsafe. `compute_loss` adds `self.losses` (regularization) itself, so an explicit
    `regularization_losses=` argument is dropped: a value other than `self.losses` changes
    the loss. The metrics loop needs the loss variable: it is taken from the assignment of
    `self.compiled_loss(...)`/`self.compute_loss(...)` in the same method; without one, the
    metrics call is reported with no fix. The step stays TensorFlow-only if it uses
    `tf.GradientTape` (K6xx reports that).

    ## References
    - https://keras.io/guides/custom_train_step_in_tensorflow/
    - keras3-facts.md, "A Keras 2-style train_step using self.compiled_loss(...)"
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
                '            else:\n'
                '                metric.update_state(y, y_pred)\n'),
            flagged=("self.compiled_loss", "self.compiled_metrics"),
            unsafe=True,
            run=Run(k3="differs", fixed_backends=("tensorflow",)),
        ),
        # sample weights forwarded; no loss variable for the metrics loop: no fix for it
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
                    self.compiled_metrics.update_state(y, y_pred, sample_weight=sw)
                    return {m.name: m.result() for m in self.metrics}
            """,
            flagged=("self.compiled_loss", "self.compiled_metrics"),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for cls in ctx.nodes(ast.ClassDef):
            if MODEL not in ctx.knowledge.class_kinds(cls):
                continue
            for fn in cls.body:
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                body = list(walk_no_nested(fn))
                loss_var = None
                for n in body:
                    if (isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
                            and isinstance(n.value, ast.Call)
                            and (_self_attr(n.value.func, "compiled_loss") or _self_attr(n.value.func, "compute_loss"))):
                        loss_var = n.targets[0].id
                for n in sorted((n for n in body if isinstance(n, ast.Call)), key=lambda c: (c.lineno, c.col_offset)):
                    if _self_attr(n.func, "compiled_loss"):
                        self._loss(ctx, n)
                    elif (isinstance(n.func, ast.Attribute) and n.func.attr == "update_state"
                          and _self_attr(n.func.value, "compiled_metrics")):
                        self._metrics(ctx, n, loss_var)

    def _loss(self, ctx, call):
        title = "Use `self.compute_loss(...)` (unsafe: it adds `self.losses` itself; `regularization_losses=` is dropped)"
        msg = self.message.format(name="compiled_loss", new="`self.compute_loss(y=..., y_pred=...)`")

        def build():
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return None
            names = ("y", "y_pred", "sample_weight")
            parts = [f"{names[i]}={ctx.segment(a)}" for i, a in enumerate(call.args[:3])]
            parts += [f"{k.arg}={ctx.segment(k.value)}" for k in call.keywords if k.arg != "regularization_losses"]
            return ctx.make_fix(title, Applicability.UNSAFE, [ctx.replace(call, f"self.compute_loss({', '.join(parts)})")])
        ctx.report(self, call.func, msg, fix=build, fix_title=title, applicability=Applicability.UNSAFE)

    def _metrics(self, ctx, call, loss_var):
        target = call.func.value
        msg = self.message.format(name="compiled_metrics",
                                  new="a loop over `self.metrics` that updates the `\"loss\"` metric with the loss")
        stmt = ctx.parent(call)
        if loss_var is None or not isinstance(stmt, ast.Expr) or any(isinstance(a, ast.Starred) for a in call.args) \
                or len(call.args) < 2:
            ctx.report(self, target, msg)
            return
        title = f"Update `self.metrics` in a loop, the `\"loss\"` metric with `{loss_var}` (unsafe)"

        def build():
            ind = ctx.line_indent(stmt)
            nl = ctx.source.newline()
            args = [ctx.segment(a) for a in call.args]
            sw = keyword(call, "sample_weight")
            if len(args) > 2:
                args = args[:2] + [f"sample_weight={args[2]}"]
            elif sw is not None:
                args.append(f"sample_weight={ctx.segment(sw.value)}")
            lines = ["for metric in self.metrics:",
                     '    if metric.name == "loss":',
                     f"        metric.update_state({loss_var})",
                     "    else:",
                     f"        metric.update_state({', '.join(args)})"]
            text = (nl + ind).join(lines)
            return ctx.make_fix(title, Applicability.UNSAFE, [ctx.replace(stmt, text)])
        ctx.report(self, target, msg, fix=build, fix_title=title, applicability=Applicability.UNSAFE)
