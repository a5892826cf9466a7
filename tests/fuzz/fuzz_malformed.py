"""Malformed-message fuzzer for the keras-migrate language server (issue 18).

Drives the real server (``python -m keras_migrate server`` over stdio, the same JSON-RPC client
as the edit fuzzer, ``fuzz_server.Server``) with messages a buggy or hostile client could send:
requests of every method the server serves whose params are a valid base mutated (a key
dropped, set to null, or to a random JSON value of any type: ``hover`` with null params,
``codeAction/resolve`` without a title, ``executeCommand`` without ``command``,
``diagnostic({})``...), params missing altogether, ids of every JSON-RPC type, notifications
with junk params (``didOpen``/``didChange``/``didClose``/``$/cancelRequest``...), bodies that
are not JSON or not JSON-RPC objects.

Checked after every batch: every request with a valid id (an integer or a string) got an
answer, a result or a JSON-RPC error, within ``ANSWER_BOUND_S`` (one unanswered request fails
the batch); the server is alive and still answers a well-formed ``hover``; nothing on its stderr
is a traceback.  The server is untrusted, so no command that starts a process can run.

``python tests/fuzz/fuzz_malformed.py N`` is the long run (``scripts/fuzz-server.sh malformed N``).
"""
from __future__ import annotations

import argparse
import copy
import json
import queue
import sys
import time
from pathlib import Path
from typing import Any, Optional

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import fuzz_server as fz  # noqa: E402

ANSWER_BOUND_S = 20.0
MISSING = object()
URI = "file:///tmp/km-malformed/model.py"
TEXT = "from tensorflow import keras\nopt = keras.optimizers.Adam(lr=0.01)\nimport tensorflow as tf\n"
RANGE = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 5}}
DOC = {"uri": URI}

# a valid request of each method the server answers; the fuzzer mutates these
BASES: dict[str, Any] = {
    "textDocument/hover": {"textDocument": DOC, "position": {"line": 0, "character": 3}},
    "textDocument/codeAction": {"textDocument": DOC, "range": RANGE,
                                "context": {"diagnostics": [], "only": ["quickfix", "source.fixAll"]}},
    "codeAction/resolve": {"title": "fix", "kind": "quickfix",
                           "data": {"uri": URI, "kind": "fix", "code": "K101", "v_internal": 1, "s": 0, "e": 28,
                                    "r": [0, 0, 0, 28]}},
    "textDocument/diagnostic": {"textDocument": DOC, "previousResultId": "x"},
    "workspace/executeCommand": {"command": "keras-migrate.serverInfo", "arguments": []},
    "workspace/executeCommand#fixAll": {"command": "keras-migrate.fixAll", "arguments": [URI]},
    "workspace/executeCommand#report": {"command": "keras-migrate.report", "arguments": [{}]},
    "workspace/executeCommand#run": {"command": "keras-migrate.run", "arguments": [{"uri": URI}]},
    "workspace/executeCommand#env": {"command": "keras-migrate.checkEnvironment", "arguments": [{"uri": URI}]},
    "no/suchMethod": {},
}
NOTIFICATIONS: dict[str, Any] = {
    "textDocument/didChange": {"textDocument": {"uri": URI, "version": 3},
                               "contentChanges": [{"range": RANGE, "text": "x"}]},
    "textDocument/didOpen": {"textDocument": {"uri": URI + ".other.py", "languageId": "python", "version": 1,
                                              "text": TEXT}},
    "textDocument/didClose": {"textDocument": {"uri": URI + ".other.py"}},
    "workspace/didChangeConfiguration": {"settings": {"keras-migrate": {"debounceMs": 30}}},
    "workspace/didChangeWatchedFiles": {"changes": [{"uri": "file:///tmp/pyproject.toml", "type": 2}]},
    "$/cancelRequest": {"id": 1},
    "$/setTrace": {"value": "off"},
    "notebookDocument/didChange": {"notebookDocument": {"uri": "file:///tmp/n.ipynb", "version": 2},
                                   "change": {}},
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw, base):
    """``base`` with 1-3 mutations: a key dropped, a value set to null or to any JSON value."""
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(obj))
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["drop", "null", "value", "value"]))
        if not path:
            obj = None if how == "null" else draw(json_values) if how == "value" else MISSING
            if obj is MISSING:
                return MISSING
            continue
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        if how == "drop":
            del parent[key]
        elif how == "null":
            parent[key] = None
        else:
            parent[key] = draw(json_values)
    return obj


ids = st.one_of(st.integers(1, 2**31), st.text(min_size=1, max_size=10).map(lambda s: "s-" + s),
                st.sampled_from([None, 1.5, [1], {"a": 1}, True]))


@st.composite
def message(draw):
    kind = draw(st.sampled_from(["request"] * 6 + ["notification"] * 2 + ["raw"]))
    if kind == "request":
        name = draw(st.sampled_from(sorted(BASES)))
        params = draw(st.one_of(mutated(BASES[name]), st.just(MISSING), st.just(None), json_values))
        return {"kind": "request", "method": name.split("#")[0], "params": params, "id": draw(ids),
                "drop_jsonrpc": draw(st.integers(0, 19)) == 0}
    if kind == "notification":
        name = draw(st.sampled_from(sorted(NOTIFICATIONS)))
        return {"kind": "notification", "method": name,
                "params": draw(st.one_of(mutated(NOTIFICATIONS[name]), st.just(MISSING), json_values))}
    body = draw(st.sampled_from([b"{not json", b"[]", b"[1, 2]", b"42", b'"x"', b"null", b"{}",
                                 b'{"jsonrpc": "2.0"}', b'{"jsonrpc": "1.0", "id": 5, "method": "x"}',
                                 b'{"jsonrpc": "2.0", "id": 9, "result": 1}', b'{"jsonrpc": "2.0", "method": 7}',
                                 "{\"jsonrpc\": \"2.0\", \"method\": \"\u00e9\"}".encode()]))
    return {"kind": "raw", "body": body}


def batches(max_size: int = 8):
    return st.lists(message(), min_size=1, max_size=max_size)


class MalformedStats:
    def __init__(self) -> None:
        self.batches = self.requests = self.answered = self.errors = self.results = 0
        self.notifications = self.raw = 0
        self.unanswered: list[str] = []

    def line(self) -> str:
        return (f"{self.batches} batches, {self.requests} requests with a valid id ({self.results} results, "
                f"{self.errors} JSON-RPC errors), {self.notifications} junk notifications, {self.raw} raw bodies; "
                f"unanswered within {ANSWER_BOUND_S:.0f}s: {len(self.unanswered)}")


STATS = MalformedStats()


class RawServer(fz.Server):
    """``fuzz_server.Server`` with raw sends and answers collected by id."""

    def send_raw(self, body: bytes) -> None:
        with self._wlock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def send_request(self, method: str, params: Any, rid: Any, drop_jsonrpc: bool = False) -> Optional["queue.Queue"]:
        q: Optional[queue.Queue] = None
        if isinstance(rid, (int, str)) and not isinstance(rid, bool):
            q = queue.Queue()
            with self._rlock:
                self._responses[rid] = q
        msg: dict = {"id": rid, "method": method}
        if not drop_jsonrpc:
            msg["jsonrpc"] = "2.0"
        if params is not MISSING:
            msg["params"] = params
        self.send_raw(json.dumps(msg).encode("utf-8"))
        return q


_SERVER: Optional[RawServer] = None


def get_server() -> RawServer:
    global _SERVER
    if _SERVER is None or not _SERVER.alive():
        saved = fz.INIT_OPTIONS
        fz.INIT_OPTIONS = {"settings": {"debounceMs": 30}, "trusted": False}   # nothing may start a process
        try:
            _SERVER = RawServer(pull=True)
        finally:
            fz.INIT_OPTIONS = saved
        _SERVER.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python", "version": 1,
                                                                 "text": TEXT}})
    return _SERVER


def shutdown_server() -> None:
    global _SERVER
    if _SERVER is not None:
        _SERVER.close()
        _SERVER = None


def run_batch(batch: list[dict]) -> None:
    srv = get_server()
    srv.stderr_lines.clear()
    waiting = []
    for i, m in enumerate(batch):
        if m["kind"] == "request":
            rid = m["id"]
            if isinstance(rid, (int, str)) and not isinstance(rid, bool):
                rid = f"{rid}-{STATS.batches}-{i}" if isinstance(rid, str) else rid * 1000 + i
            q = srv.send_request(m["method"], m["params"], rid, m["drop_jsonrpc"])
            if q is not None:
                waiting.append((rid, m, q))
        elif m["kind"] == "notification":
            STATS.notifications += 1
            msg = {"jsonrpc": "2.0", "method": m["method"]}
            if m["params"] is not MISSING:
                msg["params"] = m["params"]
            srv.send_raw(json.dumps(msg).encode("utf-8"))
        else:
            STATS.raw += 1
            srv.send_raw(m["body"])
    deadline = time.monotonic() + ANSWER_BOUND_S
    missing = []
    for rid, m, q in waiting:
        STATS.requests += 1
        try:
            got = q.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            missing.append(f"{m['method']} id={rid!r} params={json.dumps(m['params'], default=str)[:200]}")
            continue
        finally:
            with srv._rlock:
                srv._responses.pop(rid, None)
        STATS.answered += 1
        if "error" in got:
            STATS.errors += 1
            if not isinstance(got["error"].get("code"), int):
                raise fz.FuzzFailure(f"{m['method']}: an error without an integer code: {got}")
        else:
            STATS.results += 1
    STATS.batches += 1
    STATS.unanswered.extend(missing)
    problems = []
    if missing:
        problems.append(f"{len(missing)} request(s) not answered within {ANSWER_BOUND_S}s:\n  " + "\n  ".join(missing))
    if not srv.alive():
        problems.append(f"server died: {srv.dead_reason or srv.proc.poll()}")
    else:
        try:
            srv.request("textDocument/hover", BASES["textDocument/hover"], timeout=ANSWER_BOUND_S)
        except fz.FuzzFailure as exc:
            problems.append(f"a well-formed hover after the batch failed: {exc}")
    tb = [ln for ln in srv.stderr_lines if "Traceback" in ln]
    if tb:
        problems.append("traceback on the server's stderr:\n" + "\n".join(srv.stderr_lines[-40:]))
    if problems:
        sent = json.dumps(batch, default=lambda o: "<missing>" if o is MISSING else repr(o))[:3000]
        raise fz.FuzzFailure("\n".join(problems) + f"\nbatch: {sent}")


def long_run(n: int, seed: int) -> int:
    @settings(max_examples=n, deadline=None, database=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(batches())
    def fuzz(batch):
        run_batch(batch)

    from hypothesis import seed as hseed
    t0 = time.monotonic()
    try:
        hseed(seed)(fuzz)()
        ok = True
    except fz.FuzzFailure as exc:
        print(f"FAILURE:\n{exc}", flush=True)
        ok = False
    print(f"malformed fuzz: {STATS.line()} in {time.monotonic() - t0:.0f}s", flush=True)
    return 0 if ok and not STATS.unanswered else 1


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Fuzz the keras-migrate language server with malformed messages.")
    ap.add_argument("n", nargs="?", type=int, default=2000, help="batches to send (default 2000)")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    print(f"keras-migrate malformed-message fuzz: {args.n} batches, seed {seed}", flush=True)
    try:
        return long_run(args.n, seed)
    finally:
        shutdown_server()


if __name__ == "__main__":
    sys.exit(main())
