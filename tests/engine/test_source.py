"""engine/source.py: decoding, the line table and the one position model (code points ->
a client's units) that the CLI's SARIF, the language server and the runner bridge share."""
from __future__ import annotations

import pytest

from keras_migrate.engine.source import (UNITS, DecodeError, SourceText, decode_source, utf8_units, utf16_units,
                                         utf32_units)


def test_lines_break_at_crlf_cr_lf_only():
    src = SourceText("a\r\nb\rc\nd\x0ce\u2028f\x85g")
    assert src.line_count == 4
    assert [src.line_text(i) for i in range(4)] == ["a", "b", "c", "d\x0ce\u2028f\x85g"]
    assert src.position(src.text.index("e")).line == 3
    assert src.newline() == "\r\n"


@pytest.mark.parametrize("name,count", [("utf-8", utf8_units), ("utf-16", utf16_units), ("utf-32", utf32_units)])
def test_column_counts_the_clients_units(name, count):
    line = "x = '\u00e9\U0001F600'  # \x0c"
    src = SourceText(f"import keras\n{line}\n")
    assert UNITS[name] is count
    for col in range(len(line) + 1):
        assert src.column(1, col, count) == count(line[:col])
    assert src.column(1, len(line) + 2, count) == count(line) + 2   # past the end: code points on


def test_sarif_column_is_utf16_clamped_to_the_line():
    src = SourceText("a = '\U0001F600'\nb")
    assert src.utf16_col(0, 6) == 7 and src.utf16_col(0, 99) == len("a = '") + 2 + 1
    assert src.utf16_col(7, 3) == 0


def test_ascii_text_columns_are_code_points_in_every_unit():
    src = SourceText("abc\ndef\n")
    assert all(src.column(1, 2, u) == 2 for u in UNITS.values())


def test_ast_offsets_from_utf8_byte_columns():
    text = "s = '\u00e9'; t = 1\n"
    src = SourceText(text)
    import ast
    node = ast.parse(text).body[1]
    assert text[src.node_span(node)[0]:src.node_span(node)[1]] == "t = 1"


def test_decode_source_bom_cookie_and_errors():
    assert decode_source(b"\xef\xbb\xbfx = 1\n") == "x = 1\n"
    assert decode_source("# -*- coding: latin-1 -*-\nx = '\u00e9'\n".encode("latin-1")).endswith("'\u00e9'\n")
    with pytest.raises(DecodeError, match="line 2"):
        decode_source(b"x = 1\ny = '\xe9'\n")
    with pytest.raises(DecodeError, match="unknown source encoding"):
        decode_source(b"# coding: nonsense-42\nx = 1\n")
