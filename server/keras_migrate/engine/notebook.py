"""Jupyter notebooks: code cells joined into one virtual module, magics masked.

Cells are analysed together, in order, so names and imports from earlier cells resolve in
later ones.  IPython syntax is masked to Python of the same length (see ``mask_magics``),
so positions map back to a cell exactly.
Fixes are split back into per-cell edits; outputs and metadata are never touched.
"""
from __future__ import annotations

import ast
import bisect
import difflib
import functools
import json
import re
import tokenize
from dataclasses import dataclass, field
from typing import Any, Optional

from .astutil import parse_quietly

from .model import Edit
from .source import SourceText


class NotebookError(ValueError):
    pass


# -- IPython syntax -------------------------------------------------------------------------------
# What IPython (``IPython.core.inputtransformer2``, the reference) turns into Python before it
# runs a cell, found the way it finds it (tokens grouped into logical lines), and masked here
# to Python of the same length with the same line breaks, so every offset maps back exactly:
#
# - a cell magic (``%%name`` on the first line): a Python body (``%%time``, ``%%capture``...)
#   is analysed with the first line masked; any other body (``%%bash``, ``%%writefile``...)
#   is masked whole.
# - an escaped command, whose logical line starts with ``%``, ``!``, ``?``, ``,``, ``;`` or
#   ``/`` (``!pip install x``, ``%matplotlib inline``, ``?obj``), with its backslash-continued
#   lines; ``%time stmt`` / ``%timeit -n 3 stmt`` / ``%prun stmt`` keep ``stmt``.
# - an assignment from a magic or the shell: ``x = %who_ls``, ``files = !ls``.
# - help: a logical line whose last token is ``?`` (``obj?``, ``obj??``, ``%magic?``).
#
# A masked command becomes the no-op statement ``0#...`` (``0`` alone for a one-character
# command), never a bare comment, so ``if IN_COLAB:\n    !pip install x`` keeps its body.

ESCAPES = frozenset("!?%,;/")
# cell magics whose body IPython runs as Python in the user namespace
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
# line magics whose argument is a statement, with the options that take a value
STATEMENT_MAGICS = {"time": "", "timeit": "nrp", "prun": "DlrsT", "debug": ""}
_COMPOUND_START = re.compile(r"(?:async\s+)?(?:for|while|if|with|try|def|class|match)\b")
_HELP_END_RE = re.compile(r"""(%{0,2}(?!\d)[\w*]+(\.(?!\d)[\w*]+|\[-?[0-9]+\])*)(\?\??)$""")
_LOOP_LIMIT = 500


def _no_op(content: str) -> str:
    """A no-op statement exactly as long as ``content`` (no line break in it)."""
    if not content:
        return content
    if len(content) == 1:
        return "0"
    return "0#" + content[2:]


def _comment(line: str) -> str:
    """A physical line (no line break) as a comment of the same length, its indent kept."""
    body = line.lstrip(" \t\f")
    if not body:
        return line
    return line[:len(line) - len(body)] + "#" + body[1:]


def _split_line(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body):]


def _logical_lines(lines: list[str]) -> list[list[tokenize.TokenInfo]]:
    """Tokens grouped into logical lines, as IPython's ``make_tokens_by_line``: a group ends
    at NEWLINE, or at NL outside brackets (a blank or comment line is a group of its own).
    Tokenizing stops at the first error: what follows is not looked at (as in IPython)."""
    groups: list[list[tokenize.TokenInfo]] = [[]]
    depth = 0
    it = iter(lines)
    try:
        for tok in tokenize.generate_tokens(lambda: next(it, "")):
            if tok.type == tokenize.ERRORTOKEN and tok.string.isspace():
                continue  # before 3.12, the blank before a stray "!" or "?"
            groups[-1].append(tok)
            if tok.type == tokenize.NEWLINE or (tok.type == tokenize.NL and depth <= 0):
                groups.append([])
            elif tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}" and depth > 0:
                depth -= 1
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        pass
    if not groups[-1]:
        groups.pop()
    return groups


def _continued_end(lines: list[str], start: int) -> int:
    end = start
    while end < len(lines) and _split_line(lines[end])[0].endswith("\\") and end + 1 < len(lines):
        end += 1
    return end


def _mask_from(lines: list[str], row: int, col: int, last: int, keep_from: Optional[int] = None) -> None:
    """Mask ``lines[row][col:]`` .. ``lines[last]``: a no-op on the first line, comments on
    the continuation lines.  ``keep_from``: a column of the first line from which the text is
    kept (the statement of ``%time stmt``), the part before it masked to ``0;``."""
    body, nl = _split_line(lines[row])
    if keep_from is not None:
        lines[row] = body[:col] + "0;" + " " * (keep_from - col - 2) + body[keep_from:] + nl
        return
    lines[row] = body[:col] + _no_op(body[col:]) + nl
    for r in range(row + 1, last + 1):
        b, n = _split_line(lines[r])
        lines[r] = _comment(b) + n


def _statement_start(body: str, col: int) -> Optional[int]:
    """For ``%time stmt`` (``%timeit -n 10 stmt``...) at ``col``: where ``stmt`` starts."""
    m = re.match(r"%(\w+)", body[col:])
    if not m or m.group(1) not in STATEMENT_MAGICS:
        return None
    takes_value = STATEMENT_MAGICS[m.group(1)]
    pos = col + m.end()
    while True:
        sp = re.match(r"[ \t]+", body[pos:])
        if not sp:
            return None
        pos += sp.end()
        opt = re.match(r"-(\w)(\S*)", body[pos:])
        if not opt:
            break
        pos += opt.end()
        if opt.group(1) in takes_value and not opt.group(2):
            val = re.match(r"[ \t]+\S+", body[pos:])
            if not val:
                return None
            pos += val.end()
    stmt = body[pos:]
    if not stmt.strip() or _COMPOUND_START.match(stmt) or stmt.endswith("\\") or pos - col < 2:
        return None
    try:
        parse_quietly(stmt)
    except (SyntaxError, ValueError):
        return None
    return pos


def _assign_index(group: list[tokenize.TokenInfo]) -> Optional[int]:
    depth = 0
    for i, t in enumerate(group):
        if t.type == tokenize.OP:
            if t.string == "=" and depth == 0:
                return i
            if t.string in "([{":
                depth += 1
            elif t.string in ")]}" and depth > 0:
                depth -= 1
    return None


def _find_one(lines: list[str]) -> Optional[tuple[int, int, str, Optional[tuple[int, int]]]]:
    """The earliest piece of IPython syntax: (row, col, kind, help '?' position)."""
    found = []
    for group in _logical_lines(lines):
        ix = 0
        while ix < len(group) and group[ix].type in (tokenize.INDENT, tokenize.DEDENT):
            ix += 1
        if ix >= len(group) or group[ix].type in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
            continue
        first = group[ix]
        # help: obj? / obj?? (last token before NEWLINE); it wins over an escape at the same place
        if len(group) > 2 and group[-2].string == "?" and group[-1].type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            found.append((first.start[0] - 1, first.start[1], 5, "help", group[-2].start))
        elif len(group) > 1 and group[-1].string == "?" and group[-1].type == tokenize.ERRORTOKEN:
            found.append((first.start[0] - 1, first.start[1], 5, "help", group[-1].start))
        if first.string in ESCAPES:
            found.append((first.start[0] - 1, first.start[1], 10, "escape", None))
            continue
        a = _assign_index(group)
        if a is not None and a + 2 <= len(group) and not first.line.strip().startswith("="):
            nxt = group[a + 1]
            if nxt.string == "%" and a + 2 < len(group) and group[a + 2].type == tokenize.NAME:
                found.append((nxt.start[0] - 1, nxt.start[1], 10, "assign", None))
            elif nxt.string == "!":
                found.append((nxt.start[0] - 1, nxt.start[1], 10, "assign", None))
        if found:
            break  # the earliest line with a candidate: later lines may tokenize differently
    if not found:
        return None
    row, col, _, kind, q = min(found, key=lambda f: (f[0], f[1], f[2]))
    return row, col, kind, q


# text that may hold IPython syntax: a line starting with an escape, a "?", "= !" / "= %"
_MAYBE_IPYTHON = re.compile(r"^[ \t]*[!?%,;/]|\?|=[ \t]*[!%]", re.MULTILINE)


@functools.lru_cache(maxsize=4096)
def mask_magics(src: str) -> str:
    """The cell's text with IPython syntax masked to Python of the same length (see above)."""
    if not src or not _MAYBE_IPYTHON.search(src):
        return src
    lines = src.splitlines(keepends=True)
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        return src
    head, nl = _split_line(lines[first])
    # IPython first removes the indentation common to all lines (``leading_indent``): a cell
    # magic is one whose first line then starts with ``%%``; `` %%time`` over unindented
    # lines is a line magic, indented (IPython fails on it too)
    common = min((len(ln) - len(ln.lstrip(" \t")) for ln in lines if ln.strip()), default=0)
    if head[common:].startswith("%%") and not re.match(r"\s*%%\w+\?", head):
        name = re.match(r"\s*%%(\S*)", head).group(1)
        if name not in PYTHON_CELL_MAGICS:
            return "".join(_comment(b) + n for b, n in map(_split_line, lines))
        lines[first] = _comment(head) + nl
    done: set[tuple[int, int]] = set()
    for _ in range(_LOOP_LIMIT):
        hit = _find_one(lines)
        if hit is None or hit[:2] in done:
            break
        row, col, kind, q = hit
        done.add((row, col))
        if kind == "help":
            qrow, qcol = q[0] - 1, q[1]
            piece = "".join(_split_line(lines[r])[0] for r in range(row, qrow + 1))[col:]
            if not _HELP_END_RE.search(piece.strip()):
                continue  # IPython raises a SyntaxError here: leave it to the parser
            _mask_from(lines, row, col, qrow)
            continue
        body, _ = _split_line(lines[row])
        end = _continued_end(lines, row)
        keep = _statement_start(body, col) if kind == "escape" and end == row else None
        _mask_from(lines, row, col, end, keep)
    return "".join(lines)


@dataclass
class VirtualCell:
    position: int      # index among the virtual cells
    key: Any           # caller's identifier: index in nb["cells"], or an LSP cell URI
    text: str          # the cell's real source
    start: int = 0     # offset of the cell in the virtual text


_IMPORT_LINE = re.compile(r"(?:import|from)\s")


def _is_import_block(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return bool(lines) and all(_IMPORT_LINE.match(ln) for ln in lines)


def _last_code_line(text: str) -> str:
    for ln in reversed(text.splitlines()):
        if ln.strip() and not ln.lstrip().startswith("#"):
            return ln
    return ""


@dataclass
class VirtualSource:
    cells: list[VirtualCell] = field(default_factory=list)
    text: str = ""

    @classmethod
    def build(cls, items: list[tuple[Any, str]]) -> "VirtualSource":
        vs = cls()
        parts = []
        offset = 0
        for pos, (key, text) in enumerate(items):
            masked = mask_magics(text)
            piece = masked if masked.endswith(("\n", "\r")) or not masked else masked + "\n"
            if not piece:
                piece = "\n"
            vs.cells.append(VirtualCell(pos, key, text, offset))
            parts.append(piece)
            offset += len(piece)
        vs.text = "".join(parts)
        return vs

    @property
    def starts(self) -> list[int]:
        """Where each cell starts in the virtual text (the parts analysed independently)."""
        return [c.start for c in self.cells]

    def locate(self, offset: int) -> tuple[VirtualCell, int]:
        i = bisect.bisect_right(self._starts(), offset) - 1
        cell = self.cells[max(i, 0)]
        return cell, offset - cell.start

    def _starts(self) -> list[int]:
        cached = getattr(self, "_start_list", None)
        if cached is None or len(cached) != len(self.cells):
            cached = self._start_list = [c.start for c in self.cells]
        return cached

    def end_of(self, cell: VirtualCell) -> int:
        """Offset just after the cell's piece (the next cell's start, or the text's end)."""
        return self.cells[cell.position + 1].start if cell.position + 1 < len(self.cells) else len(self.text)

    def line_in_cell(self, offset: int) -> tuple[VirtualCell, int, int]:
        """(cell, line, column) of a virtual-text offset, on the cell's own line table
        (``SourceText``: lines end at ``\r\n``, ``\r`` or ``\n``, as Python and LSP say; a
        cell with lone ``\r`` breaks counted only ``\n``).  Past the cell's text (the final
        newline the virtual text adds), the column runs on past its last line."""
        cell, local = self.locate(offset)
        pos = self.cell_source(cell).position(local)
        return cell, pos.line, pos.col

    def cell_source(self, cell: VirtualCell) -> SourceText:
        """The cell's line table (built once per cell)."""
        cache = self.__dict__.setdefault("_cell_sources", {})
        got = cache.get(cell.position)
        if got is None or got.text is not cell.text:
            got = cache[cell.position] = SourceText(cell.text)
        return got

    def _cut(self, e: Edit) -> Optional[list[Edit]]:
        """An edit that crosses cell boundaries, as one edit per cell: the edit is widened to
        whole lines, the lines diffed, and each boundary (a line start) mapped into the new
        lines (an unchanged line, or a line of a changed stretch as long as the old one);
        None when a boundary falls where old and new lines cannot be paired."""
        text = self.text
        s = text.rfind("\n", 0, e.start) + 1
        if e.end == 0 or text[e.end - 1] == "\n":
            end = e.end
        else:
            nl = text.find("\n", e.end)
            end = len(text) if nl < 0 else nl + 1
        old = text[s:end]
        new = text[s:e.start] + e.new_text + text[e.end:end]
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
        a_starts = [0]
        for ln in a:
            a_starts.append(a_starts[-1] + len(ln))
        b_starts = [0]
        for ln in b:
            b_starts.append(b_starts[-1] + len(ln))
        ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        inner = [c - s for c in self._starts() if s < c < s + len(old)]
        cuts_new = []
        for off in inner:
            try:
                k = a_starts.index(off)
            except ValueError:
                return None
            mapped = None
            for tag, i1, i2, j1, j2 in ops:
                if k == i1:
                    mapped = j1
                    break
                if i1 < k < i2:
                    if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
                        mapped = j1 + (k - i1)
                    elif tag == "delete":
                        mapped = j1
                    break
            if mapped is None:
                return None
            cuts_new.append(b_starts[mapped])
        cuts_old = [0] + inner + [len(old)]
        cuts_new = [0] + cuts_new + [len(new)]
        out = []
        for k in range(len(cuts_old) - 1):
            piece = _trim(s + cuts_old[k], old[cuts_old[k]:cuts_old[k + 1]], new[cuts_new[k]:cuts_new[k + 1]])
            if piece is not None:
                out.append(piece)
        return out

    def split_edits(self, edits: list[Edit]) -> Optional[dict[int, list[Edit]]]:
        """Per-cell edits (keyed by position); None if an edit cannot be given to cells.

        An insertion at the start of a cell belongs to that cell (a decorator before the
        ``class`` that opens it), except added imports right after a cell that ends with
        imports, which join them.  An edit that crosses cells is cut at the boundaries."""
        out: dict[int, list[Edit]] = {}
        flat: list[Edit] = []
        for e in edits:
            if e.end > e.start and any(e.start < b < e.end for b in self._starts()):
                parts = self._cut(e)
                if parts is None:
                    return None
                flat.extend(parts)
            else:
                flat.append(e)
        for e in flat:
            cell, local_start = self.locate(e.start)
            new_text = e.new_text
            if e.start == e.end and local_start == 0 and cell.position > 0:
                prev = self.cells[cell.position - 1]
                if _is_import_block(new_text) and _IMPORT_LINE.match(_last_code_line(prev.text)):
                    cell, local_start = prev, len(prev.text)
                    if prev.text and not prev.text.endswith("\n"):
                        new_text = "\n" + new_text.rstrip("\n")
            local_end = local_start + (e.end - e.start)
            if local_end == len(cell.text) + 1 and not cell.text.endswith("\n"):
                # the edit takes the line break we added after the cell: keep the cell's own end
                local_end = len(cell.text)
                if new_text.endswith("\n"):
                    new_text = new_text[:-1]
            if local_end > len(cell.text):
                return None
            out.setdefault(cell.position, []).append(Edit(local_start, local_end, new_text))
        return out

    def apply(self, per_cell: dict[int, list[Edit]], apply_edits) -> dict[Any, str]:
        """New text per cell key; a cell keeps its own trailing-newline state."""
        changed = {}
        for pos, cell_edits in per_cell.items():
            cell = self.cells[pos]
            new = apply_edits(cell.text, cell_edits)
            if cell.text and not cell.text.endswith("\n") and new.endswith("\n"):
                new = new[:-1]
            if new != cell.text:
                changed[cell.key] = new
        return changed


def _trim(base: int, old: str, new: str) -> Optional[Edit]:
    if old == new:
        return None
    p = 0
    while p < len(old) and p < len(new) and old[p] == new[p]:
        p += 1
    s = 0
    while s < len(old) - p and s < len(new) - p and old[-1 - s] == new[-1 - s]:
        s += 1
    return Edit(base + p, base + len(old) - s, new[p:len(new) - s])


# -- .ipynb files --------------------------------------------------------------------------------
def load_notebook(raw: str) -> dict:
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not a valid notebook: JSON error at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError("not a valid notebook: no list of cells")
    return nb


def notebook_is_python(nb: dict) -> bool:
    meta = nb.get("metadata") or {}
    if not isinstance(meta, dict):
        return True
    li, ks = meta.get("language_info"), meta.get("kernelspec")
    lang = ((li.get("name") if isinstance(li, dict) else None)
            or (ks.get("language") if isinstance(ks, dict) else None) or "python")
    return str(lang).lower() == "python"


def cell_source(cell: Any) -> Optional[str]:
    """A code cell's source text; None for another cell type or a source that is not text
    (a list with an item that is not a string is left alone, never rewritten)."""
    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return None
    src = cell.get("source", "")
    if isinstance(src, list):
        if not all(isinstance(s, str) for s in src):
            return None
        return "".join(src)
    return src if isinstance(src, str) else None


def malformed_cells(nb: dict) -> list[tuple[int, str]]:
    """(index, why) of the code cells whose source cannot be read as text."""
    out = []
    for i, cell in enumerate(nb["cells"]):
        if isinstance(cell, dict) and cell.get("cell_type") == "code" and cell_source(cell) is None \
                and "source" in cell:
            out.append((i, "the cell's source is not text"))
    return out


def code_cells(nb: dict) -> list[tuple[int, str]]:
    out = []
    for i, cell in enumerate(nb["cells"]):
        src = cell_source(cell)
        if src is not None:
            out.append((i, src))
    return out


def cell_id(nb: dict, index: int) -> Optional[str]:
    try:
        cid = nb["cells"][index].get("id")
    except (IndexError, AttributeError, TypeError):
        return None
    return cid if isinstance(cid, str) else None


# -- byte-preserving writes -----------------------------------------------------------------------
_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def _skip_value(raw: str, i: int) -> int:
    """End offset of the JSON value starting at ``i`` (the text is known to be valid JSON)."""
    depth = 0
    while True:
        i = _WS.match(raw, i).end()
        ch = raw[i]
        if ch == '"':
            i = json.decoder.scanstring(raw, i + 1)[1]
        elif ch in "[{":
            depth += 1
            i += 1
            continue
        elif ch in "]}":
            depth -= 1
            i += 1
        elif ch in ",:":
            i += 1
            continue
        else:
            m = _SCALAR.match(raw, i)
            i = m.end()
        if depth == 0:
            return i


def source_spans(raw: str) -> dict[int, tuple[int, int]]:
    """Offsets (start, end) in the raw JSON of each cell's ``source`` value, by cell index."""
    spans: dict[int, tuple[int, int]] = {}
    i = _WS.match(raw, 0).end()
    if raw[i] != "{":
        return spans
    i += 1
    while True:
        i = _WS.match(raw, i).end()
        if raw[i] == "}":
            return spans
        if raw[i] == ",":
            i += 1
            continue
        key, i = json.decoder.scanstring(raw, _WS.match(raw, i).end() + 1)
        i = _WS.match(raw, i).end() + 1  # the colon
        i = _WS.match(raw, i).end()
        if key != "cells" or raw[i] != "[":
            i = _skip_value(raw, i)
            continue
        i += 1
        index = 0
        while True:
            i = _WS.match(raw, i).end()
            if raw[i] == "]":
                i += 1
                break
            if raw[i] == ",":
                i += 1
                continue
            if raw[i] == "{":
                i += 1
                while True:
                    i = _WS.match(raw, i).end()
                    if raw[i] == "}":
                        i += 1
                        break
                    if raw[i] == ",":
                        i += 1
                        continue
                    k, i = json.decoder.scanstring(raw, i + 1)
                    i = _WS.match(raw, i).end() + 1
                    vs = _WS.match(raw, i).end()
                    i = _skip_value(raw, vs)
                    if k == "source":
                        spans[index] = (vs, i)
            else:
                i = _skip_value(raw, i)
            index += 1


def _dump_source(old_json: str, text: str, as_list: bool, ascii_only: bool) -> str:
    if not as_list:
        return json.dumps(text, ensure_ascii=ascii_only)
    items = [json.dumps(s, ensure_ascii=ascii_only) for s in text.splitlines(keepends=True)]
    if not items:
        return "[]"
    m = re.match(r"\[([ \t]*\r?\n[ \t]*)", old_json)
    if m:  # one item a line, indented as the original
        first_sep = m.group(1)
        close = re.search(r"(\r?\n[ \t]*)\]$", old_json)
        closing = close.group(1) if close else first_sep[:-1] if first_sep.endswith(" ") else first_sep
        return "[" + first_sep + ("," + first_sep).join(items) + closing + "]"
    sep = ", " if re.search(r'",\s', old_json) else ","
    return "[" + sep.join(items) + "]"


def write_cells(raw: str, nb: dict, new_sources: dict[int, str]) -> str:
    """The notebook's raw text with new sources for some cells (by index in nb["cells"]):
    only those cells' ``source`` values change, every other byte is kept."""
    spans = source_spans(raw)
    ascii_only = raw.isascii()
    out = raw
    for idx in sorted(new_sources, reverse=True):
        text = new_sources[idx]
        cell = nb["cells"][idx]
        if idx not in spans:
            raise NotebookError(f"cell {idx + 1}: no source to rewrite")
        s, e = spans[idx]
        value = _dump_source(raw[s:e], text, isinstance(cell.get("source"), list), ascii_only)
        out = out[:s] + value + out[e:]
        if isinstance(cell.get("source"), list):
            cell["source"] = text.splitlines(keepends=True)
        else:
            cell["source"] = text
    return out


# -- positions in the .ipynb file itself ----------------------------------------------------------
class RawLocator:
    """Maps (cell index, offset in the cell's source) to the 1-based (line, column) of that
    character in the notebook's raw JSON: the line of the ``source`` string element that holds
    it, the column where its (possibly escaped) form starts.  For SARIF and GitHub annotations,
    which point into the file as it is on disk."""

    def __init__(self, raw: str):
        self.raw = raw
        self.spans = source_spans(raw)
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", raw)]
        self._elements: dict[int, list[tuple[int, str]]] = {}

    def _items(self, index: int) -> list[tuple[int, str]]:
        got = self._elements.get(index)
        if got is None:
            got = []
            s, e = self.spans[index]
            raw = self.raw
            if raw[s] == '"':
                got.append((s, json.decoder.scanstring(raw, s + 1)[0]))
            elif raw[s] == "[":
                i = s + 1
                while i < e:
                    i = _WS.match(raw, i).end()
                    if raw[i] == '"':
                        text, end = json.decoder.scanstring(raw, i + 1)
                        got.append((i, text))
                        i = end
                    else:
                        i += 1
            self._elements[index] = got
        return got

    def _raw_offset(self, quote: int, k: int) -> int:
        """Offset in the raw text of the k-th decoded character of the string at ``quote``."""
        raw = self.raw
        i = quote + 1
        n = 0
        while n < k:
            if raw[i] == "\\":
                if raw[i + 1] == "u":
                    code = int(raw[i + 2:i + 6], 16)
                    if 0xD800 <= code < 0xDC00 and raw[i + 6:i + 8] == "\\u":
                        i += 12
                    else:
                        i += 6
                else:
                    i += 2
            else:
                i += 1
            n += 1
        return i

    def position(self, index: int, offset: int) -> Optional[tuple[int, int]]:
        if index not in self.spans:
            return None
        items = self._items(index)
        if not items:
            s = self.spans[index][0]
            quote, k = s, 0
            p = s
        else:
            cum = 0
            quote, k = items[-1][0], len(items[-1][1])
            for q, text in items:
                if offset < cum + len(text):
                    quote, k = q, offset - cum
                    break
                cum += len(text)
            else:
                k = min(k, max(offset - (cum - len(items[-1][1])), 0))
            p = self._raw_offset(quote, k)
        line = bisect.bisect_right(self._line_starts, p) - 1
        return line + 1, p - self._line_starts[line] + 1
