"""K414 loss-scale-optimizer: the mixed-precision API that changed shape in Keras 3."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import (OPTIMIZER, Applicability, Edit, Fix, Invalid, Rule, Run, Severity,
                                      Valid, ancestors, const_bool, keyword, visible_values)

_LSO = ("keras.mixed_precision.LossScaleOptimizer", "keras.mixed_precision.experimental.LossScaleOptimizer")
_POLICY = ("keras.mixed_precision.Policy", "keras.mixed_precision.experimental.Policy",
           "keras.mixed_precision.global_policy", "keras.mixed_precision.experimental.global_policy")
_DYNAMIC = ("dynamic", "auto")
# Keras 3.15.1, checked by calling it: LossScaleOptimizer(inner_optimizer, initial_scale=32768.0,
# dynamic_growth_steps=2000, name=None); `dynamic=False` and `loss_scale=` raise ValueError;
# the optimizer has `scale_loss(loss)` and its `apply_gradients` unscales (and skips
# non-finite steps); the current scale is `dynamic_scale` once built, `initial_scale` before.
_METHODS = ("get_scaled_loss", "get_unscaled_gradients", "loss_scale")


def _from_call(ctx, expr: ast.AST, names: tuple[str, ...], _depth: int = 0) -> Optional[ast.Call]:
    """The call among ``names`` that ``expr`` is (directly or through names assigned once)."""
    if _depth > 4:
        return None
    if isinstance(expr, ast.Call):
        return expr if ctx.qualname(expr.func) in names else None
    if isinstance(expr, ast.Name):
        values = visible_values(ctx, expr)
        if len(values) == 1:
            return _from_call(ctx, values[0], names, _depth + 1)
    return None


def _is_lso(ctx, recv: ast.AST) -> bool:
    return _from_call(ctx, recv, _LSO) is not None or _guarded_lso(ctx, recv)


def _guarded_lso(ctx, recv: ast.AST) -> bool:
    """``recv`` is used in the body of ``if isinstance(recv, LossScaleOptimizer):``."""
    if not isinstance(recv, ast.Name):
        return False
    child = recv
    for a in ancestors(ctx, recv):
        if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return False
        if isinstance(a, ast.If) and child in a.body:
            t = a.test
            if (isinstance(t, ast.Call) and isinstance(t.func, ast.Name) and t.func.id == "isinstance"
                    and len(t.args) == 2 and isinstance(t.args[0], ast.Name) and t.args[0].id == recv.id
                    and ctx.qualname(t.args[1]) in _LSO):
                return True
        child = a
    return False


class LossScaleOptimizer(Rule):
    """Uses the Keras 2 mixed-precision loss-scaling API that Keras 3 replaced.

    ## What it does
    Reports, on `keras.mixed_precision.LossScaleOptimizer` and the values the engine knows
    are one (assigned from its constructor in this file, or used inside
    `if isinstance(opt, LossScaleOptimizer):`), and on Keras optimizers in
    general for the two methods only a LossScaleOptimizer had:
    - `LossScaleOptimizer(opt, dynamic=False, initial_scale=S)` (a fixed loss scale) and the
      TF 2.3 `loss_scale=` keyword;
    - `opt.get_scaled_loss(loss)` (now `opt.scale_loss(loss)`);
    - `opt.get_unscaled_gradients(grads)` (gone: `apply_gradients` unscales);
    - `opt.loss_scale` (gone: the scale is `opt.dynamic_scale` once built, or the inner
      optimizer's `loss_scale_factor` for a fixed scale);
    - `policy.loss_scale` and `Policy(name, loss_scale=...)` (TF 2.3: a policy held a loss
      scale; in Keras 3 a `mixed_float16` model's `compile()` wraps the optimizer itself).

    ## Why is this bad?
    Keras 3's `LossScaleOptimizer(inner_optimizer, initial_scale=32768.0,
    dynamic_growth_steps=2000)` raises `ValueError` for `dynamic=False` and `loss_scale=`;
    `get_scaled_loss`, `get_unscaled_gradients` and `loss_scale` raise `AttributeError`.

    ## Example
    ```python
    opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1))
    with tf.GradientTape() as tape:
        scaled = opt.get_scaled_loss(loss_fn())
    grads = opt.get_unscaled_gradients(tape.gradient(scaled, weights))
    opt.apply_gradients(zip(grads, weights))
    ```

    ## Use instead
    ```python
    opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1))
    with tf.GradientTape() as tape:
        scaled = opt.scale_loss(loss_fn())
    grads = tape.gradient(scaled, weights)
    opt.apply_gradients(zip(grads, weights))
    ```

    ## Fix safety
    `get_scaled_loss` -> `scale_loss` is safe (same values, checked on Keras 2.21 and Keras
    3.15.1). `opt.loss_scale` -> `(opt.dynamic_scale if opt.built else opt.initial_scale)` is
    what Keras 3's own `scale_loss` multiplies by (same values, checked, before and after a
    non-finite step halves it), unsafe because `dynamic_scale` is not documented API. Replacing `get_unscaled_gradients(g)`
    by `g` is unsafe: it is right when those gradients go to this optimizer's
    `apply_gradients` (which unscales them in Keras 3), wrong when they are clipped, logged
    or applied elsewhere first. A fixed scale, `LossScaleOptimizer(SGD(...), dynamic=False,
    initial_scale=S)`, becomes `SGD(..., loss_scale_factor=S)` (unsafe: a plain optimizer,
    no longer a LossScaleOptimizer instance; its `scale_loss` and `apply_gradients` scale
    and unscale by S as before). `loss_scale="dynamic"` is dropped (dynamic is the default,
    unsafe: the TF 2.3 API cannot run on tf-keras 2.21 to compare). The rest is guidance.

    ## References
    - https://keras.io/api/mixed_precision/loss_scale_optimizer/
    - https://keras.io/api/optimizers/#scale_loss-method
    """

    code = "K414"
    name = "loss-scale-optimizer"
    message = "{what}"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("LossScaleOptimizer", "get_scaled_loss", "get_unscaled_gradients", "loss_scale")

    VALID = [
        # the Keras 3 API
        Valid("""
            import keras
            opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=1024.0,
                                                           dynamic_growth_steps=100)
            scaled = opt.scale_loss(3.0)
            factor = opt.initial_scale
        """),
        # dynamic=True is still accepted (and is the default)
        Valid("""
            import keras
            opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.Adam(), dynamic=True)
        """),
        # an unknown object, also outside the isinstance() guard
        Valid("""
            import keras
            def step(optimizer, loss):
                if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
                    pass
                else:
                    loss = optimizer.get_scaled_loss(loss)
                return loss
        """),
        # the same names on objects that are not Keras optimizers / policies
        Valid("""
            import keras
            class Scaler:
                loss_scale = 128.0
                def get_scaled_loss(self, loss):
                    return loss * self.loss_scale
                def get_unscaled_gradients(self, grads):
                    return [g / self.loss_scale for g in grads]
            s = Scaler()
            x = s.get_scaled_loss(2.0)
            g = s.get_unscaled_gradients([x])
            print(s.loss_scale, config.loss_scale)
        """),
    ]
    INVALID = [
        # a custom training loop with loss scaling (TensorFlow: tf.GradientTape)
        Invalid(
            """
            import keras
            import tensorflow as tf
            opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1))
            w = tf.Variable([1.0, 2.0])
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(w * w)
                scaled = opt.get_scaled_loss(loss)
            grads = tape.gradient(scaled, [w])
            grads = opt.get_unscaled_gradients(grads)
            opt.apply_gradients(zip(grads, [w]))
            RESULT = [float(scaled), w.numpy().tolist()]
            """,
            fixed="""
            import keras
            import tensorflow as tf
            opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1))
            w = tf.Variable([1.0, 2.0])
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(w * w)
                scaled = opt.scale_loss(loss)
            grads = tape.gradient(scaled, [w])
            grads = grads
            opt.apply_gradients(zip(grads, [w]))
            RESULT = [float(scaled), w.numpy().tolist()]
            """,
            flagged=("opt.get_scaled_loss", "opt.get_unscaled_gradients(grads)"),
            unsafe=True,
            run=Run(k3="AttributeError", fixed_backends=("tensorflow",)),
        ),
        # the current scale, before and after the optimizer is built (every backend)
        Invalid(
            """
            import keras
            import numpy as np
            opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=256.0)
            before = float(opt.loss_scale)
            dense = keras.layers.Dense(2)
            dense.build((None, 2))
            opt.apply_gradients([(np.array([np.inf, 1.0], "float32"), dense.bias)])
            RESULT = [before, float(opt.loss_scale)]
            """,
            fixed="""
            import keras
            import numpy as np
            opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=256.0)
            before = float((opt.dynamic_scale if opt.built else opt.initial_scale))
            dense = keras.layers.Dense(2)
            dense.build((None, 2))
            opt.apply_gradients([(np.array([np.inf, 1.0], "float32"), dense.bias)])
            RESULT = [before, float((opt.dynamic_scale if opt.built else opt.initial_scale))]
            """,
            flagged=("opt.loss_scale", "opt.loss_scale"),
            unsafe=True,
            # not jax: an eager LossScaleOptimizer.apply_gradients itself raises
            # UnexpectedTracerError there (Keras 3.15.1; fit() is fine)
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "torch")),
        ),
        # a fixed loss scale: the inner optimizer scales by loss_scale_factor
        Invalid(
            """
            import keras
            import tensorflow as tf
            opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1), dynamic=False, initial_scale=128.0)
            w = tf.Variable([1.0, 2.0])
            with tf.GradientTape() as tape:
                scaled = opt.get_scaled_loss(tf.reduce_sum(w * w))
            opt.apply_gradients(zip(opt.get_unscaled_gradients(tape.gradient(scaled, [w])), [w]))
            RESULT = [float(scaled), float(opt.loss_scale), w.numpy().tolist()]
            """,
            fixed="""
            import keras
            import tensorflow as tf
            opt = keras.optimizers.SGD(0.1, loss_scale_factor=128.0)
            w = tf.Variable([1.0, 2.0])
            with tf.GradientTape() as tape:
                scaled = opt.scale_loss(tf.reduce_sum(w * w))
            opt.apply_gradients(zip(tape.gradient(scaled, [w]), [w]))
            RESULT = [float(scaled), float(opt.loss_scale_factor), w.numpy().tolist()]
            """,
            flagged=("keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1), dynamic=False, initial_scale=128.0)",
                     "opt.get_scaled_loss", "opt.get_unscaled_gradients(tape.gradient(scaled, [w]))", "opt.loss_scale"),
            unsafe=True,
            run=Run(k3="ValueError", fixed_backends=("tensorflow",)),
        ),
        # an optimizer the code only knows is a LossScaleOptimizer from an isinstance() guard
        Invalid(
            """
            import tensorflow as tf
            def step(optimizer, loss, tape, weights):
                if isinstance(optimizer, tf.keras.mixed_precision.LossScaleOptimizer):
                    loss = optimizer.get_scaled_loss(loss)
                return loss
            """,
            fixed="""
            import tensorflow as tf
            def step(optimizer, loss, tape, weights):
                if isinstance(optimizer, tf.keras.mixed_precision.LossScaleOptimizer):
                    loss = optimizer.scale_loss(loss)
                return loss
            """,
            flagged=("optimizer.get_scaled_loss",),
        ),
        # TF 2.3's experimental API (already gone from tf-keras 2.21): loss_scale= on the
        # optimizer and on the policy
        Invalid(
            """
            import tensorflow as tf
            opt = tf.keras.mixed_precision.experimental.LossScaleOptimizer(tf.keras.optimizers.Adam(), loss_scale="dynamic")
            static = tf.keras.mixed_precision.experimental.LossScaleOptimizer(tf.keras.optimizers.Adam(), loss_scale=128)
            policy = tf.keras.mixed_precision.experimental.Policy("mixed_float16", loss_scale="dynamic")
            print(policy.loss_scale)
            """,
            fixed="""
            import tensorflow as tf
            opt = tf.keras.mixed_precision.experimental.LossScaleOptimizer(tf.keras.optimizers.Adam())
            static = tf.keras.mixed_precision.experimental.LossScaleOptimizer(tf.keras.optimizers.Adam(), loss_scale=128)
            policy = tf.keras.mixed_precision.experimental.Policy("mixed_float16")
            print(policy.loss_scale)
            """,
            flagged=('loss_scale="dynamic"', "loss_scale=128", 'loss_scale="dynamic"', "policy.loss_scale"),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            q = ctx.qualname(call.func)
            if q in _LSO:
                self._check_constructor(ctx, call)
            elif q in _POLICY[:2]:
                self._check_policy(ctx, call)
        for node in ctx.nodes(ast.Attribute):
            if node.attr in _METHODS:
                self._check_member(ctx, node)

    # -- LossScaleOptimizer(...) ---------------------------------------------------------------
    def _check_constructor(self, ctx, call: ast.Call):
        ls = keyword(call, "loss_scale")
        if ls is not None:
            msg = ("`loss_scale=` is gone (Keras 3 raises ValueError): the loss scale is dynamic by default; "
                   "tune it with `initial_scale=` / `dynamic_growth_steps=`, or for a fixed scale pass "
                   "`loss_scale_factor=` to the inner optimizer and use that optimizer directly")
            v = ls.value
            if isinstance(v, ast.Constant) and v.value in _DYNAMIC:
                edit = ctx.remove_keywords(call, ["loss_scale"])
                if edit is not None:
                    title = "Remove `loss_scale=` (dynamic is the default)"
                    ctx.report(self, ls, msg, fix=Fix.unsafe(title, edit))
                    return
            ctx.report(self, ls, msg)
            return
        dyn = keyword(call, "dynamic")
        if dyn is None or const_bool(dyn.value) is True:
            return
        msg = ("`LossScaleOptimizer(..., dynamic=False)` raises ValueError in Keras 3: for a fixed loss scale, "
               "pass `loss_scale_factor=<scale>` to the inner optimizer and use it directly "
               "(its `scale_loss` and `apply_gradients` scale and unscale)")
        new = self._static_replacement(ctx, call)
        if new is None:
            ctx.report(self, call, msg)
            return
        title = "Use the inner optimizer with `loss_scale_factor=`"
        edit = ctx.replace(call, new)
        ctx.report(self, call, msg, fix=Fix.unsafe(title, edit))

    @staticmethod
    def _static_replacement(ctx, call: ast.Call) -> Optional[str]:
        """``SGD(0.1, loss_scale_factor=S)`` for ``LSO(SGD(0.1), dynamic=False, initial_scale=S)``."""
        if const_bool(keyword(call, "dynamic").value) is not False:
            return None
        if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > 1:
            return None
        inner_kw = keyword(call, "inner_optimizer")
        inner = call.args[0] if call.args else (inner_kw.value if inner_kw is not None else None)
        if not {k.arg for k in call.keywords} <= {"dynamic", "initial_scale", "inner_optimizer"}:
            return None
        scale = keyword(call, "initial_scale")
        if scale is None or not isinstance(inner, ast.Call) or ctx.value_kind(inner) != OPTIMIZER:
            return None
        if ctx.qualname(inner.func) in _LSO or keyword(inner, "loss_scale_factor") is not None:
            return None
        if any(k.arg is None for k in inner.keywords) or any(isinstance(a, ast.Starred) for a in inner.args):
            return None
        body = ctx.segment(inner)[:-1].rstrip()
        sep = "" if body.endswith("(") else ", "
        if body.endswith(","):
            sep = " "
        return f"{body}{sep}loss_scale_factor={ctx.segment(scale.value)})"

    # -- Policy(..., loss_scale=...) --------------------------------------------------------
    def _check_policy(self, ctx, call: ast.Call):
        ls = keyword(call, "loss_scale")
        if ls is None:
            return
        msg = ("a dtype policy has no loss scale in Keras 3 (`Policy(name)` only): `compile()` wraps the optimizer "
               "of a `mixed_float16` model in a dynamic `LossScaleOptimizer` itself; for a custom loop wrap it yourself")
        v = ls.value
        edit = ctx.remove_keywords(call, ["loss_scale"]) if isinstance(v, ast.Constant) and v.value in _DYNAMIC else None
        if edit is None:
            ctx.report(self, ls, msg)
            return
        title = "Remove `loss_scale=` (Keras 3 scales dynamically)"
        ctx.report(self, ls, msg, fix=Fix.unsafe(title, edit))

    # -- members ----------------------------------------------------------------------------
    def _check_member(self, ctx, node: ast.Attribute):
        recv = node.value
        attr = node.attr
        if attr == "loss_scale":
            lso = _from_call(ctx, recv, _LSO)
            if lso is not None and keyword(lso, "dynamic") is not None and const_bool(keyword(lso, "dynamic").value) is not True:
                # a fixed scale: the K414 fix makes `opt` the inner optimizer with loss_scale_factor=S
                msg = ("`LossScaleOptimizer.loss_scale` is gone in Keras 3 (AttributeError): with a fixed scale "
                       "(`loss_scale_factor=` on the inner optimizer) it is `loss_scale_factor`")
                if self._static_replacement(ctx, lso) is None or not isinstance(node.ctx, ast.Load):
                    ctx.report(self, node, msg)
                    return
                self._rename(ctx, node, "loss_scale_factor", msg, Applicability.UNSAFE)
                return
            if lso is not None:
                msg = ("`LossScaleOptimizer.loss_scale` is gone in Keras 3 (AttributeError): the current scale is the "
                       "`dynamic_scale` variable once the optimizer is built, `initial_scale` before")
                if not isinstance(node.ctx, ast.Load) or not isinstance(recv, ast.Name):
                    ctx.report(self, node, msg)
                    return
                r = ctx.segment(recv)
                title = f"Use `({r}.dynamic_scale if {r}.built else {r}.initial_scale)`"
                edit = ctx.replace(node, f"({r}.dynamic_scale if {r}.built else {r}.initial_scale)")
                ctx.report(self, node, msg, fix=Fix.unsafe(title, edit))
            elif _from_call(ctx, recv, _POLICY) is not None:
                ctx.report(self, node, "a dtype policy has no `loss_scale` in Keras 3: the scale lives on the "
                                       "`LossScaleOptimizer` (`compile()` wraps a `mixed_float16` model's optimizer in one)")
            return
        if not (_is_lso(ctx, recv) or ctx.value_kind(recv) == OPTIMIZER):
            return
        if attr == "get_scaled_loss":
            self._rename(ctx, node, "scale_loss",
                         "`get_scaled_loss` is `scale_loss` in Keras 3 (AttributeError otherwise)", Applicability.SAFE)
            return
        # get_unscaled_gradients(grads) -> grads
        call = ctx.parent(node)
        msg = ("`get_unscaled_gradients` is gone in Keras 3: `apply_gradients` of the LossScaleOptimizer unscales "
               "the gradients (and skips a step whose gradients are not finite); pass the scaled gradients to it")
        if not (isinstance(call, ast.Call) and call.func is node and len(call.args) == 1 and not call.keywords
                and not isinstance(call.args[0], ast.Starred)):
            ctx.report(self, node, msg)
            return
        title = "Pass the scaled gradients on (`apply_gradients` unscales)"
        edit = ctx.replace(call, ctx.segment(call.args[0]))
        ctx.report(self, call, msg, fix=Fix.unsafe(title, edit))

    def _rename(self, ctx, node: ast.Attribute, new: str, msg: str, app: Applicability):
        start, end = ctx.span(node)
        if ctx.text[end - len(node.attr):end] != node.attr:
            ctx.report(self, node, msg)
            return
        title = f"Use `.{new}`"
        edit = Edit(end - len(node.attr), end, new)
        ctx.report(self, node, msg, fix=Fix.applicable(app, title, edit))
