"""K405 multiprocessing-fit-args."""
from __future__ import annotations

import ast

from keras_migrate.engine.model import Applicability, Severity
from keras_migrate.engine.rule import Invalid, Rule, Run, Valid
from keras_migrate.rules.saving._helpers import rewrite_call
from keras_migrate.rules.training._helpers import model_receiver

_ARGS = ("workers", "use_multiprocessing", "max_queue_size")
# keyword arguments only Keras's fit/evaluate/predict take: with one of them, an opaque receiver
# is treated as a Keras model (``def train(model): model.fit(gen, workers=4, steps_per_epoch=10)``)
_KERAS_ONLY_KWARGS = {"use_multiprocessing", "max_queue_size", "steps_per_epoch", "validation_steps",
                      "validation_freq", "initial_epoch", "validation_split"}
_METHODS = {"fit": False, "evaluate": False, "predict": False,
            # removed methods: Keras-only names (K404 renames them, these kwargs stay wrong)
            "fit_generator": True, "evaluate_generator": True, "predict_generator": True}


class MultiprocessingFitArgs(Rule):
    """`workers=`, `use_multiprocessing=` and `max_queue_size=` passed to `fit`/`evaluate`/`predict`.

    ## What it does
    Flags those keyword arguments on `fit`, `evaluate` and `predict` (and on the removed
    `*_generator` methods, see K404) of a known Keras model. On a receiver the file cannot see
    into (a parameter, a value unpacked from a call) it flags them, as a warning, only when
    the call also has a keyword only Keras takes (`use_multiprocessing`, `max_queue_size`,
    `steps_per_epoch`, `validation_steps`, ...): a bare `estimator.fit(X, workers=2)` may be
    another library's (gensim, scikit-learn wrappers).

    ## Why is this bad?
    Keras 3.15.1 raises on every backend: `TypeError: TensorFlowTrainer.fit() got an
    unexpected keyword argument 'workers'`. Parallel loading moved to the data object:
    `keras.utils.PyDataset(workers=..., use_multiprocessing=..., max_queue_size=...)`.

    ## Example
    ```python
    model.fit(train_seq, epochs=5, workers=4, use_multiprocessing=True)
    ```

    ## Use instead
    ```python
    class TrainSeq(keras.utils.PyDataset):
        def __init__(self, ..., **kwargs):
            super().__init__(**kwargs)       # workers=4, use_multiprocessing=True
    model.fit(TrainSeq(..., workers=4, use_multiprocessing=True), epochs=5)
    ```

    ## Fix safety
    Unsafe: the fix drops the arguments, so loading runs in the main thread (the results are
    the same; only speed differs). To keep parallel loading, pass them to your `PyDataset`'s
    constructor instead; for NumPy arrays and `tf.data` Keras 2 ignored them anyway.

    ## References
    - https://keras.io/api/utils/python_utils/#pydataset-class
    - keras3-facts.md, §2 "fit/predict(workers=, use_multiprocessing=, max_queue_size=)"
    """

    code = "K405"
    name = "multiprocessing-fit-args"
    message = "`{arg}=` was removed from `{method}()` in Keras 3 (TypeError); pass it to a `keras.utils.PyDataset` instead"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("workers", "use_multiprocessing", "max_queue_size")

    VALID = [
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(ds, epochs=2)
            class DS(keras.utils.PyDataset):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
            train = DS(workers=4, use_multiprocessing=True)
        """),
        # not Keras: gensim, an unknown estimator
        Valid("""
            import keras
            from gensim.models import Word2Vec
            w2v = Word2Vec(sentences, workers=4)
            def train(estimator, X):
                estimator.fit(X, workers=2)
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit(np.ones((4, 3)), np.ones((4, 1)), workers=2, use_multiprocessing=False, verbose=0)
            RESULT = round(h.history["loss"][0], 5)
            """,
            fixed="""
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
            RESULT = round(h.history["loss"][0], 5)
            """,
            flagged=("workers=2", "use_multiprocessing=False"),
            unsafe=True,
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow import keras
            model = keras.models.load_model("m.keras")
            preds = model.predict(
                test_seq,
                max_queue_size=20,
            )
            """,
            fixed="""
            from tensorflow import keras
            model = keras.models.load_model("m.keras")
            preds = model.predict(
                test_seq,
            )
            """,
            flagged=("max_queue_size=20",),
            unsafe=True,
        ),
        # what K404's fit_generator fix leaves behind on an opaque model
        Invalid(
            """
            def train(model, gen):
                return model.fit(x=gen, epochs=3, use_multiprocessing=True, workers=8)
            """,
            fixed="""
            def train(model, gen):
                return model.fit(x=gen, epochs=3)
            """,
            flagged=("use_multiprocessing=True", "workers=8"),
            unsafe=True,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.evaluate_generator(gen, steps=5, workers=4)
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.evaluate_generator(gen, steps=5)
            """,
            flagged=("workers=4",),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            f = call.func
            if not isinstance(f, ast.Attribute) or f.attr not in _METHODS:
                continue
            bad = [kw for kw in call.keywords if kw.arg in _ARGS]
            if not bad:
                continue
            keras_only = _METHODS[f.attr] or any(kw.arg in _KERAS_ONLY_KWARGS for kw in call.keywords)
            which = model_receiver(ctx, f.value, f.attr, keras_only=keras_only)
            if which is None:
                continue
            names = tuple(kw.arg for kw in bad)
            title = (f"Remove {', '.join(f'`{n}=`' for n in names)} (unsafe: data loading is no longer "
                     "parallel; pass them to your PyDataset)")
            for kw in bad:
                ctx.report(self, kw, self.message.format(arg=kw.arg, method=f.attr),
                           severity=Severity.ERROR if which == "known" else Severity.WARNING,
                           fix=lambda c=call, n=names, t=title: ctx.make_fix(
                               t, Applicability.UNSAFE, rewrite_call(ctx, c, [], n)),
                           fix_title=title, applicability=Applicability.UNSAFE)
