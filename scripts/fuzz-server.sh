#!/usr/bin/env bash
# The long fuzz runs of the language server, through the real server over stdio.
#
# Edit fuzz (issue 7): N random edit sequences (default 10,000), a pull-diagnostics server and
# a push one; see tests/fuzz/fuzz_server.py for what is sent and checked after every burst.
# Prints progress per chunk and, at the end, sequences run, edits applied, checks made and
# failures (each with hypothesis' shrunk failing sequence and the messages sent).
#
# Malformed-message fuzz (issue 18): `malformed N` sends N batches of malformed requests,
# junk notifications and non-JSON-RPC bodies (tests/fuzz/fuzz_malformed.py); a request without
# an answer within 20 s, a dead server or a traceback fails the run.
#
# Exit status 1 on a failure.
#
#   scripts/fuzz-server.sh                 # 10,000 sequences (about 20 min on 2 cores)
#   scripts/fuzz-server.sh 2000 --seed 7   # fewer, reproducibly
#   scripts/fuzz-server.sh 10000 --max-minutes 40 --chunk 500
#   KM_FUZZ_EXOTIC=0 scripts/fuzz-server.sh   # without \f, \v, U+2028 ... in the random text
#   scripts/fuzz-server.sh malformed 5000 --seed 3
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
if [ "${1:-}" = "malformed" ]; then
    shift
    exec "$PY" tests/fuzz/fuzz_malformed.py "$@"
fi
N="${1:-10000}"
[ $# -gt 0 ] && shift
exec "$PY" tests/fuzz/fuzz_server.py "$N" "$@"
