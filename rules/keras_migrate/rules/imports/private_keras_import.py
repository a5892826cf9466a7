"""K104 private-keras-import."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, import_nodes,
                                      keras3_has)

_PRIVATE = ("tensorflow.python.keras", "keras.src", "tf_keras.src")


def _private_root(module: str) -> str | None:
    for p in _PRIVATE:
        if module == p or module.startswith(p + "."):
            return p
    return None


class PrivateKerasImport(Rule):
    """Imports Keras internals (`tensorflow.python.keras`, `keras.src`, `tf_keras.src`).

    ## What it does
    Flags imports from private Keras modules and, where the same name is public in
    Keras 3 at the matching path (`tensorflow.python.keras.layers.Dense` →
    `keras.layers.Dense`), offers the public import.

    ## Why is this bad?
    `tensorflow.python.keras` is a frozen, unmaintained copy of Keras 2 inside TensorFlow;
    `keras.src` and `tf_keras.src` are implementation modules that move between releases.
    Code importing them breaks on upgrade, and objects from the Keras 2 copy are not Keras 3
    objects at all (a `tensorflow.python.keras` layer cannot go into a Keras 3 model).

    ## Example
    ```python
    from tensorflow.python.keras.layers import Dense
    ```

    ## Use instead
    ```python
    from keras.layers import Dense
    ```

    ## Fix safety
    Unsafe: the public object is the Keras 3 one, which may behave differently from the
    private Keras 2 copy the code used. Where no public path matches, only guidance is given.

    ## References
    - https://keras.io/api/
    """

    code = "K104"
    name = "private-keras-import"
    message = "`{module}` is a private Keras module; import from the public API"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("tensorflow.python.keras", "keras.src", "tf_keras")

    VALID = [
        Valid("from keras.layers import Dense\n"),
        Valid("from tensorflow.python.framework import ops\n"),
        Valid("import keras_src\n"),
    ]
    INVALID = [
        Invalid(
            """
            from tensorflow.python.keras.layers import Dense
            layer = Dense(3)
            """,
            fixed="""
            from keras.layers import Dense
            layer = Dense(3)
            """,
            flagged=("from tensorflow.python.keras.layers import Dense",),
            unsafe=True,
            run=Run(k3="ok", k2=True, fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from keras.src.layers.core.dense import Dense
            """,
            fixed=None,
            flagged=("from keras.src.layers.core.dense import Dense",),
            unsafe=True,
        ),
        Invalid(
            """
            import tensorflow.python.keras.backend as K
            """,
            fixed="""
            import keras.backend as K
            """,
            flagged=("tensorflow.python.keras.backend as K",),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for node in import_nodes(ctx):
            if isinstance(node, ast.ImportFrom):
                root = _private_root(node.module)
                if root is None:
                    continue
                public = None
                if root == "tensorflow.python.keras":
                    mod = "keras" + node.module[len(root):]
                    if all(keras3_has(f"{mod}.{a.name}") for a in node.names if a.name != "*") \
                            and not any(a.name == "*" for a in node.names):
                        public = mod
                self._report(ctx, node, node.module, public, "from " + node.module, public and "from " + public)
            else:
                for alias in node.names:
                    root = _private_root(alias.name)
                    if root is None:
                        continue
                    public = None
                    if root == "tensorflow.python.keras" and alias.asname:
                        mod = "keras" + alias.name[len(root):]
                        if keras3_has(mod):
                            public = mod
                    self._report(ctx, alias, alias.name, public, alias.name, public)

    def _report(self, ctx, node, module, public, old, new):
        msg = self.message.format(module=module)
        if public is None:
            ctx.report(self, node, msg)
            return
        title = f"Import from `{public}` (unsafe: the Keras 3 object replaces the private copy)"
        ctx.report(self, node, msg, fix=Fix.unsafe(title, _reprefix, ctx, node, old, new))


def _reprefix(ctx, node, old: str, new: str):
    """``node``'s text with its leading ``old`` (the private module) replaced by ``new``."""
    seg = ctx.segment(node)
    return ctx.replace(node, new + seg[len(old):]) if seg.startswith(old) else None

