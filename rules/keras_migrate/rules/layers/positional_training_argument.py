"""K314 positional-training-argument: ``model(x, True)`` raises ValueError in Keras 3."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      ancestors, enclosing_method, methods_of, module_class, self_attr_values,
                                      visible_values)

# Built-in tf-keras 2.21 layers whose `call`'s second parameter is `training` (read with
# inspect.signature from every class in tf_keras.layers; the rest take `mask`, `states`, ... or
# nothing there). Models (Sequential, functional, applications) call(inputs, training, mask).
_TRAINING_SECOND = frozenset({
    "AlphaDropout", "BatchNormalization", "Bidirectional", "Dropout", "GaussianDropout", "GaussianNoise",
    "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip", "RandomHeight", "RandomRotation",
    "RandomTranslation", "RandomWidth", "RandomZoom", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "SpectralNormalization", "TimeDistributed",
})


def _constructor(ctx, expr: ast.AST, depth: int = 0) -> Optional[ast.Call]:
    """The call that built the layer/model ``expr`` (through names and ``self.<attr>`` assigned once)."""
    if depth > 4:
        return None
    if isinstance(expr, ast.Call):
        return expr
    values: list = []
    if isinstance(expr, ast.Name):
        values = visible_values(ctx, expr)
    elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
        m = enclosing_method(ctx, expr)
        values = self_attr_values(m[0], expr.attr) if m is not None else []
    return _constructor(ctx, values[0], depth + 1) if len(values) == 1 else None


def _is_param(ctx, name: ast.Name) -> bool:
    """``name`` is a parameter of the function it is used in."""
    for a in ancestors(ctx, name):
        if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = a.args
            return any(p.arg == name.id for p in args.posonlyargs + args.args + args.kwonlyargs)
        if isinstance(a, (ast.ClassDef, ast.Lambda)):
            return False
    return False


class PositionalTrainingArgument(Rule):
    """Passes `training` to a model or layer call by position: `model(x, True)`.

    ## What it does
    Flags a call of a Keras model or layer whose second positional argument is `True`,
    `False` or the enclosing function's own `training` parameter, when the engine knows
    the callee: a model (`Sequential`, functional, an application, a `Model` subclass of
    this file), a built-in layer whose `call` takes `training` second in Keras 2
    (`Dropout`, `BatchNormalization`, the `Random*` augmentation layers, ...), or a layer
    subclass of this file (its own `call` signature says what the argument is).

    ## Why is this bad?
    Keras 2 handed positional arguments straight to `call`, so `model(x, True)` ran in
    training mode. Keras 3's `Layer.__call__` accepts only tensors positionally and raises
    `ValueError: Only input tensors may be passed as positional arguments. The following
    argument value should be passed as a keyword argument: True`; a functional model raises
    `TypeError: Functional.call() got multiple values for argument 'training'`. (`None`
    still passes.)

    ## Example
    ```python
    features = base_model(images, False)
    ```

    ## Use instead
    ```python
    features = base_model(images, training=False)
    ```

    ## Fix safety
    Safe: the keyword is the name of the parameter Keras 2 bound the value to (`training`
    for models and the built-in layers listed above, checked with `inspect.signature` on
    tf-keras 2.21; the second parameter of the file's own `call`), and Keras 3 binds it the
    same way. A built-in layer that takes something else second (`LSTM(x, mask)`), or a
    callee the engine does not know, is not reported.

    ## References
    - https://keras.io/api/layers/base_layer/#call-method
    """

    code = "K314"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "positional-training-argument"
    message = "Keras 3 accepts only tensors as positional arguments of a layer/model call: pass `{param}={value}` by keyword"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("True", "False", "training")

    VALID = [
        Valid("""
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.5)])
            y = model(np.ones((1, 3)), training=True)
            z = model(np.ones((1, 3)), None)
            attention = keras.layers.Attention()
            q = keras.Input((2, 4))
            out = attention([q, q], None)
        """),
        # not Keras: any function or object
        Valid("""
            import keras
            def f(x, flag):
                return x
            f(1, True)
            run = lambda x, t: x
            run(2, False)
        """),
        # a built-in layer whose second Keras 2 parameter is not `training`
        Valid("""
            import keras
            lstm = keras.layers.LSTM(4)
            seq = keras.Input((5, 3))
            out = lstm(seq, None)
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            inp = keras.Input((4,))
            model = keras.Model(inp, keras.layers.BatchNormalization()(inp))
            bn = keras.layers.BatchNormalization()
            x = np.arange(8, dtype="float32").reshape(2, 4)
            RESULT = [model(x, True), bn(x, False)]
            """,
            fixed="""
            import keras
            import numpy as np
            inp = keras.Input((4,))
            model = keras.Model(inp, keras.layers.BatchNormalization()(inp))
            bn = keras.layers.BatchNormalization()
            x = np.arange(8, dtype="float32").reshape(2, 4)
            RESULT = [model(x, training=True), bn(x, training=False)]
            """,
            flagged=("True", "False"),
            # a functional model raises first: Functional.call() got multiple values for `training`
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # the file's own layer and model: their call's second parameter, passed on inside call
        Invalid(
            """
            import keras
            import numpy as np
            class Scale(keras.layers.Layer):
                def call(self, x, double=False):
                    return x * 2.0 if double else x
            class Net(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.scale = Scale()
                    self.norm = keras.layers.BatchNormalization()
                def call(self, x, training=None):
                    return self.norm(self.scale(x, True), training)
            net = Net()
            x = np.arange(8, dtype="float32").reshape(2, 4)
            RESULT = net(x, True)
            """,
            fixed="""
            import keras
            import numpy as np
            class Scale(keras.layers.Layer):
                def call(self, x, double=False):
                    return x * 2.0 if double else x
            class Net(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.scale = Scale()
                    self.norm = keras.layers.BatchNormalization()
                def call(self, x, training=None):
                    return self.norm(self.scale(x, double=True), training=training)
            net = Net()
            x = np.arange(8, dtype="float32").reshape(2, 4)
            RESULT = net(x, training=True)
            """,
            flagged=("True", "training", "True"),
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ]

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            if len(call.args) != 2 or any(isinstance(a, ast.Starred) for a in call.args):
                continue
            second = call.args[1]
            if isinstance(second, ast.Constant):
                if not isinstance(second.value, bool):
                    continue
            elif not (isinstance(second, ast.Name) and second.id == "training" and _is_param(ctx, second)):
                continue
            if ctx.value_kind(call.func) not in (LAYER, MODEL):
                continue
            param = self._second_param(ctx, call.func)
            if param is None or any(k.arg == param for k in call.keywords):
                continue
            value = ctx.segment(second)
            msg = self.message.format(param=param, value=value)
            s_prev = ctx.span(call.args[0])[1]
            s, e = ctx.span(second)
            if "," not in ctx.text[s_prev:s]:
                ctx.report(self, second, msg)
                continue
            title = f"Pass `{param}={value}`"
            edit = ctx.replace(second, f"{param}={value}")
            ctx.report(self, second, msg, fix=Fix.safe(title, edit))


    @staticmethod
    def _second_param(ctx, func: ast.AST) -> Optional[str]:
        """The name Keras 2 bound the second positional argument to, or None when unknown."""
        built = _constructor(ctx, func)
        if built is None:
            return "training" if ctx.value_kind(func) == MODEL and not isinstance(func, ast.Call) and \
                _known_model(ctx, func) else None
        cls = module_class(ctx, built.func.id) if isinstance(built.func, ast.Name) else None
        if cls is not None:
            fn = _call_method(ctx, cls)
            if fn is None:
                return None
            params = fn.args.posonlyargs + fn.args.args
            return params[2].arg if len(params) > 2 else None
        q = ctx.qualname(built.func)
        if q is None:
            return None
        if ctx.value_kind(built) == MODEL:
            return "training"
        leaf = q.rsplit(".", 1)[-1]
        return "training" if q.startswith("keras.layers.") and leaf in _TRAINING_SECOND else None


def _known_model(ctx, func: ast.AST) -> bool:
    """``self.model`` in a callback and the like: a Keras model built by Keras (Model.call)."""
    return isinstance(func, ast.Attribute) and func.attr == "model"


def _call_method(ctx, cls: ast.ClassDef, depth: int = 0) -> Optional[ast.AST]:
    """The ``call`` of a class of this file or of its nearest base class in this file."""
    if depth > 5:
        return None
    fn = methods_of(cls).get("call")
    if fn is not None:
        return fn
    for b in cls.bases:
        if isinstance(b, ast.Name) and module_class(ctx, b.id) is not None:
            return _call_method(ctx, module_class(ctx, b.id), depth + 1)
        q = ctx.qualname(b)
        if q in ("keras.Model", "keras.models.Model", "keras.Sequential", "keras.models.Sequential"):
            return None  # Model.call(inputs, training, mask) -- but a subclass without call is unusual
    return None
