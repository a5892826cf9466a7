"""One file in, its part of a ``Report`` out: what ``check`` prints, the pool's workers
(``batch``) return and ``fix`` re-checks.  Between the service (analysis) and the adapters
(how a report is printed), so the CLI and the worker pool share it without importing each
other.  Cheap to import: the engine's analysis, notebooks and fixer load when first used.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from . import fsio
from .engine.model import Finding
from .engine.source import DecodeError, SourceText
from .formats import Item, Problem, Report

if TYPE_CHECKING:
    from .service import Linter


# -- results --------------------------------------------------------------------------------------
def _edit_json(start: tuple[int, int], end: tuple[int, int], content: str) -> dict:
    return {"content": content, "location": {"row": start[0] + 1, "column": start[1] + 1},
            "end_location": {"row": end[0] + 1, "column": end[1] + 1}}


def _fix_edits(text: str, f: Finding, position) -> Optional[list[dict]]:
    """The finding's fix as ruff's JSON edits (imports it adds and removes included): the
    minimal edits between the text and the text with this one fix applied.  ``position``
    maps an offset of ``text`` to (line, col) as the output shows it (0-based)."""
    if not f.has_fix:
        return None
    fix = f.fix()
    if fix is None:
        return []
    from .engine.fixer import apply_fix, minimal_edits
    new = apply_fix(text, fix)
    if new is None:
        return []
    return [_edit_json(position(e.start), position(e.end), e.new_text) for e in minimal_edits(text, new)]


def _pos(p) -> tuple[int, int]:
    return p.line, p.col


def _items_for_text(path: str, text: str, findings: Sequence[Finding], want_edits: bool = False) -> list[Item]:
    source = SourceText(text)
    out = []
    for f in findings:
        s, e = f.range.start, f.range.end
        sl = source.line_text(s.line) if s.line < source.line_count else ""
        it = Item(path, f, s.line + 1, s.col + 1, e.line + 1, e.col + 1, None,
                  (source.utf16_col(s.line, s.col) + 1, source.utf16_col(e.line, e.col) + 1), source_line=sl)
        if want_edits:
            from .engine.analyze import noqa_line
            it.edits = _fix_edits(text, f, lambda o: _pos(source.position(o)))
            it.noqa_row = noqa_line(text, s.line) + 1
        out.append(it)
    return out


def read_text(path: Path) -> str:
    """A file's text as Python reads it; only a regular file, within the size limit
    (``fsio.ReadError`` / ``DecodeError`` otherwise, each a one-line reason)."""
    return fsio.read_source(path).text


def _notebook_result(linter: Linter, text: str, path: Path):
    """(result, None) or (None, one line why the notebook could not be analysed): a
    malformed notebook must cost one line, never the run."""
    try:
        nr = linter.check_notebook(text, path)
    except (RecursionError, MemoryError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        return None, fsio.notebook_problem(text, exc)
    if nr.error:
        return None, fsio.notebook_problem(text, nr.error)
    return nr, None


def check_file(linter: Linter, path: Path, report: Report, text: Optional[str] = None) -> None:
    display = str(path)
    report.files += 1
    report.checked_paths.append(display)
    try:
        if text is None:
            text = read_text(path)
    except fsio.ReadError as exc:
        report.errors.append(f"{display}: {exc}")
        return
    except (OSError, DecodeError, UnicodeDecodeError) as exc:
        report.errors.append(f"{display}: cannot read: {exc}")
        return
    if path.suffix == ".ipynb":
        _check_notebook(linter, path, display, text, report)
        return
    res = linter.check_source(text, path)
    for e in res.errors:  # each top-level statement that does not parse; the rest is analysed
        report.unparsable.append(Problem(display, e.message, e.line + 1, e.col + 1, partial=not res.failed))
    if res.failed:
        return
    report.items.extend(_items_for_text(display, text, res.findings, report.want_edits))


def _check_notebook(linter: Linter, path: Path, display: str, text: str, report: Report) -> None:
    from .engine.analyze import noqa_line
    from .engine.notebook import RawLocator, cell_id, load_notebook
    nr, why = _notebook_result(linter, text, path)
    if why:
        report.unparsable.append(Problem(display, why))
        return
    nb = load_notebook(text) if (nr.cell_errors or nr.result.findings) else None
    locator = RawLocator(text) if nb is not None else None

    def file_pos(key, offset: int) -> Optional[tuple[int, int]]:
        try:
            return locator.position(key, offset) if locator is not None else None
        except (IndexError, ValueError, KeyError):
            return None

    for ce in nr.cell_errors:  # cells that do not parse (or cannot be read): each once, at its place
        cell_text = next((c.text for c in nr.vsource.cells if c.key == ce.key), "")
        st = SourceText(cell_text)
        report.unparsable.append(Problem(display, ce.message, ce.line + 1, ce.col + 1, ce.key + 1,
                                         ce.key, cell_id(nb, ce.key),
                                         file_pos(ce.key, st.offset(ce.line, ce.col))))
    if nr.result.failed:
        return
    vs = nr.vsource

    def cell_pos(offset: int) -> tuple[int, int]:
        _, ln, cl = vs.line_in_cell(offset)
        return ln, cl

    for f, key, line, col in nr.cell_findings():
        cell = vs.locate(f.start)[0]
        cell_source = SourceText(cell.text)
        _, eline, ecol = vs.line_in_cell(f.end)
        sl = cell_source.line_text(line) if line < cell_source.line_count else ""
        it = Item(display, f, line + 1, col + 1, eline + 1, ecol + 1, key + 1,
                  (cell_source.utf16_col(line, col) + 1, cell_source.utf16_col(eline, ecol) + 1), source_line=sl)
        it.cell_index, it.cell_id = key, cell_id(nb, key)
        start = file_pos(key, f.start - cell.start)
        end = file_pos(key, min(f.end - cell.start, len(cell.text))) if f.end - cell.start <= len(cell.text) + 1 else None
        if start is not None:
            it.file_pos = start + (end if end is not None else start)
        if report.want_edits:
            it.edits = _fix_edits(vs.text, f, cell_pos)
            it.noqa_row = cell_pos(nr.result.source.offset(noqa_line(vs.text, f.range.start.line), 0))[0] + 1 \
                if nr.result.source else line + 1
        report.items.append(it)
