"""One analysis of a document or notebook (findings paired with their diagnostics), and the
edits of fixes built from it.  Library calls and conversions only: runs in the server's
worker thread, knows nothing of the connection.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional

from lsprotocol import types

from keras_migrate.config import Config
from keras_migrate.engine.model import Finding
from keras_migrate.engine.incremental import IncrementalAnalyzer
from keras_migrate.engine.source import SourceText
from keras_migrate.service import Linter, module_name_for

from . import actions as act
from .diagnostics import Lines, notebook_diagnostics, text_diagnostics

log = logging.getLogger("keras_migrate.server")

# one incremental analyser per open text document (engine/incremental.py): an edit re-parses
# and re-checks only the statements it touched; the least recently analysed are dropped
INCREMENTAL_DOCUMENTS = 16
_incremental: "OrderedDict[str, Any]" = OrderedDict()
_incremental_lock = threading.Lock()


def _analyzer(uri: str, engine):
    with _incremental_lock:
        inc = _incremental.get(uri)
        if inc is None or inc.engine is not engine:
            inc = _incremental[uri] = IncrementalAnalyzer(engine)
        _incremental.move_to_end(uri)
        while len(_incremental) > INCREMENTAL_DOCUMENTS:
            _incremental.popitem(last=False)
        return inc


@dataclass
class Analysis:
    """One analysis of a unit at one version, with findings paired to their diagnostics."""

    version: int
    path: Optional[Path]
    config: Optional[Config]
    linter: Optional[Linter]
    text: str = ""                                   # the text (or the notebook's virtual text)
    cells: list[tuple[str, str]] = field(default_factory=list)   # notebooks: (cell uri, text)
    vsource: Any = None
    per_uri: dict[str, list[tuple[Finding, types.Diagnostic]]] = field(default_factory=dict)
    error: Optional[str] = None                      # nothing parses: the last diagnostics stay
    excluded: bool = False
    not_analysed: list[str] = field(default_factory=list)   # parts left out (a cell, a statement)
    analysed_text: Optional[str] = None              # the text with those parts blanked
    chunks: Optional[list[int]] = None               # notebooks: where each cell starts

    @property
    def ok(self) -> bool:
        return self.error is None

    def diagnostics(self) -> dict[str, list[types.Diagnostic]]:
        return {u: [d for _, d in items] for u, items in self.per_uri.items()}

    def findings(self) -> list[Finding]:
        return [f for items in self.per_uri.values() for f, _ in items]


def analyse_text(uri: str, version: int, path: Optional[Path], cfg: Config, linter: Linter, text: str,
                 num_units, lsp_version: Callable[[str], Optional[int]]) -> Analysis:
    """A text document: findings paired with their diagnostics, or the parse error."""
    inc = _analyzer(uri, linter.engine(path))
    with inc.lock:
        result = inc.analyze(text, str(path) if path else "<stdin>", module_name_for(path, linter.config.root))
    for msg in result.rule_errors:
        log.error("%s: %s", uri, msg)
    a = Analysis(version, path, cfg, linter, text=text)
    if result.failed:
        a.error = f"{result.error.message} (line {result.error.line + 1})"
        return a
    # a statement that does not parse (being typed) is left out: the rest stays fresh
    a.not_analysed = [f"{e.message} (line {e.line + 1})" for e in result.errors]
    a.analysed_text = result.analysed_text
    diags = text_diagnostics(result.findings, Lines(text, num_units), lsp_version(uri), uri)
    a.per_uri = {uri: list(zip(result.findings, diags))}
    return a


def analyse_cells(version: int, path: Optional[Path], cfg: Config, linter: Linter, cells: list[tuple[str, str]],
                  num_units, lsp_version: Callable[[str], Optional[int]]) -> Analysis:
    """A notebook's cells analysed as one module, in order; diagnostics per cell URI."""
    res = linter.check_cells(list(cells), path)
    a = Analysis(version, path, cfg, linter, text=res.vsource.text, cells=list(cells), vsource=res.vsource,
                 chunks=res.vsource.starts)
    if res.result is not None and res.result.failed:
        e = res.result.error
        src = res.result.source or SourceText(res.vsource.text)
        cell, line, _ = res.vsource.line_in_cell(src.offset(e.line, e.col))
        a.error = f"{e.message} (cell {cell.position + 1}, line {line + 1})"
        return a
    # a cell that does not parse is left out (its diagnostics: none); the others stay fresh
    position = {c.key: c.position for c in res.vsource.cells}
    a.not_analysed = [f"{ce.message} (cell {position.get(ce.key, 0) + 1}, line {ce.line + 1})"
                      for ce in res.cell_errors]
    a.analysed_text = res.result.analysed_text if res.result is not None else None
    lines = {u: Lines(t, num_units) for u, t in cells}
    per_cell = notebook_diagnostics(res, lines, None)
    findings = res.result.findings if res.result is not None else []
    # notebook_diagnostics keeps the findings' order per cell; pair them back
    by_cell: dict[str, list[Finding]] = {u: [] for u in lines}
    for f in findings:
        c, _, _ = res.vsource.line_in_cell(f.start)
        if c.key in by_cell:
            by_cell[c.key].append(f)
    for u in lines:
        diags = per_cell.get(u, [])
        for d in diags:
            d.data["v"] = lsp_version(u)
        a.per_uri[u] = list(zip(by_cell[u], diags))
    return a


def fix_edits(analysis: Analysis, notebook: bool, uri: str, kind: str, data: dict, unsafe: bool, num_units
              ) -> Optional[dict[str, list[types.TextEdit]]]:
    """The text edits, per URI, of one action: a finding's fix (``kind`` "fix"), every
    allowed fix ("fixAll"), or those of one rule ("fixRule", ``data["code"]``)."""
    linter, path = analysis.linter, analysis.path
    if linter is None:  # excluded or too large: nothing to fix
        return None
    per_uri: dict[str, list[types.TextEdit]] = {}
    if kind == "fix":
        finding = find_finding(analysis, uri, data)
        if finding is None:
            return None
        new = _fix_one(analysis, finding)
        if new is None:
            return None
        per_uri = split_edits(analysis, notebook, uri, analysis.text, new, num_units)
    elif kind in ("fixAll", "fixRule"):
        select = None
        if kind == "fixRule":
            code = data.get("code")
            select = lambda f: f.code == code  # noqa: E731
        if notebook:
            # the fix loop over the cells as one module, split back per cell (cells that do
            # not parse are left as they are)
            outcome = linter.fix_source(analysis.text, path, unsafe, select, chunks=analysis.chunks)
            for failure in outcome.failed:
                log.info("%s: %s", uri, failure)
            if outcome.changed:
                per_uri = split_edits(analysis, notebook, uri, analysis.text, outcome.text, num_units)
        else:
            outcome = linter.fix_source(analysis.text, path, unsafe, select)
            for failure in outcome.failed:
                log.info("%s: %s", uri, failure)
            if outcome.changed:
                per_uri[uri] = act.diff_edits(analysis.text, outcome.text, num_units)
    else:
        return None
    return per_uri


def _fix_one(analysis: Analysis, finding: Finding) -> Optional[str]:
    """One finding's fix; where parts do not parse, applied to the analysed text (those parts
    blanked) and the parts put back, untouched."""
    if not analysis.not_analysed or analysis.analysed_text is None:
        return act.fix_text(analysis.text, finding)
    from keras_migrate.engine.fixer import _holes, _restore
    new = act.fix_text(analysis.analysed_text, finding)
    if new is None:
        return None
    return _restore(analysis.analysed_text, new, analysis.text, _holes(analysis.text, analysis.analysed_text))


def split_edits(analysis: Analysis, notebook: bool, uri: str, old: str, new: str, num_units
                ) -> dict[str, list[types.TextEdit]]:
    """old -> new as text edits; for a notebook, split per cell ({} when an edit would cross
    cells)."""
    if not notebook:
        return {uri: act.diff_edits(old, new, num_units)}
    per_cell = analysis.vsource.split_edits(act.aligned_edits(old, new))
    if per_cell is None:
        log.info("%s: the fix spans notebook cells; not applied", uri)
        return {}
    out = {}
    for pos, edits in per_cell.items():
        cell = analysis.vsource.cells[pos]
        n = len(cell.text)  # the virtual text may add a final newline the cell lacks
        edits = [replace(e, start=min(e.start, n), end=min(e.end, n)) for e in edits]
        out[cell.key] = act.text_edits(cell.text, edits, num_units)
    return out


def find_finding(analysis: Analysis, uri: str, data: dict) -> Optional[Finding]:
    """The finding a code action's ``data`` names, in this (possibly newer) analysis."""
    items = analysis.per_uri.get(uri, [])
    code = data.get("code")
    if data.get("v_internal") == analysis.version:
        for f, _ in items:
            if f.code == code and f.start == data.get("s") and f.end == data.get("e"):
                return f
    # the document changed since the action was listed: match by code and client range
    r = data.get("r")
    for f, d in items:
        if f.code == code and r and [d.range.start.line, d.range.start.character,
                                     d.range.end.line, d.range.end.character] == r:
            return f
    return None
