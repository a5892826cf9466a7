#!/usr/bin/env bash
# Creates (or reuses) the Keras test stack used by the conformance suite, the API-data
# generator and the backend-runner tests. It is kept apart from the server's environment:
# TensorFlow, JAX and torch never enter the language server's process.
#   KERAS_ENV (default: <repo>/.venv-keras)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
env_dir="${KERAS_ENV:-$here/.venv-keras}"
py="${PYTHON:-python3}"
stamp="$env_dir/.keras-migrate-stack"
want="keras==3.15.1 tensorflow-cpu==2.21.0 tf-keras==2.21.0 jax==0.10.2 jaxlib==0.10.2 torch==2.13.0"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "keras stack ready: $env_dir"; exit 0
fi
[ -x "$env_dir/bin/python" ] || "$py" -m venv "$env_dir"
"$env_dir/bin/python" -m pip install -q --upgrade pip >/dev/null
# shellcheck disable=SC2086
"$env_dir/bin/python" -m pip install -q $want
echo "$want" > "$stamp"
echo "keras stack ready: $env_dir"
