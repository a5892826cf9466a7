"""K206 lambda-layer-serialization."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import Invalid, Rule, Run, Severity, Valid, arg, calls_to, const_bool, keyword

from ._helpers import saves_full_model


def _unsafe_loading_allowed(ctx) -> bool:
    for call in ctx.nodes(ast.Call):
        f = call.func
        if (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")) == "enable_unsafe_deserialization":
            return True
        kw = keyword(call, "safe_mode")
        if kw is not None and const_bool(kw.value) is False:
            return True
    return False


class LambdaLayerSerialization(Rule):
    """A `Lambda` layer wrapping a Python `lambda`, in a file that saves whole models.

    ## What it does
    In a file that saves a whole model (`model.save`, `save_model`, a full-model
    `ModelCheckpoint`), flags `keras.layers.Lambda(lambda ...)`. Files that reload with
    `safe_mode=False` or call `keras.config.enable_unsafe_deserialization()` are left alone.

    ## Why is this bad?
    Keras 2 pickled the lambda's bytecode into `.h5` files and reloaded it silently. Keras
    3.15.1 refuses, for `.keras` and `.h5` files alike, on every backend: `ValueError:
    Requested the deserialization of a Lambda layer whose function is a Python lambda. This
    carries a potential risk of arbitrary code execution and thus it is disallowed by default.
    If you trust the source of the artifact, you can override this error by passing
    safe_mode=False...`. Saving works; loading the file fails.

    ## Example
    ```python
    outputs = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    model.save("model.keras")
    ```

    ## Use instead
    ```python
    @keras.saving.register_keras_serializable(package="my_project")
    def double(t):
        return t * 2.0

    outputs = keras.layers.Lambda(double)(inputs)
    ```

    ## Fix safety
    No automatic fix: the function needs a name and a place at module level, and its body
    may use names that must be importable where the model is loaded. `safe_mode=False` is
    not offered: it only works for self-contained lambdas (one that uses `keras.ops` fails
    after reload with `NameError`) and it executes code stored in the file.

    ## References
    - https://keras.io/api/layers/core_layers/lambda/
    - https://keras.io/guides/serialization_and_saving/#lambda-layers
    - docs/research/keras3-facts.md#lambda-layers-in-saved-models
    """

    code = "K206"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "lambda-layer-serialization"
    message = ("A `Lambda` layer with a Python `lambda` cannot be reloaded in Keras 3 (ValueError in safe "
               "mode); use a named function registered with `@keras.saving.register_keras_serializable()`")
    severity = Severity.ERROR
    fix = None
    requires = ("Lambda",)

    VALID = [
        Valid("""
            import keras
            @keras.saving.register_keras_serializable(package="demo")
            def double(t):
                return t * 2.0
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.Lambda(double)(inputs))
            model.save("m.keras")
        """),
        # nothing is saved: a Lambda is fine
        Valid("""
            import keras
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs))
            model.save_weights("m.weights.h5")
        """),
        # the loader opts into unsafe deserialization
        Valid("""
            import keras
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs))
            model.save("m.keras")
            again = keras.models.load_model("m.keras", safe_mode=False)
        """),
        # a `lambda` given to something else, an unrelated Lambda class
        Valid("""
            import keras
            from sympy import Lambda
            f = Lambda(lambda x: x)
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss=lambda y, p: (y - p) ** 2)
            model.save("m.keras")
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            inputs = keras.Input((4,))
            model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs))
            model.save("lam.h5")
            restored = keras.models.load_model("lam.h5")
            RESULT = restored.predict(np.ones((1, 4)), verbose=0).tolist()
            """,
            fixed=None,
            flagged=("lambda t: t * 2.0",),
            run=Run(k3="ValueError"),
        ),
        Invalid(
            """
            from tensorflow.keras import layers, models
            model = models.Sequential([
                layers.Dense(4),
                layers.Lambda(function=lambda x: x / 255.0, name="scale"),
            ])
            models.save_model(model, "model.keras")
            """,
            fixed=None,
            flagged=("lambda x: x / 255.0",),
        ),
    ]

    def check(self, ctx):
        lambdas = []
        for call, _ in calls_to(ctx, ("keras.layers.Lambda",)):
            fn = arg(call, 0, "function")
            if isinstance(fn, ast.Lambda):
                lambdas.append(fn)
        if not lambdas or not saves_full_model(ctx) or _unsafe_loading_allowed(ctx):
            return
        for fn in lambdas:
            ctx.report(self, fn)
