#!/usr/bin/env python3
"""Generate ``rules/keras_migrate/rules/portability/ops_table.json``: the tf -> ``keras.ops`` pairs, verified.

Developer command (run from the repository root with the project's environment)::

    .venv/bin/python scripts/generate_ops_table.py           # regenerate the table
    .venv/bin/python scripts/generate_ops_table.py --check   # exit 1 if the table is stale

What it does
------------
1. Reads the hand-written pairs in ``rules/keras_migrate/rules/portability/ops_overrides.json`` (tf name,
   ``keras.ops`` name, parameter renames, traps, checks).
2. In one subprocess of the Keras interpreter (``.venv-keras/bin/python``; override with
   ``KERAS_ENV``) reads both signatures of every pair with ``inspect``, and builds each
   entry's parameter map (same-named parameters map to themselves, ``name=`` is dropped,
   the others are unsupported unless the overrides rename them).
3. Rewrites every check expression with the *same* code the rules use
   (``rules/keras_migrate/rules/portability/_ops.py``: ``rewrite_expression``), then evaluates original and
   rewrite in one subprocess per backend (``KERAS_BACKEND=tensorflow|jax|torch``, run in
   parallel): TensorFlow on ``tf.constant`` inputs, ``keras.ops`` on backend tensors.
   Results must agree in structure, shape, dtype kind and value (rtol = atol = 1e-5).
4. Safety: a pair is ``safe`` when every check agrees on all three backends and it has no
   trap; a trap (``tf.split`` sizes, ``tf.nn.gelu`` exactness, ``segment_sum``'s
   ``num_segments``, ``tf.shape``'s tuple) is ``unsafe`` with its explanation; a pair whose
   rewrite fails or differs somewhere gets no fix (``"fix": "none"``) and the failure as
   its note.  The file is deterministic (sorted keys, no timestamps).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0:0] = [str(ROOT / "server"), str(ROOT / "rules")]   # the two source roots (pyproject)
OVERRIDES = ROOT / "rules" / "keras_migrate" / "rules" / "portability" / "ops_overrides.json"
TABLE = ROOT / "rules" / "keras_migrate" / "rules" / "portability" / "ops_table.json"
KERAS_ENV = Path(os.environ.get("KERAS_ENV", ROOT / ".venv-keras"))
BACKENDS = ("tensorflow", "jax", "torch")

# -- code run inside the Keras interpreter ---------------------------------------------------
SIGNATURES = r'''
import inspect, json, sys
import keras, tensorflow as tf
names = json.load(sys.stdin)
def get(root, path):
    o = root
    for p in path.split("."):
        o = getattr(o, p)
    return o
def params(f):
    out, var = [], False
    for p in inspect.signature(f).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            var = True
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            out.append([p.name, p.kind is p.KEYWORD_ONLY])
    return {"params": out, "varargs": var}
res = {}
for tf_name, ops_name in names:
    r = {}
    try:
        r["tf"] = params(get(tf, tf_name[3:]))
    except Exception as e:
        r["tf_error"] = f"{type(e).__name__}: {e}"
    try:
        r["ops"] = params(get(keras.ops, ops_name))
    except Exception as e:
        r["ops_error"] = f"{type(e).__name__}: {e}"
    res[tf_name] = r
print("@@JSON@@" + json.dumps(res))
'''

EVALUATE = r'''
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
import keras, tensorflow as tf
checks = json.load(sys.stdin)
rng = np.random.RandomState(0)
x = rng.rand(3, 4).astype("float32")
NP = dict(
    x=x, xn=rng.randn(3, 4).astype("float32"), y=(rng.rand(3, 4) + 0.5).astype("float32"),
    xb=x > 0.5, xi=rng.randint(0, 4, (3, 4)).astype("int32"), lab=np.array([1, 0, 3], "int32"),
    logits=rng.randn(3, 4).astype("float32"), seg=np.array([0, 0, 1], "int32"),
    useg=np.array([1, 0, 1], "int32"), onehot=np.eye(4, dtype="float32")[[1, 0, 3]],
    sq=(np.eye(3) * 2 + rng.rand(3, 3) * 0.1).astype("float32"),
    img=rng.rand(1, 4, 4, 2).astype("float32"),
)
NP["xnt"] = NP["xn"].T.copy()
TF = {k: tf.constant(v) for k, v in NP.items()}
OPS = {k: keras.ops.convert_to_tensor(v) for k, v in NP.items()}
def to_np(v, conv):
    if isinstance(v, (list, tuple)):
        return [to_np(t, conv) for t in v]
    if isinstance(v, (bool, int, float, np.generic, np.ndarray)):
        return np.asarray(v)
    return np.asarray(conv(v))
def compare(a, b, path=""):
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)):
            return f"structure differs at {path or 'top'}: {type(a).__name__} vs {type(b).__name__}"
        if len(a) != len(b):
            return f"length differs: {len(a)} vs {len(b)}"
        for i, (p, q) in enumerate(zip(a, b)):
            r = compare(p, q, f"{path}[{i}]")
            if r != "same":
                return r
        return "same"
    if a.shape != b.shape:
        return f"shape differs{(' at ' + path) if path else ''}: {list(a.shape)} vs {list(b.shape)}"
    if a.dtype.kind != b.dtype.kind and not (a.dtype.kind in "iu" and b.dtype.kind in "iu"):
        return f"dtype differs: {a.dtype} vs {b.dtype}"
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        ok = np.array_equal(a, b)
    else:
        ok = np.allclose(a.astype("float64"), b.astype("float64"), rtol=1e-5, atol=1e-5, equal_nan=True)
    if not ok:
        fa, fb = a.ravel()[:6].tolist(), b.ravel()[:6].tolist()
        return f"values differ: tf {fa} vs keras.ops {fb}"
    return "same"
out = []
for tf_expr, ops_expr in checks:
    try:
        a = to_np(eval(tf_expr, {"tf": tf, "np": np, **TF}), lambda t: t.numpy())
    except Exception as e:
        out.append("tf error: " + type(e).__name__ + ": " + str(e).splitlines()[0][:160] if str(e) else type(e).__name__)
        continue
    try:
        b = to_np(eval(ops_expr, {"keras": keras, "np": np, **OPS}), keras.ops.convert_to_numpy)
    except Exception as e:
        msg = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
        out.append("error: " + type(e).__name__ + (": " + msg if msg else ""))
        continue
    r = compare(a, b)
    if r == "same" and not isinstance(a, list) and a.dtype != b.dtype:
        r = f"same (dtype {a.dtype} vs {b.dtype})"
    out.append(r)
print("@@JSON@@" + json.dumps(out))
'''


def run_keras(code: str, payload, backend: str = "tensorflow", timeout: int = 600):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore",
               CUDA_VISIBLE_DEVICES="")
    env.pop("TF_USE_LEGACY_KERAS", None)
    proc = subprocess.run([str(KERAS_ENV / "bin" / "python"), "-c", code], input=json.dumps(payload),
                          capture_output=True, text=True, env=env, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("@@JSON@@"):
            return json.loads(line[len("@@JSON@@"):])
    raise RuntimeError(f"{backend} subprocess failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")


def build_entries(overrides: dict, sigs: dict) -> tuple[dict, list[str]]:
    entries, problems = {}, []
    for primary, spec in overrides["pairs"].items():
        for tf_name in [primary] + spec.get("aliases", []):
            sig = sigs.get(tf_name, {})
            if "tf" not in sig or "ops" not in sig:
                problems.append(f"{tf_name}: {sig.get('tf_error') or sig.get('ops_error')}")
                continue
            tf_params = [p for p, kwonly in sig["tf"]["params"]]
            ops_params = [p for p, kwonly in sig["ops"]["params"] if not kwonly]
            ops_all = [p for p, _ in sig["ops"]["params"]]
            rename = spec.get("rename", {})
            unsupported = set(spec.get("unsupported", ()))
            mapping = {}
            for p in tf_params:
                if p in rename:
                    mapping[p] = rename[p]
                elif p == "name":
                    mapping[p] = None
                elif p in unsupported:
                    continue
                elif p in ops_all:
                    mapping[p] = p
            for p, q in rename.items():
                if q is not None and q not in ops_all:
                    problems.append(f"{tf_name}: rename target {q!r} is not a parameter of keras.ops.{spec['ops']}")
            ent = {
                "tf": "tensorflow" + tf_name[2:], "ops": spec["ops"], "primary": primary,
                "tf_params": tf_params, "ops_params": ops_params, "map": mapping,
                "varargs": sig["tf"]["varargs"] and sig["ops"]["varargs"],
                "add": spec.get("add", {}), "safety": "safe",
                "fix": "none" if spec.get("fix") is False else "auto",
            }
            for k in ("trap", "note", "special", "min_args", "fails_on"):
                if k in spec:
                    ent[k] = spec[k]
            checks = []
            for c in spec["checks"]:
                checks.append({"tf": tf_name + c[len(primary):] if c.startswith(primary + "(") else c})
            ent["checks"] = checks
            entries["tensorflow" + tf_name[2:]] = ent
    return entries, problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the committed table differs")
    args = ap.parse_args(argv)
    from keras_migrate.rules.portability._ops import rewrite_expression

    t0 = time.time()
    overrides = json.loads(OVERRIDES.read_text())
    names = []
    for primary, spec in overrides["pairs"].items():
        for n in [primary] + spec.get("aliases", []):
            names.append((n, spec["ops"]))
    sigs = run_keras(SIGNATURES, names)
    entries, problems = build_entries(overrides, sigs)
    # rewrite every check with the rules' own code
    work = []
    for key, ent in entries.items():
        for chk in ent["checks"]:
            probe = dict(ent, fix="auto")
            new, why = rewrite_expression(chk["tf"], {key: probe})
            chk["ops"] = new
            if new is None:
                chk["rewrite"] = why
            else:
                work.append((key, chk))
    payload = [[c["tf"], c["ops"]] for _, c in work]
    t1 = time.time()
    timings = {}

    def evaluate(b):
        start = time.time()
        r = run_keras(EVALUATE, payload, b)
        timings[b] = round(time.time() - start, 1)
        return r

    with ThreadPoolExecutor(len(BACKENDS)) as pool:
        results = dict(zip(BACKENDS, pool.map(evaluate, BACKENDS)))
    print(f"signatures {t1 - t0:.1f}s; evaluation per backend (parallel) {timings}", file=sys.stderr)
    for i, (key, chk) in enumerate(work):
        for b in BACKENDS:
            chk[b] = results[b][i]
    counts = {b: [0, 0] for b in BACKENDS}
    for key, ent in entries.items():
        bad = []
        for chk in ent["checks"]:
            if chk["ops"] is None:
                if ent["fix"] != "none":
                    bad.append(f"`{chk['tf']}` cannot be rewritten: {chk.get('rewrite')}")
                continue
            for b in BACKENDS:
                expected = ent.get("fails_on", {}).get(b)
                if expected and expected in chk[b]:
                    continue  # the trap the title explains (e.g. JAX needs num_segments)
                if not chk[b].startswith("same"):
                    bad.append(f"{b}: `{chk['tf']}` -> {chk[b]}")
        for b in BACKENDS:
            ok = all(c.get(b, "").startswith("same") for c in ent["checks"] if c["ops"] is not None)
            counts[b][0 if ok else 1] += 1
        if ent["fix"] == "none":
            ent["safety"] = "none"
        elif bad:
            ent["fix"], ent["safety"] = "none", "none"
            ent["failed"] = bad
            ent["note"] = (ent.get("note", "") + "; " if ent.get("note") else "") + "the rewrite does not match: " + bad[0]
        elif ent.get("trap"):
            ent["safety"] = "unsafe"
    out = {
        "_doc": "Generated by scripts/generate_ops_table.py from ops_overrides.json: do not edit by hand. "
                "Key: canonical TensorFlow name. safety: safe (every check matches on TensorFlow, JAX and torch), "
                "unsafe (a trap, explained in `trap`), none (no automatic fix; see `note`).",
        "backends": list(BACKENDS),
        "summary": {
            "pairs": len(entries),
            "verified": {b: counts[b][0] for b in BACKENDS},
            "safe": sum(e["safety"] == "safe" for e in entries.values()),
            "unsafe": sum(e["safety"] == "unsafe" for e in entries.values()),
            "none": sum(e["safety"] == "none" for e in entries.values()),
        },
        "pairs": entries,
    }
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    for p in problems:
        print("problem:", p, file=sys.stderr)
    if args.check:
        old = TABLE.read_text() if TABLE.exists() else ""
        if old != text:
            print(f"{TABLE.relative_to(ROOT)} is stale: run scripts/generate_ops_table.py", file=sys.stderr)
            return 1
        print("ops table up to date")
        return 0
    TABLE.write_text(text)
    s = out["summary"]
    print(f"{s['pairs']} pairs: {s['safe']} safe, {s['unsafe']} unsafe, {s['none']} without fix; "
          f"verified per backend {s['verified']}; {time.time() - t0:.1f}s")
    for key, ent in sorted(entries.items()):
        if ent.get("failed"):
            print(f"  no fix {key}: {ent['failed'][0]}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
