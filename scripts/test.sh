#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, then runs
#   1. the VS Code client's unit tests (node --test) and its .vsix build,
#   2. pytest: engine, rules (their own examples), CLI, packaging, language server over stdio,
#      backend runner, conformance on real Keras 2/3 (TF, JAX, torch), Neovim and VS Code e2e.
# Downloads are cached (pip's and npm's caches, ~/.cache/keras-migrate-e2e for code-server).
# Pass pytest arguments through, e.g. scripts/test.sh -m "not e2e" -x
set -euo pipefail
cd "$(dirname "$0")/.."
quiet_pip() { grep -v -e '^WARNING: Location' -e 'is ignored: it is neither' || true; }

echo "== python environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | quiet_pip

echo "== keras stack (.venv-keras: keras 3.15.1, tensorflow-cpu 2.21, tf-keras 2.21, jax, torch 2.13 cpu)"
scripts/setup-keras-env.sh 2>&1 | quiet_pip

if ! command -v nvim >/dev/null 2>&1; then
  echo "== neovim (Debian) for the second-editor test"
  (apt-get update -qq && apt-get install -y -qq neovim >/dev/null) || echo "could not install neovim"
fi

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "== chromium (Debian) for the HTML report test"
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium"
fi

if [ -f package.json ] && command -v npm >/dev/null 2>&1; then
  echo "== VS Code client: npm ci, unit tests, .vsix"
  npm ci --no-audit --no-fund --loglevel=error
  npm run -s test:unit
  npm run -s package
fi

echo "== pytest"
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
[ "$rc" -eq 5 ] && { echo "pytest collected no tests"; exit 1; }
exit "$rc"
