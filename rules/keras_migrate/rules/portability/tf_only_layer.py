"""K607 tf-only-layer."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import Group, Invalid, Rule, Severity, Valid

INPUTS = {"keras.Input", "keras.input", "keras.layers.Input", "keras.layers.InputLayer"}


class TfOnlyLayer(Rule):
    """A layer or input that exists only on the TensorFlow backend (`TFSMLayer`, ragged or string inputs).

    ## What it does
    Flags `keras.layers.TFSMLayer(...)`, and `keras.Input` / `keras.layers.Input` /
    `InputLayer` with `ragged=True` or a string dtype (`dtype="string"`, `dtype=tf.string`).
    Information only: the code is fine for TensorFlow-only projects.

    ## Why is this bad?
    On Keras 3.15.1 these need TensorFlow tensors. `TFSMLayer` raises
    `NotImplementedError: The TFSMLayer is only currently supported with the TensorFlow
    backend.` on JAX and torch; `Input(ragged=True)` raises `ValueError: ragged=True is not
    supported with the jax backend` (torch likewise); JAX and torch tensors cannot hold
    strings, so a model taking string inputs (e.g. `TextVectorization` inside the model)
    fails there. A `tf.data` pipeline feeding `fit()` is *not* flagged: it works on all
    three backends (checked), whatever the 2023 guide says.

    ## Example
    ```python
    restored = keras.layers.TFSMLayer("exported", call_endpoint="serving_default")
    tokens = keras.Input(shape=(None,), ragged=True)
    ```

    ## Use instead
    ```python
    restored = keras.models.load_model("model.keras")   # re-save the model as .keras
    tokens = keras.Input(shape=(None,))                 # padded, with a mask
    ```
    For text, run `TextVectorization` in the `tf.data` pipeline (`ds.map(...)`), outside
    the model.

    ## Fix safety
    No automatic fix: the replacement needs another saved format or another input layout.

    ## References
    - https://keras.io/api/layers/backend_specific_layers/tfsm_layer/
    - https://keras.io/guides/migrating_to_keras_3/
    """

    code = "K607"
    name = "tf-only-layer"
    message = "{what} works only on the TensorFlow backend{why}"
    severity = Severity.INFO
    group = Group.PORTABILITY
    fix = None
    requires = ("TFSMLayer", "ragged", "string")

    VALID = [
        Valid("""
            import keras
            inp = keras.Input(shape=(None,), ragged=False)
            model = keras.models.load_model("model.keras")
            """),
        Valid("""
            import tensorflow as tf
            ds = tf.data.Dataset.from_tensor_slices(([1.0], [2.0])).batch(1)
            text = tf.constant(["a b"], dtype=tf.string)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import tensorflow as tf
            import keras
            restored = keras.layers.TFSMLayer("exported", call_endpoint="serving_default")
            tokens = keras.Input(shape=(None,), ragged=True)
            text = tf.keras.layers.Input(shape=(1,), dtype=tf.string)
            """,
            fixed=None,
            flagged=("keras.layers.TFSMLayer", "ragged=True", "dtype=tf.string"),
        ),
        Invalid(
            """
            from tensorflow.keras import layers
            raw = layers.Input(shape=(), dtype="string", name="text")
            """,
            fixed=None,
            flagged=('dtype="string"',),
        ),
    ]

    def check(self, ctx):
        if not ctx.settings.portability:
            return
        for call in ctx.nodes(ast.Call):
            q = ctx.qualname(call.func)
            if q == "keras.layers.TFSMLayer":
                ctx.report(self, call.func, self.message.format(
                    what="`TFSMLayer`", why=" (JAX and torch: NotImplementedError); re-save the model as .keras"))
            elif q in INPUTS:
                for kw in call.keywords:
                    if kw.arg == "ragged" and isinstance(kw.value, ast.Constant) and kw.value.value is True:
                        ctx.report(self, kw, self.message.format(
                            what="A ragged input", why=" (JAX and torch: ValueError); pad it and use a mask"))
                    elif kw.arg == "dtype" and (
                            (isinstance(kw.value, ast.Constant) and kw.value.value == "string")
                            or ctx.qualname(kw.value) == "tensorflow.string"):
                        ctx.report(self, kw, self.message.format(
                            what="A string input", why=" (JAX and torch tensors cannot hold strings); "
                                                       "preprocess text in the tf.data pipeline"))
