"""K201 save-savedmodel."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Edit, Fix, Invalid, Rule, Run, Severity, Valid, arg,
                                      compose_call_edits, keyword)

from ._helpers import (full_model_saves, has_ext, line_of, path_literal, path_tail, reader_edits, readers_of,
                       rename_tail, savedmodel_suffix_fix)

_MODEL_EXTS = (".keras", ".h5", ".hdf5")


def _format_value(kw):
    if kw is not None and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
        return kw.value.value.lower()
    return None


class SaveSavedmodel(Rule):
    """Saves a whole model to a TensorFlow SavedModel (`model.save("dir")`, `save_format="tf"`).

    ## What it does
    Flags `model.save(path)` and `keras.models.save_model(model, path)` on a Keras model when
    the path is known not to end in `.keras`, `.h5` or `.hdf5`, and any `save_format=`
    argument. The receiver must be a known Keras model (built with `keras.Sequential`,
    `keras.Model`, `load_model`, a subclass, or a function that returns one): an unrelated
    object's `.save(...)` is never flagged. Paths held in variables or built by f-strings
    ending in `{...}` are not flagged (their extension is unknown).

    ## Why is this bad?
    Keras 2 wrote a TensorFlow SavedModel directory for a path without an extension. Keras
    3.15.1 raises on every backend: `ValueError: Invalid filepath extension for saving. Please
    add either a .keras extension for the native Keras format (recommended) or a .h5
    extension. Use model.export(filepath) if you want to export a SavedModel...`.
    `save_format=` is deprecated: with a path that lacks `.keras`/`.h5` it raises
    `ValueError: The save_format argument is deprecated in Keras 3...`; with one it only logs
    a warning.

    ## Example
    ```python
    model.save("my_model")
    model.save("exported", save_format="tf")
    ```

    ## Use instead
    ```python
    model.save("my_model.keras")      # reload with keras.models.load_model
    model.export("exported")          # a SavedModel for TF Serving / TFLite
    ```

    ## Fix safety
    Unsafe. The path gains `.keras` (`.tf`/`.pb` endings are replaced): the artifact becomes
    one `.keras` zip file instead of a SavedModel directory, so anything that reads the
    directory (TF Serving, `tf.saved_model.load`) must change. `load_model` calls in the same
    file that read the same path (compared by structure: `os.path.join`, f-strings,
    `pathlib`) are renamed by the same fix, so they keep finding the file, and carry their
    own finding pointing at the save. A `tf.saved_model.load` of that path gets a
    `model.export(path)` after the save in the same fix (a SavedModel keeps being written
    there). Where the code asked for `save_format="tf"` explicitly and never loads it back
    with `load_model`, the fix is `model.export(path)` instead, which writes an
    inference-only SavedModel (works on the TensorFlow and JAX backends, not torch; other
    arguments are dropped); a round trip through `load_model` becomes `.keras` on both
    sides, since `load_model` cannot read an export. `save_format="h5"`
    becomes an `.h5` path. Dropping a `save_format` that matches the path's extension is safe.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#saving-a-model-in-the-tf-savedmodel-format
    - https://keras.io/api/models/model_saving_apis/model_saving_and_loading/
    - docs/research/keras3-facts.md#modelsave-to-savedmodel
    """

    code = "K201"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "save-savedmodel"
    message = "`{call}` writes a TF SavedModel in Keras 2; Keras 3 raises ValueError: save to a `.keras` file or use `model.export()`"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("save",)

    VALID = [
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save("model.keras")
            model.save("legacy.h5")
            keras.models.save_model(model, "m.keras")
        """),
        # not a Keras model: numpy, a PIL-like image, a user's own class
        Valid("""
            import keras
            import numpy as np
            class Store:
                def save(self, path):
                    pass
            np.save("array", [1, 2])
            Store().save("somewhere")
            img.save("picture")
        """),
        # unknown extension (variable, f-string ending in a placeholder): not flagged
        Valid("""
            import keras
            def run(path, name):
                model = keras.Sequential([keras.layers.Dense(1)])
                model.save(path)
                model.save(f"{path}/{name}")
                model.save(path + f"_{name}")
        """),
        # a directory path string that is not a save
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            print("saved_model")
            model.export("saved_model")
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.save("my_model")
            restored = keras.models.load_model("my_model")
            RESULT = restored.count_params()
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.save("my_model.keras")
            restored = keras.models.load_model("my_model.keras")
            RESULT = restored.count_params()
            """,
            flagged=('"my_model"', '"my_model"'),
            unsafe=True,
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # save_format="tf" read back by load_model is a Keras round trip: `.keras` on both
        # sides (export() would write a SavedModel that load_model cannot read)
        Invalid(
            """
            import numpy as np
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
            model.save("m", save_format="tf")
            restored = keras.models.load_model("m")
            RESULT = restored.predict(np.ones((1, 3)), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
            model.save("m.keras")
            restored = keras.models.load_model("m.keras")
            RESULT = restored.predict(np.ones((1, 3)), verbose=0).tolist()
            """,
            flagged=('"m"', '"m"'),
            unsafe=True,
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # paths compared by structure: os.path.join on both sides
        Invalid(
            """
            import os
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.save(os.path.join("out", "net"))
            restored = keras.models.load_model(os.path.join("out", "net"))
            RESULT = restored.count_params()
            """,
            fixed="""
            import os
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.save(os.path.join("out", "net.keras"))
            restored = keras.models.load_model(os.path.join("out", "net.keras"))
            RESULT = restored.count_params()
            """,
            flagged=('os.path.join("out", "net")', 'os.path.join("out", "net")'),
            unsafe=True,
            run=Run(k3="ValueError", setup="import os; os.makedirs('out', exist_ok=True)",
                    fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # a SavedModel read back with tf.saved_model.load: the same fix adds export() for it
        Invalid(
            """
            import tensorflow as tf
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.save("serving")
            loaded = tf.saved_model.load("serving")
            RESULT = float(tf.reduce_sum(loaded.signatures["serving_default"](tf.ones((1, 3)))["output_0"]))
            """,
            fixed="""
            import tensorflow as tf
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.save("serving.keras")
            model.export("serving")
            loaded = tf.saved_model.load("serving")
            RESULT = float(tf.reduce_sum(loaded.signatures["serving_default"](tf.ones((1, 3)))["output_0"]))
            """,
            flagged=('"serving"', '"serving"'),
            unsafe=True,
        ),
        Invalid(
            """
            from tensorflow import keras
            import os
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
            model.save("serving", save_format="tf")
            RESULT = os.path.exists(os.path.join("serving", "saved_model.pb"))
            """,
            fixed="""
            from tensorflow import keras
            import os
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
            model.export("serving")
            RESULT = os.path.exists(os.path.join("serving", "saved_model.pb"))
            """,
            flagged=('"serving"',),
            unsafe=True,
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax")),
        ),
        Invalid(
            """
            import os
            import tensorflow as tf

            def build():
                return tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])

            export_dir = os.path.join("out", "model.tf")
            tf.keras.models.save_model(build(), export_dir)
            """,
            fixed="""
            import os
            import tensorflow as tf

            def build():
                return tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])

            export_dir = os.path.join("out", "model.keras")
            tf.keras.models.save_model(build(), export_dir)
            """,
            flagged=("export_dir",),
            unsafe=True,
        ),
        # a callback saving every epoch: `{epoch}` is a counter, so the path has no extension
        Invalid(
            """
            from tensorflow import keras
            class Snapshot(keras.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    self.model.save(f"snapshots/model_{epoch + 1:03d}")
            """,
            fixed="""
            from tensorflow import keras
            class Snapshot(keras.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    self.model.save(f"snapshots/model_{epoch + 1:03d}.keras")
            """,
            flagged=('f"snapshots/model_{epoch + 1:03d}"',),
            unsafe=True,
        ),
        # save_format matching the extension: only a warning, the fix drops it safely
        Invalid(
            """
            import keras
            class Net(keras.Model):
                def call(self, x):
                    return x
            net = Net()
            net.save("net.h5", save_format="h5")
            """,
            fixed="""
            import keras
            class Net(keras.Model):
                def call(self, x):
                    return x
            net = Net()
            net.save("net.h5")
            """,
            flagged=('save_format="h5"',),
        ),
        # save_format="h5" on a path without extension: the path gets `.h5`
        Invalid(
            """
            import keras
            model = keras.models.load_model("base.keras")
            model.save("weights_dir/model", save_format="h5", overwrite=True)
            """,
            fixed="""
            import keras
            model = keras.models.load_model("base.keras")
            model.save("weights_dir/model.h5", overwrite=True)
            """,
            flagged=('"weights_dir/model"',),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for call, path in full_model_saves(ctx):
            fmt_kw = keyword(call, "save_format")
            tail = path_tail(ctx, path)
            bad_path = tail is not None and not has_ext(tail, _MODEL_EXTS) and not tail.startswith("hf://")
            if not bad_path and fmt_kw is None:
                continue
            fmt = _format_value(fmt_kw)
            seg = ctx.segment(call)
            short = seg if len(seg) <= 60 else seg[:57] + "..."
            if not bad_path:
                # right extension + save_format: a warning on 3.15, drop it
                matches = tail is not None and (
                    (fmt in ("h5", "hdf5") and has_ext(tail, (".h5", ".hdf5")))
                    or (fmt == "keras" and tail.endswith(".keras")))
                app = Applicability.SAFE if matches else Applicability.UNSAFE
                title = "Remove `save_format=` (the extension decides the format)"
                if tail is None:
                    msg = "`save_format=` is deprecated in Keras 3: it raises ValueError unless the path ends in `.keras` or `.h5`"
                    sev = Severity.ERROR
                else:
                    msg = "`save_format=` is deprecated in Keras 3 and ignored (the path's extension decides)"
                    sev = Severity.WARNING
                ctx.report(self, fmt_kw, msg, severity=sev,
                           fix=Fix.applicable(app, title, compose_call_edits, ctx, call, [], ("save_format",)))
                continue
            loads = readers_of(ctx, path, ("load_model",))
            sm_loads = readers_of(ctx, path, ("saved_model",))
            # save_format="tf" asks for a SavedModel; but a file that reads it back with
            # load_model wants a Keras model again (a round trip): `.keras` on both sides,
            # never export(), which load_model cannot read and torch cannot run
            recv_export = (fmt == "tf" and not loads and isinstance(call.func, ast.Attribute)
                           and call.func.attr == "save")
            if recv_export:
                title = ("Export a SavedModel with `model.export()` (unsafe: inference-only; "
                         "TensorFlow/JAX backends; reload with `keras.layers.TFSMLayer`)")
                ctx.report(self, path, self.message.format(call=short),
                           fix=Fix.unsafe(title, self._export_fix, ctx, call, path))
                continue
            if fmt in ("h5", "hdf5"):
                old, new = "", ".h5"
            else:
                old, new = savedmodel_suffix_fix(tail)
            title = (f"Save to a `{new}` file (unsafe: one file instead of a SavedModel directory; "
                     "use `model.export()` for serving)")
            if loads:
                title = (f"Save to a `{new}` file and load that file (unsafe: one file instead of a "
                         "SavedModel directory)")
            exports = bool(sm_loads) and self._can_add_export(ctx, call, path)
            if exports:
                title += "; `model.export()` keeps writing the SavedModel that `tf.saved_model.load` reads"
            fix = Fix.unsafe(title, self._rename_fix, ctx, call, path, old, new, tuple(loads), exports)
            ctx.report(self, path, self.message.format(call=short), fix=fix)
            for rcall, rpath, _ in loads:
                ctx.report(self, rpath,
                           f"`load_model` reads the model that the save on line {line_of(call)} writes as a "
                           "TF SavedModel; Keras 3 can only load `.keras`/`.h5`, so this name must follow the "
                           "save's rename", fix=fix, related=((path, "the model is saved here"),))
            for rcall, rpath, _ in sm_loads:
                msg = (f"`tf.saved_model.load` reads the SavedModel that the save on line {line_of(call)} "
                       "writes; Keras 3 `save()` writes a `.keras` file, only `model.export()` writes a SavedModel")
                if exports:
                    ctx.report(self, rpath, msg, fix=fix, related=((path, "the model is saved here"),))
                else:
                    ctx.report(self, rpath, msg + " (add `model.export(...)` to this path)",
                               related=((path, "the model is saved here"),))

    def _rename_fix(self, ctx, call, path, old, new, loads=(), export=False):
        lit = path_literal(ctx, path)
        if lit is None or (isinstance(lit, ast.Constant) and lit.value.endswith("/")):
            return None
        edit = rename_tail(ctx, lit, old, new)
        if edit is None:
            return None
        edits = compose_call_edits(ctx, call, [edit] + reader_edits(ctx, loads, old, new, skip=(lit,)), ("save_format",))
        if export:
            # after the statement (outside the call, which compose_call_edits re-parses)
            stmt = ctx.parent(call)
            line_start = ctx.text.rfind("\n", 0, ctx.span(stmt)[0]) + 1
            indent = ctx.text[line_start:ctx.span(stmt)[0]]
            call_end = ctx.span(call)[1]
            for i, e in enumerate(edits):
                if e.end == call_end:  # the call's own rewrite: append to it
                    edits[i] = Edit(e.start, e.end, e.new_text + f"\n{indent}{ctx.segment(call.func.value)}"
                                                          f".export({ctx.segment(path)})")
                    break
        return edits

    @staticmethod
    def _can_add_export(ctx, call, path) -> bool:
        """``model.save(<literal path>)`` as a statement of its own: an export call can follow it."""
        stmt = ctx.parent(call)
        return (isinstance(stmt, ast.Expr) and isinstance(call.func, ast.Attribute) and call.func.attr == "save"
                and not isinstance(path, ast.Name)
                and ctx.text[ctx.text.rfind("\n", 0, ctx.span(stmt)[0]) + 1:ctx.span(stmt)[0]].strip() == "")

    def _export_fix(self, ctx, call, path):
        recv = ctx.segment(call.func.value)
        text = f"{recv}.export({ctx.segment(path)})"
        return [ctx.replace(call, text)]

