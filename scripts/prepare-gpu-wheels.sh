#!/usr/bin/env bash
# Prepares .whl/: the wheels scripts/gpu-check.sh installs on a GPU machine that cannot
# download anything (Python 3.12, x86-64, glibc; its image already has numpy, h5py, rich,
# absl-py, ml-dtypes, packaging, pyyaml, jax, torch). Run it here, where pip can download:
#
#   bash scripts/prepare-gpu-wheels.sh
#
# What it fetches: Keras 3 and the dependencies such an image lacks (namex, optree), and
# keras-migrate's own runtime dependencies (so `python -m keras_migrate run` works from
# the working tree there). Each with exactly this `pip download` (no dependency resolution:
# every wheel is named, one version each, because two versions of one package stop the
# install there):
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
#     --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     --platform manylinux1_x86_64 -d .whl NAME==VERSION
#
# Wheels are never committed: /.whl/ is in .gitignore. Override the target with WHEEL_DIR,
# the interpreter with PYTHON, the Keras version with KERAS_VERSION.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="${WHEEL_DIR:-$here/.whl}"
py="${PYTHON:-python3}"
keras_version="${KERAS_VERSION:-3.15.1}"   # the version the conformance stack uses

wheels=(
  "keras==$keras_version" "namex==0.1.0" "optree==0.20.0"          # Keras 3 and what the image lacks
  "libcst==1.9.0" "jedi==0.20.1" "parso==0.8.7"                    # keras-migrate's CLI
  "pygls==2.1.1" "lsprotocol==2025.0.0" "cattrs==26.2.1" "attrs==26.1.0"
  "typing_extensions==4.16.0" "pathspec==1.1.1"
)
platforms=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64)
flags=(--no-deps --only-binary=:all: --python-version 3.12 --implementation cp)
for p in "${platforms[@]}"; do flags+=(--platform "$p"); done

mkdir -p "$dest"
for w in "${wheels[@]}"; do
  "$py" -m pip download -q "${flags[@]}" -d "$dest" "$w"
done

# One version per package: drop any older wheel of the same name left from an earlier run.
"$py" - "$dest" "${wheels[@]}" <<'PY'
import os, re, sys
dest, wanted = sys.argv[1], sys.argv[2:]
norm = lambda n: re.sub(r"[-_.]+", "_", n).lower()
keep = {norm(w.split("==")[0]): w.split("==")[1] for w in wanted}
for f in sorted(os.listdir(dest)):
    if not f.endswith(".whl"):
        continue
    name, version = f.split("-")[:2]
    if norm(name) in keep and version != keep[norm(name)]:
        os.remove(os.path.join(dest, f))
        print(f"removed stale {f}")
PY
ls -1 "$dest"
du -sh "$dest"
echo "wheels ready in $dest (ignored by git); carry it to the GPU machine with the tree"
