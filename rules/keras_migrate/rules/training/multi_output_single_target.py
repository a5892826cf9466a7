"""K411 multi-output-single-target."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, arg,
                                      visible_values)

from ._helpers import functional_outputs

_METHODS = {"fit": 1, "evaluate": 1, "train_on_batch": 1, "test_on_batch": 1}
_CONTAINERS = (ast.List, ast.Tuple, ast.Dict, ast.ListComp, ast.DictComp, ast.GeneratorExp)
_CONTAINER_CALLS = {"list", "tuple", "dict", "zip"}


def _array_like(ctx, expr, depth: int = 0) -> bool:
    """True when ``expr`` is visibly one array (``np.ones(...)``, ``y_train[:10]``,
    ``to_categorical(...)``), not a list/tuple/dict of targets; False when unknown."""
    if depth > 3 or expr is None:
        return False
    if isinstance(expr, _CONTAINERS):
        return False
    if isinstance(expr, ast.Subscript):
        # y[:, 0] / y_train[idx]: an array slice (a list of arrays indexed by an int is rare)
        return isinstance(expr.slice, (ast.Slice, ast.Tuple)) or _array_like(ctx, expr.value, depth + 1)
    if isinstance(expr, ast.Call):
        f = expr.func
        name = f.id if isinstance(f, ast.Name) else None
        if name in _CONTAINER_CALLS:
            return False
        root = f
        while isinstance(root, ast.Attribute):
            root = root.value
        q = ctx.qualname(f) or ""
        if q.startswith(("tensorflow.", "keras.utils.to_categorical", "keras.ops.")):
            return True
        return isinstance(root, ast.Name) and root.id in ("np", "numpy", "jnp", "torch")
    if isinstance(expr, ast.Name):
        values = visible_values(ctx, expr)
        return bool(values) and all(_array_like(ctx, v, depth + 1) for v in values)
    return False


def _single_loss(ctx, recv: ast.Name) -> bool:
    """``recv.compile(loss=[..., None, None])``: only one output has a loss, so one target is
    what Keras 3 expects (partial labels)."""
    for call in ctx.nodes(ast.Call):
        f = call.func
        if (isinstance(f, ast.Attribute) and f.attr == "compile" and isinstance(f.value, ast.Name)
                and f.value.id == recv.id):
            loss = arg(call, 1, "loss")
            if isinstance(loss, (ast.List, ast.Tuple)):
                real = [e for e in loss.elts if not (isinstance(e, ast.Constant) and e.value is None)]
                if len(real) == 1:
                    return True
    return False


class MultiOutputSingleTarget(Rule):
    """One target array passed to `fit`/`evaluate` of a model with several outputs.

    ## What it does
    Flags the `y` argument of `fit`, `evaluate`, `train_on_batch` and `test_on_batch` on a
    functional model built in this file with a list or tuple of two or more outputs, when
    `y` is visibly a single array (a NumPy/TensorFlow call, a slice, or a name bound to one),
    not a list, tuple or dict of targets. Unknown targets are not flagged, nor models compiled
    with a loss for one output only (`loss=["mse", None]`: partial labels).

    ## Why is this bad?
    Keras 2 used the one target for every output. Keras 3.15.1 raises on every backend:
    `KeyError: "The path: (0,) in the loss argument, can't be found in either the model's
    output (y_pred) or in the labels (y_true)."` (from Keras 3.7.0 on). Keras 3.0–3.6 ran, but
    silently trained and evaluated only against a flattened structure and returned a single
    scalar (docs/research/keras-version-ranges.md, pattern (c′)). The 2023 migration guide's
    own multi-output snippet does this.

    ## Example
    ```python
    model = keras.Model(inputs, [out_1, out_2])
    model.evaluate(x_test, y_test)
    ```

    ## Use instead
    ```python
    model.evaluate(x_test, [y_test, y_test])
    ```

    ## Fix safety
    Safe: `[y, y]` (or `[expr] * n` for an expression, evaluated once) gives every output the
    same target, which is what Keras 2 did with a single `y`.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/ (multi-output `evaluate()`)
    - docs/research/keras-version-ranges.md, pattern (c′)
    - docs/research/keras3-facts.md#multi-output-evaluate
    """

    code = "K411"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "multi-output-single-target"
    message = ("`{method}` gets one target for a {n}-output model: Keras 2 reused it for every output, Keras 3 "
               "raises KeyError; pass one target per output")
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("fit", "evaluate", "_on_batch")

    VALID = [
        Valid("""
            import keras
            import numpy as np
            inputs = keras.Input((3,))
            model = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
            y = np.ones((4, 1))
            targets = [y, y]
            model.fit(np.ones((4, 3)), [y, y])
            model.evaluate(np.ones((4, 3)), targets)
            model.fit(dataset)
            partial = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
            partial.compile(loss=["mse", None])
            partial.evaluate(np.ones((4, 3)), np.ones((4, 1)))
        """),
        # one output; an unknown target; a Sequential
        Valid("""
            import keras
            import numpy as np
            inputs = keras.Input((3,))
            single = keras.Model(inputs, keras.layers.Dense(1)(inputs))
            single.fit(np.ones((4, 3)), np.ones((4, 1)))
            def train(model, x, y):
                two = keras.Model(inputs, [keras.layers.Dense(1)(inputs)] * 2)
                two.fit(x, y)
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            inputs = keras.Input((10,))
            hidden = keras.layers.Dense(5, activation="relu", kernel_initializer="ones")(inputs)
            out_1 = keras.layers.Dense(5, activation="softmax", kernel_initializer="ones", name="output_1")(hidden)
            out_2 = keras.layers.Dense(5, activation="softmax", kernel_initializer="ones", name="output_2")(hidden)
            model = keras.Model(inputs=inputs, outputs=[out_1, out_2])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            x_test = np.ones((4, 10))
            y_test = np.full((4, 5), 0.2)
            RESULT = model.evaluate(x_test, y_test, verbose=0)
            """,
            fixed="""
            import keras
            import numpy as np
            inputs = keras.Input((10,))
            hidden = keras.layers.Dense(5, activation="relu", kernel_initializer="ones")(inputs)
            out_1 = keras.layers.Dense(5, activation="softmax", kernel_initializer="ones", name="output_1")(hidden)
            out_2 = keras.layers.Dense(5, activation="softmax", kernel_initializer="ones", name="output_2")(hidden)
            model = keras.Model(inputs=inputs, outputs=[out_1, out_2])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            x_test = np.ones((4, 10))
            y_test = np.full((4, 5), 0.2)
            RESULT = model.evaluate(x_test, [y_test, y_test], verbose=0)
            """,
            flagged=("y_test",),
            run=Run(k3="KeyError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow import keras
            import numpy as np
            inp = keras.Input((3,))
            heads = (keras.layers.Dense(1)(inp), keras.layers.Dense(1)(inp), keras.layers.Dense(1)(inp))
            model = keras.Model(inp, heads)
            model.fit(x, y=np.zeros((8, 1)), epochs=2)
            """,
            fixed="""
            from tensorflow import keras
            import numpy as np
            inp = keras.Input((3,))
            heads = (keras.layers.Dense(1)(inp), keras.layers.Dense(1)(inp), keras.layers.Dense(1)(inp))
            model = keras.Model(inp, heads)
            model.fit(x, y=[np.zeros((8, 1))] * 3, epochs=2)
            """,
            flagged=("np.zeros((8, 1))",),
        ),
    ]

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            f = call.func
            if not (isinstance(f, ast.Attribute) and f.attr in _METHODS):
                continue
            outs = functional_outputs(ctx, f.value)
            if isinstance(outs, ast.Name):
                vals = visible_values(ctx, outs)
                outs = vals[0] if len(vals) == 1 else None
            if not isinstance(outs, (ast.List, ast.Tuple)) or len(outs.elts) < 2 \
                    or any(isinstance(e, ast.Starred) for e in outs.elts):
                continue
            y = arg(call, _METHODS[f.attr], "y")
            if y is None or not _array_like(ctx, y) or _single_loss(ctx, f.value):
                continue
            n = len(outs.elts)
            seg = ctx.segment(y)
            new = f"[{seg}, {seg}]" if isinstance(y, ast.Name) and n == 2 else f"[{seg}] * {n}"
            title = f"Pass one target per output: `{new}`"
            ctx.report(self, y, self.message.format(method=f.attr, n=n),
                       fix=Fix.safe(title, ctx.replace, y, new))

