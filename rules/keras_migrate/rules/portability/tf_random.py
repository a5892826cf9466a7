"""K603 tf-random."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Group, Invalid, Rule, Run, Severity,
                                      Valid, any_symbolic_arg, plan_call)

from ._model_code import model_code_calls
from ._seeds import ATTR, seed_argument_edit, seed_generator_edits


def _entry(tf_name, target, tf_params, ops_params, rename=None):
    rename = rename or {}
    mapping = {}
    for p in tf_params:
        if p == "name":
            mapping[p] = None
        elif p in rename:
            mapping[p] = rename[p]
        elif p in ops_params:
            mapping[p] = p
    return {"tf": tf_name, "ops": target, "tf_params": tf_params, "ops_params": ops_params,
            "map": mapping, "safety": "unsafe", "fix": "auto", "add": {}}


# tf.random.* (and tf.nn.dropout) -> keras.random.*, parameters as in TF 2.21 / Keras 3.15.1
RANDOM = {
    "tensorflow.random.normal": _entry("tensorflow.random.normal", "normal",
                                       ["shape", "mean", "stddev", "dtype", "seed", "name"],
                                       ["shape", "mean", "stddev", "dtype", "seed"]),
    "tensorflow.random.uniform": _entry("tensorflow.random.uniform", "uniform",
                                        ["shape", "minval", "maxval", "dtype", "seed", "name"],
                                        ["shape", "minval", "maxval", "dtype", "seed"]),
    "tensorflow.random.truncated_normal": _entry("tensorflow.random.truncated_normal", "truncated_normal",
                                                 ["shape", "mean", "stddev", "dtype", "seed", "name"],
                                                 ["shape", "mean", "stddev", "dtype", "seed"]),
    "tensorflow.random.shuffle": _entry("tensorflow.random.shuffle", "shuffle", ["value", "seed", "name"],
                                        ["x", "axis", "seed"], {"value": "x"}),
    "tensorflow.random.categorical": _entry("tensorflow.random.categorical", "categorical",
                                            ["logits", "num_samples", "dtype", "seed", "name"],
                                            ["logits", "num_samples", "dtype", "seed"]),
    "tensorflow.nn.dropout": _entry("tensorflow.nn.dropout", "dropout", ["x", "rate", "noise_shape", "seed", "name"],
                                    ["inputs", "rate", "noise_shape", "seed"], {"x": "inputs"}),
}
# tf.random.uniform(dtype=<int>) draws integers: keras.random.uniform only does floats
RANDINT = _entry("tensorflow.random.uniform", "randint", ["shape", "minval", "maxval", "dtype", "seed", "name"],
                 ["shape", "minval", "maxval", "dtype", "seed"])
RANDINT["add"] = {"minval": "0"}  # required by keras.random.randint; tf's default is 0
_INT_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


def _integer_dtype(ctx, call) -> bool:
    dtype = next((k.value for k in call.keywords if k.arg == "dtype"), None)
    if dtype is None and len(call.args) > 3:
        dtype = call.args[3]
    if dtype is None:
        return False
    if isinstance(dtype, ast.Constant) and isinstance(dtype.value, str):
        return dtype.value in _INT_DTYPES
    q = ctx.qualname(dtype) or ""
    return q.startswith("tensorflow.") and q.split(".", 1)[1] in _INT_DTYPES


def _merge_insertions(edits):
    """Insertions at one offset (an added keyword and the seed) become one edit, in order."""
    out, at = [], {}
    for e in edits:
        if e.start == e.end and e.start in at:
            j = at[e.start]
            out[j] = type(e)(e.start, e.end, out[j].new_text + e.new_text)
            continue
        if e.start == e.end:
            at[e.start] = len(out)
        out.append(e)
    return out


class TfRandom(Rule):
    """`tf.random.*` (and `tf.nn.dropout`) in layer, model, loss or metric code.

    ## What it does
    Flags TensorFlow random ops in model code (the places K601 looks at) and rewrites them
    to `keras.random.*` (`tf.random.uniform` with an integer dtype becomes
    `keras.random.randint`, since `keras.random.uniform` draws floats only). Inside a method of a Layer or Model, the fix draws from a
    `keras.random.SeedGenerator` kept on the layer: `self.seed_generator` is created in
    `__init__` (an `__init__(self, **kwargs)` is added when the class has none; an integer
    `seed=` becomes the generator's seed) and passed as `seed=self.seed_generator`.

    ## Why is this bad?
    TensorFlow random ops only run on the TensorFlow backend (JAX: `AttributeError: 'str'
    object has no attribute '_error_repr'` inside `fit`/`predict`). `keras.random` runs
    everywhere, but it is stateless: with `seed=None` inside a compiled JAX function it
    raises, and with an integer seed it returns the same numbers on every call (K604).
    A `SeedGenerator` attribute carries the state, so each call draws new numbers on every
    backend.

    ## Example
    ```python
    class Jitter(keras.layers.Layer):
        def call(self, x):
            return x + tf.random.uniform((1, 3), maxval=0.01)
    ```

    ## Use instead
    ```python
    class Jitter(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator()

        def call(self, x):
            return x + keras.random.uniform((1, 3), maxval=0.01, seed=self.seed_generator)
    ```

    ## Fix safety
    Unsafe: the random numbers change (another generator, another stream), and outside a
    layer (loss functions, `Lambda`) the fix keeps the call's own `seed=`, which must be a
    `SeedGenerator` for JAX's compiled functions. Distributions, shapes and dtypes are the
    same (`tf.nn.dropout` and `keras.random.dropout` both scale kept values by
    `1 / (1 - rate)`).

    ## References
    - https://keras.io/api/random/
    - https://keras.io/guides/migrating_to_keras_3/
    """

    code = "K603"
    name = "tf-random"
    message = "`{old}` in model code runs only on the TensorFlow backend; use `keras.random.{new}`"
    severity = Severity.WARNING
    group = Group.PORTABILITY
    fix = Applicability.UNSAFE
    requires = ("tensorflow",)

    VALID = [
        Valid("""
            import tensorflow as tf
            noise = tf.random.normal((2, 3))
            """),
        Valid("""
            import keras

            class Jitter(keras.layers.Layer):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.seed_generator = keras.random.SeedGenerator(1)

                def call(self, x):
                    return x + keras.random.normal(keras.ops.shape(x), seed=self.seed_generator)
            """),
        Valid("""
            import tensorflow as tf

            def make_dataset(n):
                return tf.random.uniform((n, 3))
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras


            class Jitter(keras.layers.Layer):
                def call(self, x):
                    return x + tf.random.uniform((1, 3), minval=0.0, maxval=0.01)


            model = keras.Sequential([keras.Input((3,)), Jitter()])
            a = model.predict(np.ones((2, 3)), verbose=0)
            b = model.predict(np.ones((2, 3)), verbose=0)
            RESULT = [bool(np.all((a >= 1.0) & (a < 1.01))), bool(np.any(a != b))]
            """,
            fixed="""
            import numpy as np
            import keras


            class Jitter(keras.layers.Layer):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.seed_generator = keras.random.SeedGenerator()

                def call(self, x):
                    return x + keras.random.uniform((1, 3), minval=0.0, maxval=0.01, seed=self.seed_generator)


            model = keras.Sequential([keras.Input((3,)), Jitter()])
            a = model.predict(np.ones((2, 3)), verbose=0)
            b = model.predict(np.ones((2, 3)), verbose=0)
            RESULT = [bool(np.all((a >= 1.0) & (a < 1.01))), bool(np.any(a != b))]
            """,
            flagged=("tf.random.uniform",),
            unsafe=True,
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras


            class Drop(keras.layers.Layer):
                \"\"\"Always-on dropout plus a shuffled copy.\"\"\"

                def __init__(self, rate, **kwargs):
                    super().__init__(**kwargs)
                    self.rate = rate

                def call(self, x):
                    kept = tf.nn.dropout(x, rate=self.rate, seed=42)
                    mixed = tf.random.shuffle(x, seed=42)
                    ints = tf.random.uniform((1, 50), maxval=5, dtype=tf.int32)
                    return kept + 0.0 * mixed + 0.0 * tf.random.normal((1, 50), dtype=tf.float32, name="n")


            y = Drop(0.5)(np.ones((4, 50), "float32"))
            RESULT = sorted(set(np.round(np.asarray(y), 3).ravel().tolist()))
            """,
            fixed="""
            import numpy as np
            import keras


            class Drop(keras.layers.Layer):
                \"\"\"Always-on dropout plus a shuffled copy.\"\"\"

                def __init__(self, rate, **kwargs):
                    super().__init__(**kwargs)
                    self.seed_generator = keras.random.SeedGenerator(42)
                    self.rate = rate

                def call(self, x):
                    kept = keras.random.dropout(x, rate=self.rate, seed=self.seed_generator)
                    mixed = keras.random.shuffle(x, seed=self.seed_generator)
                    ints = keras.random.randint((1, 50), maxval=5, dtype="int32", minval=0, seed=self.seed_generator)
                    return kept + 0.0 * mixed + 0.0 * keras.random.normal((1, 50), dtype="float32", seed=self.seed_generator)


            y = Drop(0.5)(np.ones((4, 50), "float32"))
            RESULT = sorted(set(np.round(np.asarray(y), 3).ravel().tolist()))
            """,
            flagged=("tf.nn.dropout", "tf.random.shuffle", "tf.random.uniform", "tf.random.normal"),
            unsafe=True,
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ]

    def check(self, ctx):
        if not ctx.settings.portability:
            return
        for call in ctx.nodes(ast.Call):
            q = ctx.qualname(call.func)
            if q is None or not (q.startswith("tensorflow.random.") or q == "tensorflow.nn.dropout"):
                continue
            site = model_code_calls(ctx).get(id(call))
            if site is None or (ctx.enabled("K302") and any_symbolic_arg(ctx, call)):
                continue
            old = "tf" + q[len("tensorflow"):]
            ent = RANDOM.get(q)
            if q == "tensorflow.random.uniform" and _integer_dtype(ctx, call):
                ent = RANDINT
            if ent is None:
                ctx.report(self, call.func, f"`{old}` in model code runs only on the TensorFlow backend; "
                           "use a `keras.random` function with a `SeedGenerator` (no automatic fix)")
                continue
            message = self.message.format(old=old, new=ent["ops"])
            m = (site.cls, site.method) if site.cls is not None else None
            in_layer = bool(m is not None and m[1].name != "__init__" and site.kinds & {LAYER, MODEL})
            title = f"Replace `{old}` with `keras.random.{ent['ops']}`"
            title += (" drawing from a `SeedGenerator` on the layer (the random numbers change)" if in_layer
                      else " (the random numbers change; under JAX's jit pass a `SeedGenerator` as `seed`)")
            ctx.report(self, call.func, message, fix=Fix.unsafe(title, self._fix, ctx, call, ent, in_layer, m))

    @staticmethod
    def _fix(ctx, call, ent, in_layer, m):
        plan, _ = plan_call(call, ent, ctx.span, ctx.text, ctx.qualname, None)
        if plan is None:
            return None
        random, imp = ctx.imports.ensure("keras.random", at=call)
        edits = [e for e in plan.edits]
        # plan_call writes keras.ops.X; this rule targets keras.random.X
        s, e = ctx.span(call.func)
        edits = [ctx.replace(call.func, f"{random}.{ent['ops']}") if (x.start, x.end) == (s, e) else x
                 for x in edits]
        if in_layer:
            seed_kw = next((k for k in call.keywords if k.arg == "seed"), None)
            if seed_kw is not None and not (isinstance(seed_kw.value, ast.Constant)
                                            and type(seed_kw.value.value) is int):
                return edits + [imp]
            seed_src = "" if seed_kw is None else ctx.segment(seed_kw.value)
            gen = seed_generator_edits(ctx, m[0], seed_src, random)
            arg = seed_argument_edit(ctx, call, f"self.{ATTR}")
            if gen is None or arg is None:
                return None
            edits = edits + gen + [arg]
        return _merge_insertions(edits) + [imp]

