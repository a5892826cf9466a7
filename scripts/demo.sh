#!/usr/bin/env bash
# The main job on the bundled sample: report the Keras 2 patterns in examples/keras2_project,
# then show (without writing) what `keras-migrate fix` would change.
# Installs keras-migrate into .venv first (pip's cache makes reruns fast).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/keras-migrate ] || ! .venv/bin/python -c "import keras_migrate" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v '^WARNING: Location' || true
fi
sample=examples/keras2_project
echo "\$ keras-migrate check $sample"
.venv/bin/keras-migrate check "$sample" || true
echo
echo "\$ keras-migrate fix --diff --unsafe-fixes $sample"
.venv/bin/keras-migrate fix --diff --unsafe-fixes "$sample" || true
