"""K501 removed-symbol: Keras 2 names that Keras 3 lacks, driven by keras_api.json."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, call_of_func,
                                      canonicalize, import_nodes, keras3_has, owned_by, remove_binding_edit,
                                      rewrite_call)

from ._common import RUN_SETUP, fix_of, symbol_entry

_NP = RUN_SETUP


def _owned_elsewhere(ctx, canonical: str) -> bool:
    # K103 rewrites layers.experimental(.preprocessing).X when keras.layers.X exists, and
    # bindings of the module itself (imports, module-level aliases)
    if canonical in ("keras.layers.experimental.preprocessing", "keras.layers.experimental") and owned_by(ctx, "K103"):
        return True
    for prefix in ("keras.layers.experimental.preprocessing.", "keras.layers.experimental."):
        if canonical.startswith(prefix):
            rest = canonical[len(prefix):]
            if rest.split(".")[0] != "preprocessing" and keras3_has("keras.layers." + rest) and owned_by(ctx, "K103"):
                return True
    return False


class RemovedSymbol(Rule):
    """Uses a Keras 2 name that does not exist in Keras 3 (moved, replaced or removed).

    ## What it does
    Looks every Keras name the file reaches (any import style: `tf.keras.X`, `K.X`,
    `from tensorflow.keras.x import X`) up in the generated API table
    (`rules/keras_migrate/rules/api/keras_api.json`, made from tf-keras 2.21 and Keras 3.15.1) and reports the
    ones that are not at the same path in Keras 3: *moved* (same thing elsewhere, e.g.
    `K.mean` -> `keras.ops.mean`, `optimizers.legacy.Adam` -> `optimizers.Adam`),
    *equivalent* (a different API does the job, e.g. `ThresholdedReLU(theta=t)` ->
    `ReLU(threshold=t)`), or *removed* (guidance only, e.g. `preprocessing.text.Tokenizer`).

    ## Why is this bad?
    Keras 3 raises `AttributeError: module 'keras.backend' has no attribute 'mean'` (and the
    like) for all 355 such names (339 symbols, 16 modules; `keras-migrate rules --coverage`).
    Through `tf.keras` 179 of them still resolve to TensorFlow shims that only work on the
    TensorFlow backend.

    ## Example
    ```python
    from keras import backend as K
    y = K.concatenate([a, b])
    act = keras.layers.ThresholdedReLU(theta=0.5)
    ```

    ## Use instead
    ```python
    y = keras.ops.concatenate([a, b], axis=-1)
    act = keras.layers.ReLU(threshold=0.5)
    ```

    ## Fix safety
    Each entry carries its own safety, checked when the table was generated: *safe* renames
    gave the same output on Keras 2 and Keras 3 (numeric probes and hand-written checks;
    Keras 2 defaults that changed are passed explicitly, e.g. `axis=-1`); *unsafe* fixes
    may change results (random streams, tensors instead of variables); names without an
    equivalent get guidance only. Names under `layers.experimental.preprocessing` that exist
    in `keras.layers` are left to K103.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/
    - `rules/keras_migrate/rules/api/README.md` (the data and how it is generated)
    """

    code = "K501"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "removed-symbol"
    message = "`{old}` does not exist in Keras 3: {guidance}"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("keras", "tensorflow", "tf_keras")

    VALID = [
        Valid("""
            import keras
            y = keras.ops.mean(x, axis=0)
            eps = keras.backend.epsilon()
            keras.backend.clear_session()
        """),
        Valid("""
            from tensorflow import keras
            layer = keras.layers.ReLU(threshold=0.5)
            norm = keras.layers.Normalization()
        """),
        # not Keras: a local module that happens to be called backend
        Valid("""
            import backend as K
            y = K.mean(x)
        """),
        # K103 owns layers.experimental.preprocessing names that exist in keras.layers
        Valid("""
            import tensorflow as tf
            r = tf.keras.layers.experimental.preprocessing.Rescaling(1 / 255)
        """),
    ]
    INVALID = [
        # moved (safe, numerically probed): keras.backend -> keras.ops
        Invalid(
            """
            from keras import backend as K
            x = T(np.array([[1.0, 2.0], [3.0, 5.0]], "float32"))
            RESULT = N(K.mean(x, axis=0)).tolist()
            """,
            fixed="""
            import keras
            x = T(np.array([[1.0, 2.0], [3.0, 5.0]], "float32"))
            RESULT = N(keras.ops.mean(x, axis=0)).tolist()
            """,
            flagged=("K.mean",),
            run=Run(k3="AttributeError", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # moved with a changed default made explicit (K.concatenate joined on the last axis)
        Invalid(
            """
            from keras import backend as K
            x = T(np.ones((2, 2), "float32"))
            RESULT = list(N(K.concatenate([x, x])).shape)
            """,
            fixed="""
            import keras
            x = T(np.ones((2, 2), "float32"))
            RESULT = list(N(keras.ops.concatenate([x, x], axis=-1)).shape)
            """,
            flagged=("K.concatenate",),
            run=Run(k3="AttributeError", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # a default passed positionally is kept as it is
        Invalid(
            """
            import tensorflow.keras.backend as K
            y = K.concatenate([a, b], 0)
            i = K.argmax(p)
            """,
            fixed="""
            import keras
            y = keras.ops.concatenate([a, b], 0)
            i = keras.ops.argmax(p, axis=-1)
            """,
            flagged=("K.concatenate", "K.argmax"),
        ),
        # equivalent (safe, checked): ThresholdedReLU(theta) -> ReLU(threshold)
        Invalid(
            """
            import keras
            layer = keras.layers.ThresholdedReLU(theta=0.5)
            RESULT = N(layer(np.array([0.2, 0.5, 1.5], "float32"))).tolist()
            """,
            fixed="""
            import keras
            layer = keras.layers.ReLU(threshold=0.5)
            RESULT = N(layer(np.array([0.2, 0.5, 1.5], "float32"))).tolist()
            """,
            flagged=("keras.layers.ThresholdedReLU",),
            run=Run(k3="AttributeError", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # equivalent through a template: K.sqrt clipped negatives to zero (through the
        # tf.keras shim it still runs on TensorFlow: a warning there)
        Invalid(
            """
            import tensorflow.keras.backend as K
            y = K.sqrt(x)
            """,
            fixed="""
            import keras
            y = keras.ops.sqrt(keras.ops.maximum(x, 0.0))
            """,
            flagged=("K.sqrt",),
        ),
        # moved (safe, checked by running both optimizers): optimizers.legacy -> optimizers
        Invalid(
            """
            import tensorflow as tf
            opt = tf.keras.optimizers.legacy.Adam(learning_rate=0.01)
            """,
            fixed="""
            import keras
            opt = keras.optimizers.Adam(learning_rate=0.01)
            """,
            flagged=("tf.keras.optimizers.legacy.Adam",),
        ),
        # loss alias (moved, safe)
        Invalid(
            """
            import keras
            loss_fn = keras.losses.mse
            """,
            fixed="""
            import keras
            loss_fn = keras.losses.mean_squared_error
            """,
            flagged=("keras.losses.mse",),
        ),
        # unsafe: an enum attribute becomes a string ('auto' has no exact equivalent)
        Invalid(
            """
            import keras
            loss = keras.losses.MeanSquaredError(reduction=keras.losses.Reduction.SUM)
            """,
            fixed="""
            import keras
            loss = keras.losses.MeanSquaredError(reduction='sum')
            """,
            flagged=("keras.losses.Reduction.SUM",),
            unsafe=True,
        ),
        # a standalone Keras 2.x submodule (unsafe: not in tf-keras 2.21, so not checked by calling)
        Invalid(
            """
            from keras.layers.core import Dense, Dropout
            from keras.utils.np_utils import to_categorical
            import keras
            y = keras.layers.advanced_activations.LeakyReLU()
            """,
            fixed="""
            from keras.layers import Dense, Dropout
            from keras.utils import to_categorical
            import keras
            y = keras.layers.LeakyReLU()
            """,
            flagged=("from keras.layers.core import Dense, Dropout", "from keras.utils.np_utils import to_categorical",
                     "keras.layers.advanced_activations.LeakyReLU"),
            unsafe=True,
        ),
        # a name imported from a module: the import names it too (ImportError on Keras 3), so
        # once the uses are rewritten the name leaves the import (issue 13 item 1)
        Invalid(
            """
            from keras.losses import MeanSquaredError, Reduction
            loss = MeanSquaredError(reduction=Reduction.NONE)
            RESULT = N(loss(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32"))).tolist()
            """,
            fixed="""
            from keras.losses import MeanSquaredError
            loss = MeanSquaredError(reduction='none')
            RESULT = N(loss(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32"))).tolist()
            """,
            flagged=("Reduction", "Reduction.NONE"),
            unsafe=True,
            run=Run(k3="ImportError", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from keras.layers import Dense, ThresholdedReLU
            act = ThresholdedReLU(theta=0.5)
            RESULT = N(act(np.array([0.2, 0.5, 1.5], "float32"))).tolist()
            """,
            fixed="""
            from keras.layers import Dense
            import keras
            act = keras.layers.ReLU(threshold=0.5)
            RESULT = N(act(np.array([0.2, 0.5, 1.5], "float32"))).tolist()
            """,
            flagged=("ThresholdedReLU", "ThresholdedReLU"),
            run=Run(k3="ImportError", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # an unused name Keras 3 lacks: dropped from the import
        Invalid(
            """
            from keras.layers import LocallyConnected2D, Dense
            layer = Dense(2)
            RESULT = list(layer(np.ones((1, 3), "float32")).shape)
            """,
            fixed="""
            from keras.layers import Dense
            layer = Dense(2)
            RESULT = list(layer(np.ones((1, 3), "float32")).shape)
            """,
            flagged=("LocallyConnected2D",),
            run=Run(k3="ImportError", setup=_NP, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # used, no equivalent: the import line is marked too (it is the line that fails)
        Invalid(
            """
            from tensorflow.keras.layers import LocallyConnected2D
            lc = LocallyConnected2D(4, 3)
            """,
            fixed=None,
            flagged=("LocallyConnected2D", "LocallyConnected2D"),
        ),
        # removed: guidance only
        Invalid(
            """
            from tensorflow.keras.preprocessing.text import Tokenizer
            tok = Tokenizer(num_words=1000)
            """,
            fixed=None,
            flagged=("Tokenizer",),
        ),
        Invalid(
            """
            import keras
            lc = keras.layers.LocallyConnected2D(4, 3)
            """,
            fixed=None,
            flagged=("keras.layers.LocallyConnected2D",),
        ),
    ]

    def check(self, ctx):
        moved_imports = self._module_imports(ctx)
        self._imported_names(ctx, moved_imports)
        for ref in ctx.references():
            if not ref.is_keras or ref.origin == "private":
                continue
            if ref.binding.node in moved_imports:
                continue  # reported (and fixed) at the import statement
            path, entry, rest = symbol_entry(ref.canonical)
            if entry is None or _owned_elsewhere(ctx, ref.canonical):
                continue
            if ref.binding.kind == "alias" and isinstance(ref.node, ast.Name):
                continue  # a module-level alias (``mse = tf.keras.losses.mse``): reported where it is assigned
            old = path + ("." + rest if rest else "")
            guidance = entry.get("guidance") or ""
            msg = self.message.format(old=old, guidance=guidance)
            sev = None
            if ref.origin == "tf.keras" and entry.get("in_tf_keras_shim"):
                msg += " (it still resolves through `tf.keras`, on the TensorFlow backend only)"
                sev = Severity.WARNING
            made = self._fix(ctx, ref, entry, rest)
            if made is None:
                ctx.report(self, ref.node, msg, severity=sev)
                continue
            title, app, edits = made
            ctx.report(self, ref.node, msg, severity=sev,
                       fix=Fix.applicable(app, title, ctx.imports.rewrite_edits, edits, at=ref.node))


    def _imported_names(self, ctx, skip: set) -> None:
        """``from keras.layers import LocallyConnected2D``: a name Keras 3 lacks makes the import
        statement itself fail (ImportError), and keeps failing after its uses are migrated
        unless the import goes too. Unused: reported here with a fix that drops the name.
        Used: the uses are reported (their fixes make the name unused, and the fixer then
        drops it); the import is reported too when it fails on Keras 3 (a ``keras`` module, or
        a ``tensorflow.keras`` name the compatibility shim lacks), so the failing line is
        marked."""

        uses: dict[str, int] = {}
        for ref in ctx.references():
            if ref.binding.kind == "from":
                uses[ref.binding.name] = uses.get(ref.binding.name, 0) + 1
        for node in import_nodes(ctx):
            if not isinstance(node, ast.ImportFrom) or not node.module or node in skip:
                continue
            for alias in node.names:
                if alias.name == "*":
                    continue
                canon, origin = canonicalize(f"{node.module}.{alias.name}")
                if canon is None or origin == "private" or not canon.startswith("keras."):
                    continue
                path, entry, rest = symbol_entry(canon)
                if entry is None or _owned_elsewhere(ctx, canon) or keras3_has(canon):
                    continue
                local = alias.asname or alias.name
                shim = origin == "tf.keras" and entry.get("in_tf_keras_shim") and not rest
                if uses.get(local):
                    if shim:
                        continue  # still imports through the shim; the uses are reported
                    msg = (f"`{canon}` does not exist in Keras 3: this import fails (ImportError); "
                           f"it can go once every use of `{local}` is migrated. {entry.get('guidance') or ''}").rstrip()
                    ctx.report(self, alias, msg)
                    continue
                msg = f"`{canon}` does not exist in Keras 3 and `{local}` is not used: drop it from the import"
                title = f"Remove unused `{alias.name}` from the import"
                ctx.report(self, alias, msg, severity=Severity.WARNING if shim else None,
                           fix=Fix.safe(title, remove_binding_edit, ctx, node, local))

    def _module_imports(self, ctx) -> set:
        """``from keras.layers.core import Dense``: a standalone-Keras submodule whose names
        moved to the package (``transform.module``) is fixed at the import statement."""

        done = set()
        for node in import_nodes(ctx):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            canon, origin = canonicalize(node.module)
            if canon is None or origin == "private":
                continue
            path, entry, rest = symbol_entry(canon)
            if entry is None or rest or not (entry.get("transform") or {}).get("module"):
                continue
            done.add(node)
            new = entry["new"]
            msg = self.message.format(old=canon, guidance=entry.get("guidance", ""))
            names = [a.name for a in node.names]
            app = fix_of(entry)
            if app is None or "*" in names or not all(keras3_has(f"{new}.{n}") for n in names):
                ctx.report(self, node, msg)
                continue
            stmt = ctx.segment(node)
            head, sep, tail = stmt.partition(" import ")
            new_stmt = f"from {new}{sep}{tail}"
            title = f"Import from `{new}`"
            ctx.report(self, node, msg, fix=Fix.applicable(app, title, ctx.replace, node, new_stmt))

        return done

    def _fix(self, ctx, ref, entry, rest):
        app = fix_of(entry)
        new = entry.get("new")
        transform = entry.get("transform") or {}
        if app is None:
            return None
        if rest and transform.get("module"):
            target = f"{new}.{rest}"
            if not keras3_has(target):
                return None
            return f"Replace with `{target}`", app, [ctx.replace(ref.node, target)]
        if rest:
            value = (transform.get("attributes") or {}).get(rest)
            if value is None:
                return None
            return f"Replace with {value}", app, [ctx.replace(ref.node, value)]
        if new is None:
            return None
        call = call_of_func(ctx, ref.node)
        if transform.get("attributes"):
            return None
        if any(transform.get(k) for k in ("template", "positional", "defaults", "kwargs", "drop")):
            if call is None:
                return None  # passed around as a value: the argument mapping cannot be applied
            src = rewrite_call(ctx, call, new, transform)
            if src is None:
                return None
            return f"Rewrite as `{src}`" if len(src) < 80 else f"Rewrite with `{new}`", app, [ctx.replace(call, src)]
        return f"Replace with `{new}`", app, [ctx.replace(ref.node, new)]
