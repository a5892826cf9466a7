"""K309 layer-shape-attribute."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      layer_value)

_SHAPE_ATTRS = {"output_shape": "output", "input_shape": "input"}
_GUIDANCE_ATTRS = {
    "inbound_nodes": "the functional graph (`model.get_layer(...)`, `layer.input`/`layer.output`)",
    "outbound_nodes": "the functional graph (`model.get_layer(...)`, `layer.input`/`layer.output`)",
}
_GUIDANCE_METHODS = {
    "get_output_at": "`layer.output` (or a sub-model on the node you need)",
    "get_input_at": "`layer.input` (or a sub-model on the node you need)",
    "get_output_shape_at": "`layer.output.shape`", "get_input_shape_at": "`layer.input.shape`",
    "get_output_mask_at": "`layer.output_mask`", "get_input_mask_at": "`layer.input_mask`",
}


class LayerShapeAttribute(Rule):
    """Uses Keras 2 layer/model members that Keras 3 removed: `layer.output_shape`,
    `layer.input_shape`, `layer.inbound_nodes`, `get_output_at()`, `model.reset_states()`,
    `model.to_yaml()`.

    ## What it does
    Flags those members on receivers known to be Keras layers (`keras.layers.X(...)`,
    `model.layers[i]`, `model.get_layer(...)`, `for layer in model.layers`, `self` in a
    Layer subclass) or models. `model.input_shape` / `model.output_shape` still work on
    Keras 3 models and are not flagged.

    ## Why is this bad?
    On Keras 3.15.1 (all backends) these raise `AttributeError`, e.g. `'Dense' object has
    no attribute 'output_shape'` and `'Sequential' object has no attribute
    'reset_states'`. `to_yaml()` was already removed (RuntimeError) in late Keras 2.

    ## Example
    ```python
    dense = keras.layers.Dense(2)
    model = keras.Model(inputs, dense(inputs))
    print(dense.output_shape)
    model.reset_states()
    ```

    ## Use instead
    ```python
    print(dense.output.shape)
    for layer in model.layers:
        if hasattr(layer, "reset_states"):
            layer.reset_states()
    ```

    ## Fix safety
    Unsafe. `layer.output.shape` needs the layer to have been called on a symbolic input
    exactly once, and on Keras 2 it gives a `TensorShape`, not a tuple. The
    `reset_states()` loop resets only the model's direct layers that have `reset_states`
    (Keras 3's stateful RNNs), which matches Keras 2 for flat models but not for nested
    sub-models. `to_json()` writes JSON, not YAML: whatever reads the file must change too.
    `inbound_nodes`/`get_*_at` have no automatic fix.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/
    - https://keras.io/api/models/model_saving_apis/model_config_serialization/
    """

    code = "K309"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "layer-shape-attribute"
    message = "`{expr}` was removed in Keras 3 (AttributeError); use {new}"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("_shape", "_nodes", "reset_states", "to_yaml", "_at")

    VALID = [
        Valid("""
            import keras
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
            print(model.input_shape, model.output_shape)
            model.layers[1].reset_states
            """),
        Valid("""
            class Plain:
                output_shape = (None, 2)
            p = Plain()
            print(p.output_shape, p.input_shape)
            """),
        Valid("""
            import keras
            class Net(keras.Model):
                def summary_line(self):
                    return self.output_shape
            class Block(keras.layers.Layer):
                def build(self, input_shape):
                    self.input_shape = input_shape
            lstm = keras.layers.LSTM(2, stateful=True)
            lstm.reset_states()
            """),
        Valid("""
            import keras
            class Stateful(keras.Model):
                def reset_states(self):
                    for layer in self.layers:
                        layer.reset_states()
            class Shaped(keras.layers.Layer):
                @property
                def output_shape(self):
                    return (None, 2)
            m = Stateful()
            m.reset_states()
            print(Shaped().output_shape)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import keras

            inputs = keras.Input((3,))
            dense = keras.layers.Dense(2)
            model = keras.Model(inputs, dense(inputs))
            RESULT = [d or 0 for d in dense.output_shape] + [d or 0 for d in model.output_shape]
            """,
            fixed="""
            import keras

            inputs = keras.Input((3,))
            dense = keras.layers.Dense(2)
            model = keras.Model(inputs, dense(inputs))
            RESULT = [d or 0 for d in dense.output.shape] + [d or 0 for d in model.output_shape]
            """,
            flagged=("dense.output_shape",),
            unsafe=True,
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import keras

            model = keras.Sequential([keras.Input((2, 3), batch_size=1), keras.layers.LSTM(2, stateful=True)])
            model.predict(np.ones((1, 2, 3)), verbose=0)
            model.reset_states()
            RESULT = 1
            """,
            fixed="""
            import numpy as np
            import keras

            model = keras.Sequential([keras.Input((2, 3), batch_size=1), keras.layers.LSTM(2, stateful=True)])
            model.predict(np.ones((1, 2, 3)), verbose=0)
            for layer in model.layers:
                if hasattr(layer, "reset_states"):
                    layer.reset_states()
            RESULT = 1
            """,
            flagged=("model.reset_states()",),
            unsafe=True,
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            text = model.to_yaml()
            """,
            fixed="""
            import keras

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            text = model.to_json()
            """,
            flagged=("model.to_yaml()",),
            unsafe=True,
            run=Run(k3="AttributeError", k2=False, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow import keras

            def describe(model: keras.Model):
                model = keras.models.load_model("m.h5")
                for layer in model.layers:
                    print(layer.input_shape, layer.inbound_nodes)
                first = model.get_layer("dense").get_output_at(0)
                return model.layers[-1].output_shape, first
            """,
            fixed="""
            from tensorflow import keras

            def describe(model: keras.Model):
                model = keras.models.load_model("m.h5")
                for layer in model.layers:
                    print(layer.input.shape, layer.inbound_nodes)
                first = model.get_layer("dense").get_output_at(0)
                return model.layers[-1].output.shape, first
            """,
            flagged=("layer.input_shape", "layer.inbound_nodes", 'model.get_layer("dense").get_output_at(0)',
                     "model.layers[-1].output_shape"),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        # members a class of this file defines itself (a custom `reset_states`, an
        # `output_shape` property) are the user's own: never flagged
        own = {f.name for c in ctx.nodes(ast.ClassDef) for f in c.body
               if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        own.update(t.id for c in ctx.nodes(ast.ClassDef) for st in c.body if isinstance(st, ast.Assign)
                   for t in st.targets if isinstance(t, ast.Name))
        for node in ctx.nodes(ast.Attribute):
            attr = node.attr
            if not isinstance(node.ctx, ast.Load) or attr in own:
                continue
            if attr in _SHAPE_ATTRS:
                if layer_value(ctx, node.value) != LAYER:
                    continue
                new = f"{ctx.segment(node.value)}.{_SHAPE_ATTRS[attr]}.shape"
                self._report(ctx, node, f"`{new}`", new)
            elif attr in _GUIDANCE_ATTRS:
                if layer_value(ctx, node.value) not in (LAYER, MODEL):
                    continue
                ctx.report(self, node, self.message.format(expr=ctx.segment(node), new=_GUIDANCE_ATTRS[attr]))
            elif attr in _GUIDANCE_METHODS or attr in ("reset_states", "to_yaml"):
                call = ctx.parent(node)
                if not (isinstance(call, ast.Call) and call.func is node):
                    continue
                kind = layer_value(ctx, node.value)
                if attr in _GUIDANCE_METHODS:
                    if kind in (LAYER, MODEL):
                        ctx.report(self, call, self.message.format(expr=ctx.segment(call), new=_GUIDANCE_METHODS[attr]))
                elif kind != MODEL:
                    continue
                elif attr == "to_yaml":
                    new = f"{ctx.segment(node.value)}.to_json({', '.join(ctx.segment(a) for a in call.args)})"
                    if call.keywords:
                        ctx.report(self, call, self.message.format(expr=ctx.segment(call), new="`to_json()`"))
                    else:
                        self._report(ctx, call, "`to_json()` (JSON, not YAML)", new, "Replace with `to_json()` (writes JSON, not YAML)")
                else:
                    self._reset_states(ctx, node, call)

    def _report(self, ctx, node, shown, new, title=None):
        title = title or f"Replace with `{new}`"
        ctx.report(self, node, self.message.format(expr=ctx.segment(node), new=shown),
                   fix=Fix.unsafe(title, ctx.replace, node, new))

    def _reset_states(self, ctx, attr: ast.Attribute, call: ast.Call):
        msg = self.message.format(expr=ctx.segment(call), new="`reset_states()` on each stateful layer")
        stmt = ctx.parent(call)
        if call.args or call.keywords or not isinstance(stmt, ast.Expr) or stmt.lineno != stmt.end_lineno:
            ctx.report(self, call, msg)
            return
        names = {n.id for n in ctx.nodes(ast.Name)}
        var = "layer" if "layer" not in names else "_layer"
        ind = ctx.line_indent(stmt)
        new = (f"for {var} in {ctx.segment(attr.value)}.layers:\n{ind}    if hasattr({var}, \"reset_states\"):\n"
               f"{ind}        {var}.reset_states()")
        title = "Reset each layer that has `reset_states()`"
        ctx.report(self, call, msg, fix=Fix.unsafe(title, ctx.replace, stmt, new))

