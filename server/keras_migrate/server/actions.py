"""Code actions: quick fixes, noqa suppression, fix-all (file and per rule).

The policy lives here, not in the handler: which actions a request gets (:func:`list_actions`:
per diagnostic a quick fix, safe ones preferred and unsafe ones labelled, and a noqa
suppression; "Fix all Kxxx" per rule with two or more fixable findings; the file's or
notebook's fix-all) and when a notebook's fix-all is served (:class:`FixAllServed`).
Edits are computed by the library (apply a fix, or run the fix loop) and diffed into minimal
text edits (``minimal_edits``), then converted to the client's position units.  Listing
actions is cheap; the edits of fixes are built in ``codeAction/resolve`` when the client
supports it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from lsprotocol import types

from keras_migrate.engine.analyze import noqa_line, parse_noqa
from keras_migrate.engine.fixer import apply_fix, minimal_edits
from keras_migrate.engine.model import Applicability, Edit, Finding
from keras_migrate.engine.source import SourceText

from .diagnostics import Lines, overlaps

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


@dataclass(frozen=True)
class ActionRequest:
    """One ``textDocument/codeAction`` request, as the policy sees it."""

    uri: str
    range: types.Range
    only: Optional[Sequence[str]]      # the client's ``context.only`` kinds
    notebook: bool                     # the document is a notebook cell
    unsafe: bool                       # fix-all may apply unsafe fixes (trust and configuration)
    noqa: bool                         # offer ``# noqa: Kxxx`` (codeAction.disableRuleComment.enable)
    version: int                       # the analysis' version (``data.v_internal``)


def list_actions(req: ActionRequest, items: Sequence[tuple[Finding, types.Diagnostic]],
                 everything: Sequence[Finding], text: Callable[[], str], num_units,
                 lsp_version: Optional[int], document_changes: bool) -> list[types.CodeAction]:
    """The actions for ``req``: ``items`` are the document's (finding, diagnostic) pairs,
    ``everything`` the findings of the whole unit (every cell of a notebook); ``text()`` the
    document's text (read only for a noqa edit).  Fix edits are left for resolve (``data``)."""
    uri, only = req.uri, req.only
    out: list[types.CodeAction] = []

    def data(kind: str, **extra) -> dict:
        return {"uri": uri, "kind": kind, "v_internal": req.version, **extra}

    here = [(f, d) for f, d in items if overlaps(d.range, req.range)]
    if kind_allowed(QUICKFIX, only):
        for f, d in here:
            if f.has_fix and f.fix_applicability is not Applicability.DISPLAY:
                safe = f.fix_applicability is Applicability.SAFE
                title = f"{f.fix_title}" + ("" if safe else " (unsafe)")
                out.append(types.CodeAction(
                    title=f"{f.code}: {title}", kind=QUICKFIX, diagnostics=[d], is_preferred=safe,
                    data=data("fix", code=f.code, s=f.start, e=f.end,
                              r=[d.range.start.line, d.range.start.character, d.range.end.line,
                                 d.range.end.character])))
        for code in dict.fromkeys(f.code for f, _ in here):
            n = sum(1 for f in everything if f.code == code and f.fixable(req.unsafe))
            if n >= 2:
                out.append(types.CodeAction(
                    title=f"Fix all {code} in this {'notebook' if req.notebook else 'file'} ({n})",
                    kind=QUICKFIX, data=data("fixRule", code=code)))
        source = text() if here and req.noqa else ""
        for f, d in here if req.noqa else ():
            e = noqa_edit(source, d.range.start.line, f.code)
            if e is None:
                continue
            edit = workspace_edit({uri: text_edits(source, [e], num_units)}, {uri: lsp_version}, document_changes)
            out.append(types.CodeAction(title=f"Suppress with # noqa: {f.code}", kind=QUICKFIX,
                                        diagnostics=[d], edit=edit))
    if any(f.fixable(req.unsafe) for f in everything):
        kinds = [FIX_ALL_KIND]
        if req.notebook and only:
            kinds.append(NOTEBOOK_FIX_ALL_KIND)
        for kind in kinds:
            if kind_allowed(kind, only):
                title = "Fix all keras-migrate issues" + (" (including unsafe fixes)" if req.unsafe else "")
                out.append(types.CodeAction(title=title, kind=kind, data=data("fixAll")))
    return out


class FixAllServed:
    """A notebook's fix-all covers every cell: it is resolved once per notebook version (a
    client asks once per cell; the later ones get an empty edit)."""

    def __init__(self) -> None:
        self._served: dict[str, int] = {}   # notebook uri -> version a fix-all was resolved at

    def first(self, uri: str, version: int) -> bool:
        if self._served.get(uri) == version:
            return False
        self._served[uri] = version
        return True

    def forget(self, uri: str) -> None:
        self._served.pop(uri, None)


# line-aligned edits now live in the engine (one diff for the CLI and the server)
aligned_edits = minimal_edits
