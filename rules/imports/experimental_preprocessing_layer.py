"""K103 experimental-preprocessing-layer."""
from __future__ import annotations

import ast

from keras_migrate.engine.model import Applicability, Severity
from keras_migrate.engine.rule import Invalid, Rule, Run, Valid
from keras_migrate.rules.apidata import keras3_has

PREFIXES = ("keras.layers.experimental.preprocessing", "keras.layers.experimental")
_ROOT_TARGETS = ("tensorflow", "keras", "tf_keras", "tensorflow.keras")


def _new_name(canonical: str) -> str | None:
    for p in PREFIXES:
        if canonical.startswith(p + "."):
            rest = canonical[len(p) + 1:]
            if rest.split(".")[0] in ("preprocessing",):
                return None
            return "keras.layers." + rest
    return None


class ExperimentalPreprocessingLayer(Rule):
    """Uses `layers.experimental.preprocessing`, which Keras 3 removed.

    ## What it does
    Flags `keras.layers.experimental.preprocessing.X` (through any import style) and imports
    from that module, and rewrites them to `keras.layers.X`.

    ## Why is this bad?
    Keras 3 has no `layers.experimental` module:
    `AttributeError: module 'keras.layers' has no attribute 'experimental'` (and
    `ModuleNotFoundError` for `from tensorflow.keras.layers.experimental import ...`). 17 of the 20
    preprocessing layers live directly under `keras.layers`; `RandomHeight`, `RandomWidth`
    and `PreprocessingLayer` are gone (reported by K501 instead).

    ## Example
    ```python
    from tensorflow.keras.layers.experimental import preprocessing
    rescale = preprocessing.Rescaling(1 / 255)
    ```

    ## Use instead
    ```python
    from keras import layers as preprocessing
    rescale = preprocessing.Rescaling(1 / 255)
    ```

    ## Fix safety
    Safe: the layers are the same classes under their new path. Names that do not exist in
    Keras 3 are left for K501, and then the import gets no automatic fix.

    ## References
    - https://keras.io/api/layers/preprocessing_layers/
    """

    code = "K103"
    name = "experimental-preprocessing-layer"
    message = "`layers.experimental.preprocessing` was removed in Keras 3; use `{new}`"
    severity = Severity.ERROR
    fix = Applicability.SAFE
    requires = ("experimental",)

    VALID = [
        Valid("import keras\nr = keras.layers.Rescaling(1 / 255)\n"),
        Valid("from keras.layers import Normalization\n"),
        Valid("import experimental\nexperimental.preprocessing.Rescaling(1)\n"),
    ]
    INVALID = [
        Invalid(
            """
            import tensorflow as tf
            rescale = tf.keras.layers.experimental.preprocessing.Rescaling(1 / 255)
            """,
            fixed="""
            import keras
            rescale = keras.layers.Rescaling(1 / 255)
            """,
            flagged=("tf.keras.layers.experimental.preprocessing.Rescaling",),
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "jax", "torch"),
                    setup="import numpy as np",
                    ),
        ),
        Invalid(
            """
            from tensorflow.keras.layers.experimental.preprocessing import Rescaling, Normalization as Norm
            r = Rescaling(0.5)
            """,
            fixed="""
            from keras.layers import Rescaling, Normalization as Norm
            r = Rescaling(0.5)
            """,
            flagged=("from tensorflow.keras.layers.experimental.preprocessing import Rescaling, Normalization as Norm",),
            run=Run(k3="ModuleNotFoundError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow.keras.layers.experimental import preprocessing
            rescale = preprocessing.Rescaling(1 / 255)
            """,
            fixed="""
            from keras import layers as preprocessing
            rescale = preprocessing.Rescaling(1 / 255)
            """,
            flagged=("from tensorflow.keras.layers.experimental import preprocessing",),
            run=Run(k3="ModuleNotFoundError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            flip = keras.layers.experimental.preprocessing.RandomFlip("horizontal")
            """,
            fixed="""
            import keras
            flip = keras.layers.RandomFlip("horizontal")
            """,
            flagged=("keras.layers.experimental.preprocessing.RandomFlip",),
        ),
    ]

    def check(self, ctx):
        for node in ctx.resolver.import_nodes:
            if isinstance(node, ast.ImportFrom):
                self._check_from(ctx, node)
        for ref in ctx.references():
            if ref.binding.kind == "alias" or ref.binding.target not in _ROOT_TARGETS:
                continue  # reached through an alias of the module: the import/alias is flagged
            new = _new_name(ref.canonical)
            if new is None or not keras3_has(new):
                continue
            title = f"Replace with `{new}`"
            ctx.report(self, ref.node, self.message.format(new=new),
                       fix=lambda n=ref.node, t=title, new=new: ctx.make_fix(
                           t, Applicability.SAFE, [ctx.replace(n, new)], ["import keras"]),
                       fix_title=title, applicability=Applicability.SAFE)

    def _check_from(self, ctx, node: ast.ImportFrom):
        from keras_migrate.engine.resolve import canonicalize
        canon, _ = canonicalize(node.module)
        if canon is None:
            return
        uses = [r.canonical for r in ctx.references() if r.binding.node is node]
        if canon in PREFIXES[:1]:
            names = [f"keras.layers.{a.name}" for a in node.names]
            if any(not keras3_has(n) for n in names):
                ctx.report(self, node, self.message.format(new="keras.layers"))
                return
            new_stmt = "from keras.layers import " + ctx.segment(node).split(" import ", 1)[1]
        elif canon == "keras.layers.experimental" and all(a.name == "preprocessing" for a in node.names):
            alias = node.names[0].asname or "preprocessing"
            names = [_new_name(u) for u in uses]
            if any(n is None or not keras3_has(n) for n in names):
                ctx.report(self, node, self.message.format(new="keras.layers"))
                return
            new_stmt = f"from keras import layers as {alias}"
        else:
            return
        title = f"Replace with `{new_stmt}`"
        ctx.report(self, node, self.message.format(new="keras.layers"),
                   fix=lambda: ctx.make_fix(title, Applicability.SAFE, [ctx.replace(node, new_stmt)]),
                   fix_title=title, applicability=Applicability.SAFE)
