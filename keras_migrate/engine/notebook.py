"""Jupyter notebooks: code cells joined into one virtual module, magics masked.

Cells are analysed together, in order, so names and imports from earlier cells resolve in
later ones.  Masking keeps every offset identical (a magic or shell line becomes
a comment ``#...`` of the same length), so positions map back to a cell exactly.
Fixes are split back into per-cell edits; outputs and metadata are never touched.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from .model import Edit


class NotebookError(ValueError):
    pass


def _is_magic(stripped: str) -> bool:
    return (stripped.startswith(("%", "!", "?")) or stripped.endswith("?")
            or "= !" in stripped or "= %" in stripped)


def mask_magics(src: str) -> str:
    lines = src.splitlines(keepends=True)
    cell_magic = bool(lines) and lines[0].lstrip().startswith("%%")
    out = []
    for line in lines:
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        stripped = body.strip()
        if stripped and (cell_magic or _is_magic(stripped)):
            indent = len(body) - len(body.lstrip())
            content = body[indent:]
            content = "#" + content[1:]
            body = body[:indent] + content
        out.append(body + ending)
    return "".join(out)


@dataclass
class VirtualCell:
    position: int      # index among the virtual cells
    key: Any           # caller's identifier: index in nb["cells"], or an LSP cell URI
    text: str          # the cell's real source
    start: int = 0     # offset of the cell in the virtual text


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

    def locate(self, offset: int) -> tuple[VirtualCell, int]:
        cell = self.cells[0]
        for c in self.cells:
            if c.start <= offset:
                cell = c
            else:
                break
        return cell, offset - cell.start

    def line_in_cell(self, offset: int) -> tuple[VirtualCell, int, int]:
        cell, local = self.locate(offset)
        before = cell.text[:local] if local <= len(cell.text) else cell.text
        line = before.count("\n")
        col = local - (before.rfind("\n") + 1)
        return cell, line, col

    def split_edits(self, edits: list[Edit]) -> Optional[dict[int, list[Edit]]]:
        """Per-cell edits (keyed by position); None if an edit crosses a cell boundary."""
        out: dict[int, list[Edit]] = {}
        for e in edits:
            cell, local_start = self.locate(e.start)
            new_text = e.new_text
            if e.start == e.end and local_start == 0 and cell.position > 0:
                # an insertion at a boundary belongs to the end of the previous cell
                prev = self.cells[cell.position - 1]
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
    lang = ((meta.get("language_info") or {}).get("name")
            or (meta.get("kernelspec") or {}).get("language") or "python")
    return str(lang).lower() == "python"


def code_cells(nb: dict) -> list[tuple[int, str]]:
    out = []
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        elif not isinstance(src, str):
            continue
        out.append((i, src))
    return out


def _detect_indent(raw: str) -> int:
    for line in raw.splitlines()[1:3]:
        stripped = line.lstrip(" ")
        if stripped:
            return len(line) - len(stripped)
    return 1


def write_cells(raw: str, nb: dict, new_sources: dict[int, str]) -> str:
    """Serialise the notebook with new sources for some cells (by index in nb["cells"])."""
    for idx, text in new_sources.items():
        cell = nb["cells"][idx]
        if isinstance(cell.get("source"), list):
            cell["source"] = text.splitlines(keepends=True)
        else:
            cell["source"] = text
    out = json.dumps(nb, indent=_detect_indent(raw), ensure_ascii=False)
    return out + ("\n" if raw.endswith("\n") else "")
