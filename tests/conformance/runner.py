"""Runs a batch of snippets in ONE interpreter of the Keras stack (not imported by pytest).

usage: python runner.py MODE JOBS.json RESULTS.jsonl [SKIP.json]

MODE: ``k2`` (tf-keras through ``TF_USE_LEGACY_KERAS=1``; ``import keras`` inside a
snippet gives ``tf_keras``) or ``k3-<backend>`` (Keras 3; the caller sets KERAS_BACKEND).
JOBS.json: ``[{"id": ..., "code": ..., "timeout": seconds}, ...]``.
Each snippet runs with a fresh globals dict (its own module object), in its own temp cwd,
with stdout/stderr, warnings and WARNING log records captured, and
``keras.backend.clear_session()`` plus a reset of global Keras config after it.
One JSON line per snippet is appended (and flushed) to RESULTS.jsonl as soon as it is
done, so the caller can tell which snippet killed the interpreter, if one does.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import io
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import types
import warnings

MODE, JOBS, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
# ids already done (or that crashed) in an earlier interpreter of this batch
SKIP = set(json.load(open(sys.argv[4]))) if len(sys.argv) > 4 else set()
t_start = time.time()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _KerasIsTfKeras(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import keras`` / ``from keras.layers import Dense`` give tf_keras's modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "keras" or fullname.startswith("keras."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("tf_keras" + spec.name[len("keras"):])

    def exec_module(self, module):
        pass


if MODE == "k2":
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf  # noqa: F401
    import tf_keras
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _KerasIsTfKeras())
    sys.modules["keras"] = tf_keras
    keras = tf_keras
else:
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    import keras

import numpy as np  # noqa: E402

jobs = json.load(open(JOBS))
startup_s = round(time.time() - t_start, 2)


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout("snippet timed out")


signal.signal(signal.SIGALRM, _alarm)


class _Logs(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[str] = []

    def emit(self, record):
        try:
            self.records.append(f"{record.name}: {record.getMessage()}"[:1000])
        except Exception:
            pass


def _encode(v, depth=0):
    """RESULT → JSON: numbers, bools, strings, None, lists, dicts, arrays ({"__array__"})."""
    if depth > 20:
        return {"__repr__": repr(v)[:2000]}
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else {"__float__": repr(f)}
    if isinstance(v, dict):
        return {"__dict__": [[_key(k), _encode(x, depth + 1)] for k, x in v.items()]}
    if isinstance(v, (list, tuple)):
        return [_encode(x, depth + 1) for x in v]
    if isinstance(v, np.ndarray):
        return _array(v)
    for conv in (lambda t: t.detach().cpu().numpy(), lambda t: t.numpy(), np.asarray):
        try:
            a = conv(v)
            if isinstance(a, np.ndarray) and a.dtype != object:
                return _array(a)
        except Exception:
            pass
    return {"__repr__": repr(v)[:2000]}


def _key(k):
    return k if isinstance(k, str) else repr(k)


def _array(a):
    if a.dtype.kind in "biuf":
        lst = a.astype(float).tolist() if a.dtype.kind == "f" else a.tolist()
        return {"__array__": _finite(lst), "dtype": str(a.dtype), "shape": list(a.shape)}
    return {"__array__": _encode(a.tolist()), "dtype": str(a.dtype), "shape": list(a.shape)}


def _finite(x):
    if isinstance(x, list):
        return [_finite(i) for i in x]
    if isinstance(x, float) and not math.isfinite(x):
        return {"__float__": repr(x)}
    return x


def _exc_info(e):
    mro = [c.__name__ for c in type(e).__mro__]
    qual = [f"{c.__module__}.{c.__name__}" for c in type(e).__mro__]
    # explicit causes only (``raise X from e``), not exceptions merely being handled
    chain, seen, c = [], set(), e.__cause__
    while c is not None and id(c) not in seen and len(chain) < 5:
        seen.add(id(c))
        chain.append(type(c).__name__)
        c = c.__cause__
    msg = str(e)
    return {"exc_type": type(e).__name__, "exc_mro": mro, "exc_qualnames": qual,
            "exc_chain": chain, "exc_msg": msg[:3000],
            "traceback": traceback.format_exc()[-4000:]}


def _reset_keras():
    try:
        keras.backend.clear_session()
    except Exception:
        pass
    for fn, arg in (("set_floatx", "float32"), ("set_epsilon", 1e-7),
                    ("set_image_data_format", "channels_last")):
        for mod in ("config", "backend"):
            f = getattr(getattr(keras, mod, None), fn, None)
            if f is not None:
                try:
                    f(arg)
                    break
                except Exception:
                    pass
    try:
        keras.mixed_precision.set_global_policy("float32")
    except Exception:
        pass


base_env = dict(os.environ)
base_cwd = os.getcwd()
root = tempfile.mkdtemp(prefix=f"km-conf-{MODE}-")
out = open(OUT, "a")
out.write(json.dumps({"id": "__startup__", "secs": startup_s}) + "\n")
out.flush()
for n, job in enumerate(jobs):
    if job["id"] in SKIP:
        continue
    wd = os.path.join(root, f"s{n}")
    os.makedirs(wd)
    os.chdir(wd)
    fn = os.path.join(wd, "snippet.py")
    with open(fn, "w") as fh:
        fh.write(job["code"])
    modname = f"km_snippet_{n}"
    mod = types.ModuleType(modname)
    mod.__file__ = fn
    sys.modules[modname] = mod
    g = mod.__dict__
    rec = {"id": job["id"], "status": "ok"}
    logs = _Logs()
    loggers = [logging.getLogger(), logging.getLogger("tensorflow"), logging.getLogger("absl"),
               logging.getLogger("keras")]
    for lg in loggers:
        lg.addHandler(logs)
    buf_out, buf_err = io.StringIO(), io.StringIO()
    t0, c0 = time.time(), time.process_time()
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        signal.alarm(int(job.get("timeout", 120)))
        try:
            with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
                exec(compile(job["code"], fn, "exec"), g)
        except BaseException as e:  # noqa: B902 - SystemExit, timeouts and all
            rec["status"] = "error"
            rec.update(_exc_info(e))
        finally:
            signal.alarm(0)
    rec["secs"] = round(time.time() - t0, 3)
    rec["cpu_secs"] = round(time.process_time() - c0, 3)  # all threads; wall time suffers from load
    for lg in loggers:
        lg.removeHandler(logs)
    ws = []
    for w in wlist:
        txt = f"{w.category.__name__}: {w.message}"[:1000]
        if txt not in ws:
            ws.append(txt)
    rec["warnings"] = ws[:30]
    rec["logs"] = list(dict.fromkeys(logs.records))[:30]
    rec["stdout"] = buf_out.getvalue()[-2000:]
    rec["stderr"] = buf_err.getvalue()[-2000:]
    if "RESULT" in g:
        try:
            rec["result"] = _encode(g["RESULT"])
            rec["result_repr"] = repr(g["RESULT"])[:500]
        except Exception as e:  # pragma: no cover - defensive
            rec["result"] = {"__repr__": f"<unencodable RESULT: {e!r}>"}
    _reset_keras()
    sys.modules.pop(modname, None)
    os.chdir(base_cwd)
    if os.environ != base_env:
        os.environ.clear()
        os.environ.update(base_env)
    shutil.rmtree(wd, ignore_errors=True)
    out.write(json.dumps(rec) + "\n")
    out.flush()
out.write(json.dumps({"id": "__done__", "secs": round(time.time() - t_start, 2)}) + "\n")
out.close()
shutil.rmtree(root, ignore_errors=True)
