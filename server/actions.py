"""Code actions: quick fixes, noqa suppression, fix-all (file and per rule).

Edits are computed by the library (apply a fix, or run the fix loop) and diffed into minimal
text edits (``minimal_edits``), then converted to the client's position units.  Listing
actions is cheap; the edits of fixes are built in ``codeAction/resolve`` when the client
supports it.
"""
from __future__ import annotations

from typing import Optional, Sequence

from lsprotocol import types

from keras_migrate.engine.analyze import noqa_line, parse_noqa
from keras_migrate.engine.fixer import apply_fix, minimal_edits
from keras_migrate.engine.model import Edit, Finding
from keras_migrate.engine.source import SourceText

from .diagnostics import Lines

FIX_ALL_KIND = "source.fixAll.keras-migrate"
NOTEBOOK_FIX_ALL_KIND = "notebook.source.fixAll.keras-migrate"
QUICKFIX = types.CodeActionKind.QuickFix


def kind_allowed(kind: str, only: Optional[Sequence[str]]) -> bool:
    """LSP's hierarchical match: ``source.fixAll`` allows ``source.fixAll.keras-migrate``."""
    if not only:
        return True
    return any(kind == o or kind.startswith(o + ".") or o == "" for o in only)


def text_edits(old: str, edits: Sequence[Edit], num_units) -> list[types.TextEdit]:
    src = SourceText(old)
    lines = Lines(old, num_units, src)
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
    c = parse_noqa(body)  # the engine's reading of the comment, so the edit is what it honours
    if c is not None:
        if c.codes is None:
            return None  # a bare noqa already suppresses everything
        end = start + c.codes_end
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


# line-aligned edits now live in the engine (one diff for the CLI and the server)
aligned_edits = minimal_edits
