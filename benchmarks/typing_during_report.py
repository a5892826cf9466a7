"""Typing while the workspace report runs (issue 18; not a test): a workspace of N copies of
the 300-line Keras 2 script, the ``keras-migrate.report`` command started, and meanwhile
keystrokes in an open document; prints the didChange -> publishDiagnostics latency (minus the
debounce) while the report runs, and idle for comparison.

    .venv/bin/python benchmarks/typing_during_report.py [--files 500] [--keys 30] [--baseline]

``--baseline``: the report does not give way to open documents (the hook undone in that
server process), as before issue 18.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from soak import SCRIPT, Client  # noqa: E402

DEBOUNCE_MS = 50
BASELINE = """
import sys
from keras_migrate.server import server as srv
srv.KerasMigrateServer.yield_to_editor = lambda self, cap_s=2.0: False
from keras_migrate.server import main
sys.exit(main.run([]))
"""


def pct(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, int(round((len(s) - 1) * p)))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--keys", type=int, default=30)
    ap.add_argument("--baseline", action="store_true")
    args = ap.parse_args(argv)
    ws = Path(tempfile.mkdtemp(prefix="km-typing-"))
    text = SCRIPT.read_text(encoding="utf-8")
    for i in range(args.files):
        (ws / f"m{i:05d}.py").write_text(text, encoding="utf-8")
    cmd = [sys.executable, "-c", BASELINE] if args.baseline else [sys.executable, "-m", "keras_migrate", "server"]
    c = Client(cmd)
    try:
        c.request("initialize", {"processId": os.getpid(), "rootUri": ws.as_uri(),
                                 "workspaceFolders": [{"uri": ws.as_uri(), "name": "ws"}],
                                 "capabilities": {"textDocument": {"publishDiagnostics": {"versionSupport": True}}},
                                 "initializationOptions": {"settings": {"debounceMs": DEBOUNCE_MS}, "trusted": False}})
        c.notify("initialized", {})
        uri = (ws / "typing.py").as_uri()
        c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                           "text": text}})
        c.wait_published(uri, 1)
        version = [1]

        def keystrokes(n):
            out = []
            for _ in range(n):
                version[0] += 1
                v = version[0]
                change = ({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                           "text": "x"} if v % 2 == 0 else
                          {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
                           "text": ""})
                t = time.perf_counter()
                c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": v},
                                                    "contentChanges": [change]})
                c.wait_published(uri, v)
                out.append((time.perf_counter() - t) * 1000 - DEBOUNCE_MS)
                time.sleep(0.15)
            return out

        idle = keystrokes(10)
        done = threading.Event()
        t0 = time.perf_counter()

        def report():
            try:
                c.request("workspace/executeCommand", {"command": "keras-migrate.report", "arguments": [{}]}, timeout=900)
            finally:
                done.set()
        threading.Thread(target=report, daemon=True).start()
        time.sleep(0.5)
        during = []
        while not done.is_set() and len(during) < args.keys:
            during += keystrokes(1)
        done.wait(600)
        report_s = time.perf_counter() - t0
        print(f"{'baseline (report does not give way)' if args.baseline else 'report gives way to open documents'}: "
              f"{args.files} files, report {report_s:.1f} s")
        print(f"  idle:   p50 {statistics.median(idle):6.1f} ms  p95 {pct(idle, .95):6.1f} ms")
        if during:
            print(f"  during: p50 {statistics.median(during):6.1f} ms  p95 {pct(during, .95):6.1f} ms  "
                  f"max {max(during):6.1f} ms  ({len(during)} keystrokes)")
        c.request("shutdown", None)
        c.notify("exit", None)
    finally:
        shutil.rmtree(ws, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
