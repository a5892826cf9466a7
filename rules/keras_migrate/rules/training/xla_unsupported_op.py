"""K401 xla-unsupported-op."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      class_kinds, const_bool, enclosing_method, receiver_kind, walk)

from ._helpers import model_constructions

_METHODS = ("call", "train_step", "test_step", "predict_step")
# TensorFlow ops XLA cannot compile (strings, I/O, Python callbacks, hash tables, codecs)
_PREFIXES = ("tensorflow.strings.", "tensorflow.io.", "tensorflow.lookup.", "tensorflow.image.decode_",
             "tensorflow.image.encode_")
_NAMES = {"tensorflow.py_function", "tensorflow.numpy_function", "tensorflow.py_func",
          "tensorflow.compat.v1.py_func", "tensorflow.as_string", "tensorflow.string_to_number",
          "tensorflow.unique", "tensorflow.math.unique"}


def _xla_ops(ctx, fn) -> list[tuple[str, ast.AST]]:
    """(source, first use) of each op XLA cannot compile in ``fn``, in source order."""
    found: dict[str, ast.AST] = {}
    for n in walk(fn):
        if isinstance(n, ast.Call):
            q = ctx.qualname(n.func)
            if q and (q in _NAMES or q.startswith(_PREFIXES)):
                seg = ctx.segment(n.func)
                prev = found.get(seg)
                if prev is None or (n.lineno, n.col_offset) < (prev.lineno, prev.col_offset):
                    found[seg] = n.func
    return sorted(found.items(), key=lambda kv: (kv[1].lineno, kv[1].col_offset))


def _jit_disabled_somewhere(ctx) -> bool:
    for call in ctx.nodes(ast.Call):
        for kw in call.keywords:
            if (kw.arg == "jit_compile" and const_bool(kw.value) is False) or \
                    (kw.arg == "run_eagerly" and const_bool(kw.value) is True):
                return True
    for a in ctx.nodes(ast.Assign):
        for t in a.targets:
            if isinstance(t, ast.Attribute) and ((t.attr == "jit_compile" and const_bool(a.value) is False)
                                                 or (t.attr == "run_eagerly" and const_bool(a.value) is True)):
                return True
    return False


class XlaUnsupportedOp(Rule):
    """A model's `call`/`train_step` uses TensorFlow ops that XLA cannot compile, and `jit_compile` is left on.

    ## What it does
    Flags the `call`, `train_step`, `test_step` or `predict_step` method of a Keras Layer or
    Model subclass that calls `tf.strings.*`, `tf.io.*`, `tf.py_function`,
    `tf.numpy_function`, `tf.lookup.*`, `tf.image.decode_*/encode_*` or `tf.unique`, when
    nothing in the file passes `jit_compile=False` (or `run_eagerly=True`). The finding sits on
    the method's first such op, once per method, listing the ops; the `compile()` calls that
    turn XLA on are its related places.

    ## Why is this bad?
    Keras 3 compiles train/predict steps with XLA by default: `jit_compile="auto"` resolves to
    True on JAX always and on TensorFlow whenever a GPU is visible (torch: never). Then
    TensorFlow raises `InvalidArgumentError: Detected unsupported operations when trying to
    compile graph __inference_one_step_on_data_...: AsString` and JAX raises
    `TracerArrayConversionError`. Keras 2 never compiled with XLA unless asked, so the same
    model worked everywhere. On a CPU-only TensorFlow machine it still runs, so the bug
    appears only on the GPU box or on JAX.

    ## Example
    ```python
    class MyModel(keras.Model):
        def call(self, inputs):
            return tf.strings.to_number(tf.strings.as_string(inputs))

    model = MyModel()
    model.compile(optimizer="sgd", loss="mse")
    ```

    ## Use instead
    ```python
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    ```

    ## Fix safety
    Safe: `jit_compile=False` only turns XLA compilation off (as in Keras 2), which changes
    speed, not results. It is added to the `compile()` calls of the model class (instances
    built in this file, or `self.compile`); for a Layer, to every `compile()` of a Keras model
    in the file. Without such a call the rule only reports.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#jitcompile-is-set-to-true-by-default-on-gpu
    - https://www.tensorflow.org/xla/operation_semantics
    - docs/research/keras3-facts.md#jit_compile-default
    """

    code = "K401"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "xla-unsupported-op"
    message = ("`{method}` uses {ops}, which XLA cannot compile; Keras 3 jit-compiles by default on JAX and on "
               "TensorFlow with a GPU: pass `jit_compile=False` to `compile()`")
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("tf.", "tensorflow")

    VALID = [
        Valid("""
            import tensorflow as tf
            import keras
            class MyModel(keras.Model):
                def call(self, inputs):
                    return tf.strings.to_number(tf.strings.as_string(inputs))
            model = MyModel()
            model.compile(optimizer="sgd", loss="mse", jit_compile=False)
        """),
        # outside a model (a tf.data pipeline), and XLA-friendly ops inside one
        Valid("""
            import tensorflow as tf
            import keras
            ds = tf.data.TextLineDataset("f.txt").map(tf.strings.split)
            class Norm(keras.layers.Layer):
                def call(self, x):
                    return tf.math.l2_normalize(x)
            class Reader:
                def call(self, path):
                    return tf.io.read_file(path)
        """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            import keras

            class MyModel(keras.Model):
                def call(self, inputs):
                    string_input = tf.strings.as_string(inputs)
                    return tf.strings.to_number(string_input)

            model = MyModel()
            model.compile(optimizer="sgd", loss="mse")
            RESULT = model.predict(np.array([[1, 2, 3], [4, 5, 6]]), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import tensorflow as tf
            import keras

            class MyModel(keras.Model):
                def call(self, inputs):
                    string_input = tf.strings.as_string(inputs)
                    return tf.strings.to_number(string_input)

            model = MyModel()
            model.compile(optimizer="sgd", loss="mse", jit_compile=False)
            RESULT = model.predict(np.array([[1, 2, 3], [4, 5, 6]]), verbose=0).tolist()
            """,
            flagged=("tf.strings.as_string",),
            # CPU TensorFlow leaves XLA off, so the original still runs there; it fails on
            # JAX and on a GPU. The fixed code runs on all three backends.
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # a layer: every compile() of a Keras model in the file gets the flag
        Invalid(
            """
            import tensorflow as tf
            from tensorflow import keras

            class Hash(keras.layers.Layer):
                def call(self, x):
                    return tf.py_function(lambda t: t, [x], tf.float32)

            inputs = keras.Input((3,))
            net = keras.Model(inputs, Hash()(inputs))
            net.compile(
                optimizer="adam",
                loss="mse",
            )
            """,
            fixed="""
            import tensorflow as tf
            from tensorflow import keras

            class Hash(keras.layers.Layer):
                def call(self, x):
                    return tf.py_function(lambda t: t, [x], tf.float32)

            inputs = keras.Input((3,))
            net = keras.Model(inputs, Hash()(inputs))
            net.compile(
                optimizer="adam",
                loss="mse",
                jit_compile=False,
            )
            """,
            flagged=("tf.py_function",),
        ),
        # no compile() in sight: report only
        Invalid(
            """
            import tensorflow as tf
            import keras
            class Parse(keras.Model):
                def train_step(self, data):
                    raw = tf.io.decode_raw(data, tf.uint8)
                    return {}
            """,
            fixed=None,
            flagged=("tf.io.decode_raw",),
        ),
    ]

    def check(self, ctx):
        hits = []
        for cls in ctx.nodes(ast.ClassDef):
            kinds = class_kinds(ctx, cls)
            if not (LAYER in kinds or MODEL in kinds):
                continue
            for fn in cls.body:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in _METHODS:
                    ops = _xla_ops(ctx, fn)
                    if ops:
                        hits.append((cls, fn, ops, MODEL in kinds))
        if not hits or _jit_disabled_somewhere(ctx):
            return
        for cls, fn, ops, is_model in hits:
            compiles = self._compile_calls(ctx, cls, is_model)
            names = ", ".join(f"`{o}`" for o, _ in ops[:3]) + (" and more" if len(ops) > 3 else "")
            msg = self.message.format(method=fn.name, ops=names)
            span = ops[0][1]  # at the op itself; the compile() calls are related places
            related = [(c.func, "compiled here: `jit_compile` defaults to \"auto\" (XLA where supported)")
                       for c in compiles]
            related += [(o, "also not XLA-compilable") for _, o in ops[1:3]]
            if not compiles:
                ctx.report(self, span, msg, related=related)
                continue
            title = "Pass `jit_compile=False` to `compile()`"
            ctx.report(self, span, msg, related=related,
                       fix=Fix.safe(title, self._no_jit, ctx, compiles))

    @staticmethod
    def _no_jit(ctx, compiles):
        return [ctx.add_keyword(c, "jit_compile", "False") for c in compiles]


    def _compile_calls(self, ctx, cls, is_model):
        names = {n.id for n in model_constructions(ctx, cls)} if is_model else None
        out = []
        for call in ctx.nodes(ast.Call):
            f = call.func
            if not (isinstance(f, ast.Attribute) and f.attr == "compile") or ctx.qualname(f) is not None:
                continue
            if any(k.arg == "jit_compile" for k in call.keywords) or any(k.arg is None for k in call.keywords):
                continue
            recv = f.value
            if is_model:
                if isinstance(recv, ast.Name) and recv.id == "self":
                    m = enclosing_method(ctx, call)
                    if m is None or m[0] is not cls:
                        continue
                elif not (isinstance(recv, ast.Name) and recv.id in names):
                    continue
            elif receiver_kind(ctx, recv) != MODEL:
                continue
            out.append(call)
        return sorted(out, key=lambda c: (c.lineno, c.col_offset))
