"""Applying fixes: compose edits, merge the imports they carry, drop imports they made unused,
verify the result parses, repeat until nothing fixable is left (so a second run changes
nothing).  Also turns an (old, new) text pair into minimal text edits for editors.
"""
from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

from .analyze import AnalysisResult, parse
from .model import Edit, Finding, Fix, ImportEdit
from .resolve import Resolver
from .source import SourceText

MAX_ROUNDS = 20


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    out = text
    for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        out = out[:e.start] + e.new_text + out[e.end:]
    return out


# -- imports ---------------------------------------------------------------------------------
# A fix that writes a new name carries the import it needs as an ``ImportEdit`` (made by
# ``ctx.imports.ensure``, which also told the rule which binding to write).  Fixes applied
# together may each carry one: identical ones are applied once, and statements inserted at
# one point are merged (each statement once, at its first place).
def merge_import_edits(edits: Iterable[Edit]) -> list[Edit]:
    """The edits with their ``ImportEdit``s merged: one insertion per point, each import
    statement once (at its first point), identical edits once."""
    plain: list[Edit] = []
    inserts: dict[int, tuple[str, list[str]]] = {}
    seen_lines: set[str] = set()
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if not isinstance(e, ImportEdit) or e.start != e.end:
            if e not in plain:
                plain.append(e)
            continue
        body = e.new_text.lstrip("\r\n")
        prefix = e.new_text[:len(e.new_text) - len(body)]
        old_prefix, lines = inserts.get(e.start, (prefix, []))
        for line in body.splitlines(keepends=True):
            if line.strip() and line.strip() not in seen_lines:
                seen_lines.add(line.strip())
                lines.append(line)
        inserts[e.start] = (max(old_prefix, prefix, key=len), lines)
    return plain + [ImportEdit(at, at, prefix + "".join(lines)) for at, (prefix, lines) in inserts.items() if lines]


def _conflicts(edits: Sequence[Edit]) -> bool:
    return any(a.overlaps(b) for i, a in enumerate(edits) for b in edits[i + 1:])


def _name_loads(tree: ast.Module) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store):
            counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def _remove_binding_edit(text: str, source: SourceText, stmt: ast.AST, local: str) -> Optional[Edit]:
    names = stmt.names
    if len(names) == 1:
        start_line, end_line = stmt.lineno - 1, stmt.end_lineno - 1
        line_start = source.line_starts[start_line]
        before = text[line_start:source.ast_offset(stmt.lineno, stmt.col_offset)]
        after_end = source.ast_offset(stmt.end_lineno, stmt.end_col_offset)
        rest = source.line_text(end_line)[len(text[source.line_starts[end_line]:after_end]):]
        if before.strip() or (rest.strip() and not rest.strip().startswith("#")):
            return None  # shares its line with other code (``;``): leave it
        return Edit(line_start, source.line_end(end_line), "")
    import libcst as cst  # only when an import statement with several names must change
    s = source.ast_offset(stmt.lineno, stmt.col_offset)
    e = source.ast_offset(stmt.end_lineno, stmt.end_col_offset)
    try:
        node = cst.parse_statement(text[s:e])
    except cst.ParserSyntaxError:
        return None
    small = node.body[0] if isinstance(node, cst.SimpleStatementLine) else None
    if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(small.names, cst.ImportStar):
        return None

    def local_name(a) -> str:
        if a.asname is not None:
            return a.asname.name.value
        return cst.Module([]).code_for_node(a.name).split(".")[0]

    aliases = list(small.names)
    keep = [a for a in aliases if local_name(a) != local]
    if len(keep) == len(aliases) or not keep:
        return None
    if aliases[-1] not in keep:
        keep[-1] = keep[-1].with_changes(comma=aliases[-1].comma)
    new = small.with_changes(names=keep)
    return Edit(s, e, cst.Module([]).code_for_node(new))


def cleanup_imports(old_text: str, new_text: str) -> str:
    """Remove TensorFlow/Keras 2 imports, and names imported from ``keras`` modules, that were
    used before the fixes and are unused now."""
    old_tree, _ = parse(old_text)
    new_tree, err = parse(new_text)
    if old_tree is None or new_tree is None:
        return new_text
    old_loads, new_loads = _name_loads(old_tree), _name_loads(new_tree)
    resolver = Resolver(new_tree)
    source = SourceText(new_text)
    edits = []
    for local, b in resolver.bindings.items():
        if b.kind not in ("import", "from") or not b.module_level:
            continue
        # TensorFlow / Keras 2 imports, and ``from keras... import X`` names: a fix that
        # rewrote every use of a name Keras 3 lacks (``from keras.losses import Reduction``,
        # ``Reduction.NONE`` -> ``'none'``) must not leave the failing import behind
        if not (b.target.startswith(("tensorflow", "tf_keras"))
                or (b.kind == "from" and b.target.startswith("keras."))):
            continue
        if old_loads.get(local, 0) > 0 and new_loads.get(local, 0) == 0:
            e = _remove_binding_edit(new_text, source, b.node, local)
            if e is not None and not any(e.overlaps(x) for x in edits):
                edits.append(e)
    return apply_edits(new_text, edits) if edits else new_text


def apply_fix(text: str, fix: Fix) -> Optional[str]:
    """Apply one fix (its edits, the imports it carries, and the import clean-up); None if
    invalid."""
    tree, err = parse(text)
    if tree is None:
        return None
    edits = merge_import_edits(fix.edits)
    if _conflicts(edits):
        return None
    new = apply_edits(text, edits)
    new = cleanup_imports(text, new)
    if parse(new)[0] is None:
        return None
    return new


# -- the fix loop ---------------------------------------------------------------------------------
@dataclass
class FixOutcome:
    text: str
    applied: list[tuple[str, str]] = field(default_factory=list)   # (code, title)
    failed: list[str] = field(default_factory=list)
    rounds: int = 0
    not_analysed: list = field(default_factory=list)   # ParseError of each part left as it was

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def _holes(text: str, analysed: str) -> list[tuple[int, int]]:
    """The blanked parts: ranges where ``analysed`` differs from ``text``, merged across
    whitespace (a blanked part keeps its line breaks and its spaces)."""
    out: list[list[int]] = []
    for m in re.finditer(r"\S+", text):
        s, e = m.span()
        if analysed[s:e] == text[s:e]:
            continue
        if out and not text[out[-1][1]:s].strip() and not analysed[out[-1][1]:s].strip():
            out[-1][1] = e
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _restore(blanked: str, new: str, original: str, holes: list[tuple[int, int]]) -> Optional[str]:
    """``new`` (fixed from ``blanked``) with the blanked parts of ``original`` put back;
    None when an edit reaches into one of them."""
    edits = minimal_edits(blanked, new)
    pieces = []
    for hs, he in holes:
        shift = 0
        for e in edits:
            if e.start < he and e.end > hs:
                return None
            if e.end <= hs:
                shift += len(e.new_text) - (e.end - e.start)
        pieces.append((hs + shift, he + shift, hs, he))
    out = new
    for ns, ne, hs, he in sorted(pieces, reverse=True):
        if out[ns:ne] != blanked[hs:he]:
            return None
        out = out[:ns] + original[hs:he] + out[ne:]
    return out


def fix_text(text: str, analyze: Callable[[str], AnalysisResult], unsafe: bool = False,
             select: Optional[Callable[[Finding], bool]] = None, partial_ok: bool = False) -> FixOutcome:
    """Apply every allowed fix until none is left.  ``analyze`` maps text -> findings.

    ``partial_ok`` (notebooks): parts that do not parse (cells) are left exactly as they are
    and the others fixed; otherwise a text with a syntax error is not fixed."""
    outcome = FixOutcome(text)
    first = analyze(text)
    if first.errors:
        if first.failed or not partial_ok or first.analysed_text is None:
            outcome.failed.append(f"not fixed: {first.error.message} (line {first.error.line + 1})")
            return outcome
        holes = _holes(text, first.analysed_text)
        inner = fix_text(first.analysed_text, analyze, unsafe, select)
        inner.not_analysed = list(first.errors)
        if not inner.changed:
            inner.text = text
            return inner
        restored = _restore(first.analysed_text, inner.text, text, holes)
        if restored is None:
            inner.failed.append("not fixed: a fix reaches into code that does not parse")
            inner.applied.clear()
            inner.text = text
            return inner
        inner.text = restored
        return inner
    bad: set[tuple[str, str]] = set()   # (code, segment) whose fix failed: don't retry forever
    current = text
    for round_no in range(MAX_ROUNDS):
        result = first if round_no == 0 else analyze(current)
        if result.errors:
            break
        tree, err = parse(current)
        if tree is None:  # the analysis may have skipped parsing (nothing Keras in the text)
            break
        chosen: list[tuple[Finding, Fix]] = []
        taken: list[Edit] = []
        taken_imports: list[Edit] = []
        for f in result.findings:
            if not f.fixable(unsafe) or (select is not None and not select(f)):
                continue
            if (f.code, current[f.start:f.end]) in bad:
                continue
            fix = f.fix()
            if fix is None or not fix.edits:
                continue
            plain = [e for e in fix.edits if not isinstance(e, ImportEdit)]
            imports = [e for e in fix.edits if isinstance(e, ImportEdit)]
            if any(e.overlaps(t) for e in plain for t in taken + taken_imports):
                continue
            if any(e.overlaps(t) for e in imports for t in taken):
                continue
            if _conflicts(merge_import_edits(taken_imports + imports)):
                continue
            chosen.append((f, fix))
            taken.extend(plain)
            taken_imports.extend(imports)
        if not chosen:
            break
        new = None
        edits = taken + merge_import_edits(taken_imports)
        if not _conflicts(edits):
            candidate = cleanup_imports(current, apply_edits(current, edits))
            if parse(candidate)[0] is not None:
                new = candidate
        if new is None:
            # something in the batch is wrong: take the first fix that works alone, mark the
            # ones that break, and re-analyse (the others' offsets refer to the old text)
            new = current
            for f, fx in chosen:
                step = apply_fix(current, fx)
                if step is None:
                    bad.add((f.code, current[f.start:f.end]))
                    outcome.failed.append(f"{f.code} at line {f.range.start.line + 1}: fix skipped "
                                          f"(it would not produce valid code)")
                    continue
                new = step
                outcome.applied.append((f.code, fx.title))
                break
        else:
            outcome.applied.extend((f.code, fx.title) for f, fx in chosen)
        outcome.rounds = round_no + 1
        if new == current:
            break
        current = new
    outcome.text = current
    return outcome


# -- minimal edits for editors ----------------------------------------------------------------------
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


def minimal_edits(old: str, new: str) -> list[Edit]:
    """Small replacements turning ``old`` into ``new``: a line diff, and inside a changed
    block similar lines are paired, so an inserted line stays an insertion (an import added
    at the end of a notebook's first cell is not merged with the rewrite of the next cell's
    first line), then common characters are trimmed."""
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
