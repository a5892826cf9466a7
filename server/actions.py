"""Code actions: quick fixes, noqa suppression, fix-all (file and per rule).

Edits are computed by the library (apply a fix, or run the fix loop) and diffed into minimal
text edits (``minimal_edits``), then converted to the client's position units.  Listing
actions is cheap; the edits of fixes are built in ``codeAction/resolve`` when the client
supports it.
"""
from __future__ import annotations

import difflib
import re
from typing import Optional, Sequence

from lsprotocol import types

from keras_migrate.engine.analyze import noqa_line
from keras_migrate.engine.fixer import apply_fix, minimal_edits
from keras_migrate.engine.model import Edit, Finding
from keras_migrate.engine.source import SourceText

from .diagnostics import Lines

FIX_ALL_KIND = "source.fixAll.keras-migrate"
NOTEBOOK_FIX_ALL_KIND = "notebook.source.fixAll.keras-migrate"
QUICKFIX = types.CodeActionKind.QuickFix
_NOQA_RE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def kind_allowed(kind: str, only: Optional[Sequence[str]]) -> bool:
    """LSP's hierarchical match: ``source.fixAll`` allows ``source.fixAll.keras-migrate``."""
    if not only:
        return True
    return any(kind == o or kind.startswith(o + ".") or o == "" for o in only)


def text_edits(old: str, edits: Sequence[Edit], num_units) -> list[types.TextEdit]:
    src = SourceText(old)
    lines = Lines(old, num_units)
    out = []
    for e in edits:
        s, t = src.position(e.start), src.position(e.end)
        out.append(types.TextEdit(range=types.Range(lines.position(s.line, s.col), lines.position(t.line, t.col)),
                                  new_text=e.new_text))
    return out


def diff_edits(old: str, new: str, num_units) -> list[types.TextEdit]:
    return text_edits(old, minimal_edits(old, new), num_units)


def fix_text(text: str, finding: Finding) -> Optional[str]:
    fix = finding.fix()
    if fix is None or not fix.edits:
        return None
    return apply_fix(text, fix)


def noqa_edit(text: str, line: int, code: str) -> Optional[Edit]:
    """Append ``# noqa: CODE`` to ``line``, or add the code to the noqa already there."""
    src = SourceText(text)
    if line >= src.line_count:
        return None
    line = noqa_line(text, line)  # after a continuation or a multi-line string
    body = src.line_text(line)
    start = src.line_starts[line]
    m = _NOQA_RE.search(body)
    if m:
        codes = m.group("codes")
        if not codes:
            return None  # a bare noqa already suppresses everything
        end = start + m.end("codes")
        return Edit(end, end, f", {code}")
    stripped = body.rstrip()
    return Edit(start + len(stripped), start + len(body), f"  # noqa: {code}")


def workspace_edit(per_uri: dict[str, list[types.TextEdit]], versions: dict[str, Optional[int]],
                   document_changes: bool) -> types.WorkspaceEdit:
    per_uri = {u: e for u, e in per_uri.items() if e}
    if document_changes:
        return types.WorkspaceEdit(document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=u, version=versions.get(u)),
                edits=edits)
            for u, edits in per_uri.items()])
    return types.WorkspaceEdit(changes=per_uri)


def edit_count(edit: Optional[types.WorkspaceEdit]) -> int:
    if edit is None:
        return 0
    if edit.document_changes:
        return sum(len(dc.edits) for dc in edit.document_changes if isinstance(dc, types.TextDocumentEdit))
    return sum(len(v) for v in (edit.changes or {}).values())


# -- line-aligned edits (notebooks) -----------------------------------------------------------------
def _trimmed(base: int, old_chunk: str, new_chunk: str) -> Optional[Edit]:
    if old_chunk == new_chunk:
        return None
    p = 0
    while p < len(old_chunk) and p < len(new_chunk) and old_chunk[p] == new_chunk[p]:
        p += 1
    s = 0
    while (s < len(old_chunk) - p and s < len(new_chunk) - p
           and old_chunk[len(old_chunk) - 1 - s] == new_chunk[len(new_chunk) - 1 - s]):
        s += 1
    return Edit(base + p, base + len(old_chunk) - s, new_chunk[p:len(new_chunk) - s])


def _align(a: list[str], b: list[str]) -> Optional[list[tuple[Optional[int], Optional[int]]]]:
    """Pair similar lines of two blocks in order (max total similarity); None if too big."""
    if len(a) * len(b) > 400:
        return None
    n, m = len(a), len(b)
    ratio = [[difflib.SequenceMatcher(None, x, y, autojunk=False).ratio() for y in b] for x in a]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = ratio[i][j] + best[i + 1][j + 1] if ratio[i][j] >= 0.5 else -1.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    out: list[tuple[Optional[int], Optional[int]]] = []
    i = j = 0
    while i < n and j < m:
        if ratio[i][j] >= 0.5 and best[i][j] == ratio[i][j] + best[i + 1][j + 1]:
            out.append((i, j)); i += 1; j += 1
        elif best[i][j] == best[i][j + 1]:
            out.append((None, j)); j += 1
        else:
            out.append((i, None)); i += 1
    out += [(k, None) for k in range(i, n)] + [(None, k) for k in range(j, m)]
    return out


def aligned_edits(old: str, new: str) -> list[Edit]:
    """Like ``minimal_edits``, but inside a changed block similar lines are paired, so an
    inserted line stays an insertion (an import added at the end of a notebook's first cell
    is not merged with the rewrite of the next cell's first line)."""
    if old == new:
        return []
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits: list[Edit] = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        pairs = _align(a[i1:i2], b[j1:j2]) if tag == "replace" else None
        if pairs is None:
            e = _trimmed(starts[i1], "".join(a[i1:i2]), "".join(b[j1:j2]))
            if e is not None:
                edits.append(e)
            continue
        pending_new: list[str] = []
        cursor = i1
        for ia, jb in pairs:
            if ia is None:
                pending_new.append(b[j1 + jb])
                continue
            line_no = i1 + ia
            if pending_new:
                edits.append(Edit(starts[line_no], starts[line_no], "".join(pending_new)))
                pending_new = []
            if jb is None:
                edits.append(Edit(starts[line_no], starts[line_no + 1], ""))
            else:
                e = _trimmed(starts[line_no], a[line_no], b[j1 + jb])
                if e is not None:
                    edits.append(e)
            cursor = line_no + 1
        if pending_new:
            edits.append(Edit(starts[cursor], starts[cursor], "".join(pending_new)))
    return edits
