"""Long-session soak benchmark of the language server (issue 18; not a test): the server's
RSS over 20,000 edits of one document and over 1,000 open/close cycles of new documents,
driven over stdio as an editor does.

- edits: the 300-line Keras 2 script (benchmarks/data/keras2_script.py) is opened, then one
  character is typed and deleted again, alternately, 20,000 times (incremental didChange);
  every 50th edit waits for the diagnostics of that version, so an analysis runs 400 times;
- open/close: 1,000 times a new small file (a new URI each time) is opened, its diagnostics
  awaited, and closed.

It prints RSS (``VmRSS`` of the server process) every 1,000 edits and every 100 cycles, and
the growth after warm-up (after the first 2,000 edits / 100 cycles). Target: <= 5 MB each.

    .venv/bin/python benchmarks/soak.py [--edits 20000] [--cycles 1000] [--json OUT] [--baseline]

``--baseline`` runs the same server with the two fixes of issue 18 undone in that process
(pygls' handling of notification Futures, and no idle/periodic full collection), to show
what they are worth.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "data" / "keras2_script.py"
SMALL = "from tensorflow import keras\nmodel = keras.Sequential()\nopt = keras.optimizers.Adam(lr=0.1)\n"


class Client:
    def __init__(self, cmd: list[str]) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, cwd="/")
        self.cond = threading.Condition()
        self.responses: dict = {}
        self.published: dict[str, int] = {}
        self.counts: dict[str, int] = {}       # publishDiagnostics per URI
        self.next_id = 0
        self.wlock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                k, _, v = line.partition(b":")
                if k.lower() == b"content-length":
                    length = int(v)
            msg = json.loads(out.read(length))
            with self.cond:
                if "id" in msg and "method" not in msg:
                    self.responses[msg["id"]] = msg
                elif msg.get("method") == "textDocument/publishDiagnostics":
                    self.published[msg["params"]["uri"]] = msg["params"].get("version") or 0
                    self.counts[msg["params"]["uri"]] = self.counts.get(msg["params"]["uri"], 0) + 1
                elif "id" in msg:   # a request from the server: answer null
                    self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
                self.cond.notify_all()

    def send(self, msg: dict) -> None:
        body = json.dumps(msg).encode()
        with self.wlock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def request(self, method: str, params, timeout: float = 120) -> dict:
        with self.wlock:
            self.next_id += 1
            rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        with self.cond:
            self.cond.wait_for(lambda: rid in self.responses, timeout=timeout)
            return self.responses.pop(rid)

    def notify(self, method: str, params) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_published(self, uri: str, version: int) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: self.published.get(uri, -1) >= version, timeout=120):
                raise RuntimeError(f"no diagnostics for {uri} v{version}")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def settle(self) -> float:
        """RSS once the server is idle (a request answered after a short pause)."""
        time.sleep(0.3)
        self.request("workspace/executeCommand",
                     {"command": "keras-migrate.serverInfo", "arguments": []})
        return self.rss_mb()


BASELINE = """
import sys
from pygls.protocol import LanguageServerProtocol
from keras_migrate.server import server as srv
srv.KerasMigrateProtocol._execute_handler = LanguageServerProtocol._execute_handler
srv.KerasMigrateServer.collect_garbage = lambda self: None
from keras_migrate.server import main
sys.exit(main.run([]))
"""


def run(edits: int, cycles: int, baseline: bool = False) -> dict:
    cmd = [sys.executable, "-c", BASELINE] if baseline else [sys.executable, "-m", "keras_migrate", "server"]
    c = Client(cmd)
    c.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {
        "textDocument": {"publishDiagnostics": {"versionSupport": True}}},
        "initializationOptions": {"settings": {"debounceMs": 20}, "trusted": False}})
    c.notify("initialized", {})
    uri = "file:///tmp/km-soak/script.py"
    text = SCRIPT.read_text(encoding="utf-8")
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    c.wait_published(uri, 1)
    edit_curve = [(0, c.settle())]
    t0 = time.monotonic()
    version = 1
    for i in range(1, edits + 1):
        version += 1
        if i % 2:
            change = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "x"}
        else:
            change = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "text": ""}
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
        if i % 50 == 0:
            c.wait_published(uri, version)
        if i % 1000 == 0:
            edit_curve.append((i, c.settle()))
    edit_s = time.monotonic() - t0
    c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    cycle_curve = [(0, c.settle())]
    t0 = time.monotonic()
    for i in range(1, cycles + 1):
        u = f"file:///tmp/km-soak/open_{i}.py"
        c.notify("textDocument/didOpen", {"textDocument": {"uri": u, "languageId": "python", "version": 1, "text": SMALL}})
        c.wait_published(u, 1)
        c.notify("textDocument/didClose", {"textDocument": {"uri": u}})
        if i % 100 == 0:
            cycle_curve.append((i, c.settle()))
    cycle_s = time.monotonic() - t0
    c.request("shutdown", None)
    c.notify("exit", None)
    c.proc.wait(timeout=30)
    warm_e = next((r for n, r in edit_curve if n >= min(2000, edits)), edit_curve[-1][1])
    warm_c = next((r for n, r in cycle_curve if n >= min(100, cycles)), cycle_curve[-1][1])
    return {"edits": edit_curve, "cycles": cycle_curve, "edit_s": edit_s, "cycle_s": cycle_s,
            "edit_growth_mb": edit_curve[-1][1] - warm_e, "cycle_growth_mb": cycle_curve[-1][1] - warm_c}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=20_000)
    ap.add_argument("--cycles", type=int, default=1_000)
    ap.add_argument("--json", help="also write the curves to this file")
    ap.add_argument("--baseline", action="store_true", help="with the issue-18 fixes undone (for comparison)")
    args = ap.parse_args(argv)
    r = run(args.edits, args.cycles, args.baseline)
    print(f"edits ({r['edit_s']:.0f} s):")
    for n, mb in r["edits"]:
        print(f"  {n:>6} edits  RSS {mb:6.1f} MB")
    print(f"open/close ({r['cycle_s']:.0f} s):")
    for n, mb in r["cycles"]:
        print(f"  {n:>6} cycles RSS {mb:6.1f} MB")
    ok = r["edit_growth_mb"] <= 5 and r["cycle_growth_mb"] <= 5
    print(f"growth after warm-up: edits {r['edit_growth_mb']:+.1f} MB, open/close {r['cycle_growth_mb']:+.1f} MB "
          f"(target <= 5 MB each): {'OK' if ok else 'OVER'}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
