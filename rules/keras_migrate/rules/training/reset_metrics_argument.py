"""K406 reset-metrics-argument."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      compose_call_edits, const_bool, model_receiver)

_METHODS = ("train_on_batch", "test_on_batch")


class ResetMetricsArgument(Rule):
    """`train_on_batch(..., reset_metrics=...)` / `test_on_batch(..., reset_metrics=...)`.

    ## What it does
    Flags the `reset_metrics=` argument of `train_on_batch` and `test_on_batch`. These
    method names exist only in Keras, so an opaque receiver (a parameter) is flagged too,
    unless a class of the file defines a method of that name.

    ## Why is this bad?
    Keras 3.15.1 raises on every backend: `TypeError: TensorFlowTrainer.train_on_batch() got
    an unexpected keyword argument 'reset_metrics'`. Keras 3 always resets the metrics at
    the start of each `*_on_batch` call, which is what `reset_metrics=True` (the Keras 2
    default) did. `reset_metrics=False`, which accumulated metrics over several calls, has no
    Keras 3 equivalent.

    ## Example
    ```python
    logs = model.train_on_batch(x, y, reset_metrics=False)
    ```

    ## Use instead
    ```python
    logs = model.train_on_batch(x, y)   # per-batch values; average them yourself,
                                        # or track a keras.metrics.Mean across calls
    ```

    ## Fix safety
    Removing `reset_metrics=True` is safe: Keras 3 does exactly that. Removing
    `reset_metrics=False` (or a non-literal value) is unsafe: the returned metrics become
    per-batch values instead of running averages over the calls since the last reset.
    (The catalogue suggested adding `model.reset_metrics()`; Keras 3 already resets on every
    call, so that would change nothing.)

    ## References
    - https://keras.io/api/models/model_training_apis/#trainonbatch-method
    - docs/research/keras3-facts.md#train_on_batch-and-test_on_batch-reset-metrics
    """

    code = "K406"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "reset-metrics-argument"
    message = "`reset_metrics=` was removed from `{method}()` in Keras 3 (TypeError); metrics are always reset per call"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("reset_metrics",)

    VALID = [
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.train_on_batch(x, y)
            model.reset_metrics()
        """),
        Valid("""
            import keras
            class Loop:
                def train_on_batch(self, x, reset_metrics=True):
                    pass
            def step(loop, x):
                loop.train_on_batch(x, reset_metrics=False)
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
            loss = model.train_on_batch(np.ones((4, 3)), np.ones((4, 1)), reset_metrics=True)
            RESULT = round(float(loss), 5)
            """,
            fixed="""
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
            loss = model.train_on_batch(np.ones((4, 3)), np.ones((4, 1)))
            RESULT = round(float(loss), 5)
            """,
            flagged=("reset_metrics=True",),
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            def evaluate_stream(model: keras.Model, batches):
                for x, y in batches:
                    logs = model.test_on_batch(x, y, reset_metrics=False, return_dict=True)
                return logs
            """,
            fixed="""
            import keras
            def evaluate_stream(model: keras.Model, batches):
                for x, y in batches:
                    logs = model.test_on_batch(x, y, return_dict=True)
                return logs
            """,
            flagged=("reset_metrics=False",),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            f = call.func
            if not isinstance(f, ast.Attribute) or f.attr not in _METHODS:
                continue
            kw = next((k for k in call.keywords if k.arg == "reset_metrics"), None)
            if kw is None:
                continue
            which = model_receiver(ctx, f.value, f.attr, keras_only=True)
            if which is None:
                continue
            value = const_bool(kw.value)
            if value is True and which == "known":
                app, title = Applicability.SAFE, "Remove `reset_metrics=True` (Keras 3 always resets)"
            else:
                app = Applicability.UNSAFE
                title = ("Remove `reset_metrics=` (unsafe: Keras 3 resets metrics on every call; "
                         "results become per-batch values)")
            ctx.report(self, kw, self.message.format(method=f.attr),
                       severity=Severity.ERROR if which == "known" else Severity.WARNING,
                       fix=Fix.applicable(app, title, compose_call_edits, ctx, call, [], ("reset_metrics",)))

