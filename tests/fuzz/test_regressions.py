"""Minimal reproducers of what the edit fuzzer found (tests/fuzz/fuzz_server.py).

An open bug's test is ``xfail(strict=True)``, so the suite stays green and the test turns red
(XPASS) the moment a fix lands: then the marker goes.  Server bugs are routed to the server's
owner; this directory only reports them.  All six findings are fixed: 1 and 3 (server,
affd839), 2 (engine) and 4 (server) in 7344db3, 5 (engine) in 7593637, 6 (engine) with its test.
The engine-only reproducers live with the engine's tests (tests/engine/test_fixer.py,
tests/engine/test_analyze.py); the ones here go through the server or the CLI.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

import fuzz_server as fz

NO_CHECK = {"fix": 0, "send_fix": False, "fixall": False}


@pytest.fixture(scope="module")
def server():
    srv = fz.get_server()
    yield srv
    fz.shutdown_server()


# -- 1. server (fixed): the document text diverged after a form feed / Unicode line separator ----
# pygls' TextDocument splits lines with str.splitlines(), which also breaks at \v \f \x1c-\x1e
# \x85 \u2028 \u2029; LSP lines end only at \r\n, \r, \n.  An incremental change below such a
# character lands on the wrong line of the server's copy, and every later diagnostic, hover
# and fix refers to text the user does not have.  (Form feeds are real: Emacs page breaks.)
@pytest.mark.parametrize("sep", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028", "\u2029"],
                         ids=["FF", "VT", "FS", "NEL", "LS", "PS"])
def test_incremental_edit_after_non_lsp_line_break(server, sep):
    doc = fz.Doc(server, fz.workdir() / "regress_sep.py",
                 f"import tensorflow as tf\nx = 1  # a{sep}b\nopt = tf.keras.optimizers.Adam(lr=0.1)\n")
    doc.open()
    try:
        doc.check(NO_CHECK)
        assert [d["code"] for d in doc.last_items] == ["K102", "K502"]
        i = doc.text.index("opt")
        doc.send([doc.change(i, i, "my_")])   # LSP line 2, column 0
        doc.check(NO_CHECK)                    # was: K102 covers ' = tf.keras.optimizers.A'
    finally:
        doc.close()


# -- 2. engine (fixed): the fix loop raised on unparsable text that never mentions TF/Keras ------------
# The engine's half is tests/engine/test_fixer.py (test_fix_source_on_unparsable_text_without_keras);
# the CLI's stays here.
def test_cli_fix_on_unparsable_file_without_keras(tmp_path):
    p = tmp_path / "broken.py"
    p.write_text("x = (\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "keras_migrate", "fix", str(p)], capture_output=True, text=True)
    assert "Traceback" not in proc.stderr, proc.stderr


# -- 3. server (fixed): moved diagnostics miscounted lines when an edit joined \r and \n ----------
# While the text does not parse, the server shows the last good diagnostics moved through the
# edits (documents.line_changes/shift_diagnostics).  The line delta is counted from the new
# text alone; inserting "\n..." right after a lone "\r" (or "...\r" right before a "\n", or
# deleting what separates them) makes one "\r\n" break, one fewer than counted, so the
# diagnostics below move one line too far: past the end of the document here.
@pytest.mark.parametrize("case", ["insert-after-cr", "insert-before-lf", "delete-between"])
def test_moved_diagnostics_after_cr_lf_join(server, case):
    text = {"insert-after-cr": "import tensorflow as tf\rx = 1\nopt = tf.keras.optimizers.Adam(lr=0.1)\n",
            "insert-before-lf": "import tensorflow as tf\nx = 1\nopt = tf.keras.optimizers.Adam(lr=0.1)\n",
            "delete-between": "import tensorflow as tf\r(\nopt = tf.keras.optimizers.Adam(lr=0.1)\n"}[case]
    doc = fz.Doc(server, fz.workdir() / "regress_crlf.py", text)
    doc.open()
    try:
        if case == "delete-between":
            # parses? no: "(" alone does not; make the first analysis good, then break it
            doc.text = text.replace("\r(\n", "\rx\n")
            doc.close()
            doc.open()
        doc.check(NO_CHECK)
        assert [d["code"] for d in doc.last_items] == ["K102", "K502"]
        if case == "insert-after-cr":
            i = doc.text.index("x = 1")
            doc.send([doc.change(i, i, "\n(")])         # "\r" + "\n(" -> one break, not two
        elif case == "insert-before-lf":
            i = doc.text.index("\nopt")
            doc.send([doc.change(i, i, " (\r")])        # " (\r" + "\n" -> one break, not two
        else:
            i = doc.text.index("\rx\n") + 1
            doc.send([doc.change(i, i + 1, "")])        # "\rx\n" -> "\r\n": two breaks become one
            j = doc.text.index("opt")
            doc.send([doc.change(j, j, "(")])           # ... and stop parsing (edits line 1 only)
        doc.check(NO_CHECK)                             # was: a range past the line's end
    finally:
        doc.close()


# -- 4. server (fixed): "Suppress with # noqa" breaks a continued line or edits an open string ----------
# actions.noqa_edit appends "  # noqa: CODE" to the end of the diagnostic's first line.  After
# a backslash continuation that is a syntax error; when the line ends inside a triple-quoted
# string the "comment" goes into the string (the code changes, nothing is suppressed by
# Python's reading of it).  A suppression must only add a comment.
@pytest.mark.parametrize("text", [
    "import tensorflow as tf\nx = tf.keras.backend.sum(y) + \\\n    1\n",
    "import tensorflow as tf\nx = tf.keras.backend.sum(y); s = '''\nb'''\n",
], ids=["backslash", "open-string"])
def test_noqa_suppression_only_adds_a_comment(server, text):
    doc = fz.Doc(server, fz.workdir() / "regress_noqa.py", text)
    doc.open()
    try:
        doc.check(NO_CHECK)
        diags = [d for d in doc.last_items if d["range"]["start"]["line"] == 1]
        assert diags
        for d in diags:
            actions = server.request("textDocument/codeAction", {
                "textDocument": {"uri": doc.uri}, "range": d["range"],
                "context": {"diagnostics": [d], "only": ["quickfix"]}})
            noqa = [a for a in actions if a["title"].startswith("Suppress with # noqa")]
            assert noqa
            for a in noqa:
                got = doc.apply_checked(a["edit"], a["title"])   # FuzzFailure: does not parse
                doc.check_noqa(d, got[0], a["title"])           # FuzzFailure: changes the code
    finally:
        doc.close()


# -- 5. engine (fixed): logical lines counted without lone "\r" breaks (the fix of finding 4) ----
# analyze._logical_lines() tokenizes io.StringIO(text).readline, which splits lines at "\n"
# only; SourceText and LSP also break at a lone "\r".  With a lone "\r" earlier in the file the
# rows disagree, so noqa_line() picks the wrong physical line (here: the "\" line again, a
# syntax error); a file ending in a lone "\r" gets no NEWLINE token (an ERRORTOKEN), so the
# statement "ends" on the empty line after it and the noqa lands there, suppressing nothing.
# noqa_map() shares the row mismatch.  (io.StringIO(text, newline=None) reads "\r" as a break.)
@pytest.mark.parametrize("text", [
    "\rimport tensorflow as tf\nx = tf.keras.backend.sum(y) + \\\n    1\n",
    "import tensorflow as tf\r\nz = tf.keras.backend\r",
], ids=["cr-before-continuation", "cr-at-eof"])
def test_noqa_suppression_with_lone_cr_line_breaks(server, text):
    doc = fz.Doc(server, fz.workdir() / "regress_noqa_cr.py", text)
    doc.open()
    try:
        doc.check({**NO_CHECK, "actions": False})
        assert doc.last_items
        for d in doc.last_items:
            actions = server.request("textDocument/codeAction", {
                "textDocument": {"uri": doc.uri}, "range": d["range"],
                "context": {"diagnostics": [d], "only": ["quickfix"]}})
            for a in (a for a in actions if a["title"].startswith("Suppress with # noqa")):
                got = doc.apply_checked(a["edit"], a["title"])   # FuzzFailure: does not parse
                doc.check_noqa(d, got[0], a["title"])           # FuzzFailure: changes code / no effect
    finally:
        doc.close()


# -- 6. engine (fixed): a noqa placed at the end of a logical line joined by ";" suppressed nothing ----
# Found by the 10,000-sequence run on 2026-11-27 (seed 20261127, chunk 1).  noqa_line() (where
# "Suppress with # noqa" puts the comment) follows the tokenizer: ``x = a + \\`` / ``b; s = """``
# ... ``"""`` is ONE logical line, so the comment goes after the closing quotes.  noqa_map()
# took its spans from the ast statements one by one: the finding's statement (``x = ...``)
# ends a line earlier, so the comment never reached it.  Statements sharing a line now merge.
NOQA_SEMICOLON = (
    'import tensorflow as tf\n\n'
    'x = tf.keras.backend.sum(y) + \\\n'
    ' tf.keras.backend.mean(y); text = """\nmore\n"""\n'
)


def test_noqa_on_a_logical_line_joined_by_semicolon(server):
    doc = fz.Doc(server, fz.workdir() / "regress_noqa_semicolon.py", NOQA_SEMICOLON)
    doc.open()
    try:
        doc.check({**NO_CHECK, "actions": False})
        both = [d for d in doc.last_items if d["range"]["start"]["line"] in (2, 3)]
        assert {d["range"]["start"]["line"] for d in both} == {2, 3}, doc.last_items
        for d in both:
            actions = server.request("textDocument/codeAction", {
                "textDocument": {"uri": doc.uri}, "range": d["range"],
                "context": {"diagnostics": [d], "only": ["quickfix"]}})
            noqa = [a for a in actions if a["title"].startswith("Suppress with # noqa")]
            assert noqa
            got = doc.apply_checked(noqa[0]["edit"], noqa[0]["title"])
            doc.check_noqa(d, got[0], noqa[0]["title"])   # FuzzFailure: does not suppress
    finally:
        doc.close()


# The engine half of finding 6 (noqa_map merges statements sharing a line) is in
# tests/engine/test_analyze.py.
