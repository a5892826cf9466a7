"""K202 load-savedmodel."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import Applicability, Fix, Invalid, Rule, Run, Severity, Valid, arg, calls_to

from ._helpers import LOAD_MODEL_FUNCS, full_model_saves, has_ext, path_tail, readers_of

_SETUP = '''
import tensorflow as tf
class _Mod(tf.Module):
    def __init__(self):
        self.v = tf.Variable(2.0)
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def __call__(self, x):
        return {"out": x * self.v}
_mod = _Mod()
tf.saved_model.save(_mod, "sm_dir", signatures={"serving_default": _mod.__call__})
'''


class LoadSavedmodel(Rule):
    """Loads a TensorFlow SavedModel directory with `load_model`.

    ## What it does
    Flags `keras.models.load_model(path)` / `keras.saving.load_model(path)` when the path is
    known not to end in `.keras`, `.h5` or `.hdf5` (a SavedModel directory, the Keras 2
    default). A path that the same file saves with `model.save(...)` is left to K201, whose
    fix renames the save and this load together.

    ## Why is this bad?
    Keras 3.15.1 raises on every backend: `ValueError: File format not supported:
    filepath=sm_dir. Keras 3 only supports V3 .keras files, legacy H5 format files (.h5
    extension). Note that the legacy SavedModel format is not supported by load_model() in
    Keras 3...`. A SavedModel can only be reloaded as an inference-only layer,
    `keras.layers.TFSMLayer`, and only on the TensorFlow backend (JAX and torch raise
    `NotImplementedError: The TFSMLayer is only currently supported with the TensorFlow
    backend.`).

    ## Example
    ```python
    model = keras.models.load_model("exported_dir")
    ```

    ## Use instead
    ```python
    model = keras.layers.TFSMLayer("exported_dir", call_endpoint="serving_default")
    # or re-save the model from Keras 2 as .h5 / rebuild it and load weights
    ```

    ## Fix safety
    Unsafe: the result is a layer, not a `Model` (no `fit`, `compile` or `summary`; calling it
    returns the signature's output dict), `custom_objects`/`compile`/`safe_mode` are dropped,
    and your endpoint may have another name than `serving_default`. It works only on the
    TensorFlow backend, so when the project's target backends include JAX or torch the fix is
    shown but never applied.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#loading-a-tf-savedmodel
    - https://keras.io/api/layers/backend_specific_layers/tfsm_layer/
    - docs/research/keras3-facts.md#load_model-on-a-savedmodel
    """

    code = "K202"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "load-savedmodel"
    message = ("`load_model` cannot read a TF SavedModel in Keras 3 (ValueError); reload it as "
               "`keras.layers.TFSMLayer(path, call_endpoint=...)` (TensorFlow backend only)")
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("load_model",)

    VALID = [
        Valid("""
            import keras
            a = keras.models.load_model("model.keras")
            b = keras.saving.load_model("legacy.h5", compile=False)
        """),
        # unknown path; someone else's load_model
        Valid("""
            import keras
            from mylib import load_model
            def restore(path):
                return keras.models.load_model(path)
            other = load_model("checkpoint_dir")
        """),
        # the same file saves this path: K201 reports the save and renames both
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save("my_model")
            restored = keras.models.load_model("my_model")
        """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            from tensorflow import keras
            m = keras.models.load_model("sm_dir")
            RESULT = np.asarray(m(np.ones((2, 3), "float32"))["out"]).tolist()
            """,
            fixed="""
            import numpy as np
            from tensorflow import keras
            m = keras.layers.TFSMLayer("sm_dir", call_endpoint="serving_default")
            RESULT = np.asarray(m(np.ones((2, 3), "float32"))["out"]).tolist()
            """,
            flagged=('"sm_dir"',),
            unsafe=True,
            config={"target_backends": ["tensorflow"]},
            run=Run(k3="ValueError", setup=_SETUP, fixed_backends=("tensorflow",)),
        ),
        Invalid(
            """
            from keras.models import load_model
            import os
            base = load_model(os.path.join("exports", "base_model"), compile=False)
            """,
            fixed="""
            import os
            import keras
            base = keras.layers.TFSMLayer(os.path.join("exports", "base_model"), call_endpoint="serving_default")
            """,
            flagged=('os.path.join("exports", "base_model")',),
            unsafe=True,
            config={"target_backends": ["tensorflow"]},
        ),
        # JAX/torch targeted: TFSMLayer cannot run there, the fix is display-only
        Invalid(
            """
            import keras
            model = keras.saving.load_model("saved/1")
            """,
            fixed=None,
            flagged=('"saved/1"',),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        renamed = set()  # load_model calls of a path that K201 renames with its save
        for call, p in full_model_saves(ctx):
            tail = path_tail(ctx, p)
            if tail is not None and not has_ext(tail, (".keras", ".h5", ".hdf5")) and not tail.startswith("hf://"):
                renamed |= {id(c) for c, _, _ in readers_of(ctx, p, ("load_model",))}
        for call, _ in calls_to(ctx, LOAD_MODEL_FUNCS):
            path = arg(call, 0, "filepath")
            tail = path_tail(ctx, path) if path is not None else None
            if tail is None or has_ext(tail, (".keras", ".h5", ".hdf5")) or tail.startswith("hf://"):
                continue
            if id(call) in renamed and ctx.enabled("K201"):
                continue  # K201 reports this load and renames it with the save

            tf_only = not ctx.settings.portability
            app = Applicability.UNSAFE if tf_only else Applicability.DISPLAY
            title = ("Reload as `keras.layers.TFSMLayer` (unsafe: an inference-only layer, "
                     "TensorFlow backend only; check the endpoint name)")
            ctx.report(self, path, fix=Fix.applicable(app, title, self._fix, ctx, call, path))

    @staticmethod
    def _fix(ctx, call, path):
        layers, imp = ctx.imports.ensure("keras.layers", at=call)
        return [ctx.replace(call, f'{layers}.TFSMLayer({ctx.segment(path)}, call_endpoint="serving_default")'), imp]

