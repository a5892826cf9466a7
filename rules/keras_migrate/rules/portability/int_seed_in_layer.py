"""K604 int-seed-in-layer."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Group, Invalid, Rule, Run, Severity,
                                      Valid)

from ._model_code import model_code_calls
from ._seeds import ATTR, seed_argument_edit, seed_generator_edits

RANDOM_FUNCTIONS = frozenset({
    "keras.random.normal", "keras.random.uniform", "keras.random.truncated_normal",
    "keras.random.categorical", "keras.random.randint", "keras.random.shuffle", "keras.random.dropout",
    "keras.random.gamma", "keras.random.binomial", "keras.random.beta",
})


def _int_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


class IntSeedInLayer(Rule):
    """`keras.random.*(seed=<int>)` inside a layer's `call()`: the same numbers on every call.

    ## What it does
    Flags `keras.random` functions called with an integer `seed=` in the `call()` method of
    a Keras Layer or Model subclass, and offers to draw from a `keras.random.SeedGenerator`
    created in `__init__` with that seed instead.

    ## Why is this bad?
    `keras.random` is stateless: an integer seed always gives the same numbers, on every
    backend and on every call, so noise, dropout masks and augmentations are frozen (with
    `tf.random.*(seed=...)` in Keras 2 each call drew new numbers). Nothing fails; the model
    silently trains on one fixed random draw. A `SeedGenerator` attribute keeps the state
    and advances it on every call.

    ## Example
    ```python
    class Noise(keras.layers.Layer):
        def call(self, x):
            return x + keras.random.normal(keras.ops.shape(x), seed=1)
    ```

    ## Use instead
    ```python
    class Noise(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1)

        def call(self, x):
            return x + keras.random.normal(keras.ops.shape(x), seed=self.seed_generator)
    ```

    ## Fix safety
    Unsafe: that is the point of the fix, the numbers change from call to call (and the
    first call's numbers differ from the integer seed's). An `__init__(self, **kwargs)` is
    added when the class has none.

    ## References
    - https://keras.io/api/random/seed_generator/
    - https://keras.io/guides/migrating_to_keras_3/
    """

    code = "K604"
    name = "int-seed-in-layer"
    message = ("`{old}(seed={seed})` in `call()` returns the same numbers on every call; draw from a "
               "`keras.random.SeedGenerator` created in `__init__`")
    severity = Severity.ERROR
    group = Group.PORTABILITY
    fix = Applicability.UNSAFE
    requires = ("random",)

    VALID = [
        Valid("""
            import keras

            class Noise(keras.layers.Layer):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.seed_generator = keras.random.SeedGenerator(1)

                def call(self, x):
                    return x + keras.random.normal(keras.ops.shape(x), seed=self.seed_generator)
            """),
        Valid("""
            import keras
            noise = keras.random.normal((2, 3), seed=1)
            """),
        Valid("""
            import keras

            class Init(keras.layers.Layer):
                def build(self, input_shape):
                    self.table = keras.random.uniform((3, 3), seed=7)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import keras


            class Noise(keras.layers.Layer):
                def call(self, x):
                    return x + keras.random.normal(keras.ops.shape(x), stddev=0.1, seed=1)


            model = keras.Sequential([keras.Input((3,)), Noise()])
            a = model.predict(np.zeros((2, 3)), verbose=0)
            b = model.predict(np.zeros((2, 3)), verbose=0)
            RESULT = bool(np.any(a != b))
            """,
            fixed="""
            import numpy as np
            import keras


            class Noise(keras.layers.Layer):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.seed_generator = keras.random.SeedGenerator(1)

                def call(self, x):
                    return x + keras.random.normal(keras.ops.shape(x), stddev=0.1, seed=self.seed_generator)


            model = keras.Sequential([keras.Input((3,)), Noise()])
            a = model.predict(np.zeros((2, 3)), verbose=0)
            b = model.predict(np.zeros((2, 3)), verbose=0)
            RESULT = bool(np.any(a != b))
            """,
            flagged=("keras.random.normal(keras.ops.shape(x), stddev=0.1, seed=1)",),
            unsafe=True,
            run=Run(k3="ok", k2=False, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            from keras import random


            class Augment(keras.Model):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.dense = keras.layers.Dense(2)

                def call(self, x):
                    x = random.shuffle(x, seed=3)
                    return self.dense(keras.random.dropout(x, 0.2, seed=-3))
            """,
            fixed="""
            import keras
            from keras import random


            class Augment(keras.Model):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.seed_generator = keras.random.SeedGenerator(3)
                    self.dense = keras.layers.Dense(2)

                def call(self, x):
                    x = random.shuffle(x, seed=self.seed_generator)
                    return self.dense(keras.random.dropout(x, 0.2, seed=self.seed_generator))
            """,
            flagged=("random.shuffle(x, seed=3)", "keras.random.dropout(x, 0.2, seed=-3)"),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        if not ctx.settings.portability:
            return
        for call in ctx.nodes(ast.Call):
            q = ctx.qualname(call.func)
            if q not in RANDOM_FUNCTIONS:
                continue
            seed = next((k for k in call.keywords if k.arg == "seed"), None)
            if seed is None or not _int_literal(seed.value):
                continue
            site = model_code_calls(ctx).get(id(call))
            if site is None or site.method is None or site.method.name != "call" \
                    or not (site.kinds & {LAYER, MODEL}):
                continue
            m = (site.cls, site.method)
            seed_src = ctx.segment(seed.value)
            old = ctx.segment(call.func)
            title = (f"Create `self.{ATTR} = keras.random.SeedGenerator({seed_src})` in `__init__` and pass it "
                     "as `seed` (new numbers on every call)")
            ctx.report(self, call, self.message.format(old=old, seed=seed_src),
                       fix=Fix.unsafe(title, self._fix, ctx, call, m[0], seed_src))

    @staticmethod
    def _fix(ctx, call, cls, seed_src):
        random, imp = ctx.imports.ensure("keras.random", at=cls)
        gen = seed_generator_edits(ctx, cls, seed_src, random)
        arg = seed_argument_edit(ctx, call, f"self.{ATTR}")
        if gen is None or arg is None:
            return None
        return gen + [arg] + ([imp] if gen else [])

