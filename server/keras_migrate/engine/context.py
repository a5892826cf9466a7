"""FileContext: everything a rule needs about one file, computed once and lazily.

A rule reads the ``ast`` tree (fast), canonical names (``ctx.qualname``/``ctx.references``),
kinds of values and classes (``ctx.knowledge``) and reports findings (``ctx.report``; a
rule's ``check`` returns nothing).  A fix is declared once, on the report:
``fix=Fix.safe(title, build, *args)`` (or ``Fix.unsafe``), and ``build(*args)`` returns its
edits only when a fix is asked for; names a fix writes come from ``ctx.imports.ensure``
(the binding to write and the import edit it needs).  Expression rewrites
go through libcst on the node's own source segment (``ctx.cst`` / ``ctx.cst_replace``), so
formatting inside and around the node is preserved exactly.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Sequence, Union

from . import astutil as _astutil
from . import calls as _calls
from .knowledge import Knowledge
from .importer import Importer
from .model import Edit, Finding, Fix, Severity
from .resolve import Ref, Resolver
from .source import SourceText

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst

# libcst is imported only when a fix is built: it costs ~0.2 s to import, and detection
# (every keystroke) never needs it.

Span = tuple[int, int]
NodeOrSpan = Union[ast.AST, Span]


def parse_version(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    while len(out) < 3:
        out.append(0)
    return tuple(out[:3])


@dataclass(frozen=True)
class Settings:
    """What the rules may depend on besides the source."""

    target_backends: tuple[str, ...] = ("tensorflow",)
    keras_version: str = "3.15.1"
    unsafe_fixes: bool = False

    @property
    def portability(self) -> bool:
        return any(b in ("jax", "torch") for b in self.target_backends)

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return parse_version(self.keras_version)


class FileContext:
    def __init__(self, source: SourceText, tree: ast.Module, path: str = "<stdin>",
                 settings: Optional[Settings] = None, workspace=None, module_name: Optional[str] = None,
                 enabled: Optional[frozenset] = None, walk: Optional[tuple[dict, dict]] = None):
        """``walk``: (nodes by type, parents) of the tree when the caller has them (the
        incremental analysis keeps them per statement); by default the tree is walked."""
        self.source = source
        self._enabled = enabled
        self.text = source.text
        self.tree = tree
        self.path = path
        self.settings = settings or Settings()
        self._buckets: Optional[dict[type, list[ast.AST]]] = None
        if walk is not None:
            self._buckets, self._parents = walk
        self.resolver = Resolver(tree, self.nodes(ast.Import, ast.ImportFrom))
        self.knowledge = Knowledge(tree, self.resolver, workspace, module_name, path)
        self.knowledge._parents = self._parents
        self.knowledge._file = self  # the symbolic tracker reads the shared indexes
        # a canonical name, a reference, a kind, a parent: each defined once, where it is
        # known (resolve.py, knowledge.py); the context hands those methods out as they are
        self.qualname: Callable[[ast.AST], Optional[str]] = self.resolver.qualname
        self.resolve: Callable[[ast.AST], Optional[Ref]] = self.resolver.resolve
        self.value_kind: Callable[[ast.AST], Optional[str]] = self.knowledge.value_kind
        self.parent: Callable[[ast.AST], Optional[ast.AST]] = self.knowledge.parent
        self.knowledge._assign_nodes = self.nodes(ast.Assign)  # the walk ran for the imports above
        self._refs: Optional[list[Ref]] = None
        self._memo: dict = {}
        self.findings: list[Finding] = []
        self._imports: Optional[Importer] = None

    @property
    def imports(self) -> Importer:
        """The importer: ``binding, edit = ctx.imports.ensure("keras.ops", at=node)``."""
        if self._imports is None:
            self._imports = Importer(self)
        return self._imports

    def enabled(self, code: str) -> bool:
        """True when rule ``code`` runs in this analysis (ruff's ``checker.enabled``).

        Every "another rule reports this" decision asks here, so a rule stays silent only
        when the rule it defers to is on: ``--ignore K201`` hands ``save_format`` back to
        K502.  A context built without an enabled set (tests) treats every rule as on."""
        return self._enabled is None or code in self._enabled

    # -- indexes -----------------------------------------------------------------------
    def nodes(self, *types: type) -> list[ast.AST]:
        """All nodes of the given ast types (one walk shared by all rules, which also
        records every node's parent for ``ctx.parent``/``knowledge``)."""
        if self._buckets is None:
            self._walk()
        if len(types) == 1:
            return self._buckets.get(types[0], [])
        out: list[ast.AST] = []
        for t in types:
            out.extend(self._buckets.get(t, []))
        return out

    def node_buckets(self) -> dict[type, list[ast.AST]]:
        """Every node of the file by ast type (the shared walk)."""
        if self._buckets is None:
            self._walk()
        return self._buckets

    def _walk(self) -> None:
        buckets: dict[type, list[ast.AST]] = {}
        parents: dict[int, ast.AST] = {}
        AST = ast.AST
        stack: list[ast.AST] = [self.tree]
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
                        if isinstance(c, AST):
                            parents[id(c)] = node
                            push(c)
                elif isinstance(v, AST):
                    parents[id(v)] = node
                    push(v)
        for bucket in buckets.values():
            bucket.reverse()  # roughly source order, as rules and tests read them
        self._buckets = buckets
        self._parents = parents

    def memo(self, key, build: Callable[[], object]):
        """A per-file index built once: ``build()`` the first time ``key`` is asked for,
        the same object after.  For facts several findings (or rules) query, so a question
        asked once per finding costs a lookup, not a walk of the file (keep ``key`` unique:
        a rule's or helper's own name, plus any arguments)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build()
            return value

    def calls_named(self, name: str) -> list[ast.Call]:
        """Calls of a bare name (``name(...)``), in source order: one index of the file's
        calls by callee name, built at the first question."""
        index = self._memo.get("engine.calls_named")
        if index is None:
            index = {}
            for call in self.nodes(ast.Call):
                f = call.func
                if type(f) is ast.Name:
                    got = index.get(f.id)
                    if got is None:
                        index[f.id] = [call]
                    else:
                        got.append(call)
            self._memo["engine.calls_named"] = index
        return index.get(name, [])

    def references(self) -> list[Ref]:
        if self._refs is None:
            self._refs = self.resolver.references_from(self.nodes(ast.Attribute), self.nodes(ast.Name))
        return self._refs

    # -- text ----------------------------------------------------------------------------
    def span(self, node: NodeOrSpan) -> Span:
        if isinstance(node, tuple):
            return node
        sp = self.source.node_span(node)
        if sp is None:
            raise ValueError(f"node without position: {node!r}")
        return sp

    def segment(self, node: NodeOrSpan) -> str:
        s, e = self.span(node)
        return self.text[s:e]

    def line_indent(self, node: ast.AST) -> str:
        line = self.source.line_text(node.lineno - 1)
        return line[: len(line) - len(line.lstrip())]

    # -- reporting -----------------------------------------------------------------------
    def report(self, rule, node: NodeOrSpan, message: Optional[str] = None, *,
               fix: Optional[Fix] = None, severity: Optional[Severity] = None,
               tags: Optional[Sequence[str]] = None,
               related: Sequence[tuple[NodeOrSpan, str]] = ()) -> Finding:
        """Report a finding on ``node`` (or a ``(start, end)`` span); ``fix``: the declared
        ``Fix`` (its title and applicability are shown at once, its edits built on demand)."""
        start, end = self.span(node)
        if fix is not None and not isinstance(fix, Fix):
            raise TypeError(f"{rule.code}: fix= takes a Fix (Fix.safe/Fix.unsafe), not {fix!r}")
        finding = Finding(
            code=rule.code, name=rule.name, message=message or rule.message,
            severity=severity or rule.severity, start=start, end=end,
            range=self.source.range(start, end),
            fix_title=fix.title if fix is not None else None,
            fix_applicability=fix.applicability if fix is not None else None,
            fix_factory=fix.built if fix is not None else None,
            tags=tuple(tags if tags is not None else rule.tags),
            related=tuple((self.source.range(*self.span(n)), m) for n, m in related))
        self.findings.append(finding)
        return finding

    # -- edits ---------------------------------------------------------------------------
    def replace(self, node: NodeOrSpan, new_text: str) -> Edit:
        s, e = self.span(node)
        return Edit(s, e, new_text)

    def insert(self, offset: int, text: str) -> Edit:
        return Edit(offset, offset, text)

    def delete(self, node: NodeOrSpan) -> Edit:
        s, e = self.span(node)
        return Edit(s, e, "")

    keyword = staticmethod(_calls.keyword)

    def rename_keyword(self, call: ast.Call, old: str, new: str) -> Optional[Edit]:
        """Edit renaming ``old=`` to ``new=`` in a call (just the name's characters)."""
        kw = self.keyword(call, old)
        if kw is None:
            return None
        start = self.source.ast_offset(kw.lineno, kw.col_offset)
        if self.text[start:start + len(old)] != old:
            return None
        return Edit(start, start + len(old), new)

    # -- libcst on a node's own segment ---------------------------------------------------
    def cst(self, node: NodeOrSpan) -> "cst.BaseExpression":
        """The node's source parsed by libcst as an expression, formatting intact."""
        import libcst as cst
        wrapped = cst.parse_expression("(" + self.segment(node) + ")")
        return wrapped.with_changes(lpar=wrapped.lpar[1:], rpar=wrapped.rpar[:-1])

    def cst_replace(self, node: NodeOrSpan, new: "cst.CSTNode") -> Edit:
        import libcst as cst
        return self.replace(node, cst.Module(body=[]).code_for_node(new))

    def remove_keywords(self, call: ast.Call, names: Iterable[str]) -> Optional[Edit]:
        """Edit removing keyword arguments from a call, commas handled, the rest untouched."""
        import libcst as cst
        names = set(names)
        node = self.cst(call)
        if not isinstance(node, cst.Call):
            return None
        args = list(node.args)
        keep = [a for a in args if not (a.keyword is not None and a.keyword.value in names)]
        if len(keep) == len(args):
            return None
        if keep and args[-1] not in keep:
            # the old last argument's trailing comma (or none) and the layout before `)`
            # move to the new last one
            keep[-1] = keep[-1].with_changes(comma=args[-1].comma,
                                             whitespace_after_arg=args[-1].whitespace_after_arg)
        return self.cst_replace(call, node.with_changes(args=keep))

    def add_keyword(self, call: ast.Call, name: str, value: str) -> Edit:
        """Edit appending ``name=value`` to a call's arguments, keeping its layout: on a
        multi-line call with a trailing comma the new argument goes on its own line."""
        import libcst as cst
        node = self.cst(call)
        assert isinstance(node, cst.Call)
        args = list(node.args)
        new_arg = cst.Arg(value=cst.parse_expression(value), keyword=cst.Name(name),
                          equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                whitespace_after=cst.SimpleWhitespace("")))
        if args:
            last = args[-1]
            if isinstance(last.comma, cst.Comma):
                # reuse the separator between earlier arguments (newline + indent), and the
                # trailing comma's layout before `)` for the new last argument
                sep = args[-2].comma if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma) else \
                    cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                args[-1] = last.with_changes(comma=sep)
                new_arg = new_arg.with_changes(comma=last.comma)
            else:
                args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                                             whitespace_after_arg=cst.SimpleWhitespace(""))
                new_arg = new_arg.with_changes(whitespace_after_arg=last.whitespace_after_arg)
        args.append(new_arg)
        return self.cst_replace(call, node.with_changes(args=args))
