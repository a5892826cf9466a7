"""K407 multi-output-evaluate."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import Invalid, Rule, Run, Severity, Valid, const_bool, keyword

from ._helpers import functional_outputs

_OLD = {"keras_version": "3.4.1"}


def _n_outputs(ctx, recv) -> int:
    """Number of outputs of a functional model built in this file (0 when unknown)."""
    outs = functional_outputs(ctx, recv)
    if isinstance(outs, (ast.List, ast.Tuple)):
        return len(outs.elts)
    if isinstance(outs, ast.Dict):
        return len(outs.keys)
    return 0


class MultiOutputEvaluate(Rule):
    """`evaluate()` on a multi-output model, read as a list of per-output losses (Keras 3.0–3.4).

    ## What it does
    Flags `model.evaluate(...)` without `return_dict=True` when `model` is a functional model
    built in this file with two or more outputs. Off by default: the pattern breaks only on
    Keras 3.0.0 up to (not including) 3.5.0; setting `keras-version` to one of those releases
    turns it on.

    ## Why is this bad?
    Keras 3.0–3.4 tracked only the total loss: `evaluate()` on a two-output model compiled
    without metrics returned one float (checked on keras 3.4.1, TensorFlow backend:
    `metrics_names == ['loss']`) instead of Keras 2's `[loss, output_1_loss,
    output_2_loss]`, so `total, a, b = model.evaluate(...)` raised `TypeError: cannot unpack
    non-iterable float object`, and with compiled metrics indexing picked the wrong values
    (keras-team/keras#18993, #19219). Keras 3.5.0 brought per-output losses back (PR #20023;
    checked on keras 3.5.0: three values, `['loss', 'output_1_loss', 'output_2_loss']`);
    on 3.15.1 `evaluate(x, [y, y])` returns the three values again, with the same
    `metrics_names` as Keras 2. The migration guide's own snippet now fails for another
    reason (it passes one `y` to a two-output model: `KeyError: "The path: (0,) in the loss
    argument, can't be found..."`).

    ## Example
    ```python
    total, loss_a, loss_b = model.evaluate(x, [y_a, y_b])
    ```

    ## Use instead
    ```python
    scores = model.evaluate(x, [y_a, y_b], return_dict=True)
    loss_a = scores["output_a_loss"]   # names follow the output layers
    ```

    ## Fix safety
    No automatic fix: the keys of the returned dict depend on the output names, and the code
    that consumed the list must change with it.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/ (multi-output `evaluate()`)
    - https://github.com/keras-team/keras/pull/20023
    - docs/research/keras3-facts.md#multi-output-evaluate
    """

    code = "K407"
    name = "multi-output-evaluate"
    message = ("`evaluate()` on a {n}-output model returns only the total loss on Keras 3.0–3.4 (no per-output "
               "losses); use `return_dict=True` and read the keys")
    severity = Severity.INFO
    fix = None
    keras_versions = ("3.0.0", "3.5.0")
    default_enabled = False
    requires = ("evaluate",)

    VALID = [
        Valid("""
            import keras
            inputs = keras.Input((3,))
            model = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
            scores = model.evaluate(x, [y, y], return_dict=True)
        """, config=_OLD),
        Valid("""
            import keras
            inputs = keras.Input((3,))
            single = keras.Model(inputs, keras.layers.Dense(1)(inputs))
            loss = single.evaluate(x, y)
            seq = keras.Sequential([keras.layers.Dense(1)])
            seq.evaluate(x, y)
        """, config=_OLD),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            inputs = keras.Input((10,))
            hidden = keras.layers.Dense(5, activation="relu")(inputs)
            out_1 = keras.layers.Dense(5, activation="softmax", name="output_1")(hidden)
            out_2 = keras.layers.Dense(5, activation="softmax", name="output_2")(hidden)
            model = keras.Model(inputs=inputs, outputs=[out_1, out_2])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            x, y = np.ones((4, 10)), np.full((4, 5), 0.2)
            total, loss_1, loss_2 = model.evaluate(x, [y, y], verbose=0)
            RESULT = 3
            """,
            fixed=None,
            flagged=("model.evaluate",),
            config=_OLD,
            # fixed on 3.15.1: the original runs there too
            run=Run(k3="ok"),
        ),
        Invalid(
            """
            from tensorflow import keras
            inp = keras.Input((3,))
            model = keras.Model(inp, {"a": keras.layers.Dense(1)(inp), "b": keras.layers.Dense(1)(inp)})
            results = model.evaluate(x, {"a": ya, "b": yb}, return_dict=False)
            """,
            fixed=None,
            flagged=("model.evaluate",),
            config=_OLD,
        ),
    ]

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            f = call.func
            if not (isinstance(f, ast.Attribute) and f.attr == "evaluate"):
                continue
            rd = keyword(call, "return_dict")
            if rd is not None and const_bool(rd.value) is not False:
                continue
            n = _n_outputs(ctx, f.value)
            if n >= 2:
                ctx.report(self, f, self.message.format(n=n))
