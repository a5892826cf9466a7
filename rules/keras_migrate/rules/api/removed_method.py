"""K503 removed-method: attributes and methods of Keras objects that Keras 3 removed."""
from __future__ import annotations

import ast
from functools import lru_cache

from keras_migrate.engine.api import (Applicability, Edit, Fix, Invalid, Rule, Run, Severity, Valid, bindings,
                                      keras_api, owned_by)

from ._common import KIND_TYPES, defined_by_user_class, fix_of

_NP = "import numpy as np"

# (Type, member) -> the rule that reports it instead (when that rule is enabled)
OWNED = {
    ("Model", "fit_generator"): "K404", ("Model", "evaluate_generator"): "K404",
    ("Model", "predict_generator"): "K404",
    ("Layer", "input_shape"): "K309", ("Layer", "output_shape"): "K309",
    ("Model", "reset_states"): "K309", ("Model", "to_yaml"): "K309",
    **{(t, m): "K309" for t in ("Layer", "Model")
       for m in ("inbound_nodes", "outbound_nodes", "get_output_at", "get_input_at", "get_output_shape_at",
                 "get_input_shape_at", "get_output_mask_at", "get_input_mask_at")},
}


@lru_cache(maxsize=1)
def _member_names() -> frozenset:
    names = set()
    for typ in KIND_TYPES.values():
        names.update(keras_api.members(typ))
    return frozenset(names)


_ATTR_FUNCS = ("hasattr", "getattr", "setattr", "delattr")


class RemovedMethod(Rule):
    """Uses a method or attribute that Keras 3 removed from models, layers, optimizers or metrics.

    ## What it does
    Reports `obj.<name>` (and the name as a string in `hasattr(obj, "<name>")`, `getattr`,
    `setattr`, `delattr`) when the engine knows `obj` is a Keras model, layer, optimizer,
    metric, loss or callback (from its constructor, `model.optimizer`, `self` in a Layer or
    Model subclass, `self.model` in a callback, ...) and the generated API table
    (`rules/keras_migrate/rules/api/keras_api.json`, from live Keras 2 and Keras 3 objects) lists `<name>` as
    removed for that type: `optimizer.lr`, `optimizer.minimize`, `layer.add_update`,
    `layer.add_metric`, `metric.reset_states`, `model.input_names`, ... The same name on any
    other object is never reported.

    ## Why is this bad?
    Reading raises `AttributeError: 'Adam' object has no attribute 'lr'`. Assigning is
    silent: `optimizer.lr = 0.5` creates an unused attribute and training keeps the old
    learning rate. `add_metric` exists but raises NotImplementedError.

    ## Example
    ```python
    opt = keras.optimizers.SGD(0.1)
    opt.lr = 0.01
    metric.reset_states()
    ```

    ## Use instead
    ```python
    opt.learning_rate = 0.01
    metric.reset_state()
    ```

    ## Fix safety
    Renames are safe where the table's check gave the same result on Keras 2 and Keras 3
    (`lr` -> `learning_rate` for reads and assignments, `reset_states` -> `reset_state` on
    metrics); attribute chains such as `layer.output_shape` -> `layer.output.shape` are
    unsafe (a tuple instead of a TensorShape); the rest is guidance. A class of this file
    that defines the name itself is not reported. `fit_generator` & co. (K404) and the layer
    shape/node attributes, `get_*_at()`, `model.reset_states` and `to_yaml` (K309) belong to
    those rules.

    ## References
    - https://keras.io/api/optimizers/
    - `rules/keras_migrate/rules/api/README.md`
    """

    code = "K503"
    name = "removed-method"
    message = "`{recv}.{attr}` does not exist in Keras 3 ({typ}): {guidance}"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("keras", "tensorflow", "tf_keras")

    VALID = [
        Valid("""
            import keras
            opt = keras.optimizers.SGD(0.1)
            opt.learning_rate = 0.01
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            shape = model.input_shape
        """),
        # `.lr` on objects that are not Keras optimizers
        Valid("""
            import keras
            import argparse
            args = argparse.Namespace(lr=0.1)
            print(args.lr, config.lr)
            class Scheduler:
                def __init__(self):
                    self.lr = 0.1
                def step(self):
                    return self.lr
        """),
        # `stateful` still exists on Keras 3 RNN layers (and a layer's kind does not say which)
        Valid("""
            import keras
            lstm = keras.layers.LSTM(4, stateful=True)
            print(lstm.stateful)
        """),
        # the file's own metric defines reset_states
        Valid("""
            import keras
            class Running(keras.metrics.Metric):
                def reset_states(self):
                    pass
                def update_state(self, y, p):
                    self.reset_states()
        """),
    ]
    INVALID = [
        # renamed attribute (safe, checked), silently ignored when assigned in Keras 3
        Invalid(
            """
            import keras
            opt = keras.optimizers.SGD(0.1)
            opt.lr = 0.5
            RESULT = float(opt.learning_rate)
            """,
            fixed="""
            import keras
            opt = keras.optimizers.SGD(0.1)
            opt.learning_rate = 0.5
            RESULT = float(opt.learning_rate)
            """,
            flagged=("opt.lr",),
            run=Run(k3="differs", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # through model.optimizer, inside a callback (self.model is the model)
        Invalid(
            """
            import keras
            class Decay(keras.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    print(float(self.model.optimizer.lr))
            """,
            fixed="""
            import keras
            class Decay(keras.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    print(float(self.model.optimizer.learning_rate))
            """,
            flagged=("self.model.optimizer.lr",),
        ),
        # renamed method on a metric (safe, checked)
        Invalid(
            """
            import keras
            m = keras.metrics.Mean()
            m.update_state([1.0, 3.0])
            m.reset_states()
            m.update_state([5.0])
            RESULT = float(m.result())
            """,
            fixed="""
            import keras
            m = keras.metrics.Mean()
            m.update_state([1.0, 3.0])
            m.reset_state()
            m.update_state([5.0])
            RESULT = float(m.result())
            """,
            flagged=("m.reset_states",),
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # removed methods: guidance only
        Invalid(
            """
            import keras
            class Counter(keras.layers.Layer):
                def call(self, x):
                    self.add_update(self.count.assign_add(1))
                    self.add_metric(x, name="mean_x")
                    return x
            opt = keras.optimizers.Adam()
            opt.minimize(loss, var_list)
            """,
            fixed=None,
            flagged=("self.add_update", "self.add_metric", "opt.minimize"),
        ),
        # attribute names as strings: hasattr is always False, getattr raises
        Invalid(
            """
            import keras
            opt = keras.optimizers.SGD(learning_rate=0.5)
            RESULT = float(getattr(opt, "lr")) if hasattr(opt, "lr") else -1.0
            """,
            fixed="""
            import keras
            opt = keras.optimizers.SGD(learning_rate=0.5)
            RESULT = float(getattr(opt, "learning_rate")) if hasattr(opt, "learning_rate") else -1.0
            """,
            flagged=('"lr"', '"lr"'),
            run=Run(k3="differs", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(1)])
            names = model.input_names
            """,
            fixed=None,
            flagged=("model.input_names",),
        ),
    ]

    def check(self, ctx):
        names = _member_names()
        for node in ctx.nodes(ast.Attribute):
            attr = node.attr
            if attr not in names:
                continue
            typ = KIND_TYPES.get(ctx.value_kind(node.value))
            if typ is None:
                continue
            entry = keras_api.members(typ).get(attr)
            if entry is None:
                continue
            if typ == "Layer" and attr not in keras_api.members("RNN"):
                continue  # the engine cannot tell an LSTM from a Dense: only names gone from both
            code = OWNED.get((typ, attr))
            if code is not None and owned_by(ctx, code):
                continue
            if defined_by_user_class(ctx, node.value, attr):
                continue
            self._report(ctx, node, typ, entry)
        self._check_strings(ctx, names)

    def _check_strings(self, ctx, names):
        """``hasattr(opt, "lr")``, ``getattr(model, "metrics_names")``: the member by name."""
        for call in ctx.nodes(ast.Call):
            f = call.func
            if not (isinstance(f, ast.Name) and f.id in _ATTR_FUNCS and len(call.args) >= 2):
                continue
            key = call.args[1]
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value in names):
                continue
            if f.id in bindings(ctx):
                continue  # a local hasattr/getattr of the user's own
            typ = KIND_TYPES.get(ctx.value_kind(call.args[0]))
            if typ is None:
                continue
            entry = keras_api.members(typ).get(key.value)
            if entry is None or (typ == "Layer" and key.value not in keras_api.members("RNN")):
                continue
            if defined_by_user_class(ctx, call.args[0], key.value):
                continue
            what = {"hasattr": "is always False", "getattr": "raises AttributeError (or gives the default)",
                    "setattr": "silently sets an attribute Keras 3 never reads", "delattr": "raises AttributeError"}[f.id]
            msg = (f"`{ctx.segment(call)}` {what} in Keras 3: `{typ}.{key.value}` is gone. "
                   + entry.get("guidance", ""))
            app = fix_of(entry)
            new = entry.get("rename")
            seg = ctx.segment(key)
            if app is None or not new or seg[0] not in "\"'" or seg[1:-1] != key.value:
                ctx.report(self, key, msg)
                continue
            title = f"Use \"{new}\""
            edit = ctx.replace(key, seg[0] + new + seg[-1])
            ctx.report(self, key, msg, fix=Fix.applicable(app, title, edit))

    def _report(self, ctx, node: ast.Attribute, typ: str, entry: dict):
        attr = node.attr
        msg = self.message.format(recv=ctx.segment(node.value), attr=attr, typ=typ,
                                  guidance=entry.get("guidance", ""))
        if isinstance(node.ctx, ast.Store):
            msg = f"assigning `{ctx.segment(node.value)}.{attr}` silently does nothing in Keras 3: " + entry.get("guidance", "")
        app = fix_of(entry)
        new = entry.get("rename") or (entry.get("transform") or {}).get("attribute")
        if app is None or not new:
            ctx.report(self, node, msg)
            return
        start, end = ctx.span(node)
        if ctx.text[end - len(attr):end] != attr:
            ctx.report(self, node, msg)
            return
        title = f"Use `.{new}`"
        edit = Edit(end - len(attr), end, new)
        ctx.report(self, node, msg, fix=Fix.applicable(app, title, edit))

