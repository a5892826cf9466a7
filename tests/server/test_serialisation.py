"""The server's direct ``Diagnostic`` unstructure hook writes exactly what pygls' cattrs
converter writes (same JSON text), and the shared ranges equal freshly built ones."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from lsprotocol import types
from pygls.protocol import default_converter

from keras_migrate.config import Config
from keras_migrate.server import diagnostics as dg
from keras_migrate.service import Linter

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from dense import dense_text  # noqa: E402


def _utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _message(diags):
    return types.PublishDiagnosticsNotification(
        params=types.PublishDiagnosticsParams(uri="file:///x.py", diagnostics=diags, version=7))


def test_fast_hook_writes_what_cattrs_writes_on_real_analyses():
    text = "é = 'ü'  # non-ASCII line first\n" + dense_text(1)
    result = Linter(Config()).check_source(text, None)
    assert len(result.findings) > 100
    for units in (len, _utf16):
        diags = dg.text_diagnostics(result.findings, dg.Lines(text, units), 3, "file:///x.py")
        rng = diags[0].range
        diags += [
            types.Diagnostic(range=rng, message="bare"),
            types.Diagnostic(range=rng, message="int code", code=7, severity=types.DiagnosticSeverity.Hint,
                             tags=[], data={"nested": [1, {"a": None}]}),
            types.Diagnostic(range=rng, message="related", source="s", related_information=[
                types.DiagnosticRelatedInformation(types.Location("file:///y.py", rng), "there")]),
            types.Diagnostic(range=rng, message="enum in data", data={"k": types.DiagnosticSeverity.Error}),
        ]
        slow = json.dumps(default_converter().unstructure(_message(diags)))
        fast = json.dumps(dg.converter().unstructure(_message(diags)))
        assert fast == slow


def test_shared_ranges_equal_fresh_ones():
    text = dense_text(1)
    result = Linter(Config()).check_source(text, None)
    lines = dg.Lines(text, len)
    for f in result.findings:
        r = f.range
        fresh = types.Range(lines.position(r.start.line, r.start.col), lines.position(r.end.line, r.end.col))
        assert dg._range(lines, r) == fresh


def test_the_server_uses_the_hook():
    from keras_migrate.server.server import server
    d = types.Diagnostic(range=types.Range(types.Position(0, 0), types.Position(0, 1)), message="m")
    hook = server.protocol._converter.get_unstructure_hook(types.Diagnostic)
    assert hook.__name__ == "unstructure_diagnostic"
    assert hook(d) == default_converter().unstructure(d)
