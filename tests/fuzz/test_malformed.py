"""Every request gets an answer (issue 18), over a real stdio connection to the server started as
``python -m keras_migrate server``: the cases the issue found unanswered, the lifecycle
(requests after ``shutdown``, the exit code of ``exit`` with and without it), an older
``didChange`` rejected, and a derandomized malformed-message fuzz (``fuzz_malformed.py``;
the long run is ``scripts/fuzz-server.sh malformed N``) in which one request without an
answer within the bound fails."""
from __future__ import annotations

import json
import os
import queue

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import fuzz_malformed as fm
import fuzz_server as fz

SHORT = int(os.environ.get("KM_FUZZ_MALFORMED_EXAMPLES", "150"))


@pytest.fixture(scope="module")
def srv():
    s = fm.get_server()
    yield s
    fm.shutdown_server()


def _ask(srv, method, params=fm.MISSING, rid=None, timeout=20):
    rid = rid if rid is not None else f"t-{method}-{json.dumps(params, default=str)}"
    q = srv.send_request(method, params, rid)
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"{method} {params!r}: no answer within {timeout}s")
    finally:
        srv._responses.pop(rid, None)


@pytest.mark.parametrize("method,params", [
    ("textDocument/hover", None),
    ("textDocument/hover", {"textDocument": {"uri": 7}, "position": "x"}),
    ("textDocument/hover", fm.MISSING),
    ("codeAction/resolve", {"data": {"uri": fm.URI, "kind": "fix"}}),        # no title
    ("workspace/executeCommand", {}),                                           # no command
    ("workspace/executeCommand", {"command": None, "arguments": 3}),
    ("textDocument/diagnostic", {}),
    ("textDocument/codeAction", {"textDocument": {"uri": fm.URI}}),
])
def test_requests_the_issue_found_unanswered_get_invalid_params(srv, method, params):
    got = _ask(srv, method, params)
    assert got["error"]["code"] == -32602, got
    assert method in got["error"]["message"]
    assert not [ln for ln in srv.stderr_lines if "Traceback" in ln]


def test_not_json_rpc_and_not_json(srv):
    q = queue.Queue()
    srv._responses["no-jsonrpc"] = q
    srv.send_raw(json.dumps({"id": "no-jsonrpc", "method": "textDocument/hover", "params": {}}).encode())
    got = q.get(timeout=20)
    assert got["error"]["code"] == -32600
    q = queue.Queue()
    srv._responses[None] = q
    try:
        srv.send_raw(b"{not json")
        got = q.get(timeout=20)
        assert got["error"]["code"] == -32700 and got["id"] is None
    finally:
        srv._responses.pop(None, None)
    # and it still serves a well-formed request
    assert "result" in _ask(srv, "textDocument/hover", fm.BASES["textDocument/hover"], rid="after")


def test_an_older_did_change_is_rejected(srv):
    uri = fm.URI + ".versions.py"
    srv.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                         "text": "import os\n"}})
    full = lambda text, v: {"textDocument": {"uri": uri, "version": v}, "contentChanges": [{"text": text}]}  # noqa: E731
    srv.notify("textDocument/didChange", full("from tensorflow import keras\n", 5))
    srv.notify("textDocument/didChange", full("import os\nimport sys\n", 3))      # older: rejected
    got = _ask(srv, "textDocument/diagnostic", {"textDocument": {"uri": uri}}, rid="versions")
    codes = [d["code"] for d in got["result"]["items"]]
    assert codes == ["K101"], got   # the text of version 5, not of the stale version 3
    srv.notify("textDocument/didChange", full("import os\n", 6))                   # newer: applied
    got = _ask(srv, "textDocument/diagnostic", {"textDocument": {"uri": uri}}, rid="versions-6")
    assert got["result"]["items"] == []


@settings(max_examples=SHORT, derandomize=True, deadline=None, database=None,
          phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
@given(fm.batches())
def test_malformed_message_fuzz(srv, batch):
    fm.run_batch(batch)


def test_malformed_fuzz_counts(srv):
    print(f"\nmalformed fuzz (short): {fm.STATS.line()}")
    assert fm.STATS.unanswered == []
    if fm.STATS.batches:
        assert fm.STATS.requests > fm.STATS.batches   # it did send requests, and each got an answer


# -- lifecycle: a fresh server each ----------------------------------------------------------------------------
def _fresh():
    saved = fz.INIT_OPTIONS
    fz.INIT_OPTIONS = {"settings": {"debounceMs": 30}, "trusted": False}
    try:
        return fm.RawServer(pull=True)
    finally:
        fz.INIT_OPTIONS = saved


def test_after_shutdown_requests_get_invalid_request_and_exit_is_0():
    s = _fresh()
    try:
        assert s.request("shutdown", None) is None
        for i, (method, params) in enumerate([("textDocument/hover", fm.BASES["textDocument/hover"]),
                                              ("workspace/executeCommand", {"command": "keras-migrate.serverInfo"}),
                                              ("no/such", {})]):
            q = s.send_request(method, params, 900 + i)
            got = q.get(timeout=20)
            assert got["error"]["code"] == -32600, got
        s.notify("exit", None)
        assert s.proc.wait(timeout=20) == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()


def test_exit_without_shutdown_exits_1():
    s = _fresh()
    try:
        s.notify("exit", None)
        assert s.proc.wait(timeout=20) == 1
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
