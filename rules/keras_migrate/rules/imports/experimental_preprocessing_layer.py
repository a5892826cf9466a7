"""K103 experimental-preprocessing-layer."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, bindings,
                                      canonicalize, import_nodes, keras3_has)

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


def _spell(ctx, node, new: str):
    """``node`` replaced by the Keras 3 name ``new``, spelled as the file imports Keras."""
    expr, imp = ctx.imports.ensure(new, at=node)
    return [ctx.replace(node, expr), imp]


class ExperimentalPreprocessingLayer(Rule):

    """Uses `layers.experimental.preprocessing`, which Keras 3 removed.

    ## What it does
    Flags `keras.layers.experimental.preprocessing.X` (through any import style, and through
    any binding of `keras.layers`: `kl = tf.keras.layers; kl.experimental.preprocessing.X`,
    `from tensorflow.keras import layers as L; L.experimental.preprocessing.X`) and imports
    and module-level aliases of that module, and rewrites them to `keras.layers.X` (`kl.X`,
    `L.X` at a use through a binding).

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
        # through a binding of `keras.layers` (issue 13 item 2): fixed at the use
        Invalid(
            """
            import numpy as np
            import keras
            kl = keras.layers
            r = kl.experimental.preprocessing.Rescaling(1 / 255)
            RESULT = np.asarray(r(np.ones((1, 2), "float32"))).tolist()
            """,
            fixed="""
            import numpy as np
            import keras
            kl = keras.layers
            r = kl.Rescaling(1 / 255)
            RESULT = np.asarray(r(np.ones((1, 2), "float32"))).tolist()
            """,
            flagged=("kl.experimental.preprocessing.Rescaling",),
            run=Run(k3="AttributeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from tensorflow.keras import layers as L
            norm = L.experimental.preprocessing.Normalization(axis=-1)
            """,
            fixed="""
            from tensorflow.keras import layers as L
            norm = L.Normalization(axis=-1)
            """,
            flagged=("L.experimental.preprocessing.Normalization",),
            run=Run(k3="AttributeError"),
        ),
        # a module-level alias of the removed module: fixed where it is assigned
        Invalid(
            """
            import tensorflow as tf
            pp = tf.keras.layers.experimental.preprocessing
            crop = pp.CenterCrop(2, 2)
            """,
            fixed="""
            import tensorflow as tf
            pp = tf.keras.layers
            crop = pp.CenterCrop(2, 2)
            """,
            flagged=("tf.keras.layers.experimental.preprocessing",),
            run=Run(k3="AttributeError"),
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
        for node in import_nodes(ctx):
            if isinstance(node, ast.ImportFrom):
                self._check_from(ctx, node)
        for ref in ctx.references():
            if ref.canonical in PREFIXES:
                self._check_module_alias(ctx, ref)
                continue
            new = _new_name(ref.canonical)
            if new is None or not keras3_has(new):
                continue
            if ref.binding.kind == "alias" or ref.binding.target not in _ROOT_TARGETS:
                # through a binding of ``keras.layers`` (``kl = tf.keras.layers``,
                # ``from tensorflow.keras import layers as L``): drop the removed namespace at
                # the use, ``L.experimental.preprocessing.Normalization`` -> ``L.Normalization``
                self._report_through_binding(ctx, ref, new)
                continue
            title = f"Replace with `{new}`"
            ctx.report(self, ref.node, self.message.format(new=new),
                       fix=Fix.safe(title, _spell, ctx, ref.node, new))

    @staticmethod
    def _inner(ctx, node, wanted):
        """The node of the attribute chain ``node`` whose canonical name is in ``wanted``."""
        cur = node
        while isinstance(cur, (ast.Attribute, ast.Name)):
            if ctx.qualname(cur) in wanted:
                return cur
            cur = cur.value if isinstance(cur, ast.Attribute) else None
        return None

    def _report_through_binding(self, ctx, ref, new):
        layers = self._inner(ctx, ref.node, ("keras.layers",))
        removed = self._inner(ctx, ref.node, PREFIXES)
        bound = canonicalize(ref.binding.target)[0] or ""
        if any(bound == p or bound.startswith(p + ".") for p in PREFIXES):
            return  # ``pp = ....experimental.preprocessing`` / its import: reported (and fixed) there
        if layers is None or removed is None or ctx.span(layers)[1] >= ctx.span(removed)[1]:
            ctx.report(self, ref.node, self.message.format(new=new))  # e.g. a binding of ``experimental``
            return
        start, end = ctx.span(layers)[1], ctx.span(removed)[1]
        shown = ctx.segment(layers) + "." + new[len("keras.layers."):]
        title = f"Replace with `{shown}`"
        ctx.report(self, ref.node, self.message.format(new=shown),
                   fix=Fix.safe(title, ctx.replace, (start, end), ""))

    def _check_module_alias(self, ctx, ref):
        """``pp = tf.keras.layers.experimental.preprocessing`` (module level): the alias
        becomes ``tf.keras.layers`` when every ``pp.X`` exists in ``keras.layers``."""
        stmt = ctx.parent(ref.node)
        if not (isinstance(stmt, ast.Assign) and stmt.value is ref.node and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            return
        binding = bindings(ctx).get(stmt.targets[0].id)
        if binding is None or binding.node is not stmt:
            return
        uses = [r.canonical for r in ctx.references() if r.binding is binding]
        news = [_new_name(u) for u in uses]
        layers = self._inner(ctx, ref.node, ("keras.layers",))
        if layers is None or any(n is None or not keras3_has(n) for n in news):
            ctx.report(self, ref.node, self.message.format(new="keras.layers"))
            return
        start, end = ctx.span(layers)[1], ctx.span(ref.node)[1]
        title = f"Replace with `{ctx.segment(layers)}`"
        ctx.report(self, ref.node, self.message.format(new="keras.layers"),
                   fix=Fix.safe(title, ctx.replace, (start, end), ""))

    def _check_from(self, ctx, node: ast.ImportFrom):
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
                   fix=Fix.safe(title, ctx.replace, node, new_stmt))

