"""K203 save-weights-filename."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      arg, compose_call_edits, keyword, method_calls, receiver_kind)

from ._helpers import (has_ext, line_of, path_literal, path_tail, reader_edits, readers_of, rename_tail,
                       weights_suffix_fix)

_READABLE = (".weights.h5", ".weights.json", ".keras", ".h5", ".hdf5")


class SaveWeightsFilename(Rule):
    """Saves or loads weights under a name Keras 3 rejects (`save_weights("w.h5")`, `by_name=`).

    ## What it does
    Flags, on Keras models and layers:
    - `save_weights(path)` whose path is known not to end in `.weights.h5` (an `.h5` file or
      a TF-checkpoint prefix such as `"ckpt/weights"`), and `save_weights(..., save_format=)`;
    - `load_weights(path, by_name=...)` when the file is a `.weights.h5`/`.keras` file (or
      will be one, because the same file's `save_weights` is renamed);
    - `load_weights(path)` of a TF-checkpoint prefix that this file does not write.

    ## Why is this bad?
    On Keras 3.15.1 (all backends): `save_weights("w.h5")` raises `ValueError: The filename
    must end in .weights.h5. Received: filepath=w.h5`; `save_format=` raises `TypeError:
    Model.save_weights() got an unexpected keyword argument 'save_format'`; `by_name=` raises
    `ValueError: by_name only supports loading legacy '.h5' or '.hdf5' files` on a
    `.weights.h5` file; a Keras 2 TF-checkpoint cannot be read at all (`ValueError: File
    format not supported`). Loading an old Keras 2 `.h5` weights file still works, with or
    without `by_name`, so that is not flagged.

    ## Example
    ```python
    model.save_weights("weights.h5")
    model.load_weights("weights.h5", by_name=True)
    ```

    ## Use instead
    ```python
    model.save_weights("model.weights.h5")
    model.load_weights("model.weights.h5", skip_mismatch=True)  # if you relied on by_name
    ```

    ## Fix safety
    The rename is unsafe: the file gets a new name (`w.h5` → `w.weights.h5`, `ckpt/w` →
    `ckpt/w.weights.h5`), so other programs that read the old name must follow; a
    TF-checkpoint prefix used to create its directory, a `.weights.h5` file needs the
    directory to exist. The file's readers of the same file, `load_weights` and `glob.glob`
    patterns that match it, found by the path's structure (`os.path.join`, f-strings,
    `pathlib` `/`, names assigned once) rather than equal literals, are renamed by the same
    fix; each carries its own finding that points at the save (related information). Dropping `save_format=` alone (path already `.weights.h5`) is safe.
    `by_name=` has no equivalent (`.weights.h5` files load by structure), so it gets guidance
    only: keep a legacy `.h5` file, or use `skip_mismatch=True`.

    ## References
    - https://keras.io/api/models/model_saving_apis/weights_saving_and_loading/
    - docs/research/keras3-facts.md#save_weights-and-load_weights
    """

    code = "K203"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "save-weights-filename"
    message = "Keras 3 weights files must end in `.weights.h5`: `{call}` raises ValueError"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("_weights",)

    VALID = [
        Valid("""
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.save_weights("model.weights.h5")
            model.load_weights("model.weights.h5", skip_mismatch=True)
            model.load_weights("keras2_weights.h5", by_name=True)  # legacy .h5 still loads by name
        """),
        Valid("""
            import keras
            class Agent:
                def save_weights(self, path):
                    pass
            Agent().save_weights("agent.h5")
            def store(model, path):
                model.save_weights(path)
        """),
        Valid("""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save_weights("sharded.weights.json", max_shard_size=1)
            note = "weights.h5"
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.save_weights("weights.h5")
            other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            other.load_weights("weights.h5")
            RESULT = bool(np.allclose(model.get_weights()[0], other.get_weights()[0]))
            """,
            fixed="""
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.save_weights("weights.weights.h5")
            other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            other.load_weights("weights.weights.h5")
            RESULT = bool(np.allclose(model.get_weights()[0], other.get_weights()[0]))
            """,
            flagged=('"weights.h5"', '"weights.h5"'),
            unsafe=True,
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # the reader is found by the path's structure: os.path.join on both sides
        Invalid(
            """
            import os
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.save_weights(os.path.join("out", "snap"))
            other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            other.load_weights(os.path.join("out", "snap"))
            RESULT = bool(np.allclose(model.get_weights()[0], other.get_weights()[0]))
            """,
            fixed="""
            import os
            import keras
            import numpy as np
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.save_weights(os.path.join("out", "snap.weights.h5"))
            other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            other.load_weights(os.path.join("out", "snap.weights.h5"))
            RESULT = bool(np.allclose(model.get_weights()[0], other.get_weights()[0]))
            """,
            flagged=('os.path.join("out", "snap")', 'os.path.join("out", "snap")'),
            unsafe=True,
            run=Run(k3="ValueError", setup="import os; os.makedirs('out', exist_ok=True)",
                    fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # an f-string on one side, a pathlib path on the other
        Invalid(
            """
            import pathlib
            import keras
            import numpy as np
            run = "r1"
            out = pathlib.Path("out")
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.save_weights(f"out/{run}_w.h5")
            other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            other.load_weights(out / f"{run}_w.h5")
            RESULT = bool(np.allclose(model.get_weights()[0], other.get_weights()[0]))
            """,
            fixed="""
            import pathlib
            import keras
            import numpy as np
            run = "r1"
            out = pathlib.Path("out")
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.save_weights(f"out/{run}_w.weights.h5")
            other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            other.load_weights(out / f"{run}_w.weights.h5")
            RESULT = bool(np.allclose(model.get_weights()[0], other.get_weights()[0]))
            """,
            flagged=('f"out/{run}_w.h5"', 'out / f"{run}_w.h5"'),
            unsafe=True,
            run=Run(k3="ValueError", setup="import os; os.makedirs('out', exist_ok=True)",
                    fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.save_weights("m.weights.h5", save_format="h5")
            RESULT = model.count_params()
            """,
            fixed="""
            import keras
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.save_weights("m.weights.h5")
            RESULT = model.count_params()
            """,
            flagged=('save_format="h5"',),
            run=Run(k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # a TF-checkpoint prefix in an f-string; save_format dropped by the same fix
        Invalid(
            """
            from tensorflow import keras
            def train(epochs):
                model = keras.Sequential([keras.layers.Dense(1)])
                for e in range(epochs):
                    model.save_weights(f"ckpt/epoch_{e}.ckpt", save_format="tf")
            """,
            fixed="""
            from tensorflow import keras
            def train(epochs):
                model = keras.Sequential([keras.layers.Dense(1)])
                for e in range(epochs):
                    model.save_weights(f"ckpt/epoch_{e}.weights.h5")
            """,
            flagged=('f"ckpt/epoch_{e}.ckpt"',),
            unsafe=True,
        ),
        # by_name on a .weights.h5 file: guidance only
        Invalid(
            """
            import keras
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs))
            model.save_weights("w.weights.h5")
            model.load_weights("w.weights.h5", by_name=True)
            """,
            fixed=None,
            flagged=("by_name=True",),
            run=Run(k3="ValueError"),
        ),
        # a Keras 2 TF-checkpoint cannot be read: guidance only
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.load_weights("checkpoints/my_checkpoint")
            """,
            fixed=None,
            flagged=('"checkpoints/my_checkpoint"',),
        ),
    ]

    def _receiver_ok(self, ctx, recv):
        return receiver_kind(ctx, recv) in (MODEL, LAYER)

    def check(self, ctx):
        saves = []
        read_by: dict[int, tuple] = {}  # id(reader call) -> (save call, save path, fix)
        for call, f in method_calls(ctx, ("save_weights",)):
            if not self._receiver_ok(ctx, f.value) or keyword(call, "max_shard_size") is not None:
                continue
            path = arg(call, 0, "filepath")
            tail = path_tail(ctx, path) if path is not None else None
            bad = tail is not None and not tail.endswith(".weights.h5")
            fmt = keyword(call, "save_format")
            if not bad and fmt is None:
                continue
            saves.append((call, path, tail, bad))
        for call, path, tail, bad in saves:
            seg = ctx.segment(call)
            short = seg if len(seg) <= 60 else seg[:57] + "..."
            if bad:
                old, new = weights_suffix_fix(tail)
                readers = readers_of(ctx, path, ("load_weights", "glob"))
                title = "Save to a `.weights.h5` file (unsafe: the file is renamed; its directory must exist)"
                if readers:
                    title = ("Save to a `.weights.h5` file and read that name back (unsafe: the file is "
                             "renamed; its directory must exist)")
                fix = Fix.unsafe(title, self._rename_fix, ctx, call, path, old, new, tuple(readers))
                ctx.report(self, path, self.message.format(call=short), fix=fix)
                for r in readers:
                    read_by.setdefault(id(r[0]), (call, path, fix, title, r))
            else:
                title = "Remove `save_format=` (Keras 3 always writes `.weights.h5`)"
                ctx.report(self, keyword(call, "save_format"), "`save_weights(save_format=)` raises TypeError in Keras 3",
                           fix=Fix.safe(title, compose_call_edits, ctx, call, [], ("save_format",)))
        for save_call, save_path, fix, title, (rcall, rpath, kind) in read_by.values():
            if kind == "load_weights" and keyword(rcall, "by_name") is not None:
                continue  # reported below, with its own guidance
            what = "`glob` looks for" if kind == "glob" else "`load_weights` reads"
            ctx.report(self, rpath,
                       f"{what} the weights file that `save_weights` on line {line_of(save_call)} writes; "
                       "Keras 3 saves `.weights.h5` only, so this name must follow the save's rename",
                       fix=fix, related=((save_path, "the weights are saved here"),))
        for call, f in method_calls(ctx, ("load_weights",)):
            if not self._receiver_ok(ctx, f.value):
                continue
            path = arg(call, 0, "filepath")
            tail = path_tail(ctx, path) if path is not None else None
            if tail is None:
                continue
            will_be_renamed = id(call) in read_by
            if keyword(call, "by_name") is not None:
                if will_be_renamed or not has_ext(tail, (".h5", ".hdf5")) or tail.endswith(".weights.h5"):
                    ctx.report(self, keyword(call, "by_name"),
                               "`by_name=` only works for legacy `.h5` files in Keras 3 (ValueError on "
                               "`.weights.h5`); keep an `.h5` file or use `skip_mismatch=True`")
                continue
            if not will_be_renamed and not has_ext(tail, _READABLE) and not tail.startswith("hf://"):
                ctx.report(self, path,
                           "Keras 3 cannot read TF-checkpoint weights (ValueError: File format not "
                           "supported); re-save them from Keras 2 as `.h5` and load that file")

    def _rename_fix(self, ctx, call, path, old, new, readers=()):
        lit = path_literal(ctx, path)
        if lit is None:
            return None
        edit = rename_tail(ctx, lit, old, new)
        if edit is None:
            return None
        edits = [edit] + reader_edits(ctx, readers, old, new, skip=(lit,))
        return compose_call_edits(ctx, call, edits, ("save_format",))

