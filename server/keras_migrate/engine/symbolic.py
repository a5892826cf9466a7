"""Which expressions are symbolic KerasTensors: the engine's one ``is_symbolic``.

``Knowledge.is_symbolic(expr)`` (and the door's ``is_symbolic(ctx, expr)``) asks this tracker.
It follows symbolic tensors through assignments *in order*:

- for a name, the *latest* binding that precedes the use in its scope (walking out to
  enclosing scopes), so ``x = keras.Input(...); x = tf.nn.relu(x)`` reads the previous ``x``;
- a parameter of a plain function (``def conv_block(x): ...``) is symbolic when a call of
  that function in the file passes a symbolic value, and such a call returns a symbolic
  value when one of its ``return`` expressions is; method parameters never are (a
  layer's ``call(inputs)`` gets real tensors from Keras);
- the result of a ``tf.*`` or ``keras.ops.*`` call, and of a layer or model applied to a
  symbolic argument, is symbolic; also through arithmetic, comparisons, indexing,
  ``a if c else b``, lists/tuples/dicts, unpacking assignments and ``for`` targets;
- a model's or layer's ``.output`` / ``.input`` (``GRAPH_ATTRS``) is symbolic.

(``value_kind`` keeps its own narrower test for "a layer applied to a symbolic tensor"
(``Knowledge._symbolic_operand``): the kinds every rule reads stay as they were.)
"""
from __future__ import annotations

import ast
import bisect
from typing import Optional

from . import astutil as _fast_ast
from .kinds import FUNC, KERAS_TENSOR, LAYER, MODEL, TENSOR_FACTORIES

_FUNC = FUNC + (ast.Lambda,)
_NEST = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_MAX_DEPTH = 24
GRAPH_ATTRS = frozenset({"output", "outputs", "input", "inputs"})


def _pos(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)


def _end(node: ast.AST) -> tuple[int, int]:
    return (node.end_lineno, node.end_col_offset)


class _Param:
    """A function parameter (symbolic when some call site in the file passes a symbolic value)."""

    __slots__ = ("fn", "name")

    def __init__(self, fn, name):
        self.fn, self.name = fn, name


class Symbolic:
    """Per-file tracker (one per file: ``Knowledge.is_symbolic`` builds it at the first question).

    ``ctx``: the file (``FileContext``, or a ``_TreeFile`` for a Knowledge of its own) giving
    ``knowledge``, ``nodes(*types)``, ``calls_named(name)``, ``value_kind`` and ``qualname``."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.k = ctx.knowledge
        self._bindings: dict[int, dict[str, list[tuple[tuple[int, int], ast.AST, ast.AST]]]] = {}
        self._params: dict[int, set[str]] = {}
        # id(node) -> (node, answer): the entry keeps the node alive, so a node a caller builds
        # and drops cannot lend its id (and answer) to the next one
        self._memo: dict[int, tuple] = {}
        self._ends: dict[int, list] = {}

    # -- bindings per scope, in source order -------------------------------------------------
    def _scope_bindings(self, scope: ast.AST):
        got = self._bindings.get(id(scope))
        if got is not None:
            return got
        out: dict[str, list] = {}

        def bind(target: ast.AST, value: ast.AST, stmt: ast.AST):
            if isinstance(target, ast.Name):
                out.setdefault(target.id, []).append((_end(stmt), value, stmt))
            elif isinstance(target, (ast.Tuple, ast.List)):
                for t in target.elts:
                    bind(t, value, stmt)  # an element of a symbolic structure is symbolic
            elif isinstance(target, ast.Starred):
                bind(target.value, value, stmt)

        body = scope.body if isinstance(scope, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)) else []
        stack = list(reversed(body))
        while stack:
            node = stack.pop()
            if isinstance(node, _NEST):
                continue
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    bind(t, node.value, node)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                bind(node.target, node.value, node)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                # x += y keeps x's previous value in the expression
                out.setdefault(node.target.id, []).append(
                    (_end(node), ast.BinOp(left=node.target, op=node.op, right=node.value), node))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                bind(node.target, node.iter, node.iter)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                bind(node.optional_vars, node.context_expr, node.context_expr)
            elif isinstance(node, ast.NamedExpr):
                bind(node.target, node.value, node)
            stack.extend(reversed(list(_fast_ast.iter_child_nodes(node))))
        for lst in out.values():
            lst.sort(key=lambda b: b[0])
        self._bindings[id(scope)] = out
        return out

    def _scope_params(self, scope: ast.AST) -> set[str]:
        got = self._params.get(id(scope))
        if got is None:
            got = set()
            if isinstance(scope, _FUNC):
                a = scope.args
                for p in a.posonlyargs + a.args + a.kwonlyargs:
                    got.add(p.arg)
                if a.vararg:
                    got.add(a.vararg.arg)
                if a.kwarg:
                    got.add(a.kwarg.arg)
            self._params[id(scope)] = got
        return got

    def binding_before(self, name: ast.Name) -> Optional[ast.AST]:
        """The value last bound to ``name`` before this use (None: unknown or a parameter)."""
        use = _pos(name)
        scope = self.k.scope_of(name)
        while True:
            binds = self._scope_bindings(scope).get(name.id)
            if binds:
                # the last binding ending before the use (sorted by end: a bisection, not a
                # scan back through every earlier binding, which made a name re-bound all
                # through a notebook's module scope quadratic); one ending before the use
                # cannot contain it
                ends = self._ends.get(id(binds))
                if ends is None:
                    ends = self._ends[id(binds)] = [b[0] for b in binds]
                i = bisect.bisect_right(ends, use)
                if i:
                    return binds[i - 1][1]
            if name.id in self._scope_params(scope):
                return _Param(scope, name.id) if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
            if isinstance(scope, ast.Module):
                return None
            scope = self.k.scope_of(scope)

    # -- helper functions called with symbolic tensors (def block(x): ...; block(inp)) ----------
    def _functions(self) -> dict[str, list[ast.AST]]:
        """Plain functions (not methods) by name, module-level and nested."""
        got = getattr(self, "_fns", None)
        if got is None:
            got = {}
            for fn in self.ctx.nodes(ast.FunctionDef, ast.AsyncFunctionDef):
                got.setdefault(fn.name, []).append(fn)
            for cls in self.ctx.nodes(ast.ClassDef):
                for m in cls.body:
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name in got:
                        got[m.name] = [f for f in got[m.name] if f is not m]
            self._fns = got
        return got

    def _calls_to(self, fn: ast.AST) -> list[ast.Call]:
        cache = self.__dict__.setdefault("_fn_calls", {})
        got = cache.get(id(fn))
        if got is None:
            got = self.ctx.calls_named(fn.name)  # an index lookup: this ran once per helper function
            cache[id(fn)] = got
        return got

    def _param_symbolic(self, p: "_Param", d: int) -> bool:
        fn = p.fn
        if fn not in self._functions().get(fn.name, []):
            return False  # a method: its callers are Keras, not this file
        a = fn.args
        positional = [x.arg for x in a.posonlyargs + a.args]
        i = positional.index(p.name) if p.name in positional else None
        for call in self._calls_to(fn):
            if i is not None and i < len(call.args) and not any(isinstance(x, ast.Starred) for x in call.args[:i + 1]):
                if self.is_symbolic(call.args[i], d):
                    return True
            for kw in call.keywords:
                if kw.arg == p.name and self.is_symbolic(kw.value, d):
                    return True
        return False

    def _returns_symbolic(self, call: ast.Call, d: int) -> bool:
        fns = self._functions().get(call.func.id) if isinstance(call.func, ast.Name) else None
        if not fns or len(fns) != 1:
            return False
        stack = list(_fast_ast.iter_child_nodes(fns[0]))
        while stack:
            node = stack.pop()
            if isinstance(node, _NEST):
                continue
            if isinstance(node, ast.Return) and node.value is not None and self.is_symbolic(node.value, d):
                return True
            stack.extend(_fast_ast.iter_child_nodes(node))
        return False

    # -- the question --------------------------------------------------------------------------
    def is_symbolic(self, expr: Optional[ast.AST], depth: int = 0) -> bool:
        if expr is None or depth > _MAX_DEPTH:
            return False
        key = id(expr)
        got = self._memo.get(key)
        if got is not None and got[0] is expr:
            return got[1]
        self._memo[key] = (expr, False)  # cycle guard
        result = self._compute(expr, depth + 1)
        self._memo[key] = (expr, result)
        return result

    def _compute(self, expr: ast.AST, d: int) -> bool:
        sym = self.is_symbolic
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            return any(sym(e, d) for e in expr.elts)
        if isinstance(expr, ast.Dict):
            return any(sym(v, d) for v in expr.values)
        if isinstance(expr, ast.Starred):
            return sym(expr.value, d)
        if isinstance(expr, ast.BinOp):
            return sym(expr.left, d) or sym(expr.right, d)
        if isinstance(expr, ast.UnaryOp):
            return sym(expr.operand, d)
        if isinstance(expr, ast.Compare):
            return sym(expr.left, d) or any(sym(c, d) for c in expr.comparators)
        if isinstance(expr, ast.Subscript):
            return sym(expr.value, d)
        if isinstance(expr, ast.IfExp):
            return sym(expr.body, d) or sym(expr.orelse, d)
        if isinstance(expr, ast.NamedExpr):
            return sym(expr.value, d)
        if isinstance(expr, ast.Attribute):
            # model.output / base.input / model.get_layer("x").output, and self.x = keras.Input(...)
            if expr.attr in GRAPH_ATTRS and self._kind(expr.value) in (LAYER, MODEL):
                return True
            return self.ctx.value_kind(expr) == KERAS_TENSOR
        if isinstance(expr, ast.Name):
            value = self.binding_before(expr)
            if isinstance(value, _Param):
                return self._param_symbolic(value, d)
            return value is not None and sym(value, d)
        if isinstance(expr, ast.Call):
            q = self.ctx.qualname(expr.func)
            if q is not None:
                if q in TENSOR_FACTORIES:
                    return True
                if q.startswith("tensorflow.") or q.startswith("keras.ops."):
                    return self.any_symbolic_arg(expr, d)
            if self._is_layer(expr.func, d):
                return self.any_symbolic_arg(expr, d)
            if q is None and self.any_symbolic_arg(expr, d) and self._returns_symbolic(expr, d):
                return True  # a helper function building part of the graph
            return self.ctx.value_kind(expr) == KERAS_TENSOR
        return False

    def _kind(self, expr: ast.AST):
        """value_kind, with the latest binding for names and ``model.get_layer(...)`` a layer."""
        if isinstance(expr, ast.Name):
            value = self.binding_before(expr)
            if isinstance(value, _Param):
                return None
            if value is not None:
                return self._kind(value) if isinstance(value, ast.Call) else self.ctx.value_kind(value)
        if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get_layer"
                and self._kind(expr.func.value) == MODEL):
            return LAYER
        return self.ctx.value_kind(expr)

    def _is_layer(self, func: ast.AST, d: int) -> bool:
        """A layer or model object (``Dense(3)``, ``dense``, ``self.block``) being applied."""
        return self._kind(func) in (LAYER, MODEL)

    def any_symbolic_arg(self, call: ast.Call, d: int = 0) -> bool:
        return any(self.is_symbolic(a, d) for a in call.args) or \
            any(self.is_symbolic(k.value, d) for k in call.keywords)


class _TreeFile:
    """What the tracker reads of a file, for a ``Knowledge`` built without a ``FileContext``
    (one walk of the tree, at the first question)."""

    def __init__(self, knowledge):
        self.knowledge = knowledge
        self.value_kind = knowledge.value_kind
        self.qualname = knowledge.resolver.qualname
        self._buckets: Optional[dict] = None

    def nodes(self, *types: type) -> list:
        if self._buckets is None:
            self._buckets = {}
            for n in _fast_ast.walk(self.knowledge.tree):
                self._buckets.setdefault(type(n), []).append(n)
        return [n for t in types for n in self._buckets.get(t, [])]

    def calls_named(self, name: str) -> list:
        return [c for c in self.nodes(ast.Call) if type(c.func) is ast.Name and c.func.id == name]


def tracker(ctx) -> Symbolic:
    """The file's tracker (``ctx``: a ``FileContext``)."""
    return ctx.knowledge.symbolic_tracker()


def has_symbolic_sources(ctx) -> bool:
    """Whether the file makes symbolic tensors at all (``keras.Input`` & co., or a model's
    ``.input``/``.output``): else nothing in it is symbolic."""
    return ctx.memo("engine.has_symbolic_sources", lambda: _has_symbolic_sources(ctx))


def _has_symbolic_sources(ctx) -> bool:
    got = False
    if "nput" in ctx.text:
        for call in ctx.nodes(ast.Call):
            if ctx.qualname(call.func) in TENSOR_FACTORIES:
                got = True
                break
    if not got and ("input" in ctx.text or "output" in ctx.text):
        got = any(a.attr in GRAPH_ATTRS and not (isinstance(a.value, ast.Name) and a.value.id == "self")
                  and ctx.value_kind(a.value) in (LAYER, MODEL) for a in ctx.nodes(ast.Attribute))
    return got


def is_symbolic(ctx, expr: ast.AST) -> bool:
    """True when ``expr`` is a symbolic KerasTensor (see the module docstring)."""
    return has_symbolic_sources(ctx) and tracker(ctx).is_symbolic(expr)


def any_symbolic_arg(ctx, call: ast.Call) -> bool:
    """True when an argument of ``call`` is a symbolic KerasTensor."""
    return has_symbolic_sources(ctx) and tracker(ctx).any_symbolic_arg(call)
