"""K408 metrics-names."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, keyword,
                                      model_receiver)


def _dict_zip_idiom(ctx, attr: ast.Attribute):
    """``dict(zip(M.metrics_names, M.evaluate(...)))`` around this attribute: the outer call
    and the evaluate call, else None."""
    zip_call = ctx.parent(attr)
    if not (isinstance(zip_call, ast.Call) and isinstance(zip_call.func, ast.Name) and zip_call.func.id == "zip"
            and len(zip_call.args) == 2 and not zip_call.keywords and zip_call.args[0] is attr):
        return None
    dict_call = ctx.parent(zip_call)
    if not (isinstance(dict_call, ast.Call) and isinstance(dict_call.func, ast.Name) and dict_call.func.id == "dict"
            and len(dict_call.args) == 1 and not dict_call.keywords):
        return None
    ev = zip_call.args[1]
    if not (isinstance(ev, ast.Call) and isinstance(ev.func, ast.Attribute) and ev.func.attr == "evaluate"
            and ctx.segment(ev.func.value) == ctx.segment(attr.value) and keyword(ev, "return_dict") is None
            and not any(isinstance(a, ast.Starred) for a in ev.args)
            and not any(k.arg is None for k in ev.keywords)):
        return None
    return dict_call, ev


class MetricsNames(Rule):
    """Reads `model.metrics_names`, whose content changed silently in Keras 3.

    ## What it does
    Flags `model.metrics_names` on a Keras model (and on an opaque receiver: the name is
    Keras-only, unless a class of the file defines it). The common idiom
    `dict(zip(model.metrics_names, model.evaluate(...)))` is rewritten to
    `model.evaluate(..., return_dict=True)`.

    ## Why is this bad?
    On Keras 3.15.1 `metrics_names` lists the model's metric *objects*: `['loss',
    'compile_metrics']` after `compile(metrics=["accuracy", "acc"])`, where Keras 2 gave
    `['loss', 'accuracy', 'acc']`. `evaluate()` still returns one value per metric, so
    `zip(model.metrics_names, results)` silently pairs the wrong names with the values (and
    drops some). Nothing raises.

    ## Example
    ```python
    scores = dict(zip(model.metrics_names, model.evaluate(x, y)))
    print(model.metrics_names)
    ```

    ## Use instead
    ```python
    scores = model.evaluate(x, y, return_dict=True)
    print(list(scores))
    ```

    ## Fix safety
    The `dict(zip(...))` rewrite is safe: `evaluate(..., return_dict=True)` gives the dict the
    idiom built on Keras 2 (the same keys and values), on every Keras version. Other uses are
    reported without a fix: use `return_dict=True` or the keys of `history.history`.

    ## References
    - https://keras.io/api/models/model_training_apis/#evaluate-method
    - docs/research/keras3-facts.md#metrics_names
    """

    code = "K408"
    name = "metrics-names"
    message = ("`metrics_names` silently changed in Keras 3 (e.g. `['loss', 'compile_metrics']`) and no longer "
               "matches `evaluate()`'s values; use `evaluate(..., return_dict=True)`")
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("metrics_names",)

    VALID = [
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            scores = model.evaluate(x, y, return_dict=True)
            names = list(scores)
        """),
        Valid("""
            import keras
            class Report:
                metrics_names = ("a", "b")
                def metrics_names(self):
                    return []
            r = Report()
            print(r.metrics_names)
            cfg = {"metrics_names": []}
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax", kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy", "acc"])
            model.evaluate(np.ones((4, 3)), np.array([0, 1, 0, 1]), verbose=0)
            scores = dict(zip(model.metrics_names, model.evaluate(np.ones((4, 3)), np.array([0, 1, 0, 1]), verbose=0)))
            RESULT = [[k, round(float(scores[k]), 5)] for k in sorted(scores)]
            """,
            fixed="""
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax", kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy", "acc"])
            model.evaluate(np.ones((4, 3)), np.array([0, 1, 0, 1]), verbose=0)
            scores = model.evaluate(np.ones((4, 3)), np.array([0, 1, 0, 1]), verbose=0, return_dict=True)
            RESULT = [[k, round(float(scores[k]), 5)] for k in sorted(scores)]
            """,
            flagged=("model.metrics_names",),
            run=Run(k3="differs", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            model.evaluate(np.ones((4, 3)), np.array([0, 1, 0, 1]), verbose=0)
            RESULT = model.metrics_names
            """,
            fixed=None,
            flagged=("model.metrics_names",),
            run=Run(k3="differs"),
        ),
        # an opaque receiver (a callback's `self.model` is known; a parameter is opaque)
        Invalid(
            """
            import keras
            class Logger(keras.callbacks.Callback):
                def on_train_end(self, logs=None):
                    print(self.model.metrics_names)
            def report(net, results):
                for name, value in zip(net.metrics_names, results):
                    print(name, value)
            """,
            fixed=None,
            flagged=("self.model.metrics_names", "net.metrics_names"),
        ),
    ]

    def check(self, ctx):
        for attr in ctx.nodes(ast.Attribute):
            if attr.attr != "metrics_names" or not isinstance(attr.ctx, ast.Load):
                continue
            which = model_receiver(ctx, attr.value, "metrics_names", keras_only=True)
            if which is None:
                continue
            sev = Severity.ERROR if which == "known" else Severity.WARNING
            idiom = _dict_zip_idiom(ctx, attr)
            if idiom is None:
                ctx.report(self, attr, severity=sev)
                continue
            title = "Use `evaluate(..., return_dict=True)`"
            app = Applicability.SAFE if which == "known" else Applicability.UNSAFE
            ctx.report(self, attr, severity=sev,
                       fix=Fix.applicable(app, title, self._fix, ctx, idiom[0], idiom[1]))

    def _fix(self, ctx, dict_call, ev):
        edit = ctx.add_keyword(ev, "return_dict", "True")
        s, e = ctx.span(ev)
        text = edit.new_text if (edit.start, edit.end) == (s, e) else None
        if text is None:
            return None
        return ctx.replace(dict_call, text)

