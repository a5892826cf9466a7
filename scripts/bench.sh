#!/usr/bin/env bash
# Benchmarks (not part of the test run): the engine next to ruff and fixit, and the language
# server's latency/memory.  Installs ruff and fixit into .venv-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { python3 -m venv .venv; .venv/bin/pip install -q -e '.[test]'; }
scripts/setup-keras-env.sh >/dev/null
[ -x .venv-bench/bin/ruff ] && [ -x .venv-bench/bin/fixit ] || { python3 -m venv .venv-bench; .venv-bench/bin/pip install -q ruff fixit; }
.venv/bin/python benchmarks/engine_bench.py
if [ -f benchmarks/lsp_bench.py ]; then .venv/bin/python benchmarks/lsp_bench.py; fi
.venv/bin/python benchmarks/scaling_bench.py
