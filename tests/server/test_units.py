"""The server's pure logic, without a connection: moving diagnostics through edits,
settings parsing, noqa edits, the code-action policy, the runner bridge through its host
interface (the engine's own tests, line-aligned edits and the collector hold among them, are
in tests/engine/)."""
from __future__ import annotations

import pytest
from lsprotocol import types

from keras_migrate.engine.fixer import apply_edits
from keras_migrate.server.actions import kind_allowed, noqa_edit
from keras_migrate.server.documents import line_changes, shift_diagnostics
from keras_migrate.server.settings import parse_settings


def diag(line: int, end_line: int | None = None) -> types.Diagnostic:
    return types.Diagnostic(range=types.Range(types.Position(line, 2), types.Position(end_line or line, 5)),
                            message=str(line), data={"s": 0})


def change(sl, sc, el, ec, text):
    return types.TextDocumentContentChangePartial(range=types.Range(types.Position(sl, sc), types.Position(el, ec)),
                                                  text=text)


def test_shift_keeps_above_drops_edited_moves_below():
    diags = [diag(1), diag(3), diag(5, 6), diag(9)]
    out = shift_diagnostics(diags, line_changes([change(3, 0, 4, 0, "a\nb\nc\n")]))  # line 3 replaced by 3 lines
    assert [(d.range.start.line, d.range.end.line) for d in out] == [(1, 1), (7, 8), (11, 11)]
    assert out[1].range.start.character == 2 and out[1].data["moved"] is True
    # a deletion joining lines 0-1 drops the one on line 1, moves the rest up
    out = shift_diagnostics(diags, line_changes([change(0, 3, 1, 0, "")]))
    assert [d.range.start.line for d in out] == [2, 4, 8]
    # several changes apply in order; a whole-document change drops everything
    out = shift_diagnostics(diags, line_changes([change(0, 0, 0, 0, "\n"), change(0, 0, 0, 0, "\r\n")]))
    assert [d.range.start.line for d in out] == [3, 5, 7, 11]
    assert shift_diagnostics(diags, line_changes([types.TextDocumentContentChangeWholeDocument(text="x")])) == []


def test_settings_camel_and_kebab_defaults_and_problems():
    s, problems = parse_settings({"settings": {"select": [], "ignore": ["K5"], "per-file-ignores": {"t/*": ["K1"]},
                                               "targetBackends": ["jax"], "kerasVersion": "", "logLevel": "DEBUG",
                                               "debounceMs": 80, "runInterpreter": "/usr/bin/python3",
                                               "interpreter": "ignored", "trace": {"server": "off"}}})
    assert problems == []
    cfg = s.base_config()
    assert cfg.select is None and cfg.ignore == ("K5",) and cfg.target_backends == ("jax",)
    assert cfg.per_file_ignores == (("t/*", ("K1",)),)
    assert (s.log_level, s.debounce_ms, s.run_interpreter) == ("debug", 80, "/usr/bin/python3")
    s, problems = parse_settings({"keras-migrate": {"targetBackends": ["theano"], "select": ["X9"],
                                                    "debounceMs": -1, "logLevel": 3, "colour": "red",
                                                    "unsafeFixes": "yes", "ignore": ["K2"]}})
    assert len(problems) == 6, problems
    assert all("default" in p or "ignored" in p for p in problems)
    cfg = s.base_config()  # the bad keys fell back, the good one stayed
    assert cfg.target_backends == ("tensorflow",) and cfg.ignore == ("K2",) and cfg.unsafe_fixes is False
    assert s.debounce_ms == 150
    assert parse_settings("nonsense")[1] and parse_settings(None) == (parse_settings({})[0], [])


def test_noqa_edit_appends_or_extends():
    text = "a = 1\nm = tf.keras.Model()   \nn = 2  # noqa: K101\nz = 3  # noqa\n"
    assert apply_edits(text, [noqa_edit(text, 1, "K102")]).splitlines()[1] == "m = tf.keras.Model()  # noqa: K102"
    assert apply_edits(text, [noqa_edit(text, 2, "K102")]).splitlines()[2] == "n = 2  # noqa: K101, K102"
    assert noqa_edit(text, 3, "K102") is None
    assert noqa_edit(text, 99, "K102") is None


def test_code_action_kind_matching():
    assert kind_allowed("source.fixAll.keras-migrate", ["source.fixAll"])
    assert kind_allowed("source.fixAll.keras-migrate", ["source"])
    assert kind_allowed("quickfix", None)
    assert not kind_allowed("quickfix", ["source.fixAll"])
    assert not kind_allowed("source.fixAll.keras-migrate", ["source.fixAllX"])


def _actions(text: str, rng, only=None, unsafe=False, noqa=True, notebook=False):
    from keras_migrate.server.actions import ActionRequest, list_actions
    from keras_migrate.server.diagnostics import Lines, text_diagnostics
    from keras_migrate.service import Linter

    findings = Linter().check_source(text).findings
    diags = text_diagnostics(findings, Lines(text, len), 1, "file:///a.py")
    req = ActionRequest("file:///a.py", rng, only, notebook, unsafe, noqa, 7)
    return list_actions(req, list(zip(findings, diags)), findings, lambda: text, len, 1, True)


TWO_K102 = "import tensorflow as tf\nm = tf.keras.Sequential()\nn = tf.keras.Model()\n"


def line(n: int) -> types.Range:
    return types.Range(types.Position(n, 0), types.Position(n, 99))


def test_code_action_policy_without_a_connection():
    """actions.list_actions is the policy the handler used to hold: a preferred quick fix per
    safe finding, "Fix all Kxxx" from two fixable findings on, a noqa suppression with its
    edit, and the file's fix-all; fix edits are left to resolve (``data``)."""
    acts = _actions(TWO_K102, line(1))
    titles = [a.title for a in acts]
    assert titles == ["K102: Replace with `keras.Sequential`", "Fix all K102 in this file (2)",
                      "Suppress with # noqa: K102", "Fix all keras-migrate issues"]
    fix, rule, noqa, every = acts
    assert fix.is_preferred and fix.edit is None and fix.data["kind"] == "fix" and fix.data["v_internal"] == 7
    assert rule.data == {"uri": "file:///a.py", "kind": "fixRule", "v_internal": 7, "code": "K102"}
    assert noqa.edit.document_changes[0].edits[0].new_text == "  # noqa: K102"
    assert every.kind == "source.fixAll.keras-migrate" and every.data["kind"] == "fixAll"


def test_code_action_policy_follows_only_noqa_setting_and_notebooks():
    assert [a.title for a in _actions(TWO_K102, line(1), noqa=False)][-2:] == [
        "Fix all K102 in this file (2)", "Fix all keras-migrate issues"]
    assert [a.kind for a in _actions(TWO_K102, line(1), only=["source.fixAll"])] == ["source.fixAll.keras-migrate"]
    nb = _actions(TWO_K102, line(1), only=["quickfix", "notebook"], notebook=True)
    assert "Fix all K102 in this notebook (2)" in [a.title for a in nb]
    assert [a.kind for a in nb][-1] == "notebook.source.fixAll.keras-migrate"
    assert [a.title for a in _actions(TWO_K102, line(0))] == ["Fix all keras-migrate issues"]  # nothing here
    assert _actions("x = 1\n", line(0)) == []


def test_fix_all_is_served_once_per_notebook_version():
    from keras_migrate.server.actions import FixAllServed
    served = FixAllServed()
    assert served.first("nb", 3) and not served.first("nb", 3) and served.first("nb", 4)
    served.forget("nb")
    assert served.first("nb", 4)


class _Host:
    """A RunnerHost (the bridge's two-method interface) that records what it is shown."""

    def __init__(self, units, trusted=True):
        from keras_migrate.server.runner_bridge import RunnerContext
        self.ctx = RunnerContext(trusted=trusted, interpreter=" ~/py ", roots=("/w",), num_units=units)
        self.shown: dict[str, list] = {}

    def runner_context(self):
        return self.ctx

    def set_run_diagnostics(self, uri, diagnostics):
        self.shown[uri] = list(diagnostics)


def test_runner_bridge_ranges_in_the_clients_units_through_its_host(tmp_path):
    import os

    from keras_migrate.runner import Device, RunResult
    from keras_migrate.runner.tracebacks import ErrorLocation
    from keras_migrate.server.runner_bridge import RunnerBridge, RunnerHost

    utf8 = lambda s: len(s.encode("utf-8"))  # noqa: E731
    host = _Host(utf8)
    assert isinstance(host, RunnerHost)
    bridge = RunnerBridge(host)
    assert bridge.interpreter() == os.path.expanduser("~/py") and bridge.roots() == ["/w"]
    text = "x = 1  # \x0c\n    y = '\u00e9\U0001F600'\n"
    path = tmp_path / "f.py"
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    failed = [RunResult(b, Device.from_json({"kind": "cpu"}), exit_code=1,
                        error_location=ErrorLocation(str(path), 2, f"{b}: NameError: y")) for b in ("jax", "torch")]
    bridge._publish_run_diagnostics(uri, str(path), text, failed)
    (d,) = host.shown[uri]                      # one diagnostic for both backends
    assert d.message.startswith("jax, torch: NameError")
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (1, 4, utf8("    y = '\u00e9\U0001F600'"))
    bridge._publish_run_diagnostics(uri, str(path), text, [RunResult("jax", Device.from_json({"kind": "cpu"}), 0)])
    assert host.shown[uri] == []                # the next run that executes clears it


def test_runner_bridge_refuses_untrusted_through_its_host():
    from pygls.exceptions import JsonRpcInvalidRequest

    from keras_migrate.server.runner_bridge import RunnerBridge
    bridge = RunnerBridge(_Host(len, trusted=False))
    with pytest.raises(JsonRpcInvalidRequest, match="untrusted"):
        bridge._require_trust("run code")
