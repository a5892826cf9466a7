"""Incremental re-analysis of one document: after an edit, only the top-level statements the
edit touched are parsed, walked and checked again; the result equals a full analysis.

A document is cut into *units*: its top-level statements (statements sharing a line are one
unit; comment and blank lines belong to the unit before them).  Each unit keeps its ``ast``
statements, its part of the shared node walk (nodes by type, parents) and the findings the
rules made in it.  An edit re-parses the units it touches (the smallest run of whole units
around it, parsed alone: a top-level statement parses the same alone as in its file); the
units after it only move (line numbers shifted in place when the edit adds or removes lines).

What crosses units is the *environment*: the imports, the top-level classes (their kinds) and
functions (their return kinds), module-level aliases, the kinds of the values bound to each
module-level name, the workspace's answers for names imported from it.  When the re-parsed
units contribute the same environment as before, a rule that looks at one statement at a time
(``Rule.module_wide`` False, the default) runs again only on them; the rules that relate
statements to each other (``module_wide = True``) run on the whole module; when the
environment changed, every rule runs on the whole module (the parse and walk still reused).
``# noqa``, deduplication and ordering stay one final pass over the merged findings.

tests/engine/test_incremental.py and the fuzzer (tests/fuzz/fuzz_incremental.py) compare it
with a full analysis after random edit sequences.
"""
from __future__ import annotations

import ast
import bisect
import copy
import logging
import sys
import threading
from typing import Callable, Optional, Sequence

from . import astutil as _astutil
from .context import FileContext
from .gchold import GC_HOLD
from .model import Finding, Position, Range
from .source import SourceText

log = logging.getLogger("keras_migrate.engine")

_AST = ast.AST
_DEPTHS = range(1, 10)  # Knowledge.value_kind's depths (its limit is 8)
_HAS_LINENO: dict[type, bool] = {}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _has_lineno(cls: type) -> bool:
    got = _HAS_LINENO.get(cls)
    if got is None:
        got = _HAS_LINENO[cls] = "lineno" in getattr(cls, "_attributes", ())
    return got


class Unit:
    """One top-level statement (or several sharing a line) and what was derived from it."""

    __slots__ = ("start", "end", "line", "stmts", "buckets", "parents", "findings", "refs", "assigns")

    def __init__(self, start: int, end: int, line: int, stmts: list, buckets: dict, parents: dict):
        self.start, self.end, self.line = start, end, line
        self.stmts = stmts
        self.buckets = buckets
        self.parents = parents
        self.findings: list[Finding] = []   # of the unit-local rules, positions as of now
        self.refs: Optional[list] = None     # resolved references (the environment's bindings)
        self.assigns: Optional[dict] = None  # module-scope assignments made in the unit

    def references(self, resolver) -> list:
        if self.refs is None:
            b = self.buckets
            self.refs = resolver.references_from(b.get(ast.Attribute, []), b.get(ast.Name, []))
        return self.refs

    def module_assigns(self) -> dict:
        """Knowledge's module-scope index for this unit's statements (values in its order)."""
        if self.assigns is None:
            from .knowledge import Knowledge
            k = Knowledge.__new__(Knowledge)
            k._scope_assigns = {}
            self.assigns = Knowledge._assigns(k, ast.Module(body=self.stmts, type_ignores=[]))
        return self.assigns


def walk_statements(stmts: Sequence[ast.AST]) -> tuple[dict, dict]:
    """FileContext's shared walk for some top-level statements: nodes by type (in the order
    the walk of the whole module gives them: concatenating the units' buckets in unit order
    gives the module's) and parents (the statements' own parent, the module, left out)."""
    buckets: dict[type, list] = {}
    parents: dict[int, _AST] = {}
    stack = list(stmts)
    pop, push = stack.pop, stack.append
    table = _astutil._FIELDS
    while stack:
        node = pop()
        cls = type(node)
        bucket = buckets.get(cls)
        if bucket is None:
            buckets[cls] = [node]
        else:
            bucket.append(node)
        fields = table.get(cls)
        if fields is None:
            fields = _astutil.child_fields(cls)
        for name in fields:
            v = getattr(node, name, None)
            if type(v) is list:
                for c in v:
                    if isinstance(c, _AST):
                        parents[id(c)] = node
                        push(c)
            elif isinstance(v, _AST):
                parents[id(v)] = node
                push(v)
    for bucket in buckets.values():
        bucket.reverse()
    return buckets, parents


def shift_lines(buckets: dict, delta: int) -> None:
    """``ast.increment_lineno`` over a unit's nodes, from its buckets (no walk)."""
    for cls, nodes in buckets.items():
        if not _has_lineno(cls):
            continue
        for n in nodes:
            n.lineno += delta
            if n.end_lineno is not None:
                n.end_lineno += delta


class MergedBuckets(dict):
    """The module's nodes by type, concatenated from its units' buckets when a type is first
    asked for (what FileContext's walk would give)."""

    def __init__(self, parts: Sequence[dict], extra: Optional[dict] = None):
        super().__init__()
        self._parts = parts
        self._extra = extra or {}

    def __missing__(self, cls):
        out: list = []
        for p in self._parts:
            got = p.get(cls)
            if got:
                out.extend(got)
        out.extend(self._extra.get(cls, ()))
        dict.__setitem__(self, cls, out)
        return out

    def get(self, cls, default=None):
        if dict.__contains__(self, cls):
            return dict.__getitem__(self, cls)
        out = self.__missing__(cls)
        return out if out or default is None else default

    def _complete(self) -> None:
        types = set(self._extra)
        for p in self._parts:
            types.update(p)
        for t in types:
            if not dict.__contains__(self, t):
                self.__missing__(t)

    def items(self):
        self._complete()
        return dict.items(self)

    def keys(self):
        self._complete()
        return dict.keys(self)

    def values(self):
        self._complete()
        return dict.values(self)

    def __iter__(self):
        self._complete()
        return dict.__iter__(self)


def split_units(tree: ast.Module, source: SourceText, first_line: int, start: int, end: int) -> list[Unit]:
    """The units of the statements of ``tree`` (already at their lines in the document),
    tiling the document's text from ``start`` (a line start: ``first_line``) to ``end``."""
    groups: list[list] = []
    lines: list[int] = []
    last_end = -1
    for stmt in tree.body:
        first = stmt.lineno
        for d in getattr(stmt, "decorator_list", ()):
            first = min(first, d.lineno)
        first -= 1
        if groups and first <= last_end:
            groups[-1].append(stmt)
        else:
            groups.append([stmt])
            lines.append(first)
        last_end = max(last_end, stmt.end_lineno - 1)
    if not groups:
        return []
    lines[0] = first_line
    units = []
    starts = source.line_starts
    for i, stmts in enumerate(groups):
        s = starts[lines[i]] if i else start
        e = starts[lines[i + 1]] if i + 1 < len(groups) else end
        buckets, parents = walk_statements(stmts)
        units.append(Unit(s, e, lines[i], stmts, buckets, parents))
    return units


def _environment(ctx: FileContext, units: Sequence[Unit]) -> list:
    """What ``units`` give the rest of the module (see the module docstring), as comparable
    values computed in ``ctx``."""
    k, r = ctx.knowledge, ctx.resolver
    out: list = []
    for u in units:
        for t in (ast.Import, ast.ImportFrom):
            for n in u.buckets.get(t, ()):
                out.append(("import", getattr(n, "module", None), getattr(n, "level", 0),
                            tuple((a.name, a.asname) for a in n.names)))
        for stmt in u.stmts:
            if isinstance(stmt, ast.ClassDef):
                out.append(("class", stmt.name, tuple(sorted(k.class_kinds(stmt))),
                            ast.dump(ast.Tuple(elts=stmt.bases + [kw.value for kw in stmt.keywords], ctx=ast.Load())),
                            tuple(kw.arg for kw in stmt.keywords)))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append(("def", stmt.name, k.function_return_kind(stmt)))
            elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                  and isinstance(stmt.targets[0], ast.Name)):
                raw = r.raw(stmt.value)
                if raw is not None:
                    out.append(("alias", stmt.targets[0].id, raw))
        for name, values in sorted(u.module_assigns().items()):
            # the values themselves (rules read them: Knowledge.scope_assignments) and their
            # kinds at every depth (what Knowledge answers about the name elsewhere)
            out.append(("name", name, tuple(ast.dump(v) for v in values),
                        tuple(tuple(k.value_kind(v, d) for d in _DEPTHS) for v in values)))
    return out


def _workspace_env(ctx: FileContext) -> tuple:
    ws = ctx.knowledge.workspace
    if ws is None:
        return ()
    out = []
    for name, (module, attr, level) in sorted(ctx.knowledge.other_imports().items()):
        try:
            out.append((name, tuple(sorted(ws.class_kinds(module, attr, level, ctx.path))),
                        ws.value_kind(module, attr, level, ctx.path)))
        except Exception:  # pragma: no cover - the index never raises; if it did: no reuse
            return (object(),)
    return tuple(out)


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    step = 4096
    # most edits are one place: compare blocks, then bisect inside the first that differs
    i = 0
    while i < n and a[i:i + step] == b[i:i + step]:
        i += step
    lo, hi = i, min(i + step, n)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[i:mid] == b[i:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, limit: int) -> int:
    n = min(len(a), len(b)) - limit
    i = 0
    step = 4096
    la, lb = len(a), len(b)
    while i < n and a[la - min(i + step, n):la - i] == b[lb - min(i + step, n):lb - i]:
        i = min(i + step, n)
        if i == n:
            return n
    lo, hi = i, min(i + step, n)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[la - mid:la - i] == b[lb - mid:lb - i]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class Stale(Exception):
    """The incremental path cannot give the full analysis' answer: analyse in full."""


class IncrementalAnalyzer:
    """Analyses successive versions of one document with an Engine (``IncrementalAnalyzer(engine)``);
    ``analyze`` takes the same arguments as ``Engine.analyze`` and returns the same result."""

    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.Lock()  # one analysis at a time (the state is the document's)
        self.local = [r for r in engine.rules if not getattr(r, "module_wide", False)]
        self._reset()
        self.stats = {"full": 0, "environment": 0, "incremental": 0, "same": 0}

    def _reset(self) -> None:
        self.text: Optional[str] = None
        self.units: list[Unit] = []
        self.parents: dict[int, _AST] = {}
        self.ctx: Optional[FileContext] = None
        self.key = None
        self.active: tuple = ()
        self.workspace_env: tuple = ()
        self.result = None
        self.generation = 0

    # -- entry ------------------------------------------------------------------------------
    def analyze(self, text: str, path: str = "<stdin>", module_name: Optional[str] = None,
                chunks: Optional[Sequence[int]] = None):
        from .analyze import AnalysisResult
        eng = self.engine
        if not eng.rules or not eng.mentions(text):
            self._reset()
            return AnalysisResult(path=path, text=text)
        with GC_HOLD:
            key = (path, module_name)
            if self.text is not None and self.key == key and "__future__" not in text:
                if text == self.text and self.result is not None:
                    self.stats["same"] += 1
                    return copy.copy(self.result)
                try:
                    return self._update(text, path, module_name)
                except Stale as why:
                    log.debug("%s: full analysis (%s)", path, why)
            return self._full(text, path, module_name, chunks)

    # -- full -------------------------------------------------------------------------------
    def _full(self, text: str, path: str, module_name: Optional[str], chunks):
        from .analyze import AnalysisResult, parse
        self._reset()
        self.stats["full"] += 1
        tree, err = parse(text)
        if err is not None:  # the engine's resilient path; nothing kept
            return self.engine._analyze(AnalysisResult(path=path, text=text), text, path, module_name, chunks)
        source = SourceText(text)
        units = split_units(tree, source, 0, 0, len(text))
        if not units:
            return self.engine._analyze(AnalysisResult(path=path, text=text), text, path, module_name, chunks)
        self.units = units
        self.key = (path, module_name)
        for u in units:
            self.parents.update(u.parents)
        return self._run_all(text, source, tree, path, module_name)

    def _module(self) -> ast.Module:
        tree = ast.Module(body=[s for u in self.units for s in u.stmts], type_ignores=[])
        parents = self.parents
        for s in tree.body:
            parents[id(s)] = tree
        return tree

    def _context(self, source: SourceText, tree: ast.Module, path: str, module_name,
                 carry: Optional[dict] = None) -> FileContext:
        """The module's context from its units: their walk, references and module-scope
        assignments; ``carry``: Knowledge's per-scope assignments of the functions of
        unchanged units (plain syntax: still true)."""
        eng = self.engine
        buckets = MergedBuckets([u.buckets for u in self.units], {ast.Module: [tree]})
        ctx = FileContext(source, tree, path, eng.settings, eng.workspace, module_name, eng.enabled,
                          walk=(buckets, self.parents))
        resolver = ctx.resolver
        refs: list = []
        for u in self.units:
            refs.extend(u.references(resolver))
        ctx._refs = refs
        merged: dict[str, list] = {}
        for u in reversed(self.units):  # the order of Knowledge's own walk of the module
            for name, values in u.module_assigns().items():
                got = merged.get(name)
                if got is None:
                    merged[name] = list(values)
                else:
                    got.extend(values)
        k = ctx.knowledge
        if carry:
            k._scope_assigns.update(carry)
        k._scope_assigns[id(tree)] = merged
        return ctx

    def _active(self, text: str) -> tuple:
        return tuple(r.code for r in self.engine.rules
                     if not r.requires or any(n in text for n in r.requires))

    def _run_all(self, text: str, source: SourceText, tree: ast.Module, path: str, module_name):
        """Every rule on the whole module (the units' parse and walk reused); the unit-local
        rules' findings handed to their units."""
        from .analyze import AnalysisResult
        result = AnalysisResult(path=path, text=text, source=source, analysed_text=text)
        for u in self.units:
            u.refs = None
        ctx = self._context(source, tree, path, module_name)
        self.active = self._active(text)
        local_findings: list[Finding] = []
        for rule in self.engine.rules:
            if rule.code not in self.active:
                continue
            before = len(ctx.findings)
            self.engine._run_rule(rule, ctx, result)
            if not getattr(rule, "module_wide", False):
                local_findings.extend(ctx.findings[before:])
        for u in self.units:
            u.findings = []
        starts = [u.start for u in self.units]
        for f in local_findings:
            self.units[max(bisect.bisect_right(starts, f.start) - 1, 0)].findings.append(f)
        self.generation += 1
        self._guard(ctx.findings)
        self.text, self.ctx = text, ctx
        self.workspace_env = _workspace_env(ctx)
        n = len(ctx.findings)
        self.engine._finish(result, ctx, source, text)
        self._guard(ctx.findings[n:])
        self.result = result
        return result

    def _guard(self, findings: list[Finding]) -> None:
        """A fix is built against the nodes as they are in this analysis: once a later one
        has moved them, an earlier analysis' findings offer none (never a misplaced edit)."""
        gen = self.generation
        for f in findings:
            factory = f.fix_factory
            if factory is not None:
                f.fix_factory = self._guarded(factory, gen)

    def _guarded(self, factory: Callable, gen: int) -> Callable:
        def fix():
            return factory() if self.generation == gen else None
        return fix

    # -- incremental ------------------------------------------------------------------------
    def _update(self, text: str, path: str, module_name: Optional[str]):
        from .analyze import AnalysisResult, parse
        old = self.text
        units = self.units
        p = _common_prefix(old, text)
        s = _common_suffix(old, text, p)
        old_end = len(old) - s
        starts = [u.start for u in units]
        a = max(bisect.bisect_right(starts, max(p - 1, 0)) - 1, 0)
        b = max(bisect.bisect_right(starts, min(old_end, len(old) - 1)) - 1, a)
        delta = len(text) - len(old)
        region_start = units[a].start
        region_end = units[b].end + delta
        region = text[region_start:region_end]
        tree, err = parse(region)
        if err is not None:
            raise Stale("the edited statements do not parse alone")
        if not tree.body:
            raise Stale("the edit leaves no statement")
        old_lines = _count_lines(old, units[a].start, units[b].end)
        new_lines = _count_lines(text, region_start, region_end)
        dline = new_lines - old_lines
        first_line = units[a].line
        # what the replaced units gave the module, in the analysis they were part of
        old_env = _environment(self.ctx, units[a:b + 1])
        kept_scopes = {id(n) for u in units[:a] + units[b + 1:] for t in _SCOPES for n in u.buckets.get(t, ())}
        carry = {key: v for key, v in self.ctx.knowledge._scope_assigns.items() if key in kept_scopes}
        source = SourceText(text)
        if first_line:
            shift_lines(walk_statements(tree.body)[0], first_line)
        new_units = split_units(tree, source, first_line, region_start, region_end)
        # the document's walk: the replaced units out, the new ones in, the rest moved
        parents = self.parents
        for u in units[a:b + 1]:
            for key in u.parents:
                parents.pop(key, None)
            for st in u.stmts:
                parents.pop(id(st), None)
        for u in new_units:
            parents.update(u.parents)
        tail = units[b + 1:]
        if delta or dline:
            for u in tail:
                u.start += delta
                u.end += delta
                if dline:
                    u.line += dline
                    shift_lines(u.buckets, dline)
        self.units = units[:a] + new_units + tail
        tree = self._module()
        self.text = text  # from here on the state is the new text's
        active = self._active(text)
        fresh = self._context(source, tree, path, module_name, carry)
        new_env = _environment(fresh, new_units)
        # an import or alias edited, even to the same text, is a new Binding (rules match
        # references to their import statement by identity): every reference is new
        binds = any(f[0] in ("import", "alias") for f in old_env + new_env)
        same = (not binds and active == self.active and new_env == old_env
                and _workspace_env(fresh) == self.workspace_env)
        if not same:
            self.stats["environment"] += 1
            return self._run_all(text, source, tree, path, module_name)
        self.stats["incremental"] += 1
        return self._run_changed(text, source, tree, path, module_name, units[:a], new_units, tail,
                                 delta, dline, carry)

    def _run_changed(self, text, source, tree, path, module_name, head, new_units, tail, delta, dline, carry):
        from .analyze import AnalysisResult
        eng = self.engine
        result = AnalysisResult(path=path, text=text, source=source, analysed_text=text)
        ctx = self._context(source, tree, path, module_name, carry)
        view = self._view(ctx, new_units)
        lo, hi = new_units[0].start, new_units[-1].end
        for u in new_units:
            u.findings = []
        local_new: list[Finding] = []
        module_found: list[Finding] = []
        for rule in eng.rules:
            if rule.code not in self.active:
                continue
            if getattr(rule, "module_wide", False):
                before = len(ctx.findings)
                eng._run_rule(rule, ctx, result)
                module_found.extend(ctx.findings[before:])
            else:
                before = len(view.findings)
                eng._run_rule(rule, view, result)
                for f in view.findings[before:]:
                    if not (lo <= f.start < hi and f.end <= hi) or any(
                            not (lo <= source.offset(r.start.line, r.start.col) <= hi) for r, _ in f.related):
                        raise Stale(f"{rule.code} reported outside the edited statements")
                local_new.extend(view.findings[before:])
        _widen(view, ctx)
        starts = [u.start for u in new_units]
        for f in local_new:
            new_units[max(bisect.bisect_right(starts, f.start) - 1, 0)].findings.append(f)
        self.generation += 1
        self._guard(local_new)
        self._guard(module_found)
        gen = self.generation
        merged: list[Finding] = []
        for u in head:
            u.findings = [self._moved(f, u, 0, 0, ctx, gen) for f in u.findings]
            merged.extend(u.findings)
        for u in new_units:
            merged.extend(u.findings)
        for u in tail:
            u.findings = [self._moved(f, u, delta, dline, ctx, gen) for f in u.findings]
            merged.extend(u.findings)
        merged.extend(module_found)
        ctx.findings = merged
        self.ctx = ctx
        n = len(merged)
        eng._finish(result, ctx, source, text)
        self._guard(ctx.findings[n:])
        self.result = result
        return result

    @staticmethod
    def _view(ctx: FileContext, units: Sequence[Unit]) -> FileContext:
        """``ctx`` seeing only the nodes of ``units`` (the module's tree, names and kinds
        stay whole), with its own findings and memo."""
        refs: list = []
        for u in units:
            refs.extend(u.references(ctx.resolver))
        return _view(ctx, [u.buckets for u in units], refs)

    def _moved(self, f: Finding, unit: Unit, delta: int, dline: int, ctx: FileContext, gen: int) -> Finding:
        """The finding of an unchanged unit in this analysis: moved by ``delta`` characters
        and ``dline`` lines, its fix made again (on demand) by its rule in this analysis."""
        g = object.__new__(Finding)
        d = g.__dict__
        d.update(f.__dict__)
        if delta or dline:
            d["start"] = f.start + delta
            d["end"] = f.end + delta
            if dline:
                d["range"] = _shift_range(f.range, dline)
                if f.related:
                    d["related"] = tuple((_shift_range(r, dline), m) for r, m in f.related)
        d["_fix_cache"] = None
        d["_fix_done"] = False
        if f.fix_factory is not None:
            d["fix_factory"] = self._refix(ctx, unit, g.code, g.start, g.end, gen)
        return g

    def _refix(self, ctx: FileContext, unit: Unit, code: str, start: int, end: int, gen: int) -> Callable:
        rule = next(r for r in self.engine.rules if r.code == code)

        def fix():
            # the rule again over the whole module, as in a full analysis (once per fix asked
            # for: the finding was made in an earlier analysis, its own closure is stale)
            if self.generation != gen:
                return None
            v = _view(ctx, ctx._buckets._parts, ctx._refs)
            old = sys.getrecursionlimit()
            try:
                res = rule.check(v)
                if res is not None:
                    for _ in res:
                        pass
            finally:
                sys.setrecursionlimit(old)
            found = v.findings
            _widen(v, ctx)
            for f in found:
                if f.code == code and f.start == start and f.end == end and f.fix_factory is not None:
                    return f.fix_factory()
            return None
        return fix


def _view(ctx: FileContext, parts: Sequence[dict], refs: Optional[list] = None) -> FileContext:
    v = copy.copy(ctx)
    v._buckets = MergedBuckets(parts)
    v._refs = refs
    v._memo = {}
    v.findings = []
    # the import statements too are the view's own (rules report on them as they go)
    mine = {id(n) for t in (ast.Import, ast.ImportFrom) for p in parts for n in p.get(t, ())}
    r = copy.copy(ctx.resolver)
    r.import_nodes = [n for n in ctx.resolver.import_nodes if id(n) in mine]
    v.resolver = r
    return v


def _widen(view: FileContext, ctx: FileContext) -> None:
    """Once the rules have run on ``view``, it sees the whole module again: the fixes of its
    findings (built later, on demand) see what they see in a full analysis."""
    findings = view.findings
    view.__dict__.update(ctx.__dict__)
    view.findings = findings


def _shift_range(r: Range, dline: int) -> Range:
    return Range(Position(r.start.line + dline, r.start.col), Position(r.end.line + dline, r.end.col))


def _count_lines(text: str, start: int, end: int) -> int:
    n = text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    return n
