"""Engine findings -> LSP diagnostics, and the rule documentation shown on hover.

Positions: the engine counts 0-based lines and code-point columns; the client counts in the
negotiated position encoding (UTF-16 unless it offered UTF-8/UTF-32).  The conversion is the
engine's (``SourceText.column``), per line, skipped for ASCII text (the usual case).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Optional, Sequence

from lsprotocol import types

from keras_migrate.engine.model import Finding, Severity
from keras_migrate.engine.source import SourceText

SOURCE = "keras-migrate"
DOCS_URL = "https://github.com/keras-migrate/keras-migrate/blob/main/docs/rules.md"

SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}
TAGS = {"deprecated": types.DiagnosticTag.Deprecated, "unnecessary": types.DiagnosticTag.Unnecessary}


@lru_cache(maxsize=None)
def rule_class(code: str):
    from keras_migrate.rules import rule_by_code
    return rule_by_code(code)


@lru_cache(maxsize=None)
def rule_href(code: str) -> str:
    rule = rule_class(code)
    return f"{DOCS_URL}#{rule.anchor()}" if rule is not None else DOCS_URL


class Lines:
    """One text's positions in the client's units (``num_units``: pygls' ``client_num_units``
    for the negotiated encoding).  The conversion is the engine's position model,
    ``SourceText.column`` on its line table (the CLI's SARIF columns and the runner bridge's
    ranges use it too); an ASCII text needs none, and gets no line table."""

    def __init__(self, text: str, num_units, source: Optional[SourceText] = None) -> None:
        self.text = text
        self.ascii = text.isascii()
        self.num_units = num_units
        self._source = source

    @property
    def source(self) -> SourceText:
        if self._source is None:
            self._source = SourceText(self.text)
        return self._source

    def col(self, line: int, col: int) -> int:
        if self.ascii or col == 0:
            return col
        return self.source.column(line, col, self.num_units)

    def position(self, line: int, col: int) -> types.Position:
        return types.Position(line=line, character=self.col(line, col))


# Ranges and code descriptions shared between the diagnostics of successive analyses (neither
# is ever modified: moving a diagnostic builds a new one): a keystroke in a dense 5,000-line
# file built ~1,100 ranges, 2,200 positions and 1,100 code descriptions again, each through
# attrs' validators (half of the conversion's time).  Bounded; only ASCII text's ranges, whose
# client columns are the engine's code-point columns.
_RANGES: dict[tuple[int, int, int, int], types.Range] = {}
_RANGES_MAX = 100_000


@lru_cache(maxsize=1024)
def code_description(href: str) -> types.CodeDescription:
    return types.CodeDescription(href=href)


def _range(lines: "Lines", r) -> types.Range:
    if not lines.ascii:
        return types.Range(lines.position(r.start.line, r.start.col), lines.position(r.end.line, r.end.col))
    key = (r.start.line, r.start.col, r.end.line, r.end.col)
    got = _RANGES.get(key)
    if got is None:
        if len(_RANGES) >= _RANGES_MAX:
            _RANGES.clear()
        got = _RANGES[key] = types.Range(types.Position(line=key[0], character=key[1]),
                                         types.Position(line=key[2], character=key[3]))
    return got


def make_diagnostic(f: Finding, rng: types.Range, version: Optional[int], extra: Optional[dict] = None,
                    uri: Optional[str] = None, lines: Optional["Lines"] = None) -> types.Diagnostic:
    data = {"v": version, "s": f.start, "e": f.end}
    if f.has_fix:
        data["fix"] = f.fix_applicability.value
        data["title"] = f.fix_title
    if extra:
        data.update(extra)
    tags = [TAGS[t] for t in f.tags if t in TAGS] or None
    return types.Diagnostic(
        range=rng,
        message=f.message,
        severity=SEVERITY.get(f.severity, types.DiagnosticSeverity.Warning),
        code=f.code,
        code_description=code_description(f.url or rule_href(f.code)),
        source=SOURCE,
        tags=tags,
        data=data,
        related_information=[
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=types.Range(
                    lines.position(r.start.line, r.start.col), lines.position(r.end.line, r.end.col))),
                message=m)
            for r, m in f.related] if f.related and uri is not None and lines is not None else None,
    )


def text_diagnostics(findings: Sequence[Finding], lines: Lines, version: Optional[int],
                     uri: Optional[str] = None) -> list[types.Diagnostic]:
    out = []
    for f in findings:
        out.append(make_diagnostic(f, _range(lines, f.range), version, uri=uri, lines=lines))
    return out


def notebook_diagnostics(nb_result, cell_lines: dict[str, Lines], version: Optional[int]
                         ) -> dict[str, list[types.Diagnostic]]:
    """Diagnostics per cell URI (every cell present, so cleared cells get an empty list)."""
    out: dict[str, list[types.Diagnostic]] = {uri: [] for uri in cell_lines}
    vs = nb_result.vsource
    if vs is None or nb_result.result is None:
        return out
    for f in nb_result.result.findings:
        cell, sl, sc = vs.line_in_cell(f.start)
        end_cell, el, ec = vs.line_in_cell(max(f.start, f.end))
        if end_cell.key != cell.key:  # cannot happen for a real finding; clamp to the cell
            el, ec = sl, sc
        lines = cell_lines.get(cell.key)
        if lines is None:
            continue
        rng = types.Range(lines.position(sl, sc), lines.position(el, ec))
        out[cell.key].append(make_diagnostic(f, rng, version, {"cell": cell.key}))
    return out


# -- hover -----------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def rule_markdown(code: str) -> Optional[str]:
    rule = rule_class(code)
    if rule is None:
        return None
    sec = rule.doc_sections()
    parts = [f"**{rule.code}** `{rule.name}` — {rule.summary()}"]
    for title in ("What it does", "Why is this bad?", "Use instead"):
        body = sec.get(title)
        if body:
            parts.append(f"### {title}\n{body}")
    fix = getattr(rule, "fix", None)
    safety = sec.get("Fix safety")
    label = {"safe": "Safe fix available", "unsafe": "Unsafe fix available (review the change)",
             "display": "Fix shown, not applied automatically"}.get(getattr(fix, "value", None),
                                                                      "No automatic fix")
    parts.append(f"### Fix safety\n*{label}.*" + (f" {safety}" if safety else ""))
    parts.append(f"[{rule.code} documentation]({rule_href(rule.code)})")
    return "\n\n".join(parts)


_HOVER_PART_MAX = 220


def _first_sentences(text: str, limit: int = _HOVER_PART_MAX) -> str:
    """The opening of a doc section as one line: its first sentence(s) up to ``limit``."""
    if not text:
        return ""
    if text.lstrip().startswith("```"):  # a code block: its first code line
        lines = [l for l in text.strip().splitlines()[1:] if l.strip() and not l.startswith("```")]
        return f"`{lines[0].strip()}`" if lines else ""
    flat = " ".join(text.split())
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z`])", flat):
        if out and len(out) + 1 + len(sentence) > limit:
            break
        out = f"{out} {sentence}".strip()
    if len(out) > limit:
        out = out[: limit - 1].rstrip() + "…"
    return out


@lru_cache(maxsize=None)
def rule_hover(code: str) -> Optional[tuple[str, str, str, str, str]]:
    """(heading, what, why, instead, link) for a rule, each one short line."""
    rule = rule_class(code)
    if rule is None:
        return None
    sec = rule.doc_sections()
    fix = getattr(getattr(rule, "fix", None), "value", None)
    label = {"safe": "safe fix", "unsafe": "unsafe fix (review it)", "display": "fix shown, not applied"}.get(
        fix, "no automatic fix")
    heading = f"**{rule.code}** `{rule.name}` · {label}"
    return (heading, _first_sentences(sec.get("What it does", "") or rule.summary()),
            _first_sentences(sec.get("Why is this bad?", "")), _first_sentences(sec.get("Use instead", "")),
            f"[{rule.code} documentation]({rule_href(rule.code)})")


def hover_markdown(diags: Sequence[types.Diagnostic]) -> Optional[str]:
    """What the rule finds, why it matters on Keras 3 and what the fix does, a line each,
    with a link to the rule's page: the diagnostic's own message is already on screen."""
    blocks = []
    seen = set()
    for d in diags:
        code = str(d.code)
        if code in seen:
            continue
        seen.add(code)
        parts = rule_hover(code)
        if parts is None:
            continue
        heading, what, why, instead, link = parts
        fix = None
        if isinstance(d.data, dict) and d.data.get("title"):
            fix = str(d.data["title"]) + (" *(unsafe)*" if d.data.get("fix") == "unsafe" else "")
        lines = [heading]
        if what:
            lines.append(f"**What:** {what}")
        if why:
            lines.append(f"**Why:** {why}")
        if fix:
            lines.append(f"**Fix:** {fix}")
        elif instead:
            lines.append(f"**Instead:** {instead}")
        lines.append(link)
        blocks.append("  \n".join(lines))
    return "\n\n---\n\n".join(blocks) if blocks else None


def contains(rng: types.Range, pos: types.Position) -> bool:
    start, end = rng.start, rng.end
    after_start = (pos.line, pos.character) >= (start.line, start.character)
    before_end = (pos.line, pos.character) <= (end.line, end.character)
    return after_start and before_end


def overlaps(a: types.Range, b: types.Range) -> bool:
    return ((a.start.line, a.start.character) <= (b.end.line, b.end.character)
            and (b.start.line, b.start.character) <= (a.end.line, a.end.character))


# -- serialisation ---------------------------------------------------------------------------
_PLAIN = (str, int, float, bool, type(None))


def _position(p: types.Position) -> dict:
    return {"line": p.line, "character": p.character}


def converter():
    """pygls' converter with a direct unstructure hook for ``Diagnostic``: a publish of the
    ~1,100 diagnostics of a dense 5,000-line file went through cattrs' generic hooks (Optional
    unions, a mapping copy of ``data``) for ~13 ms per keystroke.  The hook writes the same
    dict (same keys, order, omitted ``None`` fields; tests/server/test_serialisation.py
    compares it with cattrs' on real analyses) and hands anything unusual (related
    information, ``data`` that is not a flat dict of plain values, a subclass) to cattrs."""
    from pygls.protocol import default_converter
    conv = default_converter()
    slow = conv.get_unstructure_hook(types.Diagnostic)

    def unstructure_diagnostic(d: types.Diagnostic) -> dict:
        data = d.data
        if (type(d) is not types.Diagnostic or d.related_information is not None
                or type(d.code_description) not in (types.CodeDescription, type(None))
                or not (data is None or (type(data) is dict
                                         and all(type(v) in _PLAIN for v in data.values())))):
            return slow(d)
        r = d.range
        out: dict[str, Any] = {"range": {"start": _position(r.start), "end": _position(r.end)},
                               "message": d.message}
        if d.severity is not None:
            out["severity"] = d.severity.value
        if d.code is not None:
            out["code"] = d.code
        if d.code_description is not None:
            out["codeDescription"] = {"href": d.code_description.href}
        if d.source is not None:
            out["source"] = d.source
        if d.tags is not None:
            out["tags"] = [t.value for t in d.tags]
        if data is not None:
            out["data"] = dict(data)
        return out

    conv.register_unstructure_hook(types.Diagnostic, unstructure_diagnostic)
    return conv
