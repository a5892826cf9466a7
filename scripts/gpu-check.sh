#!/usr/bin/env bash
# GPU check for the backend runner (issue 8): runs a small Keras model through
#   keras-migrate run MODEL --backend all --gpu 0
# and asserts that jax and torch ran on a GPU. TensorFlow may be absent on a GPU machine:
# then it says so for that backend and does not fail.
#
# Needs no network. Keras (and keras-migrate's own dependencies) come from .whl/, prepared
# beforehand where pip can download:   bash scripts/prepare-gpu-wheels.sh
# Then, on the GPU machine, from the repository root:   bash scripts/gpu-check.sh
# (through the device tool: carry [".whl"], command `bash scripts/gpu-check.sh`, timeout ~480 s).
#
#   PYTHON   the interpreter with jax and torch (default: python3)
#   OUT      folder for gpu-check.log and gpu-check.json (default: a temporary folder)
#   GPU      the GPU index to use (default: 0)
# Exit status: 0 when jax and torch both ran on the GPU, 1 when not, 2 when it could not start.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
py="${PYTHON:-python3}"
out="${OUT:-$(mktemp -d)}"
gpu="${GPU:-0}"
mkdir -p "$out"
exec > >(tee "$out/gpu-check.log") 2>&1

echo "== gpu-check $(date -u +%FT%TZ) in $here"
echo "== python: $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
if ! nvidia-smi --query-gpu=index,name,memory.used,memory.total --format=csv,noheader; then
  echo "FAIL: nvidia-smi does not answer: no GPU to check"; exit 2
fi

site="${TMPDIR:-/tmp}/keras-migrate-gpu-site"
if compgen -G ".whl/*.whl" >/dev/null; then
  echo "== installing $(ls .whl/*.whl | wc -l) wheels from .whl into $site (no network)"
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" .whl/*.whl || { echo "FAIL: could not install the wheels in .whl"; exit 2; }
  export PYTHONPATH="$site:$here/server:$here/rules${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "== no .whl folder: using what $py has (run scripts/prepare-gpu-wheels.sh to bring Keras)"
  export PYTHONPATH="$here/server:$here/rules${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$py" -c 'import keras, sys; sys.exit(int(keras.__version__.split(".")[0]) < 3)' 2>/dev/null; then
  echo "FAIL: Keras 3 is not importable with $py; prepare the wheels with scripts/prepare-gpu-wheels.sh"
  exit 2
fi
"$py" - <<'PY'
import importlib.metadata as md
for name in ("keras", "jax", "jaxlib", "torch", "tensorflow", "tensorflow-cpu"):
    try:
        print(f"   {name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"   {name}: not installed")
PY

work="$(mktemp -d)"
model="$work/gpu model check.py"   # a space in the name, as users have
cat > "$model" <<'PY'
"""A small Keras 3 model: a few training steps and a prediction on the chosen device."""
import sys

import numpy as np
import keras

keras.utils.set_random_seed(0)
x = np.random.rand(2048, 32).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 16).astype("float32")
model = keras.Sequential([
    keras.Input((32,)),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=256, epochs=3, verbose=0)
pred = model.predict(x[:8], verbose=0)
assert pred.shape == (8, 1), pred.shape
print(f"backend={keras.backend.backend()} loss={history.history['loss'][-1]:.4f} "
      f"acc={history.history['accuracy'][-1]:.3f} argv={sys.argv[1:]}")
PY

json="$out/gpu-check.json"
run=("$py" -m keras_migrate run)
if ! "$py" -m keras_migrate run --help >/dev/null 2>&1; then
  echo "== keras-migrate's CLI cannot load here; using the runner's own entry point"
  run=("$py" -m keras_migrate.runner.cli)
fi
echo "== ${run[*]} '$model' --backend all --gpu $gpu --python $py --json $json -- --check"
timeout 420 "${run[@]}" "$model" --backend all --gpu "$gpu" --python "$py" --json "$json" -- --check
echo "== keras-migrate run exited with $?"
rm -rf "$work"

"$py" - "$json" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except (OSError, ValueError) as exc:
    print(f"FAIL: no results from keras-migrate run ({exc})")
    sys.exit(1)
rows = {r["backend"]: r for r in data["results"]}
failed = False
for backend in ("jax", "torch", "tensorflow"):
    r = rows.get(backend)
    if r is None:
        print(f"FAIL: {backend}: no result"); failed = True; continue
    on_gpu = any(d.get("kind") == "gpu" for d in r["devices"])
    where = r["deviceUsed"]
    if backend == "tensorflow":
        if r["status"] == "not run":
            print(f"NOTE: tensorflow: not checked, TensorFlow is not installed here ({r['notRun']})")
        elif r["status"] == "ok" and on_gpu:
            print(f"PASS: tensorflow: ok on {where}, {r['wallTime']} s")
        elif r["status"] == "ok":
            print(f"NOTE: tensorflow: ok but on {where} (a CPU-only TensorFlow build); not a failure")
        else:
            print(f"NOTE: tensorflow: {r['status']}: {r['firstErrorLine']} (not counted)")
        continue
    if r["status"] == "ok" and on_gpu:
        print(f"PASS: {backend}: ok on {where}, {r['wallTime']} s, Keras {r['kerasVersion']}")
    else:
        failed = True
        why = r["notRun"] or r["firstErrorLine"] or ("ran on " + where)
        print(f"FAIL: {backend}: {r['status']}, devices {r['devices']}: {why}")
print(data["matrixMarkdown"])
print("gpu-check:", "FAILED" if failed else "PASSED")
sys.exit(1 if failed else 0)
PY
