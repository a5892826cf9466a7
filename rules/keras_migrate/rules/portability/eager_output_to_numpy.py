"""K608 eager-output-to-numpy."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Group, Invalid, Rule, Run, Severity,
                                      Valid, class_kinds, enclosing_method, receiver_kind, visible_values)


def _numpy_func(ctx, call: ast.Call) -> bool:
    """``np.linalg.norm(...)``, ``numpy.asarray(...)``: a function of the numpy module."""
    f = call.func
    parts = []
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if not isinstance(f, ast.Name) or not parts:
        return False
    return _imports_numpy_as(ctx, f.id)


def _imports_numpy_as(ctx, name: str) -> bool:
    return name in ctx.memo("portability.numpy_names", lambda: _numpy_names(ctx))


def _numpy_names(ctx) -> set[str]:
    """The names ``import numpy [as np]`` binds in the file."""
    names = set()
    for node in ctx.nodes(ast.Import):
        for a in node.names:
            if a.name == "numpy":
                names.add(a.asname or "numpy")
    return names


class EagerOutputToNumpy(Rule):
    """`.numpy()` or a NumPy function on the output of an eager model or layer call.

    ## What it does
    Outside model code (not in a method of a Keras layer or model), flags `.numpy()` on the
    result of calling a Keras model or layer directly (`encoder(batch).numpy()`, also through
    a variable assigned once from such a call) and of a `keras.ops` call, and, when torch is
    a target backend, a NumPy function applied to a model's output (`np.linalg.norm(encoder(x))`,
    `np.asarray(model(x))`).

    ## Why is this bad?
    A direct call returns the backend's tensor. On JAX, `.numpy()` raises `AttributeError:
    'jaxlib._jax.ArrayImpl' object has no attribute 'numpy'`; on torch the output requires
    grad, so `.numpy()` and every NumPy function raise `RuntimeError: Can't call numpy() on
    Tensor that requires grad. Use tensor.detach().numpy() instead.` Only TensorFlow's eager
    tensors behave as in Keras 2.

    ## Example
    ```python
    codes = encoder(batch).numpy()
    dist = np.linalg.norm(encoder(batch))
    ```

    ## Use instead
    ```python
    codes = keras.ops.convert_to_numpy(encoder(batch))
    dist = np.linalg.norm(keras.ops.convert_to_numpy(encoder(batch)))
    ```

    ## Fix safety
    Safe: `keras.ops.convert_to_numpy` returns the same NumPy array `.numpy()` returns on
    TensorFlow, and detaches / copies to host on the other backends. `model.predict(x)`
    (already NumPy) is never flagged.

    ## References
    - https://keras.io/api/ops/core/#converttonumpy-function
    """

    code = "K608"
    name = "eager-output-to-numpy"
    message = "{what} fails on {backends}: the call returns a backend tensor; use `keras.ops.convert_to_numpy(...)`"
    severity = Severity.ERROR
    group = Group.PORTABILITY
    fix = Applicability.SAFE
    requires = ("numpy",)

    VALID = [
        Valid("""
            import numpy as np
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            a = model.predict(np.ones((1, 3)), verbose=0)
            b = np.linalg.norm(a)
            c = keras.ops.convert_to_numpy(model(np.ones((1, 3))))
            d = np.asarray([1.0, 2.0]).sum()
        """),
        # not Keras: a pandas column, a torch module of the user's own
        Valid("""
            import numpy as np
            import keras
            values = frame["col"].to_numpy()
            other = net(x).numpy()
        """),
        # in model code the tensor is symbolic or traced: other rules (K601) apply
        Valid("""
            import numpy as np
            import keras
            class Block(keras.layers.Layer):
                def __init__(self):
                    super().__init__()
                    self.d = keras.layers.Dense(2)
                def call(self, x):
                    return self.d(x)
        """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import keras
            encoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
            batch = np.ones((2, 3), "float32")
            codes = encoder(batch).numpy()
            out = encoder(batch)
            dist = float(np.linalg.norm(out))
            RESULT = [codes.tolist(), round(dist, 4)]
            """,
            fixed="""
            import numpy as np
            import keras
            encoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
            batch = np.ones((2, 3), "float32")
            codes = keras.ops.convert_to_numpy(encoder(batch))
            out = encoder(batch)
            dist = float(np.linalg.norm(keras.ops.convert_to_numpy(out)))
            RESULT = [codes.tolist(), round(dist, 4)]
            """,
            flagged=("encoder(batch).numpy()", "np.linalg.norm(out)"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # JAX only: NumPy functions read JAX arrays fine, `.numpy()` does not exist
        Invalid(
            """
            import numpy as np
            from tensorflow import keras
            layer = keras.layers.Dense(2, kernel_initializer="ones")
            y = layer(np.ones((1, 3), "float32"))
            RESULT = [y.numpy().tolist(), float(np.sum(y)), keras.ops.sum(y).numpy().tolist()]
            """,
            fixed="""
            import numpy as np
            from tensorflow import keras
            layer = keras.layers.Dense(2, kernel_initializer="ones")
            y = layer(np.ones((1, 3), "float32"))
            RESULT = [keras.ops.convert_to_numpy(y).tolist(), float(np.sum(y)), keras.ops.convert_to_numpy(keras.ops.sum(y)).tolist()]
            """,
            flagged=("y.numpy()", "keras.ops.sum(y).numpy()"),
            config={"target_backends": ["tensorflow", "jax"]},
        ),
        # the fix writes `keras.ops` the way the file imports Keras: `import keras as K`
        Invalid(
            """
            import numpy as np
            import keras as K
            encoder = K.Sequential([K.Input((3,)), K.layers.Dense(2, kernel_initializer="ones")])
            codes = encoder(np.ones((2, 3), "float32")).numpy()
            RESULT = codes.tolist()
            """,
            fixed="""
            import numpy as np
            import keras as K
            encoder = K.Sequential([K.Input((3,)), K.layers.Dense(2, kernel_initializer="ones")])
            codes = K.ops.convert_to_numpy(encoder(np.ones((2, 3), "float32")))
            RESULT = codes.tolist()
            """,
            flagged=('encoder(np.ones((2, 3), "float32")).numpy()',),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # `from tensorflow import keras`: Keras 3's `keras._tf_keras.keras` once Keras 3 is
        # installed, which has `keras.ops`: written through it, nothing added (K101 moves the import)
        Invalid(
            """
            import numpy as np
            from tensorflow import keras
            encoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
            codes = encoder(np.ones((2, 3), "float32")).numpy()
            RESULT = codes.tolist()
            """,
            fixed="""
            import numpy as np
            from tensorflow import keras
            encoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
            codes = keras.ops.convert_to_numpy(encoder(np.ones((2, 3), "float32")))
            RESULT = codes.tolist()
            """,
            flagged=('encoder(np.ones((2, 3), "float32")).numpy()',),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # no `keras` import at all (Keras through `tf.keras`): `import keras` is added
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            encoder = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2, kernel_initializer="ones")])
            codes = encoder(np.ones((2, 3), "float32")).numpy()
            RESULT = codes.tolist()
            """,
            fixed="""
            import numpy as np
            import tensorflow as tf
            import keras
            encoder = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2, kernel_initializer="ones")])
            codes = keras.ops.convert_to_numpy(encoder(np.ones((2, 3), "float32")))
            RESULT = codes.tolist()
            """,
            flagged=('encoder(np.ones((2, 3), "float32")).numpy()',),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ]


    def _tensor_source(self, ctx, expr: ast.AST, depth: int = 0, kinds=(MODEL, LAYER), ops=True) -> bool:
        """``expr`` is the output of an eager Keras model/layer call or a ``keras.ops`` call."""
        if isinstance(expr, ast.Call):
            q = ctx.qualname(expr.func)
            if q is not None:
                return ops and q.startswith(("keras.ops.", "keras.random.")) and q != "keras.ops.convert_to_numpy"
            return receiver_kind(ctx, expr.func) in kinds
        if isinstance(expr, ast.Name) and depth < 3:
            values = visible_values(ctx, expr)
            return len(values) == 1 and self._tensor_source(ctx, values[0], depth + 1, kinds, ops)
        return False

    def _in_model_code(self, ctx, node) -> bool:
        m = enclosing_method(ctx, node)
        if m is None:
            return False
        kinds = class_kinds(ctx, m[0])
        return bool(kinds) and (MODEL in kinds or LAYER in kinds)

    def check(self, ctx):
        backends = [b for b in ctx.settings.target_backends if b in ("jax", "torch")]
        if not backends:
            return
        for call in ctx.nodes(ast.Call):
            f = call.func
            target: Optional[ast.AST] = None
            if (isinstance(f, ast.Attribute) and f.attr == "numpy" and not call.args and not call.keywords
                    and self._tensor_source(ctx, f.value)):
                target, what, on = f.value, "`.numpy()` on a model/layer/ops output", backends
            elif ("torch" in backends and call.args and not isinstance(call.args[0], ast.Starred)
                  and ctx.qualname(f) is None and _numpy_func(ctx, call)
                  and self._tensor_source(ctx, call.args[0], kinds=(MODEL,), ops=False)):
                # a model's output requires grad on torch (its weights do); a weightless
                # layer's or an op's output converts fine
                target, what, on = call.args[0], f"`{ctx.segment(f)}(...)` of a model's output", ["torch"]
            if target is None or self._in_model_code(ctx, call):
                continue
            title = "Convert with `keras.ops.convert_to_numpy(...)`"
            whole = target is not call.args[0] if call.args else True
            ctx.report(self, call, self.message.format(what=what, backends=" and ".join(on)),
                       fix=Fix.safe(title, self._fix, ctx, call, target, whole))

    def _fix(self, ctx, call, target, whole):
        ops, imp = ctx.imports.ensure("keras.ops", at=call)
        inner = f"{ops}.convert_to_numpy({ctx.segment(target)})"
        edit = ctx.replace(call, inner) if whole else ctx.replace(target, inner)
        return [edit, imp]

