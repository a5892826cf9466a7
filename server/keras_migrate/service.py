"""The one API both adapters (CLI and language server) use: config + registry -> engine,
for Python text and notebooks.  No I/O policy, no protocol, no output format here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from .config import Config, enabled_rules
from .engine.analyze import AnalysisResult, Engine
from .engine.fixer import FixOutcome, apply_edits, fix_text, minimal_edits
from .engine.model import Finding
from .engine.source import SourceText
from .engine.notebook import (NotebookError, VirtualSource, code_cells, load_notebook, malformed_cells,
                              notebook_is_python, write_cells)


def registry() -> tuple[type, ...]:
    from keras_migrate.rules import all_rules  # the adapters' job: the engine never does this
    return all_rules()


def module_name_for(path: Optional[Path], root: Optional[str]) -> Optional[str]:
    if path is None or root is None:
        return None
    try:
        rel = path.resolve().relative_to(Path(root).resolve())
    except ValueError:
        return None
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None


@dataclass
class CellError:
    """A code cell that was not analysed: its key (index in nb["cells"]), 0-based line and
    column in the cell, and why."""
    key: object
    line: int
    col: int
    message: str


@dataclass
class NotebookResult:
    path: str
    vsource: Optional[VirtualSource]
    result: Optional[AnalysisResult]
    error: Optional[str] = None          # the notebook as a whole could not be read
    cell_errors: list = field(default_factory=list)   # CellError per cell left out

    @property
    def partial(self) -> bool:
        return bool(self.cell_errors)

    def cell_findings(self):
        """(finding, nb cell index, line in cell, col) for each finding."""
        if self.vsource is None or self.result is None:
            return []
        out = []
        for f in self.result.findings:
            cell, line, col = self.vsource.line_in_cell(f.start)
            out.append((f, cell.key, line, col))
        return out


def project_linter(linters: dict, indexes: dict, cfg: Config, rules) -> "Linter":
    """The Linter for ``cfg`` from ``linters`` (made on first use), with cross-file knowledge
    of its project (bases and factories defined in other modules): one workspace index per
    configuration root, kept in ``indexes``.  The index parses; it imports nothing."""
    lin = linters.get(cfg)
    if lin is None:
        from .engine.workspace import WorkspaceIndex
        root = cfg.root or "."
        index = indexes.get(root)
        if index is None:
            # batch work: no editor is waiting, so a loaded machine gets time rather than blanks
            index = indexes[root] = WorkspaceIndex(root, timeout_s=30.0)
        lin = linters[cfg] = Linter(cfg, rules, workspace=index)
    return lin


class Linter:
    def __init__(self, config: Optional[Config] = None, rules: Optional[Sequence[type]] = None, workspace=None):
        self.config = config or Config()
        self.rules = tuple(rules) if rules is not None else registry()
        self.workspace = workspace
        self._engines: dict[tuple, Engine] = {}

    def engine(self, path: Optional[Path] = None) -> Engine:
        rules = enabled_rules(self.rules, self.config, path)
        key = tuple(r.code for r in rules)
        eng = self._engines.get(key)
        if eng is None:
            eng = Engine(rules, self.config.settings, workspace=self.workspace)
            self._engines[key] = eng
        return eng

    # -- python text -----------------------------------------------------------------------
    def check_source(self, text: str, path: Optional[Path] = None) -> AnalysisResult:
        eng = self.engine(path)
        return eng.analyze(text, str(path) if path else "<stdin>", module_name_for(path, self.config.root))

    def fix_source(self, text: str, path: Optional[Path] = None, unsafe: Optional[bool] = None,
                   select: Optional[Callable[[Finding], bool]] = None, chunks=None) -> FixOutcome:
        """``chunks`` (notebook cell starts): parts fixed independently; one that does not
        parse is left as it is and the others fixed."""
        eng = self.engine(path)
        name = str(path) if path else "<stdin>"
        mod = module_name_for(path, self.config.root)
        return fix_text(text, lambda t: eng.analyze(t, name, mod, chunks=chunks),
                        unsafe=self.config.unsafe_fixes if unsafe is None else unsafe, select=select,
                        partial_ok=chunks is not None)

    # -- notebooks -------------------------------------------------------------------------
    def check_cells(self, cells: list[tuple[object, str]], path: Optional[Path] = None) -> NotebookResult:
        """Every cell that parses (IPython syntax masked) is analysed, in order, as one
        module; a cell that does not is reported in ``cell_errors`` and left out."""
        vs = VirtualSource.build(cells)
        eng = self.engine(path)
        res = eng.analyze(vs.text, str(path) if path else "<stdin>", module_name_for(path, self.config.root),
                          chunks=vs.starts)
        nr = NotebookResult(str(path), vs, res)
        if res.errors:
            src = res.source if res.source is not None else SourceText(vs.text)
            for e in res.errors:
                cell, line, _ = vs.line_in_cell(src.offset(e.line, 0))
                nr.cell_errors.append(CellError(cell.key, line, e.col, e.message))
        return nr

    def check_notebook(self, raw: str, path: Optional[Path] = None) -> NotebookResult:
        try:
            nb = load_notebook(raw)
        except NotebookError as exc:
            return NotebookResult(str(path), None, None, str(exc))
        if not notebook_is_python(nb):
            return NotebookResult(str(path), VirtualSource.build([]), AnalysisResult(str(path), ""))
        nr = self.check_cells(code_cells(nb), path)
        bad = [CellError(i, 0, 0, why) for i, why in malformed_cells(nb)]
        if bad:
            nr.cell_errors = sorted(nr.cell_errors + bad, key=lambda e: e.key)
        return nr

    def fix_cells(self, cells: list[tuple[object, str]], path: Optional[Path] = None,
                  unsafe: Optional[bool] = None, select=None) -> tuple[dict[object, str], FixOutcome]:
        """New text per cell key (only changed cells) and the outcome."""
        vs = VirtualSource.build(cells)
        outcome = self.fix_source(vs.text, path, unsafe, select, chunks=vs.starts)
        if outcome.not_analysed:
            src = SourceText(vs.text)
            for e in outcome.not_analysed:
                cell, line, _ = vs.line_in_cell(src.offset(e.line, 0))
                outcome.failed.append(f"cell {cell.key + 1 if isinstance(cell.key, int) else cell.position + 1}, "
                                      f"line {line + 1}: left as it is: {e.message}")
        if not outcome.changed:
            return {}, outcome
        per_cell = vs.split_edits(minimal_edits(vs.text, outcome.text))
        if per_cell is None:
            outcome.failed.append("fixes span notebook cells; not applied")
            outcome.applied.clear()
            outcome.text = vs.text
            return {}, outcome
        return vs.apply(per_cell, apply_edits), outcome

    def fix_notebook(self, raw: str, path: Optional[Path] = None, unsafe: Optional[bool] = None
                     ) -> tuple[str, FixOutcome]:
        nb = load_notebook(raw)  # NotebookError propagates: callers report it
        if not notebook_is_python(nb):
            return raw, FixOutcome(raw)
        changed, outcome = self.fix_cells(code_cells(nb), path, unsafe)
        if not changed:
            return raw, outcome
        return write_cells(raw, nb, changed), outcome
