"""K101 tensorflow-keras-import."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, canonicalize,
                                      import_nodes, keras3_has, line_start, newline, owned_by)

_TF_KERAS_MODULES = ("tensorflow.keras", "tensorflow.compat.v1.keras", "tensorflow.compat.v2.keras", "tf_keras")
# handled by their own rules (one name, one diagnostic)
_OWNED_ELSEWHERE = ("keras.layers.experimental",)


def _tf_keras_module(module: str) -> str | None:
    if module == "tf_keras.src" or module.startswith("tf_keras.src."):
        return None  # private: K104
    for m in _TF_KERAS_MODULES:
        if module == m or module.startswith(m + "."):
            return "keras" + module[len(m):]
    return None


def _k103_fixes(ctx, canonical: str) -> bool:
    """``L.experimental.preprocessing.Rescaling``: K103 rewrites it to ``L.Rescaling``."""
    from .experimental_preprocessing_layer import _new_name
    new = _new_name(canonical)
    return new is not None and keras3_has(new) and owned_by(ctx, "K103")


class TensorflowKerasImport(Rule):
    """Imports Keras through TensorFlow (`from tensorflow import keras`, `tensorflow.keras.*`).

    ## What it does
    Flags imports that reach Keras through TensorFlow: `from tensorflow import keras`,
    `import tensorflow.keras as k`, `from tensorflow.keras import layers` and
    `from tensorflow.keras.layers import Dense`, and imports of the Keras 2 package itself
    (`import tf_keras as keras`, `from tf_keras import layers`).

    ## Why is this bad?
    With Keras 3 installed, `tensorflow.keras` is a compatibility namespace
    (`keras._tf_keras.keras`). It ties the file to the TensorFlow backend and still carries
    172 Keras 2 symbols that plain `keras` lacks (most written in TensorFlow), so code that
    "works" through it breaks the day it runs on JAX or PyTorch.

    ## Example
    ```python
    from tensorflow import keras
    from tensorflow.keras.layers import Dense
    ```

    ## Use instead
    ```python
    import keras
    from keras.layers import Dense
    ```

    ## Fix safety
    The fix is safe when every name the file reaches through the import exists in Keras 3
    (checked against the generated API table). Otherwise it is unsafe: the names that do not
    exist are reported by K5xx rules, and switching the import would turn a working shim call
    into an AttributeError until they are migrated.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/
    - docs/research/keras3-facts.md#imports-through-tfkeras
    """

    code = "K101"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "tensorflow-keras-import"
    message = "Keras imported through TensorFlow; import `keras` directly"
    severity = Severity.WARNING
    fix = Applicability.SAFE
    requires = ("tensorflow", "tf_keras")

    VALID = [
        Valid("import keras\nfrom keras import layers\n"),
        Valid("import tensorflow as tf\nx = tf.constant(1)\n"),
        Valid("# from tensorflow import keras\ns = 'from tensorflow import keras'\n"),
        Valid("from tensorflow.keras import layers  # noqa: K101\n"),
    ]
    INVALID = [
        Invalid(
            """
            from tensorflow import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            """,
            flagged=("from tensorflow import keras",),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow.keras import layers as L
            from tensorflow.keras.layers import Dense, Dropout
            y = Dense(2)
            """,
            fixed="""
            from keras import layers as L
            from keras.layers import Dense, Dropout
            y = Dense(2)
            """,
            flagged=("from tensorflow.keras import layers as L",
                     "from tensorflow.keras.layers import Dense, Dropout"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import tensorflow.keras as tfk
            import tensorflow.keras.backend as K
            eps = K.epsilon()
            """,
            fixed="""
            import keras as tfk
            import keras.backend as K
            eps = K.epsilon()
            """,
            flagged=("tensorflow.keras as tfk", "tensorflow.keras.backend as K"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import tf_keras as keras
            from tf_keras import layers
            model = keras.Sequential([layers.Dense(1)])
            """,
            fixed="""
            import keras
            from keras import layers
            model = keras.Sequential([layers.Dense(1)])
            """,
            flagged=("tf_keras as keras", "from tf_keras import layers"),
        ),
        # names Keras 3 lacks stay on the TensorFlow import (K501 rewrites their uses, then
        # the fixer drops that import): a `keras` import never names them (issue 13 item 1)
        Invalid(
            """
            import numpy as np
            from tensorflow.keras.losses import MeanSquaredError, Reduction
            loss = MeanSquaredError(reduction=Reduction.NONE)
            RESULT = np.asarray(loss(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32"))).tolist()
            """,
            fixed="""
            import numpy as np
            from keras.losses import MeanSquaredError
            from tensorflow.keras.losses import Reduction
            loss = MeanSquaredError(reduction=Reduction.NONE)
            RESULT = np.asarray(loss(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32"))).tolist()
            """,
            flagged=("from tensorflow.keras.losses import MeanSquaredError, Reduction",),
            run=Run(k3="ok"),
        ),
        Invalid(
            """
            try:
                from tensorflow.keras.layers import Dense, ThresholdedReLU as TR
            except ImportError:
                pass
            """,
            fixed="""
            try:
                from keras.layers import Dense
                from tensorflow.keras.layers import ThresholdedReLU as TR
            except ImportError:
                pass
            """,
            flagged=("from tensorflow.keras.layers import Dense, ThresholdedReLU as TR",),
        ),
        # K.mean does not exist in Keras 3: switching the import is unsafe
        Invalid(
            """
            from tensorflow.keras import backend as K
            y = K.mean([1.0, 2.0])
            """,
            fixed="""
            from keras import backend as K
            y = K.mean([1.0, 2.0])
            """,
            flagged=("from tensorflow.keras import backend as K",),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        refs_by_binding: dict[int, list[str]] = {}
        for ref in ctx.references():
            refs_by_binding.setdefault(id(ref.binding.node), []).append(ref.canonical)
        for node in import_nodes(ctx):
            if isinstance(node, ast.ImportFrom):
                new_module = _tf_keras_module(node.module)
                if node.module == "tensorflow":
                    names = [a for a in node.names if a.name == "keras"]
                    if not names or len(node.names) != 1:
                        if names:  # from tensorflow import keras, nn: report, no fix
                            ctx.report(self, node)
                        continue
                    self._report_from_tf(ctx, node, refs_by_binding.get(id(node), []))
                    continue
                if new_module is None or new_module.startswith(_OWNED_ELSEWHERE):
                    continue
                missing = [a for a in node.names if a.name != "*" and not keras3_has(
                    canonicalize(f"{new_module}.{a.name}")[0] or f"{new_module}.{a.name}")]
                if missing:
                    self._report_split(ctx, node, new_module, missing)
                    continue
                reached = [f"{new_module}.{a.name}" for a in node.names if a.name != "*"]
                reached += refs_by_binding.get(id(node), [])
                self._report(ctx, node, node, "from " + node.module,
                             "from " + new_module, reached)
            else:
                for alias in node.names:
                    new_module = _tf_keras_module(alias.name)
                    if new_module is None or new_module.startswith(_OWNED_ELSEWHERE):
                        continue
                    if not alias.asname:
                        ctx.report(self, alias)  # ``import tensorflow.keras``: binds tensorflow
                        continue
                    reached = [new_module] + refs_by_binding.get(id(node), [])
                    if alias.asname == new_module:  # import tf_keras as keras -> import keras
                        self._report(ctx, alias, alias, f"{alias.name} as {alias.asname}", new_module, reached)
                        continue
                    self._report(ctx, alias, alias, alias.name, new_module, reached)

    def _report_from_tf(self, ctx, node, reached):
        alias = node.names[0]
        new = "import keras" + (f" as {alias.asname}" if alias.asname else "")
        missing = sorted({n for n in reached if not keras3_has(n)})
        applicability = Applicability.UNSAFE if missing else Applicability.SAFE
        title = "Import `keras` directly" + (
            f" (unsafe: {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''} not in Keras 3)"
            if missing else "")
        ctx.report(self, node, fix=Fix.applicable(applicability, title, ctx.replace, node, new))

    def _report_split(self, ctx, node, new_module, missing):
        """``from tensorflow.keras.losses import MeanSquaredError, Reduction``: the names Keras 3
        has move to ``keras``; the ones it lacks stay on their TensorFlow import (where they
        still resolve, or fail as before) until K501 rewrites their uses, after which the fixer
        drops that import. A ``keras`` import never names something Keras 3 lacks."""
        kept = [a for a in node.names if a not in missing]
        if not kept:
            if not ctx.enabled("K501"):  # K501 reports these names (and removes the unused ones)
                ctx.report(self, node)
            return

        gone = ", ".join(a.name for a in missing)
        title = f"Use `{new_module}` (`{gone}` stays on `{node.module}`: not in Keras 3, see K501)"

        def alias_src(a):
            return a.name + (f" as {a.asname}" if a.asname else "")

        def build():
            start = ctx.span(node)[0]
            bol = line_start(ctx, node.lineno - 1)
            before = ctx.text[bol:start]
            # a statement after ``try:`` on one line gets ``; `` instead of a new line
            sep = (newline(ctx) + before) if not before.strip() else "; "
            new = (f"from {new_module} import {', '.join(alias_src(a) for a in kept)}{sep}"
                   f"from {node.module} import {', '.join(alias_src(a) for a in missing)}")
            return ctx.replace(node, new)
        ctx.report(self, node, fix=Fix.safe(title, build))

    def _report(self, ctx, report_node, edit_node, old_prefix, new_prefix, reached):
        missing = sorted({n for n in reached if not keras3_has(canonicalize(n)[0] or n)
                          and not _k103_fixes(ctx, canonicalize(n)[0] or n)})
        applicability = Applicability.UNSAFE if missing else Applicability.SAFE
        title = f"Use `{new_prefix.replace('from ', '')}`" + (
            f" (unsafe: {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''} not in Keras 3)"
            if missing else "")

        def build():
            seg = ctx.segment(edit_node)
            if not seg.startswith(old_prefix):
                return None
            return ctx.replace(edit_node, new_prefix + seg[len(old_prefix):])
        ctx.report(self, report_node, fix=Fix.applicable(applicability, title, build))

