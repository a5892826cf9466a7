"""K310 none-in-call-arguments (guide pattern; off by default)."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import LAYER, MODEL, Invalid, Rule, Run, Severity, Valid, visible_values

from ._helpers import contains_none


class NoneInCallArguments(Rule):
    """A layer is called with a nested structure holding `None` (`layer({"a": x, "b": None})`).

    ## What it does
    Flags a call of a Keras layer or model instance whose argument is a list/tuple/dict
    literal (written there or assigned to a name just before) with a `None` inside it.
    This is the migration guide's "nested inputs with `None`" pattern; it is off by default.

    ## Why is this bad?
    Called on symbolic inputs, Keras 3.0.0 to 3.3.3 raise ``ValueError: Only input tensors
    may be passed as positional arguments ... None``, and 3.4.0 to 3.12.4 raise
    ``AttributeError: 'NoneType' object has no attribute 'shape'``. From 3.13.0 (and on
    3.15.1) it works on all three backends, so the rule only matters to projects pinned to
    the releases in `keras_versions`, `[3.0.0, 3.13.0)`, measured on every 3.x release
    (docs/research/keras-version-ranges.md). A `None` in a *returned* structure still fails
    on every release: that is K304.

    ## Example
    ```python
    out = Merge()({"foo": keras.Input((1,)), "bar": {"baz": None}})
    ```

    ## Use instead
    ```python
    class Merge(keras.layers.Layer):
        def call(self, foo, baz=None):      # optional inputs as separate arguments
            return foo if baz is None else foo + baz

    out = Merge()(keras.Input((1,)), baz=None)
    ```

    ## Fix safety
    No automatic fix: the layer's signature has to change together with its callers.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#nested-structures-with-none
    - https://github.com/keras-team/keras/pull/21866
    - docs/research/keras-version-ranges.md (pattern b)
    """

    code = "K310"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "none-in-call-arguments"
    message = "`None` inside a nested call argument of a layer: Keras 3.0-3.12 reject it (ValueError/AttributeError); pass optional inputs as separate arguments"
    severity = Severity.INFO
    fix = None
    keras_versions = ("3.0.0", "3.13.0")
    default_enabled = False
    requires = ("None",)

    VALID = [
        Valid("""
            import keras
            dense = keras.layers.Dense(3, activation=None)
            y = dense(keras.Input((2,)))
            """),
        Valid("""
            def merge(d):
                return d
            out = merge({"foo": 1, "bar": {"baz": None}})
            """),
        Valid("""
            import keras
            layer = keras.layers.Attention()
            out = layer([keras.Input((2, 4)), keras.Input((2, 4))], mask=None)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import keras


            class Merge(keras.layers.Layer):
                def call(self, inputs):
                    foo = inputs["foo"]
                    baz = inputs["bar"]["baz"]
                    if baz is not None:
                        return foo + baz
                    return foo


            out = Merge()({"foo": keras.Input(shape=(1,)), "bar": {"baz": None}})
            """,
            fixed=None,
            flagged=('{"foo": keras.Input(shape=(1,)), "bar": {"baz": None}}',),
            config={"keras_version": "3.0.0"},
            run=Run(k3="ok"),
        ),
        Invalid(
            """
            from tensorflow import keras
            layer = keras.layers.Dense(2)
            inputs = [keras.Input((2,)), None]
            pair = layer(inputs)
            """,
            fixed=None,
            flagged=("inputs",),
        ),
    ]

    def check(self, ctx):
        # names ever bound to a literal with a nested None: the only names worth following
        holders = {t.id for a in ctx.nodes(ast.Assign) if contains_none(a.value) is not None
                   for t in a.targets if isinstance(t, ast.Name)}
        for call in ctx.nodes(ast.Call):
            args = [a for a in list(call.args) + [kw.value for kw in call.keywords if kw.arg is not None]
                    if contains_none(a) is not None or (isinstance(a, ast.Name) and a.id in holders)]
            if not args or ctx.qualname(call.func) is not None:
                continue                        # a class (constructor) or a function, not a layer instance
            if ctx.value_kind(call.func) not in (LAYER, MODEL):
                continue
            for arg in args:
                values = visible_values(ctx, arg) if isinstance(arg, ast.Name) else [arg]
                if any(contains_none(v) is not None for v in values):
                    ctx.report(self, arg)
                    break
