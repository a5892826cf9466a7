"""K312 input-layer-input."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import (MODEL, Applicability, Edit, Fix, Invalid, Rule, Run, Severity, Valid,
                                      arg, receiver_kind, visible_values)

# attributes whose meaning changed on an InputLayer (checked on Keras 3.15.1: an InputLayer's
# `input` is `[]`, its `output` the Input tensor; in Keras 2 both were the tensor)
_INPUT_LAYER_ATTRS = {"input": "output"}
_INPUT_FUNCS = ("keras.Input", "keras.layers.Input", "keras.layers.InputLayer")


def _input_names(ctx) -> set[str]:
    """``name=`` literals of the file's ``keras.Input(...)`` / ``InputLayer(...)`` calls."""
    return ctx.memo("layers.input_names", lambda: _find_input_names(ctx))


def _find_input_names(ctx) -> set[str]:
    out = set()
    for call in ctx.nodes(ast.Call):
        if not call.keywords:
            continue
        name = next((k.value for k in call.keywords if k.arg == "name"), None)
        if isinstance(name, ast.Constant) and isinstance(name.value, str) and ctx.qualname(call.func) in _INPUT_FUNCS:
            out.add(name.value)
    return out


class InputLayerInput(Rule):
    """`model.get_layer("x").input` where `"x"` is an `Input` layer: `[]` in Keras 3.

    ## What it does
    Resolves `model.get_layer("<literal>")` (directly or through a variable assigned once)
    to the layer built with that `name=` in this file, and flags `.input` when that layer is
    a `keras.Input(..., name=...)` / `InputLayer`.

    ## Why is this bad?
    Same name, new meaning: in Keras 2 an `InputLayer`'s `.input` was its tensor; in Keras
    3.15.1 it is `[]` (an input layer has no inputs), so `keras.Model(model.get_layer("left")
    .input, ...)` raises `ValueError: The inputs argument cannot be empty` (every backend),
    and other uses silently get an empty list.

    ## Example
    ```python
    left = model.get_layer("left").input
    ```

    ## Use instead
    ```python
    left = model.get_layer("left").output   # the Input tensor, on Keras 2 and 3
    ```

    ## Fix safety
    Safe: an `InputLayer`'s `.output` is the same tensor its `.input` was in Keras 2.

    ## References
    - https://keras.io/api/layers/core_layers/input/
    """

    code = "K312"
    name = "input-layer-input"
    message = "`{seg}` is `[]` in Keras 3 (`\"{name}\"` is an Input layer); use `.output`, the Input tensor"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("get_layer",)

    VALID = [
        Valid("""
            import keras
            left = keras.Input((3,), name="left")
            hidden = keras.layers.Dense(2, name="hidden")(left)
            model = keras.Model(left, hidden)
            a = model.get_layer("left").output
            b = model.get_layer("hidden").input
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            left = keras.Input((3,), name="left")
            right = keras.Input((3,), name="right")
            model = keras.Model([left, right], keras.layers.Add()([left, right]))
            branch = model.get_layer("right")
            sub = keras.Model([model.get_layer("left").input, branch.input], model.output)
            RESULT = len(sub.inputs)
            """,
            fixed="""
            import keras
            left = keras.Input((3,), name="left")
            right = keras.Input((3,), name="right")
            model = keras.Model([left, right], keras.layers.Add()([left, right]))
            branch = model.get_layer("right")
            sub = keras.Model([model.get_layer("left").output, branch.output], model.output)
            RESULT = len(sub.inputs)
            """,
            flagged=('model.get_layer("left").input', "branch.input"),
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ]

    def _layer_name(self, ctx, expr: ast.AST, depth: int = 0) -> Optional[str]:
        if isinstance(expr, ast.Name) and depth < 2:
            values = visible_values(ctx, expr)
            return self._layer_name(ctx, values[0], depth + 1) if len(values) == 1 else None
        if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
                and expr.func.attr == "get_layer" and receiver_kind(ctx, expr.func.value) == MODEL):
            return None
        name = arg(expr, 0, "name")
        return name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None

    def check(self, ctx):
        names = None
        for node in ctx.nodes(ast.Attribute):
            if node.attr not in _INPUT_LAYER_ATTRS or not isinstance(node.ctx, ast.Load):
                continue
            if names is None:
                names = _input_names(ctx)
                if not names:
                    return
            layer = self._layer_name(ctx, node.value)
            if layer is None or layer not in names:
                continue
            new = _INPUT_LAYER_ATTRS[node.attr]
            start, end = ctx.span(node)
            title = f"Use `.{new}` (the Input tensor)"
            edit = Edit(end - len(node.attr), end, new)
            ctx.report(self, node, self.message.format(seg=ctx.segment(node), name=layer),
                       fix=Fix.safe(title, edit))

