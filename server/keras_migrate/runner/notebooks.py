"""Run a Jupyter notebook on a backend: its code cells, in order, as one program.

The runner turns ``notebook.ipynb`` into a script (:func:`notebook_script`) and runs that
like any file, beside the notebook (so relative paths and sibling modules behave as in
Jupyter, whose working directory is the notebook's folder). IPython syntax has no meaning
outside IPython, so it is skipped, and the run says so:

* a cell magic (``%%time``, ``%%bash``...): the whole cell;
* a line magic or shell escape (``%matplotlib inline``, ``!pip install x``,
  ``files = !ls``) and help (``obj?``): that line, replaced by ``pass`` so that the block it
  sits in stays valid.

A cell that compiles as Python is never touched, so ``"%d" % n`` at the start of a line in
a string, say, stays as written. Markdown and raw cells are not run. The script keeps
every cell's lines at known places, so a traceback line maps back to a cell
(:meth:`NotebookScript.cell_of`). Standard library only, like the rest of the runner.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from .process import temporary_copy

_LINE_MAGIC = re.compile(r"^(\s*)(?:[%!]|[\w.\[\], ]+=\s*[%!])")
_HELP = re.compile(r"^\s*[\w.]+\s*\?\??\s*$|^\s*\?\??[\w.]+\s*$")


class NotebookError(ValueError):
    """The file is not a notebook the runner can read (said in plain words)."""


@dataclass
class Skipped:
    cell: int
    """0-based index among all the notebook's cells (as an editor numbers them)."""
    line: int
    """1-based line in the cell."""
    text: str


@dataclass
class NotebookScript:
    text: str
    starts: list[tuple[int, int, int]] = field(default_factory=list)
    """(cell index, first script line (1-based), number of lines) per code cell."""
    skipped: list[Skipped] = field(default_factory=list)
    code_cells: int = 0

    def cell_of(self, line: int) -> tuple[int, int] | None:
        """Script line -> (cell index, 1-based line in the cell), or None (a separator)."""
        for cell, start, count in self.starts:
            if start <= line < start + count:
                return cell, line - start + 1
        return None

    def summary(self) -> str:
        """One line for the user: what runs and what is skipped."""
        head = f"{self.code_cells} code cell{'s' if self.code_cells != 1 else ''} in order"
        if not self.skipped:
            return head
        items = ", ".join(f"cell {s.cell + 1} line {s.line}: {s.text.strip()[:40]}" for s in self.skipped[:5])
        more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
        return f"{head}; IPython magics skipped (they need IPython): {items}{more}"


def _cells(raw: str) -> list[dict]:
    try:
        nb = json.loads(raw)
    except ValueError as exc:
        raise NotebookError(f"not a readable notebook (invalid JSON: {exc})") from None
    if not isinstance(nb, dict):
        raise NotebookError("not a notebook (the JSON is not an object)")
    if nb.get("nbformat") == 3 or "worksheets" in nb:
        raise NotebookError("nbformat 3 notebooks are not supported (open and save it in Jupyter to upgrade it)")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise NotebookError("not a notebook (no list of cells)")
    return [c if isinstance(c, dict) else {} for c in cells]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def _compiles(code: str) -> bool:
    try:
        compile(code, "<cell>", "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError):
        return False


def _mask(index: int, code: str, skipped: list[Skipped]) -> str:
    lines = code.split("\n")
    first = next((l for l in lines if l.strip()), "")
    if first.lstrip().startswith("%%"):  # a cell magic: the whole cell is not Python
        skipped.append(Skipped(index, 1 + lines.index(first), first))
        return "\n".join(("pass  # keras-migrate: skipped " if i == 0 else "# ") + l
                         for i, l in enumerate(lines))
    out = []
    for n, line in enumerate(lines, 1):
        m = _LINE_MAGIC.match(line)
        if m or _HELP.match(line):
            indent = m.group(1) if m else line[: len(line) - len(line.lstrip())]
            skipped.append(Skipped(index, n, line))
            out.append(f"{indent}pass  # keras-migrate: skipped {line.strip()}")
        else:
            out.append(line)
    return "\n".join(out)


def build_script(raw: str, name: str = "notebook") -> NotebookScript:
    """The program a notebook's code cells make (see the module docstring)."""
    parts: list[str] = []
    script = NotebookScript(text="")
    line = 1
    for index, cell in enumerate(_cells(raw)):
        if cell.get("cell_type") != "code":
            continue
        code = _source(cell)
        script.code_cells += 1
        if not _compiles(code):
            code = _mask(index, code, script.skipped)
        header = f"# ---- {name}: cell {index + 1} ----"
        count = code.count("\n") + 1
        parts.append(header + "\n" + code + "\n")
        script.starts.append((index, line + 1, count))
        line += 1 + count
    script.text = "".join(parts)
    return script


def is_notebook(path: str) -> bool:
    return path.lower().endswith(".ipynb")


@contextmanager
def notebook_script(path: str) -> Iterator[tuple[str, NotebookScript]]:
    """A script of the notebook's code cells beside it, deleted afterwards."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"cannot read {path}: {exc}") from None
    import os

    script = build_script(raw, os.path.basename(path))
    with temporary_copy(path, script.text) as script_path:
        yield script_path, script


def annotate(results, script: NotebookScript) -> None:
    """Give each failed result's error location its notebook cell (``error_cell``)."""
    for r in results:
        loc = getattr(r, "error_location", None)
        if loc is not None:
            r.error_cell = script.cell_of(loc.line)
