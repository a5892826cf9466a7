"""Big inputs in the language server (issue 18; not a test): what one keystroke costs in

- a 10 MB Python document (over the analysis limit: it is never analysed), and
- a 5,000-cell notebook (one small Keras 2 line per cell),

driven over stdio by a push-diagnostics client: per keystroke, the time until the server has
answered a request sent right after it (the loop's work for the keystroke) and, for the
notebook, the publishDiagnostics messages that keystroke caused, after its debounce.

    .venv/bin/python benchmarks/big_inputs.py [--keys 20] [--cells 5000] [--mb 10]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from soak import Client  # noqa: E402


def start() -> Client:
    c = Client([sys.executable, "-m", "keras_migrate", "server"])
    c.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {
        "textDocument": {"publishDiagnostics": {"versionSupport": True}},
        "notebookDocument": {"synchronization": {}}},
        "initializationOptions": {"settings": {"debounceMs": 50}, "trusted": False}})
    c.notify("initialized", {})
    return c


def ping(c: Client) -> None:
    c.request("workspace/executeCommand", {"command": "keras-migrate.serverInfo", "arguments": []})


def big_document(c: Client, mb: int, keys: int) -> list[float]:
    uri = "file:///tmp/km-big/huge.py"
    line = "x = keras.layers.Dense(10)  # a line of a generated module\n"
    text = line * (mb * 1_000_000 // len(line))
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    ping(c)
    out = []
    for k in range(keys):
        t = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": k + 2}, "contentChanges": [
            {"range": {"start": {"line": 100_000, "character": 0}, "end": {"line": 100_000, "character": 0}},
             "text": "y"}]})
        ping(c)
        out.append((time.perf_counter() - t) * 1000)
        time.sleep(0.1)   # the debounce passes: whatever runs after it is counted in the next ping
    c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    return out


def notebook(c: Client, cells: int, keys: int) -> tuple[list[float], list[int]]:
    nb = "file:///tmp/km-big/nb.ipynb"
    cell_uris = [f"vscode-notebook-cell:/tmp/km-big/nb.ipynb#c{i}" for i in range(cells)]
    texts = ["from tensorflow import keras\n" if i == 0 else f"layer_{i} = keras.layers.Dense({i})\n"
             for i in range(cells)]
    c.notify("notebookDocument/didOpen", {
        "notebookDocument": {"uri": nb, "notebookType": "jupyter-notebook", "version": 1,
                             "cells": [{"kind": 2, "document": u} for u in cell_uris]},
        "cellTextDocuments": [{"uri": u, "languageId": "python", "version": 1, "text": t}
                              for u, t in zip(cell_uris, texts)]})
    wait_quiet(c)
    lat, pubs = [], []
    for k in range(keys):
        before = sum(c.counts.values())
        t = time.perf_counter()
        u = cell_uris[cells // 2]
        c.notify("notebookDocument/didChange", {
            "notebookDocument": {"uri": nb, "version": k + 2},
            "change": {"cells": {"textContent": [{"document": {"uri": u, "version": k + 2}, "changes": [
                {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                 "text": "# "}]}]}}})
        ping(c)
        lat.append((time.perf_counter() - t) * 1000)
        wait_quiet(c)
        pubs.append(sum(c.counts.values()) - before)
    return lat, pubs


def wait_quiet(c: Client, quiet_s: float = 1.0, cap_s: float = 120) -> None:
    """Until no publish arrived for ``quiet_s``."""
    end = time.monotonic() + cap_s
    last = -1
    while time.monotonic() < end:
        n = sum(c.counts.values())
        if n == last:
            return
        last = n
        time.sleep(quiet_s)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=20)
    ap.add_argument("--cells", type=int, default=5000)
    ap.add_argument("--mb", type=int, default=10)
    args = ap.parse_args(argv)
    c = start()
    big = big_document(c, args.mb, args.keys)
    print(f"{args.mb} MB document, per keystroke: median {statistics.median(big):.1f} ms, max {max(big):.1f} ms")
    lat, pubs = notebook(c, args.cells, max(3, args.keys // 4))
    print(f"{args.cells}-cell notebook, per keystroke: median {statistics.median(lat):.1f} ms until the loop answers; "
          f"publishes per keystroke {pubs}")
    c.request("shutdown", None)
    c.notify("exit", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
