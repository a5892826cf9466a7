"""Source text: decoding, line tables and offset <-> (line, column) conversion.

``ast`` reports columns as UTF-8 byte offsets; we keep everything in code points and
convert once here.  Line endings are preserved exactly (``\\n``, ``\\r\\n`` or ``\\r``).
"""
from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass
from typing import Optional

from .model import Position, Range

_CODING_RE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


class DecodeError(ValueError):
    pass


def decode_source(data: bytes) -> str:
    """Decode Python source bytes as Python itself would (BOM, PEP 263 cookie, UTF-8).

    Raises DecodeError with a human message on bytes that are not valid in that encoding.
    """
    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    else:
        for line in data.splitlines()[:2]:
            m = _CODING_RE.match(line)
            if m:
                encoding = m.group(1).decode("ascii", "replace")
                break
    try:
        return data.decode(encoding)
    except LookupError:
        raise DecodeError(f"unknown source encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DecodeError(
            f"not valid {encoding} text: byte 0x{data[exc.start]:02x} at line {line}") from None
    except (UnicodeError, TypeError):  # 'undefined' always fails; rot13 & co. are not text codecs
        raise DecodeError(f"unknown source encoding {encoding!r}") from None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# -- position units -----------------------------------------------------------------------------
# The engine counts columns in code points; a client counts in the position encoding it
# negotiated (LSP: UTF-16 unless it offered UTF-8 or UTF-32; SARIF: UTF-16).  Each of these
# says how many units a piece of text is; pygls' ``PositionCodec.client_num_units`` is one too.
def utf8_units(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def utf16_units(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def utf32_units(text: str) -> int:
    return len(text)


UNITS = {"utf-8": utf8_units, "utf-16": utf16_units, "utf-32": utf32_units}


@dataclass
class SourceText:
    text: str

    def __post_init__(self) -> None:
        starts = [0]
        for m in _LINE_BREAK.finditer(self.text):
            starts.append(m.end())
        self.line_starts = starts
        self._ascii = self.text.isascii()

    # -- lines -------------------------------------------------------------------------
    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_text(self, line: int) -> str:
        """Line content without its line break."""
        start = self.line_starts[line]
        end = self.line_starts[line + 1] if line + 1 < len(self.line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def column(self, line: int, col: int, units=utf16_units) -> int:
        """Code point ``col`` of ``line`` (0-based both) in a client's units (``units``: one of
        ``UNITS``' counters, or pygls' ``client_num_units``), on the engine's line table: the
        one position model the CLI (SARIF), the language server and the runner bridge share.
        Lines break at ``\r\n``, ``\r`` and ``\n`` only, as Python's tokenizer and LSP
        do; ``str.splitlines`` also breaks at ``\f``, ``\v``, ``\x1c``-``\x1e``, ``\x85``,
        ``\u2028`` and ``\u2029``, which put a column on the wrong line.  A column past the
        line's end stays past it by as many code points."""
        if self._ascii or col <= 0 or not 0 <= line < len(self.line_starts):
            return col
        text = self.line_text(line)
        head = text[:col]
        return (len(head) if head.isascii() else units(head)) + max(0, col - len(text))

    def utf16_col(self, line: int, col: int) -> int:
        """UTF-16 code units before code point ``col`` of ``line``, clamped to the line (SARIF's
        column); 0 for a line that does not exist."""
        if not 0 <= line < len(self.line_starts):
            return 0
        return self.column(line, min(max(col, 0), len(self.line_text(line))), utf16_units)

    def line_end(self, line: int) -> int:
        """Offset just after the line's break (start of the next line) or end of text."""
        return self.line_starts[line + 1] if line + 1 < len(self.line_starts) else len(self.text)

    def newline(self) -> str:
        m = _LINE_BREAK.search(self.text)
        return m.group(0) if m else "\n"

    # -- conversions -------------------------------------------------------------------
    def offset(self, line: int, col: int) -> int:
        line = max(0, min(line, len(self.line_starts) - 1))
        return min(self.line_starts[line] + col, len(self.text))

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return Position(line, offset - self.line_starts[line])

    def range(self, start: int, end: int) -> Range:
        return Range(self.position(start), self.position(end))

    def ast_offset(self, lineno: int, col_byte: int) -> int:
        """Offset of an ``ast`` position (1-based line, UTF-8 byte column)."""
        line = lineno - 1
        if self._ascii:
            return self.offset(line, col_byte)
        text = self.line_text(line)
        if text.isascii():
            return self.offset(line, col_byte)
        col = len(text.encode("utf-8")[:col_byte].decode("utf-8", "replace"))
        return self.offset(line, col)

    def node_span(self, node) -> Optional[tuple[int, int]]:
        """(start, end) offsets of an ast node with position information."""
        if getattr(node, "end_lineno", None) is None:
            return None
        return (self.ast_offset(node.lineno, node.col_offset),
                self.ast_offset(node.end_lineno, node.end_col_offset))
