"""Diagnostics as you type: appear, move, disappear; half-typed code; UTF-16 columns."""
from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import change, codes, open_doc, wait_for_diagnostics

pytestmark = pytest.mark.asyncio

SRC = """import tensorflow as tf

x = 1
model = tf.keras.Sequential()
"""


async def test_open_type_fix_and_clear(client: LanguageClient, tmp_path):
    uri = (tmp_path / "a.py").as_uri()
    open_doc(client, uri, SRC)
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    d = diags[0]
    assert d.code == "K102"
    assert d.source == "keras-migrate"
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (3, 8, 27)
    assert d.code_description.href.endswith("#k102-tf-keras-attribute")
    assert d.severity == types.DiagnosticSeverity.Warning
    assert d.data["fix"] == "safe"

    # type a second finding on a new line
    change(client, uri, 2, (4, 0), (4, 0), "layer = tf.keras.layers.Dense(1)\n")
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 2, version=2)
    assert [x.range.start.line for x in diags] == [3, 4]

    # delete the first finding's line: it disappears, the other moves up
    change(client, uri, 3, (3, 0), (4, 0), "")
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1, version=3)
    assert diags[0].range.start.line == 3 and "Dense" in diags[0].message

    # remove the remaining one
    change(client, uri, 4, (3, 0), (4, 0), "")
    await wait_for_diagnostics(client, uri, lambda d: d == [], version=4)


async def test_half_typed_keeps_last_good_moved(client: LanguageClient, tmp_path):
    uri = (tmp_path / "b.py").as_uri()
    text = "import tensorflow as tf\nm = tf.keras.Sequential()\n\nn = tf.keras.Model()\nlast = tf.keras.layers.Dense(2)\n"
    open_doc(client, uri, text)
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 3)
    # half-typed call on a new line 2: the file no longer parses
    change(client, uri, 2, (2, 0), (2, 0), "y = foo(\n")
    diags = await wait_for_diagnostics(client, uri, lambda d: True, version=2)
    # last good diagnostics kept, those below the edit moved down one line
    assert [(x.code, x.range.start.line) for x in diags] == [("K102", 1), ("K102", 4), ("K102", 5)]
    assert not any("Traceback" in m.message for m in client.messages)
    # keep typing on the broken line: the diagnostic on that line's neighbours stay
    change(client, uri, 3, (2, 8), (2, 8), "1, ")
    diags = await wait_for_diagnostics(client, uri, lambda d: True, version=3)
    assert [x.range.start.line for x in diags] == [1, 4, 5]
    # the statements that parse are analysed afresh while the call stays open (issue 12): a
    # finding typed below the broken line shows up at once
    change(client, uri, 4, (4, 0), (4, 1), "o = tf.keras.Input((1,)); N")
    diags = await wait_for_diagnostics(client, uri, lambda d: True, version=4)
    assert [x.range.start.line for x in diags] == [1, 4, 4, 5]
    change(client, uri, 5, (4, 0), (4, 26), "")
    diags = await wait_for_diagnostics(client, uri, lambda d: True, version=5)
    assert [x.range.start.line for x in diags] == [1, 4, 5]
    # finish the call: fresh analysis
    change(client, uri, 6, (2, 11), (2, 11), ")")
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 3, version=6)
    assert [x.range.start.line for x in diags] == [1, 4, 5]


async def test_utf16_columns_after_non_ascii(client: LanguageClient, tmp_path):
    uri = (tmp_path / "u.py").as_uri()
    # 😀 is 2 UTF-16 code units, é is 1; the finding starts after them on the same line
    text = "import tensorflow as tf\ns = '😀é'; m = tf.keras.Sequential()\n"
    open_doc(client, uri, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    line = text.splitlines()[1]
    cp = line.index("tf.keras")
    assert diags[0].range.start.character == cp + 1  # one extra unit for the astral emoji
    assert diags[0].range.end.character == cp + 1 + len("tf.keras.Sequential")


async def test_file_without_keras_has_no_diagnostics(client: LanguageClient, tmp_path):
    uri = (tmp_path / "plain.py").as_uri()
    open_doc(client, uri, "print('hello')\n")
    assert await wait_for_diagnostics(client, uri) == []


async def test_lsp_line_model_form_feed_and_unicode_separators(client: LanguageClient, tmp_path):
    """LSP lines end only at \\r\\n, \\r, \\n: an edit below a form feed or U+2028 must land on
    the line the client means (pygls' own model splits there)."""
    uri = (tmp_path / "ff.py").as_uri()
    text = "import tensorflow as tf\nx = 1  # a\x0cb \u2028 c\nm = tf.keras.Sequential()\n"
    open_doc(client, uri, text)
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    change(client, uri, 2, (2, 0), (2, 0), "my_")  # LSP line 2 is the `m = ...` line
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1, version=2)
    assert (diags[0].range.start.line, diags[0].range.start.character) == (2, 7)


async def test_moved_diagnostics_count_cr_lf_joins(client: LanguageClient, tmp_path):
    uri = (tmp_path / "crlf.py").as_uri()
    text = "import tensorflow as tf\rx = 1\nm = tf.keras.Sequential()\n"
    open_doc(client, uri, text)
    d = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    assert d[0].range.start.line == 2
    # "\r" + the inserted "\n(" make one \r\n break, not two: the text does not parse, and
    # the kept diagnostic stays on line 2 (counting the inserted "\n" would move it to 3)
    change(client, uri, 2, (1, 0), (1, 0), "\n(")
    d = await wait_for_diagnostics(client, uri, lambda d: True, version=2)
    assert [x.range.start.line for x in d] == [2]
