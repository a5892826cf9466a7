"""Per-document bookkeeping kept out of the protocol handlers: versions, debounce timers,
the diagnostics last shown (moved through the edits made since), pull-diagnostics result ids.

Nothing here talks to the client or runs the engine.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

# (first edited line, last edited line, line breaks in the new text), in the coordinates of
# the text before that change; None for a whole-document replacement.
LineChange = Optional[tuple[int, int, int]]


_LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lsp_lines(text: str) -> tuple[str, ...]:
    """Lines as LSP counts them: ends only at ``\r\n``, ``\r`` or ``\n`` (not at ``\f``,
    ``\v``, ``\x1c``-``\x1e``, ``\x85``, ``\u2028``, ``\u2029`` as ``str.splitlines`` does)."""
    return tuple(_LSP_LINE.findall(text))


def line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


# documents from this size on get an incremental edit applied in place, in time that does not
# grow with the document's lines (pygls splits the whole text into lines for each edit: a
# keystroke in a 10 MB document cost ~250 ms, even though it is too large to be analysed)
FAST_APPLY_CHARS = 200_000
_BREAK = re.compile(r"\r\n|\r|\n")


def _line_start(src: str, line: int) -> int:
    """Offset where 0-based LSP ``line`` starts (``len(src)`` past the end)."""
    if line <= 0:
        return 0
    if "\r" in src:   # rare: count every kind of break
        n = 0
        for m in _BREAK.finditer(src):
            n += 1
            if n == line:
                return m.end()
        return len(src)
    pos, left, block = 0, line, 1 << 16
    while True:   # whole blocks first, counted in C
        nxt = min(len(src), pos + block)
        n = src.count("\n", pos, nxt)
        if n >= left or nxt == len(src):
            break
        left -= n
        pos = nxt
    for _ in range(left):
        i = src.find("\n", pos)
        if i < 0:
            return len(src)
        pos = i + 1
    return pos


class LspTextDocument(TextDocument):
    """pygls' TextDocument with LSP's line model (its ``lines`` uses ``str.splitlines``, so an
    incremental edit below a form feed landed on the wrong line of the server's copy), and a
    large document's incremental edits applied without splitting it into lines."""

    last_break_delta: Optional[int] = None   # line breaks the last fast edit added (or removed)

    @property
    def lines(self):  # type: ignore[override]
        return lsp_lines(self.source)

    def _offset(self, src: str, pos: types.Position) -> int:
        start = _line_start(src, pos.line)
        m = _BREAK.search(src, start)
        end = m.start() if m else len(src)
        line_text = src[start:end]
        col = self._position_codec.position_from_client_units(
            [line_text], types.Position(line=0, character=pos.character)).character
        return start + min(max(col, 0), len(line_text))

    def _apply_incremental_change(self, change) -> None:  # type: ignore[override]
        src = self.source
        if len(src) < FAST_APPLY_CHARS:
            self.last_break_delta = None
            return super()._apply_incremental_change(change)
        a, b = self._offset(src, change.range.start), self._offset(src, change.range.end)
        if b < a:
            a, b = b, a
        text = change.text
        lo, hi = max(0, a - 1), min(len(src), b + 1)   # one character each side: \r|\n joins
        new = src[:a] + text + src[b:]
        self.last_break_delta = line_breaks(new[lo:hi + len(text) - (b - a)]) - line_breaks(src[lo:hi])
        self._source = new


class LspWorkspace(Workspace):
    def _create_text_document(self, doc_uri, source=None, version=None, language_id=None):
        return LspTextDocument(doc_uri, source=source, version=version, language_id=language_id,
                               sync_kind=self._sync_kind, position_codec=self._position_codec)


def applied_line_changes(doc: Optional[TextDocument], changes, apply: Callable[[object], None]) -> list[LineChange]:
    """Apply ``changes`` one by one (``apply``) and say how each moved lines, counting the
    document's line breaks before and after (an edit can join ``\r`` and ``\n`` into one
    break, or split one, so the inserted text alone does not tell)."""
    out: list[LineChange] = []
    for ch in changes:
        rng = getattr(ch, "range", None)
        big = doc is not None and rng is not None and len(doc.source) >= FAST_APPLY_CHARS
        before = line_breaks(doc.source) if doc is not None and rng is not None and not big else 0
        apply(ch)
        if rng is None or doc is None:
            out.append(None)
            continue
        fast = getattr(doc, "last_break_delta", None) if big else None
        delta = fast if fast is not None else line_breaks(doc.source) - before
        out.append((rng.start.line, rng.end.line, delta + (rng.end.line - rng.start.line)))
    return out


def line_changes(changes: Iterable[types.TextDocumentContentChangeEvent]) -> list[LineChange]:
    out: list[LineChange] = []
    for ch in changes:
        rng = getattr(ch, "range", None)
        if rng is None:
            out.append(None)
            continue
        text = ch.text
        breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
        out.append((rng.start.line, rng.end.line, breaks))
    return out


def shift_diagnostics(diags: Sequence[types.Diagnostic], changes: Sequence[LineChange]) -> list[types.Diagnostic]:
    """Move diagnostics through edits: those on an edited line are dropped, those below move.

    Columns of kept diagnostics are untouched (their lines did not change), so this works in
    the client's position units without looking at the text.
    """
    current = list(diags)
    for ch in changes:
        if ch is None:
            return []
        start, end, breaks = ch
        delta = breaks - (end - start)
        kept = []
        for d in current:
            r = d.range
            if r.end.line < start:
                kept.append(d)
            elif r.start.line > end:
                if delta:
                    d = _moved(d, delta)
                kept.append(d)
        current = kept
    return current


def _moved(d: types.Diagnostic, delta: int) -> types.Diagnostic:
    r = d.range
    new_range = types.Range(types.Position(r.start.line + delta, r.start.character),
                            types.Position(r.end.line + delta, r.end.character))
    data = d.data
    if isinstance(data, dict) and "moved" not in data:
        data = {**data, "moved": True}  # stale offsets: resolve by re-analysis, not from data
    return types.Diagnostic(range=new_range, message=d.message, severity=d.severity, code=d.code,
                            code_description=d.code_description, source=d.source, tags=d.tags,
                            related_information=d.related_information, data=data)


class Debouncer:
    """One pending timer per key; scheduling again replaces it (newest edit wins)."""

    def __init__(self) -> None:
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def schedule(self, key: str, delay_s: float, callback: Callable[[], None]) -> None:
        self.cancel(key)
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop(key, None)
            callback()

        if delay_s <= 0:
            self._timers[key] = loop.call_soon(fire)  # type: ignore[assignment]
        else:
            self._timers[key] = loop.call_later(delay_s, fire)

    def cancel(self, key: str) -> None:
        t = self._timers.pop(key, None)
        if t is not None:
            t.cancel()

    def pending(self, key: str) -> bool:
        return key in self._timers


@dataclass
class DocState:
    """One analysed unit: a text document, or a notebook (all its cells together)."""

    uri: str
    notebook: bool = False
    version: int = 0                 # bumped on every change we see (text or cell)
    analysed_version: int = -1       # the version ``shown`` was last computed from (or moved to)
    # diagnostics currently shown, per URI (the document's own, or each cell's)
    shown: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    result_id: int = 0               # pull diagnostics: bumped whenever ``shown`` changes
    parse_error: Optional[str] = None
    waiters: list[asyncio.Future] = field(default_factory=list)
    running: bool = False
    # edits since the last analysis wait for a save (lint.run: onSave, or too large to analyse
    # as you type); then the analysis asks a pull client to pull again
    deferred: bool = False
    refresh_when_done: bool = False

    def bump(self) -> int:
        self.version += 1
        return self.version

    def move_shown(self, uri: str, changes: Sequence[LineChange]) -> None:
        if uri in self.shown:
            self.shown[uri] = shift_diagnostics(self.shown[uri], changes)

    def set_shown(self, per_uri: dict[str, list[types.Diagnostic]], version: int) -> None:
        self.shown = per_uri
        self.analysed_version = version
        self.result_id += 1

    def resolve_waiters(self) -> None:
        waiters, self.waiters = self.waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    @property
    def fresh(self) -> bool:
        return self.analysed_version == self.version
