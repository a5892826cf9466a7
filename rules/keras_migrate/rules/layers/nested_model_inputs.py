"""K306 nested-model-inputs (guide pattern; off by default)."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import Invalid, Rule, Run, Severity, Valid, visible_values

_MODEL = {"keras.Model", "keras.models.Model"}
_CONTAINERS = (ast.Dict, ast.List, ast.Tuple)


def _nested_with_dict(node: ast.AST, ctx, depth: int = 0) -> bool:
    """A dict holding a container, or a container holding a dict (followed through names)."""
    if depth > 4:
        return False
    if isinstance(node, ast.Name) and depth > 0:
        vals = visible_values(ctx, node)
        return len(vals) == 1 and _nested_with_dict(vals[0], ctx, depth)
    if isinstance(node, ast.Dict):
        return any(isinstance(_value(ctx, v), _CONTAINERS) for v in node.values if v is not None)
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(isinstance(_value(ctx, e), ast.Dict) or _nested_with_dict(e, ctx, depth + 1) for e in node.elts)
    return False


def _value(ctx, node: ast.AST) -> ast.AST:
    if isinstance(node, ast.Name):
        vals = visible_values(ctx, node)
        if len(vals) == 1:
            return vals[0]
    return node


class NestedModelInputs(Rule):
    """Passes nested dicts (dict-in-dict, dict inside a list) as a functional model's inputs.

    ## What it does
    Flags `keras.Model(inputs, outputs)` whose `inputs` is a dict holding another dict or
    list (or a list holding a dict), written in place or assigned to a name first. This is
    the migration guide's "deeply nested inputs" pattern; it is off by default.

    ## Why is this bad?
    Keras 3.0.0 to 3.3.3 accept only flat inputs (a tensor, a flat list or a flat dict) in
    the functional API: ``ValueError: When providing `inputs` as a dict, all values in the
    dict must be KerasTensors``. From 3.4.0 (and on 3.15.1) nested dicts work on all three
    backends (Keras 2 failed on them when the model was called), so the rule only matters
    to projects pinned to the releases in `keras_versions`, `[3.0.0, 3.4.0)`, measured on
    every 3.x release (docs/research/keras-version-ranges.md).

    ## Example
    ```python
    inputs = {
        "foo": keras.Input(shape=(1,), name="foo"),
        "bar": {"baz": keras.Input(shape=(1,), name="bar")},
    }
    model = keras.Model(inputs, inputs["foo"] + inputs["bar"]["baz"])
    ```

    ## Use instead
    ```python
    inputs = {
        "foo": keras.Input(shape=(1,), name="foo"),
        "bar": keras.Input(shape=(1,), name="bar"),
    }
    model = keras.Model(inputs, inputs["foo"] + inputs["bar"])
    ```

    ## Fix safety
    No automatic fix: flattening changes the structure the model's callers (and datasets)
    must feed.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#nested-inputs-to-functional-models
    - docs/research/keras-version-ranges.md (pattern a)
    """

    code = "K306"
    name = "nested-model-inputs"
    message = "Nested dict inputs to `keras.Model`: Keras 3.0-3.3 accept only flat inputs (ValueError); flatten the structure"
    severity = Severity.INFO
    fix = None
    keras_versions = ("3.0.0", "3.4.0")
    default_enabled = False
    requires = ("Model",)

    VALID = [
        Valid("""
            import keras
            inputs = {"foo": keras.Input((1,), name="foo"), "bar": keras.Input((1,), name="bar")}
            model = keras.Model(inputs, inputs["foo"] + inputs["bar"])
            """),
        Valid("""
            import keras
            a, b, c = keras.Input((1,)), keras.Input((1,)), keras.Input((1,))
            model = keras.Model([[a, b], c], a + b + c)
            """),
        Valid("""
            class Model:
                def __init__(self, inputs, outputs): pass
            m = Model({"a": {"b": 1}}, None)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import keras

            inputs = {
                "foo": keras.Input(shape=(1,), name="foo"),
                "bar": {"baz": keras.Input(shape=(1,), name="bar")},
            }
            outputs = inputs["foo"] + inputs["bar"]["baz"]
            model = keras.Model(inputs, outputs)
            """,
            fixed=None,
            flagged=("inputs",),
            config={"keras_version": "3.0.0"},
            run=Run(k3="ok"),
        ),
        Invalid(
            """
            from tensorflow import keras
            image = keras.Input((4,))
            meta = {"age": keras.Input((1,))}
            model = keras.models.Model(inputs=[image, meta], outputs=image)
            """,
            fixed=None,
            flagged=("[image, meta]",),
        ),
    ]

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            if ctx.qualname(call.func) not in _MODEL:
                continue
            arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "inputs"), None)
            if arg is None:
                continue
            if _nested_with_dict(_value(ctx, arg), ctx):
                ctx.report(self, arg)
