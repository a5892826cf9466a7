"""K404 generator-methods."""
from __future__ import annotations

import ast

import libcst as cst

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, keyword,
                                      model_receiver)

# Keras 2 positional parameters of the removed methods (after ``generator``)
_PARAMS = {
    "fit_generator": ("generator", "steps_per_epoch", "epochs", "verbose", "callbacks", "validation_data",
                      "validation_steps", "validation_freq", "class_weight", "max_queue_size", "workers",
                      "use_multiprocessing", "shuffle", "initial_epoch"),
    "evaluate_generator": ("generator", "steps", "callbacks", "max_queue_size", "workers",
                           "use_multiprocessing", "verbose"),
    "predict_generator": ("generator", "steps", "callbacks", "max_queue_size", "workers",
                          "use_multiprocessing", "verbose"),
}
_NEW = {"fit_generator": "fit", "evaluate_generator": "evaluate", "predict_generator": "predict"}

_GEN = '''
import numpy as np
def gen():
    while True:
        yield np.ones((2, 3), "float32"), np.ones((2, 1), "float32")
'''


class GeneratorMethods(Rule):
    """`fit_generator`, `evaluate_generator` and `predict_generator` were removed.

    ## What it does
    Flags `model.fit_generator(...)`, `model.evaluate_generator(...)` and
    `model.predict_generator(...)`, and rewrites them to `fit`/`evaluate`/`predict`,
    turning the positional arguments of the old signatures into keywords (their order
    differs: `fit_generator(gen, 10, 5)` is `fit(gen, steps_per_epoch=10, epochs=5)`).

    Receivers: a known Keras model is reported as an error with a safe fix. These method
    names exist only in Keras, so a receiver the file cannot see into (a function parameter,
    `self.net`, an imported function's result) is reported too, as a warning with an unsafe
    fix. A receiver whose value the file shows to be something else, or any receiver in a
    file whose own classes define a method of that name, is never flagged.

    ## Why is this bad?
    Keras 3.15.1 raises on every backend:
    `AttributeError: 'Sequential' object has no attribute 'fit_generator'`. `fit`,
    `evaluate` and `predict` accept generators, `keras.utils.PyDataset` and `tf.data`.

    ## Example
    ```python
    model.fit_generator(train_gen, 100, epochs=5, workers=4)
    ```

    ## Use instead
    ```python
    model.fit(train_gen, steps_per_epoch=100, epochs=5, workers=4)  # then K405 for workers=
    ```

    ## Fix safety
    Safe for `fit_generator` and `evaluate_generator` on a known model (`verbose=0`, the old
    default of `evaluate_generator`, is written out when the call did not pass `verbose`).
    `predict_generator` is unsafe: Keras 3 `predict` requires the generator to yield tuples
    (`(x,)`), while Keras 2 accepted bare arrays (`ValueError: When passing a Python generator
    to a Keras model, the generator must return a tuple...`). `workers=`,
    `use_multiprocessing=` and `max_queue_size=` are kept; K405 reports them. Calls with
    `*args` are reported without a fix.

    ## References
    - https://keras.io/api/models/model_training_apis/
    - docs/research/keras3-facts.md#fit_generator-evaluate_generator-predict_generator
    """

    code = "K404"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "generator-methods"
    message = "`{old}` was removed in Keras 3 (AttributeError); use `{new}`"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("_generator",)

    VALID = [
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(gen, steps_per_epoch=10)
        """),
        # the file's own class defines fit_generator: a wrapper, not Keras
        Valid("""
            import keras
            class Trainer:
                def fit_generator(self, gen, steps):
                    pass
            def run(trainer, gen):
                trainer.fit_generator(gen, 10)
        """),
        # a value the file can see, that is not a Keras model
        Valid("""
            import keras
            from mylib import Wrapper
            w = Wrapper()
            w.fit_generator(gen)
            datagen.flow_from_directory("d")
            s = "model.fit_generator(gen)"
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit_generator(gen(), steps_per_epoch=2, epochs=2, verbose=0)
            RESULT = [round(v, 5) for v in h.history["loss"]]
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit(gen(), steps_per_epoch=2, epochs=2, verbose=0)
            RESULT = [round(v, 5) for v in h.history["loss"]]
            """,
            flagged=("model.fit_generator",),
            run=Run(k3="AttributeError", setup=_GEN, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            model.fit_generator(train_gen, 100, 5, 1, callbacks, validation_data=val_gen)
            loss = model.evaluate_generator(val_gen, steps=10)
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            model.fit(train_gen, steps_per_epoch=100, epochs=5, verbose=1, callbacks=callbacks, validation_data=val_gen)
            loss = model.evaluate(val_gen, steps=10, verbose=0)
            """,
            flagged=("model.fit_generator", "model.evaluate_generator"),
        ),
        # predict_generator: unsafe (generators must yield tuples)
        Invalid(
            """
            from tensorflow import keras
            model = keras.models.load_model("m.keras")
            preds = model.predict_generator(generator=test_gen, steps=4, verbose=1)
            """,
            fixed="""
            from tensorflow import keras
            model = keras.models.load_model("m.keras")
            preds = model.predict(x=test_gen, steps=4, verbose=1)
            """,
            flagged=("model.predict_generator",),
            unsafe=True,
        ),
        # a trainer holding the model it was given: still opaque
        Invalid(
            """
            import keras
            class Trainer:
                def __init__(self, model):
                    self.model = model
                def run(self, gen):
                    self.model.predict_generator(gen, 4)
            """,
            fixed="""
            import keras
            class Trainer:
                def __init__(self, model):
                    self.model = model
                def run(self, gen):
                    self.model.predict(gen, steps=4, verbose=0)
            """,
            flagged=("self.model.predict_generator",),
            unsafe=True,
        ),
        # an opaque receiver (a parameter): a warning and an unsafe fix
        Invalid(
            """
            import keras
            def train(net, data):
                return net.fit_generator(data, epochs=3)
            """,
            fixed="""
            import keras
            def train(net, data):
                return net.fit(data, epochs=3)
            """,
            flagged=("net.fit_generator",),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            f = call.func
            if not isinstance(f, ast.Attribute) or f.attr not in _NEW:
                continue
            which = model_receiver(ctx, f.value, f.attr, keras_only=True)
            if which is None:
                continue
            old, new = f.attr, _NEW[f.attr]
            starred = any(isinstance(a, ast.Starred) for a in call.args)
            unsafe = which == "unknown" or old == "predict_generator"
            app = Applicability.UNSAFE if unsafe else Applicability.SAFE
            title = f"Use `{new}`" + (" (unsafe: the generator must yield `(x,)` tuples)" if old == "predict_generator"
                                       else " (unsafe: the receiver may not be a Keras model)" if which == "unknown" else "")
            sev = Severity.ERROR if which == "known" else Severity.WARNING
            msg = self.message.format(old=old, new=new)
            if which == "unknown":
                msg += " (if this is a Keras model)"
            if starred:
                ctx.report(self, f, msg, severity=sev)
                continue
            ctx.report(self, f, msg, severity=sev,
                       fix=Fix.applicable(app, title, self._edit, ctx, call, old, new))


    def _edit(self, ctx, call, old, new):
        node = ctx.cst(call)
        params = _PARAMS[old]
        args = []
        for i, a in enumerate(node.args):
            if a.keyword is None and a.star == "" and i > 0:
                a = a.with_changes(keyword=cst.Name(params[i]), equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
            elif a.keyword is not None and a.keyword.value == "generator":
                a = a.with_changes(keyword=cst.Name("x"))
            args.append(a)
        has_verbose = keyword(call, "verbose") is not None or len(call.args) > params.index("verbose")
        if old != "fit_generator" and not has_verbose:
            verbose = cst.Arg(value=cst.Integer("0"), keyword=cst.Name("verbose"), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
            if args:
                last = args[-1]
                comma = last.comma if isinstance(last.comma, cst.Comma) else None
                args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                if comma is not None:
                    verbose = verbose.with_changes(comma=comma)
            args.append(verbose)
        func = node.func.with_changes(attr=cst.Name(new))
        return ctx.cst_replace(call, node.with_changes(func=func, args=args))
