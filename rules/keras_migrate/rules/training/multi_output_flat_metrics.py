"""K413 multi-output-flat-metrics."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, arg, keyword,
                                      method_calls)

from ._helpers import output_structure

# positions as in Keras 2's compile(optimizer, loss, metrics, loss_weights, weighted_metrics)
_KEYWORDS = (("metrics", 2), ("weighted_metrics", 4))


class MultiOutputFlatMetrics(Rule):
    """A flat `metrics=[...]` list passed to `compile()` of a model with several outputs.

    ## What it does
    Flags `compile(metrics=["mae", ...])` (and `weighted_metrics=`) when the list holds plain
    metrics (no per-output lists or dicts) and the model is a functional model built in this
    file whose outputs are a list, tuple or dict of two or more tensors.

    ## Why is this bad?
    Keras 2 applied a flat metrics list to every output. Keras 3.15.1 matches metrics to the
    output structure, so `fit` fails on every backend: `ValueError: ... Invalid metrics.
    metrics should contain metrics objects and either be a dict or a list matching the output
    names of the functional model ['x', 'y'] or match the output structure of the model`.
    Worse, a list with exactly one metric per output runs: Keras 3 silently gives the first
    metric to the first output only, the second to the second (`x_mae`, `y_mse` instead of
    all four).

    ## Example
    ```python
    model = keras.Model(inputs, [out_a, out_b])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    ```

    ## Use instead
    ```python
    model.compile(optimizer="adam", loss="mse", metrics=[["mae"], ["mae"]])
    # dict outputs: metrics={"a": ["mae"], "b": ["mae"]}
    ```

    ## Fix safety
    Safe: one copy of the list per output is what Keras 2 did, and the history keeps the
    same keys (`x_mae`, `y_mae`, ...).

    ## References
    - https://keras.io/api/models/model_training_apis/#compile-method
    """

    code = "K413"
    name = "multi-output-flat-metrics"
    message = "`{kw}=` is a flat list but the model has {n} outputs: Keras 3 raises ValueError in `fit`; give one list per output"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("metrics",)

    VALID = [
        Valid("""
            import keras
            inputs = keras.Input((3,))
            a = keras.layers.Dense(1)(inputs)
            b = keras.layers.Dense(1)(inputs)
            one = keras.Model(inputs, a)
            one.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            two = keras.Model(inputs, [a, b])
            two.compile(optimizer="sgd", loss="mse", metrics=[["mae"], ["mae"]])
            named = keras.Model(inputs, {"a": a, "b": b})
            named.compile(optimizer="sgd", loss="mse", metrics={"a": ["mae"], "b": ["mae"]})
        """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import keras
            inputs = keras.Input((3,))
            x = keras.layers.Dense(1, name="x")(inputs)
            y = keras.layers.Dense(1, name="y")(inputs)
            model = keras.Model(inputs=inputs, outputs=[x, y])
            model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            h = model.fit(np.ones((4, 3)), [np.ones((4, 1)), np.ones((4, 1))], epochs=1, verbose=0)
            RESULT = sorted(h.history)
            """,
            fixed="""
            import numpy as np
            import keras
            inputs = keras.Input((3,))
            x = keras.layers.Dense(1, name="x")(inputs)
            y = keras.layers.Dense(1, name="y")(inputs)
            model = keras.Model(inputs=inputs, outputs=[x, y])
            model.compile(optimizer="sgd", loss="mse", metrics=[["mae"], ["mae"]])
            h = model.fit(np.ones((4, 3)), [np.ones((4, 1)), np.ones((4, 1))], epochs=1, verbose=0)
            RESULT = sorted(h.history)
            """,
            flagged=('metrics=["mae"]',),
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import keras
            inputs = keras.Input((3,))
            outs = {"x": keras.layers.Dense(1, name="x")(inputs), "y": keras.layers.Dense(1, name="y")(inputs)}
            model = keras.Model(inputs, outs)
            model.compile("sgd", "mse", metrics=["mae", "mse"])
            h = model.fit(np.ones((4, 3)), {"x": np.ones((4, 1)), "y": np.ones((4, 1))}, epochs=1, verbose=0)
            RESULT = sorted(h.history)
            """,
            fixed="""
            import numpy as np
            import keras
            inputs = keras.Input((3,))
            outs = {"x": keras.layers.Dense(1, name="x")(inputs), "y": keras.layers.Dense(1, name="y")(inputs)}
            model = keras.Model(inputs, outs)
            model.compile("sgd", "mse", metrics={"x": ["mae", "mse"], "y": ["mae", "mse"]})
            h = model.fit(np.ones((4, 3)), {"x": np.ones((4, 1)), "y": np.ones((4, 1))}, epochs=1, verbose=0)
            RESULT = sorted(h.history)
            """,
            flagged=('metrics=["mae", "mse"]',),
            # as many metrics as outputs: Keras 3 silently gives one to each output
            run=Run(k3="differs", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ]

    def check(self, ctx):
        for call, f in method_calls(ctx, ("compile",)):
            shape = None
            for kw, pos in _KEYWORDS:
                value = arg(call, pos, kw)
                if not isinstance(value, (ast.List, ast.Tuple)) or not value.elts:
                    continue
                if any(isinstance(e, (ast.List, ast.Tuple, ast.Dict, ast.Starred)) or
                       (isinstance(e, ast.Constant) and e.value is None) for e in value.elts):
                    continue  # already per output
                if shape is None:
                    shape = output_structure(ctx, f.value) or ("", 0)
                kind, outs = shape
                n = outs if kind == "list" else len(outs) if kind == "dict" else 0
                if n < 2:
                    continue
                node = keyword(call, kw) or value
                seg = ctx.segment(value)
                new = ("[" + ", ".join([seg] * n) + "]" if kind == "list"
                       else "{" + ", ".join(f'"{k}": {seg}' for k in outs) + "}")
                title = "Give each output the same metrics (what Keras 2 did)"
                msg = self.message.format(kw=kw, n=n)
                if len(value.elts) == n:
                    msg = (f"`{kw}=` is a flat list of {n} metrics for {n} outputs: Keras 2 computed each on "
                           "every output, Keras 3 silently gives one to each output; give one list per output")
                ctx.report(self, node, msg,
                           fix=Fix.safe(title, ctx.replace, value, new))

