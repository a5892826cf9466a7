"""The server's pure logic, without a connection: moving diagnostics through edits,
settings parsing, noqa edits, code-action kinds (the engine's own tests, line-aligned edits
and the collector hold among them, are in tests/engine/)."""
from __future__ import annotations

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
