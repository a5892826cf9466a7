"""K405 multiprocessing-fit-args."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (SEQUENCE, Applicability, Edit, Fix, Invalid, Rule, Run, Severity, Valid,
                                      arg, class_kinds, compose_call_edits, model_receiver, visible_values)

_ARGS = ("workers", "use_multiprocessing", "max_queue_size")
# keyword arguments only Keras's fit/evaluate/predict take: with one of them, an opaque receiver
# is treated as a Keras model (``def train(model): model.fit(gen, workers=4, steps_per_epoch=10)``)
_KERAS_ONLY_KWARGS = {"use_multiprocessing", "max_queue_size", "steps_per_epoch", "validation_steps",
                      "validation_freq", "initial_epoch", "validation_split"}
_METHODS = {"fit": False, "evaluate": False, "predict": False,
            # removed methods: Keras-only names (K404 renames them, these kwargs stay wrong)
            "fit_generator": True, "evaluate_generator": True, "predict_generator": True}


def _forwards_kwargs_to_super(cls: ast.ClassDef) -> bool:
    """``def __init__(self, ..., **kwargs): super().__init__(**kwargs)``."""
    for fn in cls.body:
        if isinstance(fn, ast.FunctionDef) and fn.name == "__init__" and fn.args.kwarg is not None:
            kw = fn.args.kwarg.arg
            for n in ast.walk(fn):
                if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "__init__"
                        and isinstance(n.func.value, ast.Call) and getattr(n.func.value.func, "id", "") == "super"
                        and any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == kw
                                for k in n.keywords)):
                    return True
    return False


def _add_keywords(ctx, call: ast.Call, kws):
    """One edit appending every ``name=value`` of ``kws`` to ``call``."""

    start, end = ctx.span(call)
    close = end - 1  # the call's ")"
    text = ", ".join(f"{k.arg}={ctx.segment(k.value)}" for k in kws)
    before = ctx.text[start:close].rstrip()
    if (call.args or call.keywords) and not before.endswith(","):
        text = ", " + text
    return Edit(close, close, text)


def _dataset_constructor(ctx, call: ast.Call, method: str):
    """The ``TrainSeq(...)`` call that made the data argument, when ``TrainSeq`` is a
    ``PyDataset`` / ``Sequence`` subclass of this file whose ``__init__`` hands ``**kwargs``
    to ``super().__init__``: ``workers=`` etc. can move there (Keras 3's PyDataset takes them)."""
    data = arg(call, 0, "generator" if method.endswith("_generator") else "x")
    if isinstance(data, ast.Name):
        values = visible_values(ctx, data)
        data = values[0] if len(values) == 1 else None
    if not (isinstance(data, ast.Call) and isinstance(data.func, ast.Name)):
        return None
    if any(k.arg in _ARGS or k.arg is None for k in data.keywords):
        return None
    for cls in ctx.nodes(ast.ClassDef):
        if cls.name == data.func.id:
            if SEQUENCE in class_kinds(ctx, cls) and _forwards_kwargs_to_super(cls):
                return data
            return None
    return None


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
    Unsafe. When the data is built in the file by a `PyDataset`/`Sequence` subclass whose
    `__init__` passes `**kwargs` to `super().__init__`, the fix moves the arguments into that
    constructor call (`TrainSeq(..., workers=4)`), keeping parallel loading; other uses of
    that dataset then load in parallel too. Otherwise the fix drops the arguments, so loading runs in the main thread (the results are
    the same; only speed differs). To keep parallel loading, pass them to your `PyDataset`'s
    constructor instead; for NumPy arrays and `tf.data` Keras 2 ignored them anyway.

    ## References
    - https://keras.io/api/utils/python_utils/#pydataset-class
    - docs/research/keras3-facts.md#workers-use_multiprocessing-max_queue_size
    """

    code = "K405"
    module_wide = True  # relates statements to each other (engine/incremental.py)
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
        # the PyDataset is the file's own and forwards **kwargs: the arguments move there
        Invalid(
            """
            import numpy as np
            import keras
            class Batches(keras.utils.PyDataset):
                def __init__(self, n, **kwargs):
                    super().__init__(**kwargs)
                    self.n = n
                def __len__(self):
                    return self.n
                def __getitem__(self, i):
                    return np.ones((2, 3)), np.ones((2, 1))
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            train = Batches(2)
            h = model.fit(train, epochs=1, verbose=0, workers=2, use_multiprocessing=False)
            RESULT = len(h.history["loss"])
            """,
            fixed="""
            import numpy as np
            import keras
            class Batches(keras.utils.PyDataset):
                def __init__(self, n, **kwargs):
                    super().__init__(**kwargs)
                    self.n = n
                def __len__(self):
                    return self.n
                def __getitem__(self, i):
                    return np.ones((2, 3)), np.ones((2, 1))
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            train = Batches(2, workers=2, use_multiprocessing=False)
            h = model.fit(train, epochs=1, verbose=0)
            RESULT = len(h.history["loss"])
            """,
            flagged=("workers=2", "use_multiprocessing=False"),
            unsafe=True,
            # tf-keras has no PyDataset (k2=False); the fixed code loads with 2 workers
            run=Run(k2=False, k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
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
            ctor = _dataset_constructor(ctx, call, f.attr)
            if ctor is not None:
                cls_name = ctx.segment(ctor.func)
                title = (f"Move {', '.join(f'`{n}=`' for n in names)} to `{cls_name}(...)` (unsafe: the "
                         "dataset's other uses load in parallel too)")
                for kw in bad:
                    ctx.report(self, kw, self.message.format(arg=kw.arg, method=f.attr),
                               severity=Severity.ERROR if which == "known" else Severity.WARNING,
                               fix=Fix.unsafe(title, self._move, ctx, call, names, ctor, tuple(bad)))
                continue
            title = (f"Remove {', '.join(f'`{n}=`' for n in names)} (unsafe: data loading is no longer "
                     "parallel; pass them to your PyDataset)")
            for kw in bad:
                ctx.report(self, kw, self.message.format(arg=kw.arg, method=f.attr),
                           severity=Severity.ERROR if which == "known" else Severity.WARNING,
                           fix=Fix.unsafe(title, compose_call_edits, ctx, call, [], names))

    @staticmethod
    def _move(ctx, call, names, ctor, bad):
        return compose_call_edits(ctx, call, [_add_keywords(ctx, ctor, bad)], names)

