"""Bootstrap the backend runner starts in the user's interpreter.

Run by path, never by module name, so it works in an interpreter where keras-migrate is
not installed::

    python /path/to/bootstrap.py FILE [ARGS...]

It sets nothing itself: ``KERAS_BACKEND``, ``CUDA_VISIBLE_DEVICES`` and the memory
settings come from the environment the runner gives the process. It imports Keras,
prints one machine-readable line on stdout::

    @@keras-migrate {"keras_backend": "jax", "keras_version": "3.x", "devices": [...]}

(or, in a terminal run, writes it to the file ``$KERAS_MIGRATE_REPORT`` names, with the
traceback of an uncaught exception, so that the program's own output stays untouched)
and then runs FILE as ``__main__`` the way ``python FILE`` does: ``sys.argv`` is
``[FILE, *ARGS]``, ``sys.path[0]`` is FILE's directory (so sibling modules import), and
``if __name__ == "__main__":`` blocks run. An uncaught exception is reported through
``sys.excepthook`` with the bootstrap's own frames removed, and the exit status is 1, as
with ``python FILE``.

Two switches, both from the environment the runner sets:

- ``KERAS_MIGRATE_KERAS2=1`` (``--keras2``, with ``TF_USE_LEGACY_KERAS=1``): the program
  runs on Keras 2 (tf-keras). ``tf.keras`` is tf-keras through TensorFlow's own switch, and
  ``import keras`` / ``from keras.layers import ...`` (standalone Keras 2 code) resolve to
  ``tf_keras`` too (then ``tf_keras.src``, for old module paths such as
  ``keras.utils.np_utils``).
- ``KERAS_MIGRATE_SMOKE=1`` (``--smoke``): ``smoke.py`` beside this file caps training and
  fakes the data set downloads (see there); nothing on disk changes.

Only the standard library is used here, and nothing from keras-migrate.
"""

import atexit
import importlib
import importlib.abc
import importlib.util
import json
import os
import runpy
import sys

MARKER = "@@keras-migrate "
HERE = os.path.dirname(os.path.abspath(__file__))
SMOKE = os.path.join(HERE, "smoke.py")


def _flag(name):
    return os.environ.get(name, "") not in ("", "0", "false", "False")


class _Keras2Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``keras`` and ``keras.X`` are ``tf_keras`` and ``tf_keras.X`` (or ``tf_keras.src.X``):
    the very same module objects, so classes are not defined twice."""

    def __init__(self):
        self._specs = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        rest = fullname[len("keras"):]
        for real in ("tf_keras" + rest, "tf_keras.src" + rest):
            try:
                module = importlib.import_module(real)
            except ImportError:
                continue
            spec = importlib.util.spec_from_loader(fullname, self)
            spec._keras_migrate_module = module
            self._specs[id(module)] = getattr(module, "__spec__", None)
            return spec
        return None

    def create_module(self, spec):
        return spec._keras_migrate_module

    def exec_module(self, module):
        # Loading it under a second name set its __spec__ to ours: give it back its own.
        if id(module) in self._specs:
            module.__spec__ = self._specs.pop(id(module))


def use_keras2():
    """Make ``import keras`` mean tf-keras (Keras 2) in this process."""
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Keras2Alias())


def _load_smoke():
    spec = importlib.util.spec_from_file_location("_keras_migrate_smoke", SMOKE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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


def _drop_smoke_frames(tb):
    """The smoke run's wrappers are not the program's: unlink their frames."""
    head = tb
    while head is not None and os.path.abspath(head.tb_frame.f_code.co_filename) == SMOKE:
        head = head.tb_next
    node = head
    while node is not None:
        nxt = node.tb_next
        while nxt is not None and os.path.abspath(nxt.tb_frame.f_code.co_filename) == SMOKE:
            nxt = nxt.tb_next
        try:
            node.tb_next = nxt
        except (AttributeError, TypeError, ValueError):
            return tb
        node = nxt
    return head


def _user_traceback(tb, file):
    """Drop the bootstrap's and runpy's frames from the top of a traceback (and the smoke
    run's wrappers from the middle)."""
    tb = _drop_smoke_frames(tb)
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


REPORT_ENV = "KERAS_MIGRATE_REPORT"


def _write_report(path, data):
    """Terminal runs (the program owns the terminal, so no marker line on its stdout): what
    the runner needs goes to the file ``$KERAS_MIGRATE_REPORT`` names, rewritten whole."""
    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, sort_keys=True)
    except OSError:
        pass


def _plain_traceback(exc, tb):
    """The traceback as text without colours (Python 3.13 colours it on a terminal)."""
    import traceback

    return "".join(traceback.format_exception(type(exc), exc, tb))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.stderr.write("usage: python bootstrap.py FILE [ARGS...]\n")
        return 2
    file = os.path.abspath(argv[0])
    # First of all, as `python FILE` has it: the file's folder leads sys.path (and this
    # folder, holding the runner's modules, is gone before Keras is imported).
    # (Only when sys.path[0] *is* this folder: under -I, -P or PYTHONSAFEPATH Python put no
    # script folder there, and sys.path[0] is then the user's PYTHONPATH or the stdlib.)
    here = os.path.dirname(os.path.realpath(__file__))
    target = os.path.dirname(os.path.realpath(file))
    if sys.path and os.path.realpath(sys.path[0] or os.getcwd()) == here:
        sys.path[0] = target
    else:
        sys.path.insert(0, target)
    keras2 = _flag("KERAS_MIGRATE_KERAS2")
    if keras2:
        use_keras2()
    info = describe()
    info["keras2"] = keras2
    smoke = _flag("KERAS_MIGRATE_SMOKE")
    report = os.environ.pop(REPORT_ENV, None)
    # in a terminal the report file is what the runner reads (rewritten whole on each change)
    state = {"info": info}
    if smoke and "error" not in info:
        try:
            module = _load_smoke()
            if report:
                # The smoke summary goes to the terminal's stderr, which the runner does not
                # read in a terminal run: it goes into the report too. Registered before
                # install() so that it runs after the summary is printed (atexit is LIFO).
                def _summary_to_report():
                    state["smoke_summary"] = module.final_summary()
                    _write_report(report, state)

                atexit.register(_summary_to_report)
            module.install(keras2=keras2)
            info["smoke"] = True
        except Exception as exc:  # say so, and run the program as it is
            info["smoke_error"] = "{}: {}".format(type(exc).__name__, exc)
            sys.stderr.write("keras-migrate smoke: could not set up the smoke run ({}); "
                             "the program runs unchanged\n".format(info["smoke_error"]))
    if report:  # in a terminal: the program's output is the user's alone
        _write_report(report, state)
    else:
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
        if report:
            state["traceback"] = _plain_traceback(exc, tb)
            _write_report(report, state)
        sys.excepthook(type(exc), exc, tb)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
