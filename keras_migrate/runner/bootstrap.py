"""Bootstrap the backend runner starts in the user's interpreter.

Run by path, never by module name, so it works in an interpreter where keras-migrate is
not installed::

    python /path/to/bootstrap.py FILE [ARGS...]

It sets nothing itself: ``KERAS_BACKEND``, ``CUDA_VISIBLE_DEVICES`` and the memory
settings come from the environment the runner gives the process. It imports Keras,
prints one machine-readable line on stdout::

    @@keras-migrate {"keras_backend": "jax", "keras_version": "3.x", "devices": [...]}

and then runs FILE as ``__main__`` the way ``python FILE`` does: ``sys.argv`` is
``[FILE, *ARGS]``, ``sys.path[0]`` is FILE's directory (so sibling modules import), and
``if __name__ == "__main__":`` blocks run. An uncaught exception is reported through
``sys.excepthook`` with the bootstrap's own frames removed, and the exit status is 1, as
with ``python FILE``.

Only the standard library is used here, and nothing from keras-migrate.
"""

import json
import os
import runpy
import sys

MARKER = "@@keras-migrate "


def _jax_devices():
    import jax

    out = []
    for d in jax.devices():
        platform = str(getattr(d, "platform", "")).lower()
        kind = "gpu" if platform in ("gpu", "cuda", "rocm") else platform or "unknown"
        name = str(getattr(d, "device_kind", "") or d)
        out.append({"kind": kind, "id": int(getattr(d, "id", len(out))), "name": name})
    return out


def _torch_devices():
    import torch

    out = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            out.append({"kind": "gpu", "id": i, "name": torch.cuda.get_device_name(i)})
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    if not out and mps is not None and mps.is_available():
        out.append({"kind": "mps", "id": 0, "name": "mps"})
    if not out:
        out.append({"kind": "cpu", "id": 0, "name": "cpu"})
    return out


def _tensorflow_devices():
    import tensorflow as tf

    # Physical, not logical, devices: listing logical devices initialises the runtime,
    # after which the program's own tf.config.set_visible_devices / set_memory_growth
    # would raise "cannot be modified after being initialized".
    out = []
    for i, d in enumerate(tf.config.list_physical_devices()):
        name = d.name
        try:
            details = tf.config.experimental.get_device_details(d)
            name = details.get("device_name") or name
        except Exception:
            pass
        kind = d.device_type.lower()
        try:
            index = int(d.name.rsplit(":", 1)[-1])
        except ValueError:
            index = i
        out.append({"kind": kind, "id": index, "name": name})
    return out


_DEVICE_LISTERS = {
    "jax": _jax_devices,
    "torch": _torch_devices,
    "tensorflow": _tensorflow_devices,
}


def describe():
    """What Keras and its backend see, as a JSON-able dict; never raises."""
    info = {"keras_backend": None, "keras_version": None, "devices": [],
            "python": sys.version.split()[0]}
    try:
        import keras

        info["keras_version"] = getattr(keras, "__version__", None)
        info["keras_backend"] = keras.backend.backend()
    except Exception as exc:  # the program's own import will fail the same way
        info["error"] = "{}: {}".format(type(exc).__name__, exc)
        return info
    lister = _DEVICE_LISTERS.get(info["keras_backend"])
    if lister is not None:
        try:
            info["devices"] = lister()
        except Exception as exc:
            info["devices_error"] = "{}: {}".format(type(exc).__name__, exc)
    return info


def _user_traceback(tb, file):
    """Drop the bootstrap's and runpy's frames from the top of a traceback."""
    here = os.path.abspath(__file__)
    first = tb
    while first is not None:
        name = first.tb_frame.f_code.co_filename
        if name == file:
            return first
        first = first.tb_next
    # No frame of the file itself (an error while compiling it, say): drop what is ours.
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if os.path.abspath(name) != here and "runpy" not in name:
            return tb
        tb = tb.tb_next
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.stderr.write("usage: python bootstrap.py FILE [ARGS...]\n")
        return 2
    file = os.path.abspath(argv[0])
    # First of all, as `python FILE` has it: the file's folder leads sys.path (and this
    # folder, holding the runner's modules, is gone before Keras is imported).
    sys.path[0] = os.path.dirname(os.path.realpath(file))
    info = describe()
    sys.stdout.write(MARKER + json.dumps(info, sort_keys=True) + "\n")
    sys.stdout.flush()

    sys.argv = [argv[0]] + argv[1:]
    try:
        runpy.run_path(file, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        tb = _user_traceback(exc.__traceback__, file)
        exc.__traceback__ = tb  # the built-in hook prints the exception's own traceback
        sys.excepthook(type(exc), exc, tb)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
