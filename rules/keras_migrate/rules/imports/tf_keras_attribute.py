"""K102 tf-keras-attribute."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, keras3_has,
                                      raw_name)

_TF_ROOTS = ("tensorflow", "tensorflow.compat.v1", "tensorflow.compat.v2")


# TensorFlow 2's own aliases of Keras modules: tf.losses.X is tf.keras.losses.X
_TF_ALIASES = ("losses", "metrics", "optimizers", "initializers")


def tf_keras_prefix(ctx, node: ast.AST) -> ast.Attribute | None:
    """The ``tf.keras`` Attribute inside a chain written through a TensorFlow binding."""
    cur = node
    while isinstance(cur, ast.Attribute):
        if cur.attr == "keras" and raw_name(ctx, cur.value) in _TF_ROOTS:
            return cur
        cur = cur.value
    return None


def tf_alias_root(ctx, node: ast.AST) -> ast.AST | None:
    """The ``tf`` of ``tf.losses.X`` / ``tf.metrics`` / ``tf.optimizers`` / ``tf.initializers``."""
    cur = node
    while isinstance(cur, ast.Attribute):
        if cur.attr in _TF_ALIASES and raw_name(ctx, cur.value) == "tensorflow":
            return cur.value
        cur = cur.value
    return None


def _to_keras(ctx, prefix: ast.AST):
    """``tf.keras`` (the chain's prefix) replaced by the file's binding of ``keras``."""
    keras, imp = ctx.imports.ensure("keras", at=prefix)
    return [ctx.replace(prefix, keras), imp]


class TfKerasAttribute(Rule):

    """Reaches Keras as an attribute of TensorFlow (`tf.keras.layers.Dense`, `tfk = tf.keras`).

    ## What it does
    Flags `tf.keras.X.Y` chains and module-level aliases such as `tfk = tf.keras` or
    `L = tf.keras.layers`, and rewrites them to `keras.X.Y` with `import keras`. TensorFlow's
    own aliases of Keras modules (`tf.losses.X`, `tf.metrics.X`, `tf.optimizers.X`,
    `tf.initializers.X`) are the same objects and get the same fix.

    ## Why is this bad?
    Under Keras 3, `tf.keras` is TensorFlow's compatibility namespace: the same objects for
    most names, but the file can then only run on the TensorFlow backend, and Keras 2-only
    names keep "working" there until the code moves to JAX or PyTorch.

    ## Example
    ```python
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    ```

    ## Use instead
    ```python
    import keras
    model = keras.Sequential([keras.layers.Dense(1)])
    ```

    ## Fix safety
    Safe: only names that exist in Keras 3 (per the generated API table) are flagged here;
    `tf.keras` names that Keras 3 lacks are reported once, by K103/K5xx, instead.
    `import keras` is added once, and `import tensorflow as tf` is removed when nothing
    uses it any more.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/
    """

    code = "K102"
    name = "tf-keras-attribute"
    message = "`{old}` reaches Keras through TensorFlow; use `{new}`"
    severity = Severity.WARNING
    fix = Applicability.SAFE
    requires = ("keras", "tf.losses", "tf.metrics", "tf.optimizers", "tf.initializers")

    VALID = [
        Valid("import keras\nmodel = keras.Sequential()\n"),
        Valid("import tensorflow as tf\nx = tf.reduce_sum(tf.ones((2,)))\n"),
        Valid("class Thing:\n    keras = None\nThing().keras\n"),
        Valid("tf = object()\ntf.keras\n"),
    ]
    INVALID = [
        # TensorFlow's own aliases of Keras: the same rules apply to them (K502 sees lr=)
        Invalid(
            """
            import tensorflow as tf
            loss = tf.losses.MeanSquaredError()
            metric = tf.metrics.Mean()
            init = tf.initializers.Constant(2.0)
            RESULT = [float(loss([[1.0]], [[3.0]])), float(init((1,))[0])]
            """,
            fixed="""
            import keras
            loss = keras.losses.MeanSquaredError()
            metric = keras.metrics.Mean()
            init = keras.initializers.Constant(2.0)
            RESULT = [float(loss([[1.0]], [[3.0]])), float(init((1,))[0])]
            """,
            flagged=("tf.losses.MeanSquaredError", "tf.metrics.Mean", "tf.initializers.Constant"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            """,
            flagged=("tf.keras.Sequential", "tf.keras.layers.Dense"),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import tensorflow as tf
            tfk = tf.keras
            L = tf.keras.layers
            x = tf.ones((2, 3))
            y = L.Dense(4)(x)
            """,
            fixed="""
            import tensorflow as tf
            import keras
            tfk = keras
            L = keras.layers
            x = tf.ones((2, 3))
            y = L.Dense(4)(x)
            """,
            flagged=("tf.keras", "tf.keras.layers"),
            run=Run(k3="ok"),
        ),
        Invalid(
            """
            import tensorflow
            opt = tensorflow.compat.v2.keras.optimizers.Adam(
                learning_rate=0.1,  # comment kept
            )
            """,
            fixed="""
            import keras
            opt = keras.optimizers.Adam(
                learning_rate=0.1,  # comment kept
            )
            """,
            flagged=("tensorflow.compat.v2.keras.optimizers.Adam",),
            run=Run(k3="ok", fixed_backends=("tensorflow", "jax", "torch")),
        ),
    ]

    def check(self, ctx):
        for ref in ctx.references():
            if ref.origin != "tf.keras" or ref.binding.target not in _TF_ROOTS:
                continue
            prefix = tf_keras_prefix(ctx, ref.node)
            if prefix is None:
                prefix = tf_alias_root(ctx, ref.node)  # tf.losses.X -> keras.losses.X
            if prefix is None:
                continue
            name = ref.canonical
            if not keras3_has(name):
                continue  # missing in Keras 3: K103 / K5xx report it, with their own fix
            old = ctx.segment(ref.node)
            new = "keras" + old[len(ctx.segment(prefix)):]
            title = f"Replace with `{new}`"
            ctx.report(self, ref.node, self.message.format(old=old, new=new),
                       fix=Fix.safe(title, _to_keras, ctx, prefix))

