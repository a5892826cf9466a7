#!/usr/bin/env python3
"""Generate ``rules/keras_migrate/rules/api/keras_api.json``: the whole Keras 2 public API, as data.

Developer command (the normal test run does not call it; the conformance test runs
``--check``)::

    python scripts/generate_api_data.py            # regenerate rules/keras_migrate/rules/api/keras_api.json
    python scripts/generate_api_data.py --check    # exit 1 (with a diff summary) if stale

What it does
------------
1. In two subprocesses of the Keras stack interpreter (``.venv-keras/bin/python``, made by
   ``scripts/setup-keras-env.sh``; override with ``KERAS_ENV``) it walks the public API of
   Keras 2 (``tf.keras`` with ``TF_USE_LEGACY_KERAS=1``, i.e. ``tf_keras.api._v2.keras``)
   and of Keras 3 (``import keras`` minus ``keras.src`` / ``keras._tf_keras``, plus the
   ``keras._tf_keras.keras`` compatibility shim).  Paths are normalised to
   ``keras.<sub>.<name>``.  For every class and function it records the keyword arguments
   it accepts: explicit parameters plus names popped from ``**kwargs`` along the MRO.
   Members and method keyword arguments of live core objects (a compiled functional
   model, a built Dense layer, an LSTM, an Adam optimizer, a metric, a loss, a callback)
   are recorded too.
2. It diffs the two sides and, in a third subprocess (Keras 3, TensorFlow backend), checks
   every candidate keyword argument by really calling the Keras 3 constructor, function or
   method with it: ``rejected`` (it raises), ``warns`` (accepted with a warning naming
   it), ``ignored`` (accepted, object state unchanged) or ``accepted``.  Functions that
   only moved (``keras.backend.mean`` -> ``keras.ops.mean``) are probed numerically on
   both sides, and every hand-written ``checks`` pair in the overrides is evaluated on
   both sides; a ``safe`` fix whose check fails is demoted to ``unsafe``.
3. It merges ``rules/keras_migrate/rules/api/overrides.json`` (hand-written guidance, renames, transforms)
   and writes one deterministic JSON file (sorted keys, no timestamps).

The dump/verify stages run inside the Keras interpreter; the driver itself needs only the
standard library, so ``--check`` can run from the project's own virtual environment.
"""
from __future__ import annotations

import argparse
import ast
import copy
import difflib
import fnmatch
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "rules" / "keras_migrate" / "rules" / "api" / "keras_api.json"
OVERRIDES = REPO / "rules" / "keras_migrate" / "rules" / "api" / "overrides.json"
STACK_STAMP = ".keras-migrate-stack"
KERAS2_VERSION = "2.21.0"
KERAS3_VERSION = "3.15.1"

# Core objects whose members are diffed. Keys are the names rules use for a receiver's
# type; a Model is also a Layer (look up "Model" first, then "Layer").
CORE_TYPES = ("Model", "Layer", "RNN", "Optimizer", "Metric", "Loss", "Callback")

# Base classes used to tag symbols (for override groups such as "@Layer").
TAG_BASES = {
    "Model": "Model",
    "Layer": "layers.Layer",
    "Optimizer": "optimizers.Optimizer",
    "Callback": "callbacks.Callback",
    "Metric": "metrics.Metric",
    "Loss": "losses.Loss",
    "Regularizer": "regularizers.Regularizer",
    "Initializer": "initializers.Initializer",
}

# --------------------------------------------------------------------------------------
# Shared helpers (used by the dump/verify stages, which run in the Keras interpreter)
# --------------------------------------------------------------------------------------

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_POP_RE = re.compile(r"""kwargs\.(?:pop|get)\(\s*["'](\w+)["']""")
_IN_RE = re.compile(r"""["'](\w+)["']\s+(?:not\s+)?in\s+kwargs""")
_ALLOWED_RE = re.compile(r"allowed_kwargs\s*=\s*\{([^}]*)\}", re.S)
_STR_RE = re.compile(r"""["'](\w+)["']""")
# ``name(..., **kwargs)``: a call that forwards the caller's keyword arguments
_FORWARD_RE = re.compile(r"([A-Za-z_][\w.]*)\((?:[^()]|\([^()]*\))*?\*\*kwargs\s*,?\s*\)")
# ``kwargs.pop("name", None)`` as a statement of its own: the value is thrown away
_DISCARD_RE = re.compile(r"""^[ \t]*kwargs\.pop\(\s*["'](\w+)["'][^()\n]*\)[ \t]*(?:#.*)?$""", re.M)
_VALIDATE = ("validate_kwargs", "Unrecognized keyword argument", "not recognized",
             "Keyword argument not understood", "if kwargs:")


def _clean(msg, limit=200):
    msg = _HEX.sub("0x…", str(msg)).strip()
    msg = msg.splitlines()[0] if msg else ""
    return msg[:limit]


def _jsonable(v, depth=0):
    """A JSON-able, id-free image of a value (for defaults and state snapshots)."""
    import inspect

    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x, depth + 1) for x in v] if depth < 4 else "<seq>"
    if isinstance(v, dict):
        if depth >= 4:
            return "<dict>"
        return {str(k): _jsonable(x, depth + 1) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if inspect.isclass(v):
        return "<class " + v.__name__ + ">"
    if callable(v):
        return "<callable " + getattr(v, "__name__", type(v).__name__) + ">"
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return _jsonable(v.item(), depth)
    except Exception:
        pass
    return "<" + type(v).__name__ + ">"


def _params(fn):
    """[{name, kind, required, default}] of a callable's signature, or None."""
    import inspect

    try:
        sig = inspect.signature(fn)
    except Exception:
        return None
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: "posonly",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "pos",
        inspect.Parameter.VAR_POSITIONAL: "varargs",
        inspect.Parameter.KEYWORD_ONLY: "kwonly",
        inspect.Parameter.VAR_KEYWORD: "varkw",
    }
    out = []
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 and p.name in ("self", "cls"):
            continue
        e = {"name": p.name, "kind": kinds[p.kind], "required": p.default is p.empty}
        if p.default is not p.empty:
            e["default"] = _jsonable(p.default)
        out.append(e)
    return out


def _src(obj):
    import inspect

    try:
        return inspect.getsource(obj)
    except Exception:
        return ""


def _forwarded(fn, src, owner=None):
    """The functions ``fn`` hands its ``**kwargs`` to: ``self._validate_compile(..., **kwargs)``
    (a method of the same object) and ``saving_api.save_model(..., **kwargs)`` (a name in the
    function's module). ``super().__init__`` is followed by :func:`_effective` (the MRO)."""
    out = []
    owner = getattr(fn, "__self__", owner)
    glb = getattr(getattr(fn, "__func__", fn), "__globals__", {})
    for m in _FORWARD_RE.finditer(src):
        dotted = m.group(1)
        parts = dotted.split(".")
        if parts[0] == "super" or parts[-1] == "__init__":
            continue
        try:
            if parts[0] == "self":
                if owner is None or len(parts) != 2:
                    continue
                target = getattr(type(owner), parts[1], None)
            else:
                target = glb.get(parts[0])
                for part in parts[1:]:
                    target = getattr(target, part, None)
        except Exception:
            continue
        if callable(target) and str(getattr(target, "__module__", "")).startswith(("tf_keras", "keras")):
            out.append((target, _call_args(m.group(0)[len(dotted):])))
    return out


def _call_args(text):
    """(number of leading positional arguments, keyword names) of ``(a, b, k=v, **kwargs)``."""
    inner, depth, parts, cur = text.strip()[1:-1], 0, [], ""
    for ch in inner:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    n_pos, names = 0, set()
    for part in filter(None, parts):
        kw = re.match(r"(\w+)\s*=(?!=)", part)
        if kw:
            names.add(kw.group(1))
        elif not part.startswith("*"):
            n_pos += 1
    return n_pos, names


def _fn_kwargs(fn, depth=0, seen=None, owner=None):
    """(explicit names, popped names, has **kwargs, validated, discarded) for one function.

    ``popped`` are the keys read out of ``**kwargs``, also by the functions it forwards
    ``**kwargs`` to (tf-keras' ``compile`` pops ``cloning`` in ``_validate_compile``);
    ``discarded`` are those popped by a bare statement, the value thrown away
    (``kwargs.pop("cloning", None)``): Keras 2 accepted and ignored them."""
    ps = _params(fn)
    if ps is None:
        return None
    explicit = [p["name"] for p in ps if p["kind"] in ("pos", "kwonly")]
    var_kw = any(p["kind"] == "varkw" for p in ps)
    src = _src(fn)
    popped = set(_POP_RE.findall(src)) | set(_IN_RE.findall(src))
    for block in _ALLOWED_RE.findall(src):
        popped |= set(_STR_RE.findall(block))
    discarded = set(_DISCARD_RE.findall(src))
    validated = any(m in src for m in _VALIDATE)
    seen = set() if seen is None else seen
    if var_kw and depth < 3:
        owner = getattr(fn, "__self__", owner)
        for target, (n_pos, passed) in _forwarded(fn, src, owner):
            key = getattr(target, "__qualname__", None) or id(target)
            if key in seen:
                continue
            seen.add(key)
            r = _fn_kwargs(target, depth + 1, seen, owner)
            if r is None:
                continue
            # what the callee takes by name is accepted through the caller's **kwargs too
            popped |= set(r[1]) | (set(r[0][n_pos:]) - passed)
            discarded |= set(r[4])
            validated = validated or r[3]
    return explicit, sorted(popped - set(explicit)), var_kw, validated, sorted(discarded - set(explicit))


def _effective(obj):
    """Accepted keyword arguments of a class constructor (following the MRO while
    ``**kwargs`` is forwarded) or of a function."""
    import inspect

    explicit, popped = set(), set()
    if inspect.isclass(obj):
        for klass in obj.__mro__:
            if klass is object:
                return {"explicit": sorted(explicit), "popped": sorted(popped - explicit), "open": False}
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            r = _fn_kwargs(init)
            if r is None:
                break
            ex, po, var_kw, validated, _ = r
            explicit |= set(ex)
            popped |= set(po)
            if not var_kw or validated:
                return {"explicit": sorted(explicit), "popped": sorted(popped - explicit), "open": False}
        return {"explicit": sorted(explicit), "popped": sorted(popped - explicit), "open": True}
    r = _fn_kwargs(obj)
    if r is None:
        return {"explicit": [], "popped": [], "open": True}
    ex, po, var_kw, validated, dis = r
    return {"explicit": sorted(ex), "popped": sorted(po), "open": bool(var_kw and not validated),
            "discarded": dis}


def _kind(v):
    import inspect

    if inspect.ismodule(v):
        return "module"
    if inspect.isclass(v):
        return "class"
    if callable(v):
        return "function"
    return "constant"


def _walk(root, is_api_module, with_details=True):
    """{path: record} for every public name reachable from ``root`` through API modules."""
    import inspect

    out = {}

    def rec(mod, path, stack):
        for name in sorted(dir(mod)):
            if name.startswith("_"):
                continue
            p = path + "." + name
            try:
                v = getattr(mod, name)
            except Exception as e:  # a lazy import that fails
                out[p] = {"kind": "unloadable", "error": _clean(repr(e))}
                continue
            if inspect.ismodule(v):
                if not is_api_module(v) or id(v) in stack:
                    continue
                out[p] = {"kind": "module"}
                rec(v, p, stack | {id(v)})
                continue
            r = {"kind": _kind(v)}
            if with_details and r["kind"] in ("class", "function"):
                r["impl"] = "%s.%s" % (getattr(v, "__module__", "?"), getattr(v, "__qualname__", name))
                r["kwargs"] = _effective(v)
                r["params"] = _params(v.__init__ if r["kind"] == "class" else v)
            out[p] = r

    rec(root, "keras", {id(root)})
    return out


def _tags(root, tree):
    """Tag class paths with the core base classes they derive from."""
    import inspect

    bases = {}
    for tag, rel in TAG_BASES.items():
        try:
            bases[tag] = _resolve(root, "keras." + rel)
        except Exception:
            pass
    for p, r in tree.items():
        if r["kind"] != "class":
            continue
        try:
            cls = _resolve(root, p)
        except Exception:
            continue
        t = sorted(tag for tag, b in bases.items() if inspect.isclass(cls) and issubclass(cls, b))
        if t:
            r["tags"] = t


def _resolve(root, path):
    obj = root
    for part in path.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def _members(obj):
    import inspect

    res = {}
    for n in dir(obj):
        if n.startswith("_"):
            continue
        try:
            a = inspect.getattr_static(obj, n)
        except Exception:
            a = None
        if isinstance(a, property):
            res[n] = {"kind": "property"}
            continue
        try:
            v = getattr(obj, n)
        except Exception as e:
            res[n] = {"kind": "raises_on_access", "error": type(e).__name__}
            continue
        if inspect.ismethod(v) or inspect.isfunction(v):
            res[n] = {"kind": "method", "kwargs": _effective(v)}
        else:
            res[n] = {"kind": "attribute"}
    return res


def _core_instances(keras, workdir):
    import numpy as np

    inp = keras.Input((3,))
    m = keras.Model(inp, keras.layers.Dense(1)(inp))
    m.compile(optimizer="adam", loss="mse", metrics=["mae"])
    m.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
    d = keras.layers.Dense(2)
    d.build((None, 3))
    lstm = keras.layers.LSTM(2)
    lstm(np.ones((1, 2, 3), "float32"))
    return {
        "Model": m,
        "Layer": d,
        "RNN": lstm,
        "Optimizer": keras.optimizers.Adam(),
        "Metric": keras.metrics.Mean(),
        "Loss": keras.losses.MeanSquaredError(),
        "Callback": keras.callbacks.Callback(),
    }


# ---- numeric probes and hand-written checks ------------------------------------------

def _probe_inputs():
    import numpy as np

    x = np.array([[-1.5, 0.5, 2.0], [0.25, -0.75, 1.0], [3.0, -2.0, 0.1]], "float32")
    y = (x.T + 0.5).astype("float32")
    p = (1.0 / (1.0 + np.exp(-x))).astype("float32")
    q = (p / p.sum(-1, keepdims=True)).astype("float32")
    return {
        "x": x, "y": y, "a": x, "b": y, "tensor": x, "value": x, "inputs": x,
        "tensors": [x, y], "reference": x, "indices": np.array([0, 2], "int32"),
        "target": q, "output": q, "y_true": q, "y_pred": p, "labels": q, "logits": x,
        "dtype": "float32", "n": 2, "rep": 2, "num_classes": 3, "shape": (9,),
        "min_value": -1.0, "max_value": 1.0, "alpha": 0.2, "pattern": (1, 0), "axis": 1,
        "k": 1, "condition": x > 0, "level": 0.5,
        "then_expression": x, "else_expression": y, "targets": np.array([0, 2, 1], "int32"),
        "predictions": q, "start": 5, "axes": 1,
    }


def _flatten_out(v, depth=0):
    """Nested list of floats / strings from an op's output (for cross-process compare)."""
    import numpy as np

    if depth > 3:
        return "<deep>"
    if isinstance(v, (list, tuple)):
        return [_flatten_out(x, depth + 1) for x in v]
    if isinstance(v, dict):
        return {str(k): _flatten_out(x, depth + 1) for k, x in sorted(v.items())}
    if v is None or isinstance(v, (bool, str)):
        return v
    try:
        if hasattr(v, "numpy") and not isinstance(v, np.ndarray):
            v = v.numpy()
        a = np.asarray(v)
        if a.dtype.kind in "fiub":
            vals = [float(t) for t in a.ravel()[:64]]
            return {"shape": list(a.shape),
                    "values": [round(t, 5) if math.isfinite(t) else repr(t) for t in vals]}
    except Exception:
        pass
    return "<" + type(v).__name__ + ">"


# per-function probe arguments where the generic ones do not fit
PROBE_ARGS = {"keras.backend.tile": {"n": (2, 1)}, "keras.backend.repeat": {"n": 2}}


def _run_probe(fn, names, kwargs=None, path=None, tensors=False):
    """Call ``fn`` on the fixed probe inputs named by ``names`` (positionally)."""
    import numpy as np

    inputs = dict(_probe_inputs(), **PROBE_ARGS.get(path, {}))
    args = [inputs[n] for n in names]
    if tensors:  # Keras 2 backend functions want tf tensors, not NumPy arrays
        import tensorflow as tf

        conv = lambda a: tf.constant(a) if isinstance(a, np.ndarray) else a
        args = [[conv(t) for t in a] if isinstance(a, list) else conv(a) for a in args]
    return _flatten_out(fn(*args, **(kwargs or {})))


def _run_check(keras, code):
    """Run one hand-written check snippet; it sets ``result``."""
    import numpy as np

    ns = {"keras": keras, "np": np, "X": _probe_inputs()["x"]}
    exec(compile(code, "<check>", "exec"), ns)
    return _flatten_out(ns["result"])


def _safe_call(fn, *a):
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"ok": fn(*a)}
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, _clean(e, 160))}


# --------------------------------------------------------------------------------------
# Stage 1: dump one side (runs in the Keras interpreter)
# --------------------------------------------------------------------------------------

def stage_dump(side, out, overrides_path, workdir):
    import inspect
    import warnings

    warnings.simplefilter("ignore")
    overrides = json.load(open(overrides_path))
    os.chdir(workdir)
    if side == "k2":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tensorflow as tf

        tf.keras.layers  # force the lazy loader
        root = sys.modules["tf_keras.api._v2.keras"]
        import tf_keras

        version = tf_keras.__version__
        trees = {"keras": _walk(root, lambda m: m.__name__.startswith("tf_keras.api._v2.keras"))}
    else:
        os.environ["KERAS_BACKEND"] = "tensorflow"
        import keras

        root = keras
        version = keras.__version__

        def pub(m):
            n = m.__name__
            return (n == "keras" or n.startswith("keras.")) and not n.startswith(("keras.src", "keras._tf_keras"))

        trees = {
            "keras": _walk(root, pub),
            "shim": _walk(keras._tf_keras.keras, lambda m: m.__name__.startswith("keras.")
                          and not m.__name__.startswith("keras.src"), with_details=False),
        }
        # stubs: public classes that exist only to raise ImportError (optimizers.legacy.*)
        for p, r in trees["keras"].items():
            if r["kind"] == "class":
                s = _src(_resolve(root, p).__dict__.get("__init__", None) or (lambda: None))
                if "raise ImportError" in s and s.count("\n") < 25:
                    r["stub"] = True
    _tags(root, trees["keras"])
    data = {"version": version, "trees": trees, "members": {}, "probes": {}, "checks": {}}
    try:
        inst = _core_instances(root, workdir)
        for t in CORE_TYPES:
            data["members"][t] = _members(inst[t])
    except Exception as e:  # pragma: no cover - reported by the driver
        data["members_error"] = _clean(repr(e))
    if side == "k2":
        # numeric probes of every function that may have moved (evaluated with the same
        # inputs in Keras 3 by stage_verify)
        for p, r in trees["keras"].items():
            if r["kind"] != "function" or not r.get("params"):
                continue
            if not p.startswith(("keras.backend.", "keras.losses.", "keras.metrics.", "keras.activations.")):
                continue
            leaf = p.rsplit(".", 1)[-1]
            if leaf.startswith(("set_", "clear_", "reset_", "manual_", "get_session", "print", "learning_phase")):
                continue  # global side effects
            req = [q["name"] for q in r["params"] if q["required"] and q["kind"] in ("pos", "posonly")]
            if any(q["required"] and q["kind"] in ("kwonly", "varargs") for q in r["params"]):
                continue
            if any(n not in _probe_inputs() for n in req):
                continue
            res = _safe_call(_run_probe, _resolve(root, p), req, None, p, True)
            if "ok" in res:
                data["probes"][p] = {"args": req, "out": res["ok"]}
    for cid, c in sorted(overrides.get("checks", {}).items()):
        data["checks"][cid] = _safe_call(_run_check, root, c[side])
    json.dump(data, open(out, "w"), sort_keys=True)


# --------------------------------------------------------------------------------------
# Stage 3: verify candidate kwargs / probes in Keras 3 (runs in the Keras interpreter)
# --------------------------------------------------------------------------------------

GUESS = {
    "units": 2, "filters": 2, "kernel_size": 3, "rate": 0.1, "pool_size": 2,
    "size": 2, "cropping": 1, "padding": 1, "target_shape": (2,), "dims": (1,),
    "n": 2, "output_dim": 2, "input_dim": 10, "num_heads": 2, "key_dim": 2,
    "stddev": 0.1, "height": 2, "width": 2, "factor": 0.1, "scale": 1.0,
    "num_tokens": 4, "depth": 2, "equation": "ab,bc->ac", "output_shape": (2,),
    "l1": 0.01, "l2": 0.01, "learning_rate": 0.01, "filepath": "x.keras",
    "max_value": 1.0, "num_bins": 2, "mask_value": 0, "theta": 1.0,
    "output_mode": "int", "vocabulary": ["a", "b"], "axis": -1, "shape": (3,),
    "activation": "relu", "function": None, "schedule": None, "initial_learning_rate": 0.1,
    "decay_steps": 10, "decay_rate": 0.9, "boundaries": [1], "values": [0.1, 0.01],
    "end_learning_rate": 0.01, "thresholds": 0.5, "class_id": 0, "num_classes": 2,
    "backup_dir": "bk", "alpha": 0.1, "first_decay_steps": 10, "l2_regularization_strength": 0.0,
    "normalize": False, "top_k": 1, "bin_boundaries": [0.5], "layer": None, "cell": None,
    "cells": None, "fn": None, "seed": 1, "name": "n", "dtype": "float32",
}


# constructor arguments for Keras 3 classes the generic guesses cannot build
CTOR_ARGS = {
    "keras.layers.Bidirectional": lambda k: {"layer": k.layers.LSTM(2)},
    "keras.layers.CategoryEncoding": lambda k: {"num_tokens": 4},
    "keras.layers.Discretization": lambda k: {"num_bins": 2},
    "keras.layers.InputLayer": lambda k: {"shape": (3,)},
    "keras.layers.Activation": lambda k: {"activation": "relu"},
    "keras.layers.Dot": lambda k: {"axes": 1},
    "keras.layers.RandomTranslation": lambda k: {"height_factor": 0.1, "width_factor": 0.1},
    "keras.layers.RandomZoom": lambda k: {"height_factor": 0.1},
    "keras.callbacks.BackupAndRestore": lambda k: {"backup_dir": "bk"},
    "keras.optimizers.Optimizer": lambda k: {"learning_rate": 0.01},
    "keras.layers.TimeDistributed": lambda k: {"layer": k.layers.Dense(2)},
}

# real calls for Keras 3 functions that take **kwargs (so Python itself cannot reject)
FUNC_CALLS = {
    "keras.layers.dot": lambda k, kw: k.layers.dot([k.Input((3,)), k.Input((3,))], axes=1, **kw),
    "keras.saving.deserialize_keras_object": lambda k, kw: k.saving.deserialize_keras_object(
        {"class_name": "Dense", "config": {"units": 2}, "module": "keras.layers"}, **kw),
    "keras.utils.deserialize_keras_object": lambda k, kw: k.utils.deserialize_keras_object(
        {"class_name": "Dense", "config": {"units": 2}, "module": "keras.layers"}, **kw),
    "keras.models.save_model": lambda k, kw: k.models.save_model(_tiny_model(k), "fn_probe", **kw),
    "keras.saving.save_model": lambda k, kw: k.saving.save_model(_tiny_model(k), "fn_probe", **kw),
    "keras.utils.plot_model": lambda k, kw: k.utils.plot_model(_tiny_model(k), "fn_probe.png", **kw),
    "keras.utils.model_to_dot": lambda k, kw: k.utils.model_to_dot(_tiny_model(k), **kw),
}


def _tiny_model(keras):
    inp = keras.Input((3,))
    return keras.Model(inp, keras.layers.Dense(1)(inp))


def _ctor_args(keras, cls, path=None):
    """Required constructor arguments for a Keras 3 class, or None if we cannot guess."""
    import inspect

    if path in CTOR_ARGS:
        return CTOR_ARGS[path](keras)

    try:
        sig = inspect.signature(cls.__init__)
    except Exception:
        return None
    lazy = {
        "layer": lambda: keras.layers.Dense(2), "cell": lambda: keras.layers.LSTMCell(2),
        "cells": lambda: [keras.layers.LSTMCell(2)], "function": lambda: (lambda t: t),
        "fn": lambda: (lambda t: t),
        "schedule": lambda: (lambda epoch, lr: lr),
    }
    req = {}
    for prm in list(sig.parameters.values())[1:]:
        if prm.kind in (prm.VAR_KEYWORD, prm.VAR_POSITIONAL) or prm.default is not prm.empty:
            continue
        if prm.name in lazy:
            req[prm.name] = lazy[prm.name]()
        elif prm.name in GUESS:
            req[prm.name] = GUESS[prm.name]
        else:
            return None
    return req


def _value(v):
    if v == "__callable__":
        return lambda *a, **k: None
    if isinstance(v, list):
        return tuple(v)
    return v


def _snapshot(o):
    snap = {}
    try:
        snap.update({"cfg." + k: _jsonable(v) for k, v in o.get_config().items()})
    except Exception:
        pass
    try:
        snap.update({"var." + k: _jsonable(v) for k, v in vars(o).items()})
    except Exception:
        pass
    return snap


def _attempt(make, kw):
    """Call ``make(**kw)``: (outcome, evidence, object-or-None)."""
    import warnings

    import logging

    class _Grab(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.records = []

        def emit(self, record):
            self.records.append(record.getMessage())

    name = next(iter(kw))
    grab = _Grab()
    loggers = [logging.getLogger(), logging.getLogger("absl")]
    for lg in loggers:
        lg.addHandler(grab)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                obj = make(**kw)
            except Exception as e:
                return "rejected", "%s: %s" % (type(e).__name__, _clean(e)), None
    finally:
        for lg in loggers:
            lg.removeHandler(grab)
    msgs = [_clean(w.message) for w in caught if name in str(w.message)]
    msgs += [_clean(m) for m in grab.records if name in m]
    if msgs:
        return "warns", "Warning: " + msgs[0], obj
    return "accepted", "", obj


def _classify_ctor(make, kw, noise):
    """Classify one kwarg on a constructor by calling it and comparing object state."""
    outcome, evidence, obj = _attempt(make, kw)
    if outcome == "rejected":
        return {"checked": "rejected", "evidence": evidence}
    base = _snapshot(make())
    with_kw = _snapshot(obj)
    changed = sorted(k for k in set(base) | set(with_kw)
                     if k not in noise and base.get(k, "<absent>") != with_kw.get(k, "<absent>"))
    effect = bool(changed)
    if outcome == "warns":
        return {"checked": "warns", "evidence": evidence, "effect": effect}
    return {"checked": "accepted" if effect else "ignored", "effect": effect,
            "evidence": ("state changed: " + ", ".join(changed[:3])) if effect else "no change in get_config()/attributes"}


def _method_makers(keras, workdir):
    import numpy as np

    x = np.ones((4, 3), "float32")
    y = np.ones((4, 1), "float32")

    def model():
        inp = keras.Input((3,))
        m = keras.Model(inp, keras.layers.Dense(1)(inp))
        m.compile(optimizer="sgd", loss="mse")
        return m

    m = model()
    wpath = "probe.weights.h5"  # relative to the working directory: no temp path in evidence
    m.save_weights(wpath)
    return {
        "Model.fit": lambda **kw: m.fit(x, y, epochs=1, verbose=0, **kw),
        "Model.evaluate": lambda **kw: m.evaluate(x, y, verbose=0, **kw),
        "Model.predict": lambda **kw: m.predict(x, verbose=0, **kw),
        "Model.train_on_batch": lambda **kw: m.train_on_batch(x, y, **kw),
        "Model.test_on_batch": lambda **kw: m.test_on_batch(x, y, **kw),
        "Model.predict_on_batch": lambda **kw: m.predict_on_batch(x, **kw),
        # save_format= was used with SavedModel directories (no extension)
        "Model.save": lambda **kw: m.save("probe" if "save_format" in kw else "probe.keras", **kw),
        "Model.save_weights": lambda **kw: m.save_weights(wpath, **kw),
        "Model.load_weights": lambda **kw: m.load_weights(wpath, **kw),
        "Model.compile": lambda **kw: model().compile(optimizer="sgd", loss="mse", **kw),
        "Model.add_weight": lambda **kw: keras.layers.Layer().add_weight(shape=(1,), **kw),
        "Layer.add_weight": lambda **kw: keras.layers.Layer().add_weight(shape=(1,), **kw),
        "Model.add_loss": lambda **kw: keras.layers.Layer().add_loss(keras.ops.ones(()), **kw),
        "Layer.add_loss": lambda **kw: keras.layers.Layer().add_loss(keras.ops.ones(()), **kw),
        "Model.summary": lambda **kw: m.summary(print_fn=lambda *a, **k: None, **kw),
        "Model.to_json": lambda **kw: m.to_json(**kw),
        "Model.get_config": lambda **kw: m.get_config(**kw),
        "Model.reset_metrics": lambda **kw: m.reset_metrics(**kw),
        "Model.compute_mask": lambda **kw: m.compute_mask(x, **kw),
    }


def stage_verify(plan_path, out, workdir):
    import inspect
    import warnings

    warnings.simplefilter("ignore")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.chdir(workdir)
    import keras

    plan = json.load(open(plan_path))
    res = {"ctor": {}, "func": {}, "method": {}, "probes": {}}
    for path, kws in sorted(plan["ctor"].items()):
        out_p = res["ctor"][path] = {}
        try:
            cls = _resolve(keras, path)
        except Exception as e:
            out_p["__error__"] = _clean(repr(e))
            continue
        req = _ctor_args(keras, cls, path)
        base_ok = False
        if req is not None:
            try:
                a, b = _snapshot(cls(**req)), _snapshot(cls(**req))
                noise = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
                base_ok = True
            except Exception:
                base_ok = False
        for kw, val in sorted(kws.items()):
            if base_ok:
                out_p[kw] = _classify_ctor(lambda **k: cls(**req, **k), {kw: _value(val)}, noise)
            else:
                # cannot build a baseline: call with only this kwarg; an "unexpected
                # keyword" error is still a real rejection
                outcome, ev, _ = _attempt(lambda **k: cls(**k), {kw: _value(val)})
                if outcome == "rejected" and kw in ev and ("unexpected keyword" in ev or "Unrecognized" in ev or "not recognized" in ev):
                    out_p[kw] = {"checked": "rejected", "evidence": ev}
                else:
                    out_p[kw] = {"checked": "unchecked", "evidence": "no constructible baseline" + ("; " + ev if ev else "")}
    for path, kws in sorted(plan["func"].items()):
        out_p = res["func"][path] = {}
        try:
            fn = _resolve(keras, path)
            sig = inspect.signature(fn)
        except Exception as e:
            out_p["__error__"] = _clean(repr(e))
            continue
        has_varkw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
        for kw, val in sorted(kws.items()):
            if path in FUNC_CALLS:
                outcome, ev, _ = _attempt(lambda **k: FUNC_CALLS[path](keras, k), {kw: _value(val)})
                if outcome == "rejected" and ("No module named" in ev or "pydot" in ev or "graphviz" in ev):
                    out_p[kw] = {"checked": "unchecked", "evidence": ev}
                else:
                    out_p[kw] = {"checked": outcome, "evidence": ev}
                continue
            if not has_varkw and kw not in sig.parameters:
                # Python rejects an unexpected keyword before running anything: call it
                outcome, ev, _ = _attempt(lambda **k: fn(**k), {kw: _value(val)})
                if outcome == "rejected" and "unexpected keyword" in ev:
                    out_p[kw] = {"checked": "rejected", "evidence": ev}
                    continue
            out_p[kw] = {"checked": "unchecked", "evidence": "function takes **kwargs; needs a real call"}
    makers = _method_makers(keras, workdir)
    inst = _core_instances(keras, workdir)
    for key, kws in sorted(plan["method"].items()):
        out_p = res["method"][key] = {}
        typ, meth = key.split(".", 1)
        bound = getattr(inst.get(typ), meth, None)
        for kw, val in sorted(kws.items()):
            if key in makers:
                outcome, ev, _ = _attempt(makers[key], {kw: _value(val)})
                out_p[kw] = {"checked": {"rejected": "rejected", "warns": "warns"}.get(outcome, "accepted"),
                             "evidence": ev}
                continue
            try:
                sig = inspect.signature(bound)
                has_varkw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
            except Exception:
                has_varkw = True
            if not has_varkw and kw not in sig.parameters:
                outcome, ev, _ = _attempt(lambda **k: bound(**k), {kw: _value(val)})
                if outcome == "rejected" and "unexpected keyword" in ev:
                    out_p[kw] = {"checked": "rejected", "evidence": ev}
                    continue
            out_p[kw] = {"checked": "unchecked", "evidence": "no probe for this method"}
    for k2path, pr in sorted(plan["probes"].items()):
        try:
            fn = _resolve(keras, pr["k3"])
        except Exception as e:
            res["probes"][k2path] = {"error": _clean(repr(e))}
            continue
        res["probes"][k2path] = _safe_call(_run_probe, fn, pr["args"], pr.get("kwargs"), k2path, False)
    json.dump(res, open(out, "w"), sort_keys=True)


# --------------------------------------------------------------------------------------
# Stage 2: the diff and the merge (driver; standard library only)
# --------------------------------------------------------------------------------------

def _same_output(a, b, rtol=1e-4, atol=1e-5):
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False
        if set(a) == {"shape", "values"}:
            if a["shape"] != b["shape"] or len(a["values"]) != len(b["values"]):
                return False
            return all(x == y if isinstance(x, str) or isinstance(y, str) else abs(x - y) <= atol + rtol * abs(y)
                       for x, y in zip(a["values"], b["values"]))
        return all(_same_output(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_output(x, y, rtol, atol) for x, y in zip(a, b))
    return a == b


def _sig_mapping(p2, p3):
    """Map a Keras 2 function's parameters onto a Keras 3 function's.

    Returns (renames, defaults, problems): ``renames`` maps a K2 keyword to its K3 name
    where only the name changed at the same position; ``defaults`` maps K3 parameter
    names to the K2 default that must be passed explicitly to keep behaviour (the
    defaults differ); ``problems`` lists what makes a plain rename unsafe."""
    if p2 is None or p3 is None:
        return {}, {}, ["signature unavailable"]
    a = [q for q in p2 if q["kind"] in ("pos", "posonly", "kwonly")]
    b = {q["name"]: q for q in p3}
    bpos = [q for q in p3 if q["kind"] in ("pos", "posonly")]
    names2 = {x["name"] for x in a}
    renames, defaults, problems = {}, {}, []
    positions = {}
    for i, q in enumerate(a):
        tgt = b.get(q["name"])
        if tgt is None and q["kind"] != "kwonly" and i < len(bpos) and bpos[i]["name"] not in names2:
            tgt = bpos[i]
            renames[q["name"]] = tgt["name"]
        if tgt is None:
            problems.append("`%s` has no Keras 3 counterpart" % q["name"])
            continue
        if q["required"] and not tgt["required"]:
            continue  # still passed by every call
        if not q["required"] and tgt["required"] or not q["required"] and q.get("default") != tgt.get("default"):
            d = q.get("default")
            if d is None or isinstance(d, (bool, int, float, str)) and not (isinstance(d, str) and d.startswith("<")):
                defaults[tgt["name"]] = d
                if q["kind"] in ("pos", "posonly"):
                    positions[tgt["name"]] = i  # a call passing >i positionals already gives it
            else:
                problems.append("default of `%s` differs (%r vs %r)" % (q["name"], d, tgt.get("default")))
    mapped = {renames.get(x["name"], x["name"]) for x in a}
    for q in p3:
        if q["required"] and q["kind"] in ("pos", "posonly", "kwonly") and q["name"] not in mapped:
            problems.append("Keras 3 requires `%s`" % q["name"])
    return renames, defaults, problems, positions


_PREFER = ("keras.ops.", "keras.layers.", "keras.optimizers.", "keras.callbacks.", "keras.random.",
           "keras.activations.", "keras.losses.", "keras.metrics.", "keras.utils.", "keras.config.")


def _candidates(path, kind, t3):
    leaf = path.rsplit(".", 1)[-1]
    cands = [p for p, r in t3.items() if p.rsplit(".", 1)[-1] == leaf and r["kind"] == kind]

    def rank(c):
        score = 0
        if path.startswith("keras.backend.") and c.startswith("keras.ops."):
            score -= 100
        if c.startswith("keras.ops.") and c.count(".") > 2:
            score += 10  # keras.ops.numpy.X etc.: prefer the flat keras.ops.X
        sub = path.split(".")[1] if path.count(".") > 1 else ""
        if sub and c.startswith("keras." + sub + "."):
            score -= 50
        for i, pre in enumerate(_PREFER):
            if c.startswith(pre):
                score += i
                break
        else:
            score += 20
        return (score, c.count("."), c)

    return sorted(cands, key=rank)


def _groups(ov, k2tree):
    """Resolve override keys: exact path, '@Tag' (all K2 classes tagged so) or a glob."""
    def expand(key):
        if key.startswith("@"):
            return sorted(p for p, r in k2tree.items() if key[1:] in r.get("tags", ()))
        if any(ch in key for ch in "*?["):
            return sorted(p for p in k2tree if fnmatch.fnmatchcase(p, key))
        return [key]
    return expand


def _by_specificity(section):
    """Override items with group ('@Tag') and glob keys first, exact paths last (they win)."""
    def rank(kv):
        k = kv[0]
        return 0 if k.startswith("@") else 1 if any(ch in k for ch in "*?[") else 2
    return sorted((kv for kv in section.items() if not kv[0].startswith("_")), key=rank)


def _deep_merge(base, extra):
    out = dict(base)
    for k, v in extra.items():
        if k.startswith("_"):
            continue
        out[k] = copy.deepcopy(v)  # entries must not share dicts (transforms are filled per entry)
    return out


def build(k2, k3, ov, verify):
    t2, t3, shim = k2["trees"]["keras"], k3["trees"]["keras"], k3["trees"]["shim"]
    expand = _groups(ov, t2)
    sym_ov = {}
    for key, e in _by_specificity(ov.get("symbols", {})):
        for p in expand(key):
            sym_ov[p] = _deep_merge(sym_ov.get(p, {}), e)

    # ---------------- symbols ----------------
    symbols, probe_plan, moved_fn = {}, {}, {}
    for p, r2 in sorted(t2.items()):
        kind = r2["kind"]
        r3 = t3.get(p)
        e = {"kind": kind, "in_tf_keras_shim": p in shim}
        if r3 is not None and not r3.get("stub"):
            e.update(status="same_path", fix="none")
        else:
            if r3 is not None and r3.get("stub"):
                e["keras3_stub"] = True  # present but raises ImportError when used
            cands = [c for c in _candidates(p, kind, t3) if c != p] if kind != "module" else []
            e.update(status="removed", fix="none")
            if cands:
                c = cands[0]
                e.update(status="moved", new=c)
                if len(cands) > 1:
                    e["alternatives"] = cands[1:6]
                if kind == "function":
                    renames, defaults, problems, positions = _sig_mapping(r2.get("params"), t3[c].get("params"))
                    e["_problems"] = problems
                    e["_transform"] = {"kwargs": renames, "defaults": {k: repr(v) for k, v in sorted(defaults.items())},
                                       "default_positions": positions if defaults else {}}
                    if p in k2.get("probes", {}):
                        probe_plan[p] = {"k3": c, "args": k2["probes"][p]["args"], "kwargs": defaults}
                    moved_fn[p] = c
        symbols[p] = e

    # overrides that point a Keras 2 function at a new Keras 3 function get the same
    # numeric probe (unless the fix is a template, which a check must prove)
    for p, o in sym_ov.items():
        if "new" not in o and "transform" not in o:
            continue
        probe_plan.pop(p, None)  # the override replaces the generated target
        moved_fn.pop(p, None)
        tr = o.get("transform") or {}
        if tr.get("template") or o.get("fix") == "none":
            continue  # a hand-written check proves a template
        if p in k2.get("probes", {}) and o.get("new") in t3 and t3[o["new"]]["kind"] == "function":
            probe_plan[p] = {"k3": o["new"], "args": k2["probes"][p]["args"],
                             "kwargs": {k: ast.literal_eval(v) for k, v in (tr.get("defaults") or {}).items()}}
            moved_fn[p] = o["new"]

    # ---------------- kwargs candidates ----------------
    kw_ov = {}
    for key, kws in _by_specificity(ov.get("kwargs", {})):
        for p in expand(key):
            for kw, e in kws.items():
                kw_ov.setdefault(p, {})[kw] = _deep_merge(kw_ov.get(p, {}).get(kw, {}), e)
    ctor_plan, func_plan, static = {}, {}, {}
    for p, r2 in sorted(t2.items()):
        r3 = t3.get(p)
        if r3 is None or r3.get("stub") or "kwargs" not in r2 or "kwargs" not in r3:
            continue
        a2 = set(r2["kwargs"]["explicit"]) | set(r2["kwargs"]["popped"])
        ex3 = set(r3["kwargs"]["explicit"])
        pop3 = set(r3["kwargs"]["popped"])
        cand = {k for k in (a2 - ex3 - pop3) | (a2 & pop3) if not k.startswith("_")}
        for kw, e in kw_ov.get(p, {}).items():
            if e.get("add") and kw not in ex3:
                cand.add(kw)
        if not cand:
            continue
        defaults = {q["name"]: q.get("default") for q in (r2.get("params") or []) if not q["required"]}
        vals = {}
        for kw in sorted(cand):
            v = (kw_ov.get(p, {}).get(kw, {}).get("probe_value", None))
            if v is None:
                v = ov.get("probe_values", {}).get(kw)
            if v is None:
                d = defaults.get(kw)
                v = d if isinstance(d, (int, float, str)) and not isinstance(d, bool) and d not in ("", 0) else True
            vals[kw] = v
        static[p] = {kw: ("popped" if kw in pop3 else "absent") for kw in cand}
        (ctor_plan if r3["kind"] == "class" else func_plan)[p] = vals

    # ---------------- members / method kwargs candidates ----------------
    method_plan, member_missing, method_static, method_discarded = {}, {}, {}, {}
    for t in CORE_TYPES:
        m2, m3 = k2["members"].get(t, {}), k3["members"].get(t, {})
        member_missing[t] = sorted(set(m2) - set(m3))
        for name in sorted(set(m2) & set(m3)):
            a, b = m2[name].get("kwargs"), m3[name].get("kwargs")
            if not a or not b:
                continue
            only2 = (set(a["explicit"]) | set(a["popped"])) - set(b["explicit"]) - set(b["popped"])
            only2 |= (set(a["explicit"]) | set(a["popped"])) & set(b["popped"])
            only2 = {k for k in only2 if not k.startswith("_")}
            for kw, e in ov.get("method_kwargs", {}).get(t + "." + name, {}).items():
                if e.get("add"):
                    only2.add(kw)
            if only2:
                key = t + "." + name
                gone = set(a.get("discarded") or ()) & only2
                if gone:
                    method_discarded[key] = gone
                method_plan[key] = {kw: ov.get("probe_values", {}).get(kw, True) for kw in sorted(only2)}
                method_static[key] = sorted(only2)
    for key, kws in ov.get("method_kwargs", {}).items():
        for kw, e in kws.items():
            if e.get("add"):
                method_plan.setdefault(key, {})[kw] = e.get("probe_value", ov.get("probe_values", {}).get(kw, True))

    ver = verify({"ctor": ctor_plan, "func": func_plan, "method": method_plan, "probes": probe_plan})

    # ---------------- kwargs ----------------
    kwargs = {}
    for p in sorted(static):
        res = ver["ctor"].get(p) or ver["func"].get(p) or {}
        for kw, how in sorted(static[p].items()):
            r = res.get(kw) or {"checked": "unchecked", "evidence": res.get("__error__", "not checked")}
            checked = r["checked"]
            if checked == "accepted" or (checked == "warns" and r.get("effect") and how != "popped"):
                # Keras 3 honours it without complaint: not a migration issue
                continue
            if checked == "rejected":
                status = "rejected"
            elif checked == "ignored" or (checked == "warns" and not r.get("effect")):
                status = "ignored"
            elif checked == "warns":
                status = "deprecated"
            else:
                status = "rejected"  # static analysis: Keras 3 has no such parameter
            e = {"status": status, "checked": checked, "evidence": r.get("evidence", ""),
                 "rename": None, "fix": "none", "transform": None}
            o = kw_ov.get(p, {}).get(kw)
            if o:
                for k, v in o.items():
                    if k not in ("add", "probe_value"):
                        e[k] = v
                e["guidance_source"] = "override"
            kwargs.setdefault(p, {})[kw] = e
    p3defaults = {p: {q["name"]: q.get("default") for q in (t3[p].get("params") or []) if not q["required"]}
                  for p in kwargs}
    for p, kws in kwargs.items():
        for kw, e in kws.items():
            if e.get("guidance_source") != "override" or "fix" not in kw_ov.get(p, {}).get(kw, {}):
                # default policy: dropping an argument Keras 3 ignores changes nothing under
                # Keras 3 (safe); dropping one it rejects makes the call run but may change
                # what it does (unsafe); a deprecated one still works (guidance only)
                if e["status"] == "ignored":
                    e["fix"], e["transform"] = "safe", {"drop": True}
                elif e["status"] == "rejected":
                    e["fix"], e["transform"] = "unsafe", {"drop": True}
            tr = e.get("transform") or {}
            for name, v in list((tr.get("defaults") or {}).items()):
                if v == "$keras3_default":  # filled from the Keras 3 signature
                    tr["defaults"][name] = repr(p3defaults[p].get(name))
            if not e.get("guidance"):
                e["guidance_source"] = "generated"
                e["guidance"] = {
                    "rejected": "Keras 3 rejects `%s=`; remove it." % kw,
                    "ignored": "Keras 3 ignores `%s=`; remove it." % kw,
                    "deprecated": "`%s=` is deprecated in Keras 3; remove it." % kw,
                }[e["status"]]

    # ---------------- finish symbols (probes, overrides) ----------------
    for p, e in symbols.items():
        problems = e.pop("_problems", None) or []
        transform = e.pop("_transform", None)
        if e["status"] == "moved" and e["kind"] == "class":
            # the rename keeps every Keras 2 keyword valid, or K502 reports it on `new`
            a2 = t2[p].get("kwargs") or {"explicit": [], "popped": []}
            a3 = t3[e["new"]].get("kwargs") or {"explicit": [], "popped": []}
            lost = (set(a2["explicit"]) | set(a2["popped"])) - set(a3["explicit"]) - set(a3["popped"])
            lost -= set(kwargs.get(e["new"], {}))
            problems = ["keyword `%s` has no Keras 3 counterpart" % k for k in sorted(lost)]
        if e["status"] == "moved" and e["kind"] == "class" and t2[p].get("impl") and t2[p].get("impl") == (t2.get(e["new"]) or {}).get("impl"):
            e["verified"] = "same Keras 2 class as %s" % e["new"]
        if p in moved_fn:
            pr = ver["probes"].get(p)
            if pr is None:
                e["verified"] = "not probed"
            elif "ok" in pr and _same_output(k2["probes"][p]["out"], pr["ok"]):
                e["verified"] = "same output"
            else:
                e["verified"] = "different output" if "ok" in pr else "error: " + pr.get("error", "")
                problems.append("output differs on a probe input")
            if e["verified"] == "not probed" and not problems:
                problems = ["not checked numerically"]
        if e["status"] == "moved":
            if problems:
                e["status"] = "equivalent"
                e["fix"] = "unsafe"
                e["differences"] = problems
            else:
                e["fix"] = "safe"
                if transform and (transform["kwargs"] or transform["defaults"]):
                    e["transform"] = {k: v for k, v in transform.items() if v}
        o = sym_ov.get(p)
        if o:
            if "new" in o and o["new"] != e.get("new") or (o.get("transform") or {}).get("template"):
                for k in ("transform", "differences", "alternatives"):
                    e.pop(k, None)
            for k, v in o.items():
                e[k] = v
            e["guidance_source"] = "override"
            if p in moved_fn and e.get("fix") == "safe" and e.get("verified") not in ("same output", "not probed"):
                print("warning: %s: override says safe but the probe gave %s; demoted to unsafe"
                      % (p, e.get("verified")), file=sys.stderr)
                e["fix"] = "unsafe"
        if e["status"] in ("moved", "equivalent") and not e.get("guidance"):
            e["guidance"] = "Use `%s` instead%s." % (
                e["new"], "" if e["fix"] == "safe" else " (check the call: " + "; ".join(e.get("differences", []))[:300] + ")")
            e.setdefault("guidance_source", "generated")
        if e["status"] == "removed" and not e.get("guidance"):
            e["guidance"] = "`%s` does not exist in Keras 3 and has no direct replacement%s." % (
                p, "; it is still reachable through `tf.keras` on the TensorFlow backend only" if e["in_tf_keras_shim"] else "")
            e.setdefault("guidance_source", "generated")
        if e["status"] == "same_path":
            e.pop("guidance_source", None)
        e.setdefault("transform", None)
        e.setdefault("new", None)
    # overrides may describe symbols the walk did not see (e.g. wrappers.scikit_learn)
    for p, o in sym_ov.items():
        if p not in symbols:
            e = {"kind": o.get("kind", "class"), "in_tf_keras_shim": p in shim, "transform": None, "new": None,
                 "guidance_source": "override", "not_in_keras2_2_21": True}
            e.update(o)
            symbols[p] = e

    # ---------------- members ----------------
    members = {}
    mem_ov = ov.get("members", {})
    for t in CORE_TYPES:
        for name in member_missing[t]:
            e = {"status": "removed", "rename": None, "fix": "none", "kind": k2["members"][t][name]["kind"]}
            members.setdefault(t, {})[name] = e
        for name, o in mem_ov.get(t, {}).items():
            if name == "*":
                continue  # the type's default, below
            if name in k3["members"].get(t, {}) and o.get("status") != "raises":
                raise SystemExit("overrides.json members.%s.%s: Keras 3 still has it (mark it \"raises\" or drop it)" % (t, name))
            e = members.setdefault(t, {}).setdefault(name, {"status": "removed", "rename": None, "fix": "none"})
            e.update({k: v for k, v in o.items() if not k.startswith("_")})
            e["guidance_source"] = "override"
    for t, ms in members.items():
        default = mem_ov.get(t, {}).get("*")
        for name, e in ms.items():
            if not e.get("guidance") and default:
                e.update({k: v for k, v in default.items() if not k.startswith("_")})
                e["guidance_source"] = "override"
            if not e.get("guidance"):
                e["guidance_source"] = "generated"
                e["guidance"] = "`%s.%s` does not exist in Keras 3." % (t, name)

    # ---------------- method kwargs ----------------
    method_kwargs = {}
    mk_ov = ov.get("method_kwargs", {})
    for key in sorted(method_plan):
        for kw in sorted(method_plan[key]):
            r = ver["method"].get(key, {}).get(kw, {"checked": "unchecked", "evidence": ""})
            if r["checked"] == "accepted" and not mk_ov.get(key, {}).get(kw):
                continue
            status = {"rejected": "rejected", "warns": "deprecated", "accepted": "accepted"}.get(r["checked"], "rejected")
            e = {"status": status, "checked": r["checked"], "evidence": r.get("evidence", ""),
                 "rename": None, "fix": "none", "transform": None}
            o = mk_ov.get(key, {}).get(kw)
            if o:
                e.update({k: v for k, v in o.items() if k not in ("add", "probe_value")})
                e["guidance_source"] = "override"
            else:
                e["guidance_source"] = "generated"
                e["guidance"] = "Keras 3 `%s()` %s `%s=`; remove it." % (key.split(".")[1], "rejects" if status == "rejected" else "no longer supports", kw)
                if status == "rejected":
                    e["fix"], e["transform"] = "unsafe", {"drop": True}
                    if kw in method_discarded.get(key, ()):
                        # tf-keras read it out of **kwargs and threw it away: dropping it
                        # does what Keras 2 did
                        e["fix"] = "safe"
                        e["verified"] = "Keras 2 discards it (a bare kwargs.pop in its source)"
                        e["guidance"] = ("Keras 2 `%s()` accepted and ignored `%s=`; Keras 3 rejects it: remove it."
                                         % (key.split(".")[1], kw))
            method_kwargs.setdefault(key, {})[kw] = e

    # ---------------- hand-written checks ----------------
    checks = {}
    for cid, c in sorted(ov.get("checks", {}).items()):
        a, b = k2["checks"].get(cid, {}), ver_checks(k3, cid)
        if "ok" in a and "ok" in b:
            res = "same output" if _same_output(a["ok"], b["ok"]) else "different output"
        else:
            res = "error: " + (a.get("error") or b.get("error") or "missing")
        checks[cid] = res
        for ref in c.get("proves", []):
            ents = _lookup_all(ref, symbols, kwargs, members, method_kwargs)
            if not ents:
                raise SystemExit("overrides.json check %s proves unknown entry %s" % (cid, ref))
            for ent in ents:
                ent["verified"] = res + " (check %s)" % cid
                if res != "same output" and ent.get("fix") == "safe":
                    if res != c.get("expect"):  # an expected difference proves a fix unsafe
                        print("warning: check %s failed (%s): %s demoted to unsafe" % (cid, res, ref), file=sys.stderr)
                    ent["fix"] = "unsafe"

    # every safe fix must have been checked by a real call: a probe, a check, the same
    # Keras 2 class, or (for dropping an argument) Keras 3 itself ignoring it
    for where, ent in _all_entries(symbols, kwargs, members, method_kwargs):
        if ent.get("fix") != "safe":
            continue
        if ent.get("status") == "ignored" and (ent.get("transform") or {}).get("drop") and ent.get("checked") in ("ignored", "warns"):
            ent.setdefault("verified", "Keras 3 ignores it (checked by calling)")
        if not str(ent.get("verified", "")).startswith(("same output", "same Keras 2 class", "Keras 3 ignores",
                                                        "Keras 2 discards")):
            print("warning: %s: safe fix without a passing check; demoted to unsafe" % where, file=sys.stderr)
            ent["fix"] = "unsafe"

    # ---------------- consistency ----------------
    # stubs (keras.optimizers.legacy.*) exist only to raise ImportError: not usable names
    stubs = sorted(p for p, r in t3.items() if r.get("stub"))
    k3_syms = sorted(set(t3) - set(stubs))
    k3_set = set(k3_syms)
    for p, e in symbols.items():
        if e["status"] != "same_path" and p in k3_set:
            raise SystemExit("symbol %s is public Keras 3 API but has status %s" % (p, e["status"]))
        if e.get("new") and e["new"] not in k3_set:
            raise SystemExit("symbol %s: new=%s is not a Keras 3 public path" % (p, e["new"]))
    top40 = ov.get("top40", [])
    for item in top40:
        for ref in item["refs"]:
            if _lookup(ref, symbols, kwargs, members, method_kwargs) is None:
                raise SystemExit("top40 #%s refers to unknown entry %s" % (item["n"], ref))

    return {
        "meta": {
            "keras2": "tf-keras " + k2["version"],
            "keras3": "keras " + k3["version"],
            "generator": "scripts/generate_api_data.py",
            "overrides": "rules/keras_migrate/rules/api/overrides.json",
            "checks": checks,
            "keras3_stubs": stubs,
            "top40": top40,
            "counts": {
                "keras2_symbols": sum(1 for r in t2.values() if r["kind"] != "module"),
                "keras2_modules": sum(1 for r in t2.values() if r["kind"] == "module"),
                "keras3_symbols": sum(1 for r in t3.values() if r["kind"] != "module"),
                "keras3_modules": sum(1 for r in t3.values() if r["kind"] == "module"),
            },
        },
        "keras3_symbols": k3_syms,
        "keras3_modules": sorted(p for p, r in t3.items() if r["kind"] == "module"),
        "symbols": symbols,
        "kwargs": kwargs,
        "members": members,
        "method_kwargs": method_kwargs,
        "required": _required_defaults(t2, t3),
    }


def _source_of(v):
    """Python source of a JSON-stored default (lists were tuples in the signature)."""
    if isinstance(v, list):
        inner = ", ".join(_source_of(x) for x in v)
        return "(" + inner + ("," if len(v) == 1 else "") + ")"
    return repr(v)


def _required_defaults(t2, t3):
    """``required[path][kw]``: a parameter Keras 2 gave a default and Keras 3 requires
    (``AveragePooling2D(pool_size=(2, 2))`` in Keras 2, no default in Keras 3). A call that
    leaves it out raises TypeError on Keras 3; passing Keras 2's default is what Keras 2 did.
    ``position`` is the parameter's index among Keras 2's positional parameters."""
    out = {}
    for p in sorted(set(t2) & set(t3)):
        r2, r3 = t2[p], t3[p]
        if r2.get("kind") not in ("class", "function") or r2.get("kind") != r3.get("kind"):
            continue
        p2, p3 = r2.get("params") or [], r3.get("params") or []
        req3 = {q["name"] for q in p3 if q["required"] and q["kind"] in ("pos", "kwonly")}
        for i, q in enumerate(p2):
            if q["name"] in req3 and not q["required"] and q["kind"] in ("pos", "kwonly") \
                    and isinstance(q.get("default"), (int, float, str, list, bool)) \
                    and not str(q.get("default")).startswith("<"):
                pos = i if all(x["kind"] in ("pos", "posonly") for x in p2[:i + 1]) else None
                out.setdefault(p, {})[q["name"]] = {"default": _source_of(q["default"]), "position": pos}
    return out


def ver_checks(k3, cid):
    return k3["checks"].get(cid, {})


def _lookup_all(ref, symbols, kwargs, members, method_kwargs):
    """Like _lookup, but the path part of a kwargs/method_kwargs ref may be a glob."""
    sec, _, rest = ref.partition(":")
    if sec in ("kwargs", "method_kwargs"):
        p, _, kw = rest.partition(":")
        table = kwargs if sec == "kwargs" else method_kwargs
        if any(ch in p for ch in "*?["):
            return [kws[kw] for q, kws in sorted(table.items()) if fnmatch.fnmatchcase(q, p) and kw in kws]
    e = _lookup(ref, symbols, kwargs, members, method_kwargs)
    return [e] if e is not None else []


def _all_entries(symbols, kwargs, members, method_kwargs):
    for p, e in sorted(symbols.items()):
        yield "symbols:" + p, e
    for p, kws in sorted(kwargs.items()):
        for kw, e in sorted(kws.items()):
            yield "kwargs:%s:%s" % (p, kw), e
    for t, ms in sorted(members.items()):
        for n, e in sorted(ms.items()):
            yield "members:%s.%s" % (t, n), e
    for p, kws in sorted(method_kwargs.items()):
        for kw, e in sorted(kws.items()):
            yield "method_kwargs:%s:%s" % (p, kw), e


def _lookup(ref, symbols, kwargs, members, method_kwargs):
    """Resolve 'symbols:<path>', 'kwargs:<path>:<kw>', 'members:<Type>.<name>',
    'method_kwargs:<Type.method>:<kw>'."""
    sec, _, rest = ref.partition(":")
    if sec == "symbols":
        return symbols.get(rest)
    if sec == "kwargs":
        p, _, kw = rest.partition(":")
        return kwargs.get(p, {}).get(kw)
    if sec == "members":
        t, _, n = rest.partition(".")
        return members.get(t, {}).get(n)
    if sec == "method_kwargs":
        p, _, kw = rest.partition(":")
        return method_kwargs.get(p, {}).get(kw)
    return None


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------

def keras_python():
    env_dir = Path(os.environ.get("KERAS_ENV", REPO / ".venv-keras"))
    py = env_dir / "bin" / "python"
    if not py.exists() or not (env_dir / STACK_STAMP).exists():
        raise SystemExit(
            "The Keras stack is missing (%s). Create it with scripts/setup-keras-env.sh "
            "(keras==%s, tf-keras==%s) and run this again." % (env_dir, KERAS3_VERSION, KERAS2_VERSION))
    return str(py)


def _sub_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="",
               KERAS_BACKEND="tensorflow", PYTHONDONTWRITEBYTECODE="1", TF_ENABLE_ONEDNN_OPTS="0")
    env.pop("TF_USE_LEGACY_KERAS", None)
    env.pop("PYTHONPATH", None)
    return env


def _run(py, args, tmp, log):
    with open(log, "w") as fh:
        return subprocess.Popen([py, str(Path(__file__).resolve())] + args, env=_sub_env(), cwd=tmp,
                                stdout=fh, stderr=subprocess.STDOUT)


def _wait(proc, log, what):
    if proc.wait() != 0:
        tail = Path(log).read_text(errors="replace")[-3000:]
        raise SystemExit("%s failed (exit %s):\n%s" % (what, proc.returncode, tail))


class _Keep:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        return False


def generate():
    py = keras_python()
    keep = os.environ.get("KERAS_API_KEEP_TMP")  # debugging: keep the stage files there
    if keep:
        os.makedirs(keep, exist_ok=True)
    with (_Keep(keep) if keep else tempfile.TemporaryDirectory(prefix="keras-api-")) as tmp:
        k2f, k3f = os.path.join(tmp, "k2.json"), os.path.join(tmp, "k3.json")
        p2 = _run(py, ["_dump", "k2", k2f, str(OVERRIDES), tmp], tmp, k2f + ".log")
        p3 = _run(py, ["_dump", "k3", k3f, str(OVERRIDES), tmp], tmp, k3f + ".log")
        _wait(p2, k2f + ".log", "Keras 2 dump")
        _wait(p3, k3f + ".log", "Keras 3 dump")
        k2, k3 = json.load(open(k2f)), json.load(open(k3f))
        for side, d, want in (("Keras 2", k2, KERAS2_VERSION), ("Keras 3", k3, KERAS3_VERSION)):
            if d["version"] != want:
                raise SystemExit("%s is %s; the data is for %s" % (side, d["version"], want))
            if "members_error" in d:
                raise SystemExit("%s core objects failed: %s" % (side, d["members_error"]))
        ov = json.loads(OVERRIDES.read_text())

        def verify(plan):
            pf, vf = os.path.join(tmp, "plan.json"), os.path.join(tmp, "verify.json")
            json.dump(plan, open(pf, "w"), sort_keys=True)
            p = _run(py, ["_verify", pf, vf, tmp], tmp, vf + ".log")
            _wait(p, vf + ".log", "Keras 3 verification")
            return json.load(open(vf))

        return build(k2, k3, ov, verify)


def render(data):
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_dump":
        return stage_dump(*argv[1:5])
    if argv and argv[0] == "_verify":
        return stage_verify(*argv[1:4])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if %s is stale" % DATA.relative_to(REPO))
    ap.add_argument("--output", type=Path, default=DATA)
    args = ap.parse_args(argv)
    t0 = time.time()
    text = render(generate())
    if args.check:
        old = DATA.read_text() if DATA.exists() else ""
        if old == text:
            print("%s is up to date (%.0fs)" % (DATA.relative_to(REPO), time.time() - t0))
            return 0
        diff = list(difflib.unified_diff(old.splitlines(), text.splitlines(), "committed", "regenerated", n=0, lineterm=""))
        changed = [l for l in diff if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        print("%s is stale: %d changed lines. Regenerate with: python scripts/generate_api_data.py"
              % (DATA.relative_to(REPO), len(changed)))
        print("\n".join(diff[:60]))
        return 1
    args.output.write_text(text)
    print("wrote %s (%d bytes, %.0fs)" % (args.output, len(text), time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
