"""K409 learning-rate-history-key."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (CALLBACK, HISTORY, MODEL, Applicability, Fix, Invalid, Rule, Run,
                                      Severity, Valid, calls_to, class_kinds, enclosing_method, is_opaque,
                                      receiver_kind, visible_values)

def _is_history_dict(ctx, expr, depth=0) -> bool:
    """``h.history`` of a History (from ``fit``) or ``model.history.history``, or a name bound
    to one of those, or ``logs`` inside a Callback's method."""
    if depth > 3:
        return False
    if isinstance(expr, ast.Attribute) and expr.attr == "history":
        v = expr.value
        if receiver_kind(ctx, v) == HISTORY:
            return True
        if isinstance(v, ast.Attribute) and v.attr == "history" and receiver_kind(ctx, v.value) == MODEL:
            return True
        return False
    if isinstance(expr, ast.Name):
        if expr.id == "logs":
            m = enclosing_method(ctx, expr)
            if m is not None and CALLBACK in class_kinds(ctx, m[0]):
                return True
        values = visible_values(ctx, expr)
        return len(values) == 1 and _is_history_dict(ctx, values[0], depth + 1)
    return False


def _history_status(ctx, expr):
    """"known" for a Keras history dict, "unknown" for ``<opaque>.history`` (a parameter's
    ``.history``: the idiom is Keras-only), else None."""
    if _is_history_dict(ctx, expr):
        return "known"
    if isinstance(expr, ast.Attribute) and expr.attr == "history" and receiver_kind(ctx, expr.value) is None \
            and is_opaque(ctx, expr.value):
        return "unknown"
    return None


def _lr_key(node) -> bool:
    return isinstance(node, ast.Constant) and node.value == "lr"


class LearningRateHistoryKey(Rule):
    """Reads the learning rate as `history["lr"]`, or passes `epsilon=` to `ReduceLROnPlateau`.

    ## What it does
    Flags the key `"lr"` read from a training history (`history.history["lr"]`,
    `.get("lr")`, `"lr" in history.history`, `model.history.history["lr"]`, or `logs["lr"]`
    inside a callback method),
    and `keras.callbacks.ReduceLROnPlateau(epsilon=...)`. A history the file cannot see into
    (`def plot(history): history.history["lr"]`) is reported as a warning with an unsafe fix;
    other dicts with an `"lr"` key are never flagged.

    ## Why is this bad?
    Both are silent on Keras 3.15.1. `ReduceLROnPlateau` and `LearningRateScheduler` now log
    the rate as `"learning_rate"`, so `history.history["lr"]` raises `KeyError` (and
    `.get("lr")` quietly returns `None`). `ReduceLROnPlateau(epsilon=1e-3)` is accepted and
    **ignored**: Keras 2 mapped it to `min_delta`, Keras 3 keeps `min_delta=1e-4`, so the
    schedule reacts to smaller improvements than the code asks for. The common guard
    `if "lr" in history.history:` is silently False, so the plot or log under it vanishes.

    ## Example
    ```python
    cb = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", epsilon=1e-3)
    history = model.fit(x, y, callbacks=[cb])
    plt.plot(history.history["lr"])
    ```

    ## Use instead
    ```python
    cb = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", min_delta=1e-3)
    history = model.fit(x, y, callbacks=[cb])
    plt.plot(history.history["learning_rate"])
    ```

    ## Fix safety
    Safe: `"learning_rate"` is the key Keras 3's own callbacks write where Keras 2 wrote
    `"lr"`, and `min_delta` is what Keras 2 turned `epsilon` into. When both `epsilon=` and
    `min_delta=` are given the rule only reports (Keras 2 let `epsilon` win; decide which).
    On a history the file cannot see into, the key rename is unsafe (it may not be Keras's).

    ## References
    - https://keras.io/api/callbacks/reduce_lr_on_plateau/
    - docs/research/keras3-facts.md#reducelronplateau
    """

    code = "K409"
    name = "learning-rate-history-key"
    message = "Keras 3 logs the learning rate as `\"learning_rate\"`: the `\"lr\"` key is missing (KeyError / None)"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("lr", "epsilon")

    VALID = [
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            history = model.fit(x, y)
            rates = history.history["learning_rate"]
            cb = keras.callbacks.ReduceLROnPlateau(min_delta=1e-3)
            opt = keras.optimizers.Adam(epsilon=1e-7)
            bn = keras.layers.BatchNormalization(epsilon=1e-3)
        """),
        # dicts that are not a training history
        Valid("""
            import keras
            config = {"lr": 0.1}
            lr = config["lr"]
            params = dict(lr=0.1)
            def on_epoch_end(epoch, logs):
                return logs["lr"]
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
            plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_delta=100.0)
            h = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=3, callbacks=[plateau], verbose=0)
            RESULT = [round(float(v), 6) for v in h.history["lr"]]
            """,
            fixed="""
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
            plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_delta=100.0)
            h = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=3, callbacks=[plateau], verbose=0)
            RESULT = [round(float(v), 6) for v in h.history["learning_rate"]]
            """,
            flagged=('"lr"',),
            run=Run(k3="KeyError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", epsilon=1e-3, patience=2)
            RESULT = cb.min_delta
            """,
            fixed="""
            import keras
            cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", min_delta=1e-3, patience=2)
            RESULT = cb.min_delta
            """,
            flagged=("epsilon=1e-3",),
            run=Run(k3="differs", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.models.load_model("m.keras")
            hist = model.fit(x, y).history
            last = hist.get('lr')
            again = model.history.history['lr'][-1]

            class Printer(tf.keras.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    print(logs["lr"])
            """,
            fixed="""
            import tensorflow as tf
            model = tf.keras.models.load_model("m.keras")
            hist = model.fit(x, y).history
            last = hist.get('learning_rate')
            again = model.history.history['learning_rate'][-1]

            class Printer(tf.keras.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    print(logs["learning_rate"])
            """,
            flagged=("'lr'", "'lr'", '"lr"'),
        ),
        # a history passed in: `.history["lr"]` is a Keras-only idiom (warning, unsafe fix)
        Invalid(
            """
            import keras
            def plot(history):
                return history.history["lr"]
            """,
            fixed="""
            import keras
            def plot(history):
                return history.history["learning_rate"]
            """,
            flagged=('"lr"',),
            unsafe=True,
        ),
        # the guard alone: silently False on Keras 3
        Invalid(
            """
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit(np.ones((4, 3)), np.ones((4, 1)), callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="loss")], verbose=0)
            RESULT = "lr" in h.history
            """,
            fixed="""
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit(np.ones((4, 3)), np.ones((4, 1)), callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="loss")], verbose=0)
            RESULT = "learning_rate" in h.history
            """,
            flagged=('"lr"',),
            run=Run(k3="differs", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # the guard and the read are renamed together
        Invalid(
            """
            import keras
            import matplotlib.pyplot as plt
            model = keras.Sequential([keras.layers.Dense(1)])
            history = model.fit(x, y, callbacks=[keras.callbacks.ReduceLROnPlateau()])
            if "lr" in history.history:
                plt.plot(history.history["lr"])
            """,
            fixed="""
            import keras
            import matplotlib.pyplot as plt
            model = keras.Sequential([keras.layers.Dense(1)])
            history = model.fit(x, y, callbacks=[keras.callbacks.ReduceLROnPlateau()])
            if "learning_rate" in history.history:
                plt.plot(history.history["learning_rate"])
            """,
            flagged=('"lr"', '"lr"'),
        ),
        # epsilon and min_delta both given: report only
        Invalid(
            """
            from tensorflow.keras.callbacks import ReduceLROnPlateau
            cb = ReduceLROnPlateau(epsilon=0.01, min_delta=0.001)
            """,
            fixed=None,
            flagged=("epsilon=0.01",),
        ),
    ]

    def check(self, ctx):
        for sub in ctx.nodes(ast.Subscript):
            if _lr_key(sub.slice):
                status = _history_status(ctx, sub.value)
                if status:
                    self._report_key(ctx, sub.slice, status)
        for cmp in ctx.nodes(ast.Compare):
            # `if "lr" in history.history:` is silently False on Keras 3
            if (_lr_key(cmp.left) and len(cmp.ops) == 1 and isinstance(cmp.ops[0], (ast.In, ast.NotIn))):
                status = _history_status(ctx, cmp.comparators[0])
                if status:
                    self._report_key(ctx, cmp.left, status)
        for call in ctx.nodes(ast.Call):
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr in ("get", "pop") and call.args and _lr_key(call.args[0]):
                status = _history_status(ctx, f.value)
                if status:
                    self._report_key(ctx, call.args[0], status)
        for call, _ in calls_to(ctx, ("keras.callbacks.ReduceLROnPlateau",)):
            eps = next((k for k in call.keywords if k.arg == "epsilon"), None)
            if eps is None:
                continue
            msg = ("`epsilon=` is silently ignored by Keras 3 `ReduceLROnPlateau` (min_delta stays 1e-4); "
                   "use `min_delta=`")
            if any(k.arg == "min_delta" for k in call.keywords):
                ctx.report(self, eps, msg)
                continue
            title = "Rename `epsilon=` to `min_delta=`"
            ctx.report(self, eps, msg,
                       fix=Fix.safe(title, self._rename, ctx, call))

    def _rename(self, ctx, call):
        e = ctx.rename_keyword(call, "epsilon", "min_delta")
        return [e] if e is not None else None

    def _report_key(self, ctx, key, status):
        seg = ctx.segment(key)
        quote = seg[-1]
        prefix = seg[: seg.index(quote)]
        new = f"{prefix}{quote}learning_rate{quote}"
        known = status == "known"
        app = Applicability.SAFE if known else Applicability.UNSAFE
        title = f"Use the key {new}" + ("" if known else " (unsafe: if this is a Keras training history)")
        ctx.report(self, key, severity=Severity.ERROR if known else Severity.WARNING,
                   fix=Fix.applicable(app, title, ctx.replace, key, new))

