"""The engine: source text in, findings out.  Knows no individual rule.

Hot path (every keystroke in the editor): an early exit for text that never mentions
Keras/TensorFlow, one stdlib ``ast`` parse, one shared node walk, a lean import resolver.
libcst is touched only when a fix is asked for.
"""
from __future__ import annotations

import ast
import io
import logging
import re
import sys
import tokenize
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from .astutil import parse_quietly
from .context import FileContext, Settings
from .gchold import GC_HOLD
from .model import Finding
from .rule import Rule
from .source import SourceText

log = logging.getLogger("keras_migrate.engine")

_NOQA_RE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)
# file-level exemption, as ruff's ``# ruff: noqa[: codes]``: the whole file (every cell of a notebook)
_FILE_NOQA_RE = re.compile(r"#\s*keras-migrate\s*:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?",
                           re.IGNORECASE)
_CODE_RE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


@dataclass(frozen=True)
class NoqaComment:
    """A ``# noqa[: CODES]`` comment in one line: its offsets in the line, its codes (None
    for a bare ``# noqa``, which covers every code) and where the code list is."""
    start: int
    end: int
    codes: Optional[tuple[str, ...]]
    codes_start: int
    codes_end: int


def parse_noqa(line: str) -> Optional[NoqaComment]:
    """The ``# noqa`` comment of one line (without its line break), as the engine reads it
    for suppression; the CLI's ``--add-noqa`` and the server's quick fix edit through it."""
    if "#" not in line:
        return None
    m = _NOQA_RE.search(line)
    if m is None:
        return None
    raw = m.group("codes")
    if not raw:
        return NoqaComment(m.start(), m.end(), None, m.end(), m.end())
    return NoqaComment(m.start(), m.end(), tuple(c.group(0).upper() for c in _CODE_RE.finditer(raw)),
                       m.start("codes"), m.end("codes"))


@dataclass
class ParseError:
    message: str
    line: int  # 0-based
    col: int


@dataclass
class AnalysisResult:
    """Findings of one text.  ``errors``: every part that does not parse (a top-level
    statement of a file, a notebook cell), in text order; what parses is still analysed
    (``partial``), unless nothing does (``source`` is None then).  ``analysed_text``: the text
    the rules saw, the parts that do not parse blanked (same length, same line breaks)."""
    path: str
    text: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    source: Optional[SourceText] = None
    rule_errors: list[str] = field(default_factory=list)
    analysed_text: Optional[str] = None

    @property
    def error(self) -> Optional[ParseError]:
        """The first parse error (None when everything parses)."""
        return self.errors[0] if self.errors else None

    @property
    def partial(self) -> bool:
        """Some of the text was analysed, some could not be parsed."""
        return bool(self.errors) and self.source is not None

    @property
    def failed(self) -> bool:
        """Nothing could be analysed: the text does not parse at all."""
        return bool(self.errors) and self.source is None

    @property
    def ok(self) -> bool:
        return not self.errors


def _logical_lines(text: str) -> Optional[list[tuple[int, int]]]:
    """(first, last) 0-based physical lines of each logical line, or None if untokenizable."""
    spans = []
    start = None
    try:
        # newline=None: "\r\n" and a lone "\r" are line breaks, as in SourceText and LSP
        for tok in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                            tokenize.ENCODING) and start is None:
                continue
            if start is None:
                start = tok.start[0] - 1
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                spans.append((start, tok.end[0] - 1 if tok.type == tokenize.NEWLINE else tok.start[0] - 1))
                start = None
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        return None
    return spans


def _statement_spans(statements, noqa_lines: set[int]) -> list[tuple[int, int]]:
    """Logical-line spans from the ast (cheap; tokenizing a big file costs tens of ms):
    a simple statement's lines, a compound statement's header lines; statements that share
    a line (``a = f(x) + \\`` / ``g(y); s = \"\"\"...\"\"\"``) are one logical line, as the
    tokenizer and noqa_line() see it.  Only spans over several lines holding a noqa comment."""
    raw = []
    for node in statements:
        first = node.lineno - 1
        if isinstance(node, _COMPOUND):
            body = getattr(node, "body", None)
            last = (body[0].lineno - 2) if body else first
            if last < first:  # ``if x: y`` - the body shares the header's line
                last = first
        else:
            last = node.end_lineno - 1
        raw.append((first, last))
    raw.sort()
    merged: list[list[int]] = []
    for first, last in raw:
        if merged and first <= merged[-1][1]:
            if last > merged[-1][1]:
                merged[-1][1] = last
        else:
            merged.append([first, last])
    return [(f, l) for f, l in merged if l > f and any(f <= ln <= l for ln in noqa_lines)]


_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor,
             ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match) + (
    (ast.TryStar,) if hasattr(ast, "TryStar") else ())


def noqa_map(source: SourceText, statements=None) -> dict[int, Optional[set[str]]]:
    """line -> None (bare noqa: everything) or the set of suppressed codes.

    A ``# noqa`` comment covers its whole logical line: a statement continued over several
    lines (brackets, backslashes, a triple-quoted string) is suppressed by a comment on any
    of its lines, so the comment can always go at the end, where it is only a comment.
    """
    out: dict[int, Optional[set[str]]] = {}
    text = source.text
    if "noqa" not in text and "NOQA" not in text:
        return out
    for i in range(source.line_count):
        c = parse_noqa(source.line_text(i))
        if c is not None:
            out[i] = None if c.codes is None else set(c.codes)
    if not out:
        return out
    spans = _statement_spans(statements, set(out)) if statements is not None else _logical_lines(text)
    if spans:
        for first, last in spans:
            if first == last:
                continue
            merged: Optional[set[str]] = set()
            hit = False
            for ln in range(first, last + 1):
                if ln in out:
                    hit = True
                    if out[ln] is None or merged is None:
                        merged = None
                    else:
                        merged |= out[ln]
            if hit:
                for ln in range(first, last + 1):
                    out[ln] = None if merged is None else set(merged)
    return out


@dataclass(frozen=True)
class NoqaDirective:
    """One ``# noqa: CODES`` comment: where it is (offsets of the match), its codes with
    their offsets, and the physical lines of the logical line it covers (0-based)."""
    line: int
    start: int
    end: int
    codes: tuple[tuple[str, int, int], ...]
    first: int
    last: int


def noqa_directives(source: SourceText, statements=None) -> list[NoqaDirective]:
    """Every ``# noqa`` comment that names codes (bare ones suppress everything: not listed)."""
    text = source.text
    if "noqa" not in text and "NOQA" not in text:
        return []
    found = []
    for i in range(source.line_count):
        line = source.line_text(i)
        if "#" not in line:
            continue
        m = _NOQA_RE.search(line)
        if m and m.group("codes"):
            base = source.line_starts[i]
            cs = m.start("codes")
            codes = tuple((c.group(0).upper(), base + cs + c.start(), base + cs + c.end())
                          for c in _CODE_RE.finditer(m.group("codes")))
            found.append((i, base + m.start(), base + m.end(), codes))
    if not found:
        return []
    lines = {f[0] for f in found}
    spans = _statement_spans(statements, lines) if statements is not None else _logical_lines(text)
    out = []
    for i, s, e, codes in found:
        first = last = i
        for a, b in spans or ():
            if a <= i <= b:
                first, last = a, b
                break
        out.append(NoqaDirective(i, s, e, codes, first, last))
    return out


def file_noqa(text: str) -> tuple[bool, Optional[set[str]]]:
    """``# keras-migrate: noqa`` (True, None: nothing reported) or ``# keras-migrate: noqa:
    K101,K102`` (True, those codes), anywhere in the file; (False, None) without one."""
    codes: Optional[set[str]] = set()
    hit = False
    for m in _FILE_NOQA_RE.finditer(text):
        hit = True
        if not m.group("codes"):
            codes = None
        elif codes is not None:
            codes |= {c.group(0).upper() for c in _CODE_RE.finditer(m.group("codes"))}
    return hit, (codes if hit else None)


def noqa_line(text: str, line: int) -> int:
    """The physical line where a ``# noqa`` for a finding on ``line`` belongs: the last line
    of its logical line (after a backslash continuation or a multi-line string)."""
    spans = _logical_lines(text)
    for first, last in spans or ():
        if first <= line <= last:
            return last
    return line


def parse(text: str) -> tuple[Optional[ast.Module], Optional[ParseError]]:
    try:
        return parse_quietly(text), None
    except SyntaxError as exc:
        line = max((exc.lineno or 1) - 1, 0)
        col = max((exc.offset or 1) - 1, 0)
        return None, ParseError(f"syntax error: {exc.msg}", line, col)
    except (ValueError, TypeError) as exc:  # e.g. "source code string cannot contain null bytes"
        return None, ParseError(f"cannot parse: {exc}", 0, 0)
    except (RecursionError, MemoryError):
        return None, ParseError("cannot parse: the code is nested too deeply", 0, 0)


_CONTINUES = ("else", "elif", "except", "finally")


def top_level_starts(text: str) -> list[int]:
    """0-based lines where a top-level statement starts (decorators with their definition;
    ``else``/``except``... with theirs): the tokenizer's logical lines at column 0, and
    after a point it cannot tokenize past, lines that start at column 0 with a name or ``@``."""
    starts: list[int] = []
    lines = text.splitlines(keepends=True)
    prev_decorator = False
    resume = None
    fresh = True
    pending = None  # first line of the logical line being read
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                fresh, pending = True, None
                continue
            if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                continue
            if fresh:
                fresh = False
                pending = tok.start[0] - 1
                if tok.start[1] == 0:
                    if not (tok.string in _CONTINUES or prev_decorator):
                        starts.append(pending)
                    prev_decorator = tok.string == "@"
                else:
                    prev_decorator = False
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError) as exc:
        # from the line after the statement it stopped in (an unclosed bracket or string runs
        # to the end), or after the line it could not indent
        if pending is not None:
            resume = pending + 1
        elif isinstance(exc, SyntaxError) and exc.lineno:
            resume = exc.lineno
        else:
            resume = (starts[-1] + 1) if starts else 0
    if resume is not None:
        prev_decorator = False
        for row in range(max(resume, (starts[-1] + 1) if starts else 0), len(lines)):
            line = lines[row]
            if line[:1].isidentifier() or line[:1] == "@":
                word = re.match(r"\w*", line).group(0)
                if word not in _CONTINUES and not prev_decorator:
                    starts.append(row)
                prev_decorator = line[:1] == "@"
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return starts


def blank(text: str) -> str:
    """The same length and line breaks, everything else a space."""
    return re.sub(r"[^\r\n]", " ", text)


def _blank_failing(piece: str) -> str:
    """The piece with its top-level statements that do not parse blanked (all of it when
    they each parse but not together)."""
    rows = top_level_starts(piece)
    if len(rows) < 2:
        return blank(piece)
    src = SourceText(piece)
    bounds = [src.line_starts[r] for r in rows if r < src.line_count] + [len(piece)]
    out = []
    hit = False
    for s, e in zip(bounds, bounds[1:]):
        part = piece[s:e]
        if parse(part)[1] is not None:
            part, hit = blank(part), True
        out.append(part)
    joined = "".join(out)
    if not hit or parse(joined)[1] is not None:
        return blank(piece)
    return joined


def parse_resilient(text: str, chunks: Optional[Sequence[int]] = None
                    ) -> tuple[Optional[ast.Module], list[ParseError], str]:
    """(tree, errors, analysed text): when the text does not parse, each chunk (``chunks``:
    start offsets; default: the top-level statements) is parsed alone, those that fail are
    blanked, and the rest is parsed.  The tree is None when nothing can be parsed."""
    tree, err = parse(text)
    if err is None:
        return tree, [], text
    explicit = chunks is not None
    if chunks is None:
        source = SourceText(text)
        chunks = [source.line_starts[r] for r in top_level_starts(text) if r < source.line_count]
    bounds = sorted(set(c for c in chunks if 0 <= c < len(text)) | {0})
    bounds.append(len(text))
    errors: list[ParseError] = []
    pieces = []
    line = 0
    for s, e in zip(bounds, bounds[1:]):
        piece = text[s:e]
        _, perr = parse(piece)
        if perr is not None:
            # one error per part; inside it, the statements that parse are kept (a notebook
            # cell's imports still bind their names for the cells after it)
            errors.append(ParseError(perr.message, line + perr.line, perr.col))
            piece = _blank_failing(piece) if explicit else blank(piece)
        pieces.append(piece)
        line += piece.count("\n") + piece.count("\r") - piece.count("\r\n")
    analysed = "".join(pieces)
    tree, err2 = parse(analysed)
    if err2 is not None or not errors:  # the parts do not make a whole: report the first error
        return None, [err], text
    if not tree.body:   # no statement parsed: nothing was analysed (not "partly")
        return None, errors, text
    return tree, errors, analysed


class Engine:
    """Runs a fixed set of rule instances over source text."""

    def __init__(self, rules: Sequence[Rule], settings: Optional[Settings] = None, workspace=None,
                 enabled: Optional[Iterable[str]] = None):
        """``enabled``: the codes ownership is settled against (``ctx.enabled``); by default
        the codes of ``rules``.  A rule's own examples run it alone in the default world,
        where the rules it defers to are on (engine/testing.py)."""
        self.rules = list(rules)
        self.enabled = frozenset(enabled) if enabled is not None else frozenset(r.code for r in self.rules)
        self.settings = settings or Settings()
        self.workspace = workspace
        needles = set()
        for r in self.rules:
            needles.update(r.requires)
        self._needles = tuple(sorted(needles))

    def mentions(self, text: str) -> bool:
        return any(n in text for n in self._needles)

    def analyze(self, text: str, path: str = "<stdin>", module_name: Optional[str] = None,
                chunks: Optional[Sequence[int]] = None) -> AnalysisResult:
        """``chunks``: offsets where independent parts start (notebook cells); a part that
        does not parse is reported and left out, the others analysed.  By default the parts
        are the top-level statements."""
        result = AnalysisResult(path=path, text=text)
        if not self.rules or not self.mentions(text):
            return result
        with GC_HOLD:  # linear: see gchold.py
            return self._analyze(result, text, path, module_name, chunks)

    def _analyze(self, result: AnalysisResult, text: str, path: str, module_name: Optional[str],
                 chunks: Optional[Sequence[int]] = None) -> AnalysisResult:
        tree, errors, text = parse_resilient(text, chunks)
        result.errors = errors
        if tree is None:
            return result
        result.analysed_text = text
        source = SourceText(text)
        result.source = source
        ctx = FileContext(source, tree, path, self.settings, self.workspace, module_name, self.enabled)
        for rule in self.rules:
            if rule.requires and not any(n in text for n in rule.requires):
                continue
            self._run_rule(rule, ctx, result)
        self._finish(result, ctx, source, text)
        return result

    def _run_rule(self, rule: Rule, ctx: FileContext, result: AnalysisResult) -> None:
        old_limit = sys.getrecursionlimit()
        try:
            res = rule.check(ctx)
            if res is not None:
                for _ in res:
                    pass
        except RecursionError:
            result.rule_errors.append(f"{rule.code}: code nested too deeply to analyse")
        except Exception as exc:  # one broken rule must not hide the others
            log.exception("rule %s failed on %s", rule.code, result.path)
            result.rule_errors.append(f"{rule.code}: internal error {type(exc).__name__}: {exc}")
        finally:
            sys.setrecursionlimit(old_limit)

    def _finish(self, result: AnalysisResult, ctx: FileContext, source: SourceText, text: str) -> None:
        """The one pass over every finding: the rules about noqa comments (K900), noqa,
        ``# keras-migrate: noqa``, deduplication and order."""
        path = result.path
        findings = ctx.findings
        has_noqa = "noqa" in text or "NOQA" in text
        statements = [n for t, ns in ctx.node_buckets().items() if issubclass(t, ast.stmt)
                      for n in ns] if has_noqa else None
        noqa = noqa_map(source, statements)
        exempt: set[str] = set()
        hooks = [r for r in self.rules if hasattr(r, "check_noqa")] if has_noqa else []
        if hooks:  # rules about the noqa comments themselves (K900), once the others have run
            directives = noqa_directives(source, statements)
            if directives:
                before = list(findings)
                enabled = frozenset(r.code for r in self.rules)
                for rule in hooks:
                    try:
                        rule.check_noqa(ctx, directives, before, enabled)
                    except Exception as exc:
                        log.exception("rule %s failed on %s", rule.code, path)
                        result.rule_errors.append(f"{rule.code}: internal error {type(exc).__name__}: {exc}")
            exempt = {r.code for r in hooks if getattr(r, "noqa_exempt", False)}
            findings = ctx.findings
        whole_file, file_codes = file_noqa(text) if has_noqa else (False, None)
        if whole_file and file_codes is None:
            result.findings = []
            return
        seen = set()
        kept = []
        for f in sorted(findings, key=Finding.sort_key):
            key = (f.code, f.start, f.end)
            if key in seen:
                continue
            seen.add(key)
            if file_codes and f.code in file_codes:
                continue
            if f.range.start.line in noqa and f.code not in exempt:
                codes = noqa[f.range.start.line]
                if codes is None or f.code in codes:
                    continue
            kept.append(f)
        result.findings = kept
