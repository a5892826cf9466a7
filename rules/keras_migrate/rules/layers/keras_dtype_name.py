"""K313 keras-dtype-name: ``.dtype.name`` of a Keras tensor or variable (a plain string in Keras 3)."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      ancestors, enclosing_method, is_symbolic, self_attr_values,
                                      visible_values)

# weights of the built-in layers, by attribute (Keras 2 and 3 both create them with add_weight)
_WEIGHT_ATTRS = frozenset({"kernel", "bias", "embeddings", "gamma", "beta", "moving_mean", "moving_variance",
                           "recurrent_kernel", "depthwise_kernel", "pointwise_kernel"})
# lists of variables on any layer or model
_WEIGHT_LISTS = frozenset({"weights", "trainable_weights", "non_trainable_weights", "variables",
                           "trainable_variables", "non_trainable_variables"})
_VARIABLE_CALLS = frozenset({"keras.Variable", "keras.variables.Variable"})
_ADD_WEIGHT = ("add_weight", "add_variable")


def _layerish(ctx, expr: ast.AST) -> bool:
    return ctx.value_kind(expr) in (LAYER, MODEL)


def _builtin_layer(ctx, expr: ast.AST, depth: int) -> bool:
    """``expr`` is an instance of a Keras layer class (not a subclass of the user's: its
    ``kernel`` could be anything), directly or through a name assigned once."""
    if depth > 4:
        return False
    if isinstance(expr, ast.Call):
        q = ctx.qualname(expr.func)
        return q is not None and q.startswith("keras.layers.") and _layerish(ctx, expr)
    if isinstance(expr, ast.Name):
        values = visible_values(ctx, expr)
        return len(values) == 1 and _builtin_layer(ctx, values[0], depth + 1)
    return False


def _weight_list(ctx, expr: ast.AST) -> bool:
    return isinstance(expr, ast.Attribute) and expr.attr in _WEIGHT_LISTS and _layerish(ctx, expr.value)


def _for_target_values(ctx, name: ast.Name) -> list[ast.AST]:
    """Iterables of the ``for <name> in ...`` loops around ``name`` (innermost first)."""
    out = []
    for a in ancestors(ctx, name):
        if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            break
        if isinstance(a, (ast.For, ast.comprehension)) and isinstance(a.target, ast.Name) and a.target.id == name.id:
            out.append(a.iter)
            break
    if not out:  # comprehensions are not ancestors of their `elt` through `generators`
        for a in ancestors(ctx, name):
            if isinstance(a, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                for g in a.generators:
                    if isinstance(g.target, ast.Name) and g.target.id == name.id:
                        return [g.iter]
    return out


def is_keras_variable(ctx, expr: ast.AST, depth: int = 0) -> bool:
    """True when the engine knows ``expr`` is a Keras variable: ``keras.Variable(...)``,
    ``add_weight(...)`` of a layer, a built-in layer's ``kernel``/``bias``/..., an element of
    a layer's or model's ``weights`` (& co.), followed through names and ``self.<attr>``."""
    if depth > 6:
        return False
    d = depth + 1
    if isinstance(expr, ast.Call):
        if ctx.qualname(expr.func) in _VARIABLE_CALLS:
            return True
        f = expr.func
        return isinstance(f, ast.Attribute) and f.attr in _ADD_WEIGHT and _layerish(ctx, f.value)
    if isinstance(expr, ast.Subscript):
        return _weight_list(ctx, expr.value) and not isinstance(expr.slice, ast.Slice)
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id == "self":
            m = enclosing_method(ctx, expr)
            if m is None or not _layerish(ctx, expr.value):
                return False
            values = self_attr_values(m[0], expr.attr)
            return bool(values) and all(is_keras_variable(ctx, v, d) for v in values)
        return expr.attr in _WEIGHT_ATTRS and _builtin_layer(ctx, expr.value, 0)
    if isinstance(expr, ast.Name):
        values = visible_values(ctx, expr)
        if values:
            return len(values) == 1 and is_keras_variable(ctx, values[0], d)
        iters = _for_target_values(ctx, expr)
        return len(iters) == 1 and _weight_list(ctx, iters[0])
    return False


class KerasDtypeName(Rule):
    """Reads `.dtype.name` of a Keras tensor or variable: in Keras 3 the dtype is a string.

    ## What it does
    Flags `x.dtype.name` where the engine knows `x` is a symbolic Keras tensor
    (`keras.Input(...)`, a layer applied to one, `model.output`) or a Keras variable (a
    layer's `add_weight(...)`, a built-in layer's `kernel`/`bias`/..., an element of
    `model.weights` / `trainable_variables` / ..., `keras.Variable(...)`). The same
    expression on NumPy arrays or TensorFlow tensors and variables (whose `dtype` is still
    an object with `.name`) is never reported.

    ## Why is this bad?
    In Keras 2 these were TensorFlow tensors and variables, whose `dtype` is a `tf.DType`.
    In Keras 3 `KerasTensor.dtype` and `Variable.dtype` are plain strings (`"float32"`), so
    `.name` raises `AttributeError: 'str' object has no attribute 'name'`.

    ## Example
    ```python
    for w in model.weights:
        print(w.name, w.dtype.name)
    ```

    ## Use instead
    ```python
    for w in model.weights:
        print(w.name, w.dtype)
    ```

    ## Fix safety
    Safe: the string is the same as Keras 2's `dtype.name` (`"float32"`, `"int32"`, ...;
    checked on tf-keras 2.21 and Keras 3.15.1 with every backend).

    ## References
    - https://keras.io/api/layers/base_layer/#variable-class
    """

    code = "K313"
    name = "keras-dtype-name"
    message = "`{expr}` is a string in Keras 3 (`.name` raises AttributeError): use `{expr}` itself"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("dtype.name",)

    VALID = [
        # NumPy arrays and TensorFlow tensors/variables keep a dtype object
        Valid("""
            import numpy as np
            import tensorflow as tf
            import keras
            a = np.zeros(3)
            t = tf.constant([1.0])
            v = tf.Variable(1.0)
            print(a.dtype.name, t.dtype.name, v.dtype.name)
            for x in [t, v]:
                print(x.dtype.name)
        """),
        # the Keras 3 spelling
        Valid("""
            import keras
            inp = keras.Input((3,))
            model = keras.Model(inp, keras.layers.Dense(2)(inp))
            print(inp.dtype, [w.dtype for w in model.weights])
        """),
        # an eager layer call gives a backend tensor (a dtype object on TensorFlow and JAX)
        Valid("""
            import numpy as np
            import keras
            y = keras.layers.Dense(2)(np.zeros((1, 3), "float32"))
            print(y.dtype.name)
        """),
        # a user layer's attribute that is not a Keras variable
        Valid("""
            import tensorflow as tf
            import keras
            class Scale(keras.layers.Layer):
                def build(self, shape):
                    self.table = tf.constant([1.0])
                def call(self, x):
                    print(self.table.dtype.name)
                    return x
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            inp = keras.Input((3,), name="x")
            out = keras.layers.Dense(2)(inp)
            model = keras.Model(inp, out)
            dense = keras.layers.Dense(4)
            dense.build((None, 3))
            RESULT = [inp.dtype.name, out.dtype.name, model.output.dtype.name, dense.kernel.dtype.name,
                      model.weights[0].dtype.name, [w.dtype.name for w in model.trainable_weights]]
            for v in model.weights:
                print(v.name, v.dtype.name)
            """,
            fixed="""
            import keras
            inp = keras.Input((3,), name="x")
            out = keras.layers.Dense(2)(inp)
            model = keras.Model(inp, out)
            dense = keras.layers.Dense(4)
            dense.build((None, 3))
            RESULT = [inp.dtype, out.dtype, model.output.dtype, dense.kernel.dtype,
                      model.weights[0].dtype, [w.dtype for w in model.trainable_weights]]
            for v in model.weights:
                print(v.name, v.dtype)
            """,
            flagged=("inp.dtype.name", "out.dtype.name", "model.output.dtype.name", "dense.kernel.dtype.name",
                     "model.weights[0].dtype.name", "w.dtype.name", "v.dtype.name"),
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # a layer's own weights, made with add_weight
        Invalid(
            """
            import keras
            import numpy as np
            class Scale(keras.layers.Layer):
                def build(self, shape):
                    self.w = self.add_weight(shape=(shape[-1],), initializer="ones", dtype="float32")
                def call(self, x):
                    return x * self.w
                def describe(self):
                    return self.w.dtype.name
            layer = Scale()
            layer.build((None, 2))
            RESULT = layer.describe()
            """,
            fixed="""
            import keras
            import numpy as np
            class Scale(keras.layers.Layer):
                def build(self, shape):
                    self.w = self.add_weight(shape=(shape[-1],), initializer="ones", dtype="float32")
                def call(self, x):
                    return x * self.w
                def describe(self):
                    return self.w.dtype
            layer = Scale()
            layer.build((None, 2))
            RESULT = layer.describe()
            """,
            flagged=("self.w.dtype.name",),
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ]

    def check(self, ctx):
        for node in ctx.nodes(ast.Attribute):
            if node.attr != "name" or not isinstance(node.ctx, ast.Load):
                continue
            dt = node.value
            if not (isinstance(dt, ast.Attribute) and dt.attr == "dtype"):
                continue
            x = dt.value
            if not self._is_keras(ctx, x):
                continue
            expr = ctx.segment(dt)
            start, end = ctx.span(node)
            s_dt, e_dt = ctx.span(dt)
            if ctx.text[e_dt:end].replace(" ", "") != ".name":
                ctx.report(self, node, self.message.format(expr=expr))
                continue
            title = f"Use `{expr}`"
            edit = ctx.replace(node, expr)
            ctx.report(self, node, self.message.format(expr=expr),
                       fix=Fix.safe(title, edit))


    @staticmethod
    def _is_keras(ctx, x: ast.AST) -> bool:
        if is_symbolic(ctx, x):
            return True
        if isinstance(x, ast.Attribute) and x.attr in ("output", "input") and ctx.value_kind(x.value) == MODEL:
            return True  # a functional / Sequential model's symbolic tensors
        return is_keras_variable(ctx, x)
