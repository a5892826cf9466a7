"""K502 removed-argument: keyword arguments Keras 3 rejects, ignores or deprecates."""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Optional

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, arg_source,
                                      keras_api, owned_by)

from ._common import KIND_TYPES, RUN_SETUP, defined_by_user_class, fix_of, symbol_entry

_NP = RUN_SETUP

# (table key, keyword) -> the rule that reports it instead (when that rule is enabled)
OWNED = {
    **{(f"Model.{m}", a): "K405" for m in ("fit", "evaluate", "predict")
       for a in ("workers", "use_multiprocessing", "max_queue_size")},
    ("Model.save", "save_format"): "K201",
    ("Model.save_weights", "save_format"): "K203",
    ("Model.load_weights", "by_name"): "K203",
    ("Model.train_on_batch", "reset_metrics"): "K406",
    ("Model.test_on_batch", "reset_metrics"): "K406",
    ("keras.callbacks.ModelCheckpoint", "period"): "K204",
    ("keras.callbacks.ReduceLROnPlateau", "epsilon"): "K409",
}

_SEVERITY = {"rejected": Severity.ERROR, "ignored": Severity.ERROR, "deprecated": Severity.WARNING,
             "accepted": Severity.INFO}
_WHAT = {"rejected": "Keras 3 rejects `{kw}=`", "ignored": "Keras 3 silently ignores `{kw}=`",
         "deprecated": "`{kw}=` is deprecated in Keras 3", "accepted": "`{kw}=` changed in Keras 3"}


@lru_cache(maxsize=1)
def _names() -> tuple[frozenset, frozenset]:
    """Every keyword the table knows, and every method name with a method_kwargs table."""
    d = keras_api.data()
    kws = {kw for table in ("kwargs", "method_kwargs") for entry in d.get(table, {}).values() for kw in entry}
    methods = {key.split(".", 1)[1] for key in d.get("method_kwargs", {})}
    return frozenset(kws), frozenset(methods)



@lru_cache(maxsize=1)
def _required_leaves() -> frozenset:
    return frozenset(p.rsplit(".", 1)[-1] for p in keras_api.data().get("required", {}))


def _message(template: str, what: str, guidance: str) -> str:
    """``{what}: {guidance}`` without saying the same thing twice: the data's guidance often
    repeats what the message starts with ("Keras 3 rejects `lr=`: Use `learning_rate=` (Keras
    3 rejects `lr=`: ValueError ...)", "... `alpha=` is deprecated and warns in Keras 3")."""
    g = guidance.strip()
    if not g:
        return what
    if g.lower().startswith(what.lower()):
        return g   # the guidance already opens with it
    kw = re.escape(what.split("`")[1]) if what.count("`") >= 2 else None
    g = re.sub(r"\(\s*" + re.escape(what) + r"\s*[:;,]\s*", "(", g)
    g = g.replace(f"({what})", "").replace(f"; {what}.", ".").replace(f" {what}.", ".")
    if kw is not None:   # "; `alpha=` is deprecated and warns in Keras 3" after "`alpha=` is deprecated"
        g = re.sub(r";\s*`" + kw + r"`\s+is deprecated[^.;]*", "", g)
    g = re.sub(r"\s+\.", ".", g).strip()
    return template.format(what=what, guidance=g)

class RemovedArgument(Rule):
    """Passes a keyword argument that Keras 3 rejects, ignores or deprecates.

    ## What it does
    For every call of a Keras constructor or function (`keras.optimizers.Adam(lr=...)`,
    `keras.layers.LSTM(time_major=True)`, `keras.activations.relu(x, alpha=...)`) and every
    method call on a value the engine knows is a Keras model, layer or optimizer
    (`model.compile(sample_weight_mode=...)`), looks the keyword up in the generated API
    table (`rules/keras_migrate/rules/api/keras_api.json`). Each entry there was checked by really calling Keras
    3.15.1 with that argument. Also flags a call that leaves out a parameter Keras 2 gave a
    default and Keras 3 requires (`AveragePooling2D()`: `pool_size`), and passes Keras 2's
    default (safe: the value the call used).

    ## Why is this bad?
    Rejected arguments raise (`ValueError: Argument(s) not recognized: {'lr': 0.01}`,
    `Unrecognized keyword arguments passed to LSTM: {'time_major': True}`). Ignored ones
    are worse: `Adam(decay=1e-4)` and `ReduceLROnPlateau(epsilon=...)` run and silently do
    nothing. Deprecated ones (`LeakyReLU(alpha=...)`, `Dense(input_shape=...)`) still work
    with a warning.

    ## Example
    ```python
    opt = keras.optimizers.Adam(lr=0.01, decay=1e-4)
    act = keras.layers.LeakyReLU(alpha=0.2)
    ```

    ## Use instead
    ```python
    opt = keras.optimizers.Adam(
        learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-4))
    act = keras.layers.LeakyReLU(negative_slope=0.2)
    ```

    ## Fix safety
    Renames are safe only where the table's check gave the same result on Keras 2 and
    Keras 3 (`lr` -> `learning_rate`, `alpha` -> `negative_slope`, `epsilon` -> `min_delta`,
    `l` -> `l2`). Removing an argument Keras 3 ignores is safe; removing one it rejects is
    unsafe (the call runs again, but without what the argument asked for). `decay=` ->
    `InverseTimeDecay` is unsafe: the schedule reproduces `lr / (1 + decay * step)` exactly,
    but checkpoints and `learning_rate` reads change type. Patterns owned by other rules
    (`workers=` K405, `save_format=` K201/K203, `period=` K204, `reset_metrics=` K406,
    `ReduceLROnPlateau(epsilon=)` K409) are left to them.

    ## References
    - https://keras.io/api/optimizers/learning_rate_schedules/inverse_time_decay/
    - `rules/keras_migrate/rules/api/README.md`
    """

    code = "K502"
    name = "removed-argument"
    message = "{what}: {guidance}"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("keras", "tensorflow", "tf_keras")

    VALID = [
        Valid("""
            import keras
            opt = keras.optimizers.Adam(learning_rate=0.01)
            act = keras.layers.LeakyReLU(negative_slope=0.2)
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.compile(optimizer=opt, loss="mse")
        """),
        # not Keras: a local class and a dict with the same keyword names
        Valid("""
            import keras
            class MyOpt:
                def __init__(self, lr=0.1, decay=0.0):
                    self.lr = lr
            o = MyOpt(lr=0.5, decay=0.1)
            cfg = dict(lr=0.1, alpha=0.2)
            trainer.compile(sample_weight_mode="temporal")
        """),
    ]
    INVALID = [
        # renamed (safe, checked): deprecated alpha -> negative_slope
        Invalid(
            """
            import keras
            act = keras.layers.LeakyReLU(alpha=0.2)
            RESULT = N(act(np.array([-1.0, 2.0], "float32"))).tolist()
            """,
            fixed="""
            import keras
            act = keras.layers.LeakyReLU(negative_slope=0.2)
            RESULT = N(act(np.array([-1.0, 2.0], "float32"))).tolist()
            """,
            flagged=("alpha=0.2",),
            run=Run(k3="warns", warning="alpha", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # renamed (safe, checked against the legacy optimizers, which honoured lr=)
        Invalid(
            """
            from tensorflow import keras
            opt = keras.optimizers.Adam(lr=0.05)
            """,
            fixed="""
            from tensorflow import keras
            opt = keras.optimizers.Adam(learning_rate=0.05)
            """,
            flagged=("lr=0.05",),
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # renamed function keyword: activations.relu(alpha=) raises TypeError in Keras 3
        Invalid(
            """
            import keras
            RESULT = N(keras.activations.relu(np.array([-1.0, 2.0], "float32"), alpha=0.1)).tolist()
            """,
            fixed="""
            import keras
            RESULT = N(keras.activations.relu(np.array([-1.0, 2.0], "float32"), negative_slope=0.1)).tolist()
            """,
            flagged=("alpha=0.1",),
            run=Run(k3="TypeError", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # ignored by Keras 3 (safe to drop: it has no effect there)
        Invalid(
            """
            import keras
            emb = keras.layers.Embedding(10, 2, input_length=5, embeddings_initializer="ones")
            RESULT = N(emb(np.array([[1, 2]]))).tolist()
            """,
            fixed="""
            import keras
            emb = keras.layers.Embedding(10, 2, embeddings_initializer="ones")
            RESULT = N(emb(np.array([[1, 2]]))).tolist()
            """,
            flagged=("input_length=5",),
            run=Run(k3="warns", warning="input_length", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # silently ignored decay -> an InverseTimeDecay schedule (unsafe)
        Invalid(
            """
            import keras
            opt = keras.optimizers.SGD(learning_rate=0.1, decay=0.01)
            """,
            fixed="""
            import keras
            opt = keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.01))
            """,
            flagged=("decay=0.01",),
            unsafe=True,
        ),
        Invalid(
            """
            import keras
            opt = keras.optimizers.RMSprop(decay=1e-6)
            """,
            fixed="""
            import keras
            opt = keras.optimizers.RMSprop(learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.001, decay_steps=1, decay_rate=1e-6))
            """,
            flagged=("decay=1e-6",),
            unsafe=True,
        ),
        Invalid(
            """
            import tensorflow as tf
            opt = tf.keras.optimizers.SGD(0.01, decay=1e-4, nesterov=True)
            """,
            fixed="""
            import tensorflow as tf
            import keras
            opt = tf.keras.optimizers.SGD(nesterov=True, learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-4))
            """,
            flagged=("decay=1e-4",),
            unsafe=True,
        ),
        # the schedule is spelled as the file imports Keras: `K.optimizers...`, nothing added
        # (Keras 2's optimizers reject `decay=` since TF 2.11: no Keras 2 run)
        Invalid(
            """
            import keras as K
            opt = K.optimizers.SGD(learning_rate=0.1, decay=0.01)
            """,
            fixed="""
            import keras as K
            opt = K.optimizers.SGD(learning_rate=K.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.01))
            """,
            flagged=("decay=0.01",),
            unsafe=True,
            run=Run(k3="warns", warning="decay", k2=False, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # `from tensorflow import keras` is Keras 3's tf.keras namespace on Keras 3: written
        # through, nothing added (K101 moves the import)
        Invalid(
            """
            from tensorflow import keras
            opt = keras.optimizers.SGD(learning_rate=0.1, decay=0.01)
            """,
            fixed="""
            from tensorflow import keras
            opt = keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.01))
            """,
            flagged=("decay=0.01",),
            unsafe=True,
            run=Run(k3="warns", warning="decay", k2=False, fixed_backends=("tensorflow", "jax", "torch")),
        ),

        # rejected, no equivalent argument: guidance only
        Invalid(
            """
            import keras
            att = keras.layers.Attention(causal=True)
            lstm = keras.layers.LSTM(4, time_major=True)
            """,
            fixed=None,
            flagged=("causal=True", "time_major=True"),
        ),
        # a default Keras 3 dropped (pool_size is required): the call gets Keras 2's value
        Invalid(
            """
            import numpy as np
            from tensorflow.keras.layers import AveragePooling2D
            y = AveragePooling2D()(np.ones((1, 4, 4, 1), "float32"))
            RESULT = list(y.shape)
            """,
            fixed="""
            import numpy as np
            from tensorflow.keras.layers import AveragePooling2D
            y = AveragePooling2D(pool_size=(2, 2))(np.ones((1, 4, 4, 1), "float32"))
            RESULT = list(y.shape)
            """,
            flagged=("AveragePooling2D",),
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # keywords Keras 2 swallowed through **kwargs and threw away (its `_validate_compile`
        # pops them): Keras 3's compile() has no **kwargs, so they raise; dropping them is
        # what Keras 2 did (safe). The table lists them from tf-keras' source.
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse", cloning=False, experimental_run_tf_function=False)
            RESULT = 1
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            RESULT = 1
            """,
            flagged=("cloning=False", "experimental_run_tf_function=False"),
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # a method keyword on a known Keras model (unsafe removal)
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse", sample_weight_mode="temporal")
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            """,
            flagged=('sample_weight_mode="temporal"',),
            unsafe=True,
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ]

    def _check_required(self, ctx):
        """A parameter Keras 2 defaulted and Keras 3 requires, left out of the call
        (``AveragePooling2D()``): add Keras 2's default, which is what the call meant."""
        table = keras_api.data().get("required", {})
        leaves = _required_leaves()
        for call in ctx.nodes(ast.Call):
            f = call.func
            leaf = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if leaf not in leaves:
                continue
            q = ctx.qualname(f)
            entry = table.get(q) if q else None
            if not entry or any(k.arg is None for k in call.keywords) \
                    or any(isinstance(a, ast.Starred) for a in call.args):
                continue
            for kw, e in entry.items():
                pos = e.get("position")
                if any(k.arg == kw for k in call.keywords) or (pos is not None and len(call.args) > pos):
                    continue
                title = f"Pass `{kw}={e['default']}` (Keras 2's default)"
                ctx.report(self, f, f"`{ctx.segment(f)}()` needs `{kw}=` in Keras 3 (TypeError: missing "
                                    f"required argument); Keras 2's default was `{e['default']}`",
                           fix=Fix.safe(title, ctx.add_keyword, call, kw, e["default"]))

    def check(self, ctx):
        self._check_required(ctx)
        kw_names, method_names = _names()
        for call in ctx.nodes(ast.Call):
            if not call.keywords or not any(k.arg in kw_names for k in call.keywords):
                continue
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr not in method_names and ctx.qualname(f) is None:
                continue  # cheap pre-filter before asking for the receiver's kind
            table, key = self._table(ctx, call)
            if not table:
                continue
            for kw in call.keywords:
                if kw.arg is None or kw.arg not in table:
                    continue
                entry = table[kw.arg]
                code = OWNED.get((key, kw.arg))
                if code is not None and owned_by(ctx, code):
                    continue
                self._report(ctx, call, kw, entry)

    def _table(self, ctx, call: ast.Call) -> tuple[dict, str]:
        q = ctx.qualname(call.func)
        if q is not None:
            if not q.startswith("keras.") or q.startswith("keras.src"):
                return {}, ""
            table = dict(keras_api.kwargs_for(q))
            path, entry, rest = symbol_entry(q)
            if entry is not None and not rest and entry.get("new"):
                table = {**keras_api.kwargs_for(entry["new"]), **table}  # e.g. legacy.Adam(lr=)
            return table, q
        f = call.func
        if isinstance(f, ast.Attribute):
            typ = KIND_TYPES.get(ctx.value_kind(f.value))
            if typ is None or defined_by_user_class(ctx, f.value, f.attr):
                return {}, ""
            if f.attr in keras_api.members(typ):
                return {}, ""  # the method itself is gone: K503 reports the call
            key = f"{typ}.{f.attr}"
            return keras_api.method_kwargs(key), key
        return {}, ""

    def _report(self, ctx, call, kw, entry):
        status = entry.get("status", "rejected")
        what = _WHAT.get(status, _WHAT["rejected"]).format(kw=kw.arg)
        msg = _message(self.message, what, entry.get("guidance", ""))
        sev = _SEVERITY.get(status, Severity.ERROR)
        span = ctx.span(kw)
        made = self._fix(ctx, call, kw, entry)
        if made is None:
            ctx.report(self, span, msg, severity=sev)
            return
        title, app, edit = made
        ctx.report(self, span, msg, severity=sev, fix=Fix.applicable(app, title, self._spelled, ctx, call, edit))

    @staticmethod
    def _spelled(ctx, call, edit):
        """A template (``decay=`` -> ``keras.optimizers.schedules...``) names Keras in the
        arguments it writes: spelled as the file imports Keras (``K.optimizers...`` on
        ``import keras as K``), the call's own text left as it is."""
        func = ctx.segment(call.func)
        if edit.start != ctx.span(call)[0] or not edit.new_text.startswith(func):
            return edit
        rest, imp = ctx.imports.rewrite(edit.new_text[len(func):], at=call)
        return [type(edit)(edit.start, edit.end, func + rest), imp]


    def _fix(self, ctx, call, kw, entry) -> Optional[tuple]:
        app = fix_of(entry)
        if app is None:
            return None
        rename = entry.get("rename")
        t = entry.get("transform") or {}
        if rename:
            if any(k.arg == rename for k in call.keywords):
                return None  # both spellings given: the user must choose
            edit = ctx.rename_keyword(call, kw.arg, rename)
            return (f"Rename `{kw.arg}=` to `{rename}=`", app, edit) if edit is not None else None
        if t.get("template"):
            return self._template(ctx, call, kw, t, app)
        if t.get("drop") is True:
            edit = ctx.remove_keywords(call, [kw.arg])
            return (f"Remove `{kw.arg}=`", app, edit) if edit is not None else None
        return None

    def _template(self, ctx, call, kw, t, app):
        """``decay=d`` -> ``learning_rate=InverseTimeDecay(<lr>, ..., decay_rate=d)``."""
        import libcst as cst

        values = {kw.arg: ctx.segment(kw.value)}
        drop = {kw.arg}
        positional_lr = False
        for name, default in (t.get("defaults") or {}).items():
            src = None
            for alias in (name, "lr") if name == "learning_rate" else (name,):
                src = arg_source(ctx, call, alias, None)
                if src is not None:
                    drop.add(alias)
                    break
            if src is None and name == "learning_rate" and call.args:
                if isinstance(call.args[0], ast.Starred) or len(call.args) > 1:
                    return None  # later positionals would shift onto learning_rate
                src, positional_lr = ctx.segment(call.args[0]), True
            if src is None:
                src = default
            values[name] = src
        try:
            pair = t["template"].format(**values)
        except KeyError:
            return None
        name, _, value = pair.partition("=")
        node = ctx.cst(call)
        if not isinstance(node, cst.Call):
            return None
        args = []
        for i, a in enumerate(node.args):
            if a.keyword is not None and a.keyword.value in drop:
                continue
            if positional_lr and i == 0:
                continue
            args.append(a)
        new_arg = cst.Arg(value=cst.parse_expression(value), keyword=cst.Name(name),
                          equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                whitespace_after=cst.SimpleWhitespace("")))
        if any(a.star for a in args):
            return None  # *args / **kwargs: where the learning rate comes from is unknown
        # keep the remaining arguments in order and append the schedule as a keyword
        args = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in args]
        args.append(new_arg)
        edit = ctx.cst_replace(call, node.with_changes(args=args))
        return f"Replace `{kw.arg}=` with an `InverseTimeDecay` learning-rate schedule", app, edit
