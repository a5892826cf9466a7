"""The one API both adapters (CLI and language server) use: config + registry -> engine,
for Python text and notebooks.  No I/O policy, no protocol, no output format here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from .config import Config, enabled_rules
from .engine.analyze import AnalysisResult, Engine
from .engine.fixer import FixOutcome, apply_edits, fix_text, minimal_edits
from .engine.model import Finding
from .engine.notebook import (NotebookError, VirtualSource, code_cells, load_notebook,
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
class NotebookResult:
    path: str
    vsource: Optional[VirtualSource]
    result: Optional[AnalysisResult]
    error: Optional[str] = None

    def cell_findings(self):
        """(finding, nb cell index, line in cell, col) for each finding."""
        if self.vsource is None or self.result is None:
            return []
        out = []
        for f in self.result.findings:
            cell, line, col = self.vsource.line_in_cell(f.start)
            out.append((f, cell.key, line, col))
        return out


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
                   select: Optional[Callable[[Finding], bool]] = None) -> FixOutcome:
        eng = self.engine(path)
        name = str(path) if path else "<stdin>"
        mod = module_name_for(path, self.config.root)
        return fix_text(text, lambda t: eng.analyze(t, name, mod),
                        unsafe=self.config.unsafe_fixes if unsafe is None else unsafe, select=select)

    # -- notebooks -------------------------------------------------------------------------
    def check_cells(self, cells: list[tuple[object, str]], path: Optional[Path] = None) -> NotebookResult:
        vs = VirtualSource.build(cells)
        return NotebookResult(str(path), vs, self.check_source(vs.text, path))

    def check_notebook(self, raw: str, path: Optional[Path] = None) -> NotebookResult:
        try:
            nb = load_notebook(raw)
        except NotebookError as exc:
            return NotebookResult(str(path), None, None, str(exc))
        if not notebook_is_python(nb):
            return NotebookResult(str(path), VirtualSource.build([]), AnalysisResult(str(path), ""))
        return self.check_cells(code_cells(nb), path)

    def fix_cells(self, cells: list[tuple[object, str]], path: Optional[Path] = None,
                  unsafe: Optional[bool] = None, select=None) -> tuple[dict[object, str], FixOutcome]:
        """New text per cell key (only changed cells) and the outcome."""
        vs = VirtualSource.build(cells)
        outcome = self.fix_source(vs.text, path, unsafe, select)
        if not outcome.changed:
            return {}, outcome
        per_cell = vs.split_edits(minimal_edits(vs.text, outcome.text))
        if per_cell is None:
            outcome.failed.append("fixes span notebook cells; not applied")
            outcome.applied.clear()
            outcome.text = vs.text
            return {}, outcome
        changed = {}
        for pos, edits in per_cell.items():
            cell = vs.cells[pos]
            changed[cell.key] = apply_edits(cell.text, edits)
        return changed, outcome

    def fix_notebook(self, raw: str, path: Optional[Path] = None, unsafe: Optional[bool] = None
                     ) -> tuple[str, FixOutcome]:
        nb = load_notebook(raw)  # NotebookError propagates: callers report it
        if not notebook_is_python(nb):
            return raw, FixOutcome(raw)
        changed, outcome = self.fix_cells(code_cells(nb), path, unsafe)
        if not changed:
            return raw, outcome
        return write_cells(raw, nb, changed), outcome
