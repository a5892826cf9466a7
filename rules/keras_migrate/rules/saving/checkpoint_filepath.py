"""K204 checkpoint-filepath."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, arg, calls_to,
                                      compose_call_edits, const_bool, keyword)

from ._helpers import (line_of, path_literal, path_tail, reader_edits, readers_of, rename_tail,
                       weights_suffix_fix)

_FIT = '''
import numpy as np
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
'''


def _model_suffix_fix(tail: str) -> tuple[str, str]:
    for ext in (".hdf5", ".tf", ".ckpt", ".pb", ".savedmodel"):
        if tail.endswith(ext):
            return ext, ".keras"
    return "", ".keras"


class CheckpointFilepath(Rule):
    """`ModelCheckpoint` with a file name or `period=` that Keras 3 rejects.

    ## What it does
    Flags `keras.callbacks.ModelCheckpoint(filepath, ...)` when the path is known not to fit
    what Keras 3 saves: with `save_weights_only=True` it must end in `.weights.h5`, otherwise
    in `.keras` (or `.h5`, legacy). Also flags `period=`. Placeholders such as `{epoch}` are
    fine; a path held in a variable is not flagged.

    ## Why is this bad?
    Keras 3.15.1 raises when the callback is built, on every backend: `ValueError: The
    filepath provided must end in .keras (Keras model format)` for a SavedModel-style path
    (`"ckpt/model_{epoch}"`), `ValueError: When using save_weights_only=True in
    ModelCheckpoint, the filepath provided must end in .weights.h5` for `.ckpt`/`.h5`
    weights, and `TypeError: ModelCheckpoint.__init__() got an unexpected keyword argument
    'period'`.

    ## Example
    ```python
    ModelCheckpoint("ckpt/model_{epoch}")
    ModelCheckpoint("ckpt/cp-{epoch:04d}.ckpt", save_weights_only=True, period=5)
    ```

    ## Use instead
    ```python
    ModelCheckpoint("ckpt/model_{epoch}.keras")
    ModelCheckpoint("ckpt/cp-{epoch:04d}.weights.h5", save_weights_only=True,
                    save_freq=5 * steps_per_epoch)
    ```

    ## Fix safety
    The suffix fix is unsafe: the checkpoint files get new names and a new format (a `.keras`
    zip instead of a SavedModel directory; `.weights.h5` instead of a TF checkpoint), so code
    that restores them (`load_model`, `load_weights`, `tf.train.latest_checkpoint`) must follow.
    Readers in the same file, `load_weights` / `load_model` of the same path and `glob.glob`
    patterns that match the checkpoint names (`"snap_*.hdf5"` for `"snap_{epoch:02d}.hdf5"`),
    are renamed by the same fix and carry their own finding pointing at the checkpoint.
    `period=1` is removed safely (it is the default, one save per epoch). Other `period=N`
    values get guidance only: `save_freq` counts batches, so the replacement
    (`save_freq=N * steps_per_epoch`) needs a number the code may not know.

    ## References
    - https://keras.io/api/callbacks/model_checkpoint/
    - docs/research/keras3-facts.md#modelcheckpoint
    """

    code = "K204"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "checkpoint-filepath"
    message = "Keras 3 `ModelCheckpoint` needs a path ending in `{ext}`: this one raises ValueError"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("ModelCheckpoint",)

    VALID = [
        Valid("""
            import keras
            cbs = [keras.callbacks.ModelCheckpoint("ck/model_{epoch}.keras"),
                   keras.callbacks.ModelCheckpoint("best.h5", save_best_only=True),
                   keras.callbacks.ModelCheckpoint("ck/w_{epoch:02d}.weights.h5", save_weights_only=True, save_freq="epoch")]
        """),
        Valid("""
            import keras
            from mylib import ModelCheckpoint
            def callbacks(path, weights_only):
                return [keras.callbacks.ModelCheckpoint(path), keras.callbacks.ModelCheckpoint("m.ckpt", save_weights_only=weights_only)]
            mine = ModelCheckpoint("checkpoints/run", period=3)
        """),
    ]
    INVALID = [
        Invalid(
            """
            import os
            from tensorflow import keras
            cb = keras.callbacks.ModelCheckpoint("ckpt_dir/model_{epoch}")
            model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, callbacks=[cb], verbose=0)
            RESULT = len(os.listdir("ckpt_dir"))
            """,
            fixed="""
            import os
            from tensorflow import keras
            cb = keras.callbacks.ModelCheckpoint("ckpt_dir/model_{epoch}.keras")
            model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, callbacks=[cb], verbose=0)
            RESULT = len(os.listdir("ckpt_dir"))
            """,
            flagged=('"ckpt_dir/model_{epoch}"',),
            unsafe=True,
            run=Run(k3="ValueError", setup="import keras" + _FIT,
                    fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            from keras.callbacks import ModelCheckpoint
            checkpoint_path = "training_1/cp-{epoch:04d}.ckpt"
            cb = ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True, verbose=0)
            h = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=2, callbacks=[cb], verbose=0)
            RESULT = len(h.history["loss"])
            """,
            fixed="""
            from keras.callbacks import ModelCheckpoint
            checkpoint_path = "training_1/cp-{epoch:04d}.weights.h5"
            cb = ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True, verbose=0)
            h = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=2, callbacks=[cb], verbose=0)
            RESULT = len(h.history["loss"])
            """,
            flagged=("checkpoint_path",),
            unsafe=True,
            run=Run(k3="ValueError", setup="import keras" + _FIT,
                    fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # the checkpoints are found again with glob: the pattern follows the rename
        Invalid(
            """
            import glob
            import keras
            cb = keras.callbacks.ModelCheckpoint("snap_{epoch:02d}.hdf5", save_weights_only=True)
            model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=2, callbacks=[cb], verbose=0)
            RESULT = len(glob.glob("snap_*.hdf5"))
            """,
            fixed="""
            import glob
            import keras
            cb = keras.callbacks.ModelCheckpoint("snap_{epoch:02d}.weights.h5", save_weights_only=True)
            model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=2, callbacks=[cb], verbose=0)
            RESULT = len(glob.glob("snap_*.weights.h5"))
            """,
            flagged=('"snap_{epoch:02d}.hdf5"', '"snap_*.hdf5"'),
            unsafe=True,
            run=Run(k3="ValueError", setup="import keras" + _FIT,
                    fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            cb = keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True, period=1)
            RESULT = cb.save_best_only
            """,
            fixed="""
            import keras
            cb = keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)
            RESULT = cb.save_best_only
            """,
            flagged=("period=1",),
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # period=5 has no exact replacement: guidance; the .h5 weights path is renamed
        Invalid(
            """
            import tensorflow as tf
            cb = tf.keras.callbacks.ModelCheckpoint("weights.best.hdf5", save_weights_only=True, period=5)
            """,
            fixed="""
            import tensorflow as tf
            cb = tf.keras.callbacks.ModelCheckpoint("weights.best.weights.h5", save_weights_only=True, period=5)
            """,
            flagged=('"weights.best.hdf5"', "period=5"),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for call, _ in calls_to(ctx, ("keras.callbacks.ModelCheckpoint",)):
            path = arg(call, 0, "filepath")
            swo_kw = keyword(call, "save_weights_only")
            swo = False if swo_kw is None else const_bool(swo_kw.value)
            if swo is None and len(call.args) > 4:
                swo = const_bool(call.args[4])
            tail = path_tail(ctx, path) if path is not None else None
            if tail is not None and swo is not None:
                if swo and not tail.endswith(".weights.h5"):
                    old, new = weights_suffix_fix(tail)
                    self._report_path(ctx, path, ".weights.h5", old, new,
                                      "Save weights to `.weights.h5` files (unsafe: new file names and format)",
                                      ("load_weights", "glob"))
                elif not swo and not tail.endswith((".keras", ".h5")):
                    old, new = _model_suffix_fix(tail)
                    self._report_path(ctx, path, ".keras", old, new,
                                      "Save `.keras` files (unsafe: a zip file instead of a SavedModel directory)",
                                      ("load_model", "glob"))
            period = keyword(call, "period")
            if period is not None:
                if isinstance(period.value, ast.Constant) and period.value.value == 1:
                    title = "Remove `period=1` (one save per epoch is the default)"
                    ctx.report(self, period, "`period=` was removed from `ModelCheckpoint` in Keras 3 (TypeError)",
                               fix=Fix.safe(title, compose_call_edits, ctx, call, [], ("period",)))
                else:
                    ctx.report(self, period,
                               "`period=` was removed from `ModelCheckpoint` in Keras 3 (TypeError); use "
                               "`save_freq=<period> * steps_per_epoch` (save_freq counts batches)")

    def _report_path(self, ctx, path, ext, old, new, title, kinds):
        readers = readers_of(ctx, path, kinds)
        if readers:
            title = title[:-1] + "; the files are read back under the new name)"

        fix = Fix.unsafe(title, self._rename, ctx, path, old, new, readers)
        ctx.report(self, path, self.message.format(ext=ext), fix=fix)
        for rcall, rpath, kind in readers:
            what = {"glob": "`glob` looks for", "load_weights": "`load_weights` reads",
                    "load_model": "`load_model` reads"}[kind]
            ctx.report(self, rpath,
                       f"{what} the files that the `ModelCheckpoint` on line {line_of(path)} writes; Keras 3 "
                       f"names them `{ext}`, so this name must follow the checkpoint's rename",
                       fix=fix, related=((path, "the checkpoints are written here"),))

    @staticmethod
    def _rename(ctx, path, old, new, readers):
        lit = path_literal(ctx, path)
        if lit is None:
            return None
        e = rename_tail(ctx, lit, old, new)
        if e is None:
            return None
        return [e] + reader_edits(ctx, readers, old, new, skip=(lit,))

