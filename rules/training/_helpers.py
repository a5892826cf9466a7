"""Private helpers shared by the K2xx (saving) and K4xx (training) rules.

Everything here is cheap ``ast`` work over the context's shared indexes.  Things the engine
could offer publicly one day (see the K2xx/K4xx report): the receiver policy for Keras-only
method names, annotated parameters as kinds, and "does this name have a visible value"
(``_scope_assigns`` reads the engine's per-scope assignment index, ``Knowledge.scope_assignments``; these rules
depend on public engine API only).
"""
from __future__ import annotations

import ast
from typing import Iterator, Optional

from keras_migrate.engine.knowledge import MODEL, kind_of_class_name
from keras_migrate.engine import astutil as _fast_ast

_FUNC = (ast.FunctionDef, ast.AsyncFunctionDef)


# -- what a receiver is ----------------------------------------------------------------------
def _param_annotation(ctx, name: ast.Name) -> Optional[ast.AST]:
    fn = ctx.knowledge.enclosing_function(name)
    while fn is not None:
        a = fn.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs:
            if arg.arg == name.id:
                return arg.annotation
        fn = ctx.knowledge.enclosing_function(fn)
    return None


def _is_param(ctx, name: ast.Name) -> bool:
    fn = ctx.knowledge.enclosing_function(name)
    while fn is not None:
        a = fn.args
        names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
        names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
        if name.id in names:
            return True
        fn = ctx.knowledge.enclosing_function(fn)
    return False


def _scope_assigns(ctx, scope: ast.AST) -> dict[str, list[ast.AST]]:
    """name -> values assigned in one scope (the engine's per-scope index)."""
    return ctx.knowledge.scope_assignments(scope)


def visible_values(ctx, name: ast.Name) -> list[ast.AST]:
    """The values assigned to ``name`` in its scope chain (innermost scope that assigns it)."""
    scope = ctx.knowledge.scope_of(name)
    while True:
        values = _scope_assigns(ctx, scope).get(name.id)
        if values:
            return values
        if isinstance(scope, ast.Module):
            return []
        scope = ctx.knowledge.scope_of(scope)


def _self_attr_values(cls: ast.ClassDef, attr: str) -> list[ast.AST]:
    out = []
    for node in _fast_ast.walk(cls):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if (isinstance(t, ast.Attribute) and t.attr == attr and isinstance(t.value, ast.Name)
                        and t.value.id == "self"):
                    out.append(node.value)
    return out


def kind_of(ctx, expr: ast.AST) -> Optional[str]:
    """``ctx.value_kind`` plus annotated parameters (``def f(model: keras.Model)``)."""
    kind = ctx.value_kind(expr)
    if kind is not None:
        return kind
    if isinstance(expr, ast.Name):
        ann = _param_annotation(ctx, expr)
        if ann is not None:
            q = ctx.qualname(ann)
            if q is not None:
                kinds = kind_of_class_name(q)
                if kinds:
                    return MODEL if MODEL in kinds else kinds[0]
    return None


def is_opaque(ctx, expr: ast.AST, _depth: int = 0) -> bool:
    """True when nothing in the file says what ``expr`` is (a parameter, a loop variable, an
    attribute of an unknown object, the result of an imported function).  False when we can
    see its value and that value is not a Keras object (``w = Wrapper()``)."""
    if isinstance(expr, ast.Name):
        if _is_param(ctx, expr):
            return _param_annotation(ctx, expr) is None
        values = visible_values(ctx, expr)
        return not values
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id == "self":
            m = ctx.knowledge.enclosing_method(expr)
            if m is not None:
                values = _self_attr_values(m[0], expr.attr)
                # ``self.model = model`` (a parameter) tells nothing: still opaque
                return _depth < 3 and all(is_opaque(ctx, v, _depth + 1) for v in values)
        return True
    if isinstance(expr, ast.Call):
        f = expr.func
        if isinstance(f, ast.Name) and any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                                           and n.name == f.id for n in ctx.tree.body):
            return False  # a local function/class we can read: value_kind already said no
        return ctx.qualname(f) is None
    if isinstance(expr, ast.Subscript):
        return True
    return False


def local_method_names(ctx) -> frozenset:
    """Names of methods defined by classes of this file that are not Keras classes."""
    cache = ctx.__dict__.get("_km_local_methods")
    if cache is None:
        names = set()
        for cls in ctx.nodes(ast.ClassDef):
            if ctx.knowledge.class_kinds(cls):
                continue
            for stmt in cls.body:
                if isinstance(stmt, _FUNC):
                    names.add(stmt.name)
        cache = frozenset(names)
        ctx._km_local_methods = cache
    return cache


def model_receiver(ctx, recv: ast.AST, method: str, keras_only: bool) -> Optional[str]:
    """``"known"`` when ``recv`` is a Keras model; ``"unknown"`` when the method name is
    Keras-only (``fit_generator``, ``metrics_names``), the receiver is opaque and no class of
    this file defines that name; else None (never flag)."""
    kind = kind_of(ctx, recv)
    if kind == MODEL:
        return "known"
    if kind is not None or not keras_only:
        return None
    if method in local_method_names(ctx):
        return None
    return "unknown" if is_opaque(ctx, recv) else None


def method_calls(ctx, names) -> Iterator[tuple[ast.Call, ast.Attribute]]:
    """Calls ``<expr>.<name>(...)`` for the given method names."""
    names = frozenset(names)
    for call in ctx.nodes(ast.Call):
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr in names:
            yield call, f


def keyword(call: ast.Call, name: str) -> Optional[ast.keyword]:
    for kw in call.keywords:
        if kw.arg == name:
            return kw
    return None


def arg(call: ast.Call, index: int, name: str) -> Optional[ast.AST]:
    """The argument at a position or by keyword (None when absent or hidden in ``*args``)."""
    for i, a in enumerate(call.args):
        if isinstance(a, ast.Starred):
            return None
        if i == index:
            return a
    kw = keyword(call, name)
    return kw.value if kw is not None else None


def const_bool(node: Optional[ast.AST]) -> Optional[bool]:
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    return None


def methods_of(cls: ast.ClassDef) -> dict[str, ast.AST]:
    return {s.name: s for s in cls.body if isinstance(s, _FUNC)}


def def_name_span(ctx, fn: ast.AST) -> tuple[int, int]:
    """The span of a function's (or class's) name in ``def name(`` / ``class Name``."""
    start = ctx.source.ast_offset(fn.lineno, fn.col_offset)
    i = ctx.text.find(fn.name, start)
    return (i, i + len(fn.name)) if i >= 0 else ctx.span(fn)


def walk_no_nested(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes inside a function body, not descending into nested defs/classes/lambdas."""
    stack = list(_fast_ast.iter_child_nodes(node))
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(_fast_ast.iter_child_nodes(n))


def model_constructions(ctx, cls: ast.ClassDef) -> list[ast.AST]:
    """Receivers (Name nodes) assigned an instance of ``cls``: ``m = MyModel(...)``."""
    out = []
    for assign in ctx.nodes(ast.Assign):
        v = assign.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == cls.name:
            out.extend(t for t in assign.targets if isinstance(t, ast.Name))
    return out


def add_keyword(ctx, call: ast.Call, name: str, value: str):
    """Edit appending ``name=value`` to a call, keeping a multi-line layout (now the
    engine's ``ctx.add_keyword``)."""
    return ctx.add_keyword(call, name, value)


def calls_to(ctx, targets) -> Iterator[tuple[ast.Call, str]]:
    """(call, canonical name) of calls to the given canonical names (``keras.callbacks.X``),
    with a cheap filter first: the attribute's last name must match one of the targets', a
    bare name must be an import/alias binding (so ``ctx.qualname`` runs on few calls)."""
    targets = frozenset(targets)
    lasts = {t.rsplit(".", 1)[-1] for t in targets}
    bindings = ctx.resolver.bindings
    for call in ctx.nodes(ast.Call):
        f = call.func
        if isinstance(f, ast.Attribute):
            if f.attr not in lasts:
                continue
        elif isinstance(f, ast.Name):
            if f.id not in bindings:
                continue
        else:
            continue
        q = ctx.qualname(f)
        if q in targets:
            yield call, q


_FUNCTIONAL = ("keras.Model", "keras.models.Model")


def functional_outputs(ctx, recv: ast.AST) -> Optional[ast.AST]:
    """The ``outputs`` expression of a functional model built in this file
    (``model = keras.Model(inputs, [a, b])``), or None."""
    if not isinstance(recv, ast.Name):
        return None
    values = visible_values(ctx, recv)
    if len(values) != 1:
        return None
    v = values[0]
    if not (isinstance(v, ast.Call) and ctx.qualname(v.func) in _FUNCTIONAL):
        return None
    return arg(v, 1, "outputs")


def functional_model(ctx, recv: ast.AST) -> Optional[ast.Call]:
    """The ``keras.Model(inputs, outputs)`` call that built ``recv`` (a name assigned once in
    its scope), or None: the engine's *functional model* kind. A subclass of ``keras.Model``,
    ``Sequential`` or a loaded model is not functional here."""
    if not isinstance(recv, ast.Name):
        return None
    found = None
    for v in visible_values(ctx, recv):
        if isinstance(v, ast.Call) and ctx.qualname(v.func) in _FUNCTIONAL and arg(v, 1, "outputs") is not None:
            found = found or v
        elif not (isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute)
                  and isinstance(v.func.value, ast.Name) and v.func.value.id == recv.id):
            return None  # also assigned something else (``vae = vae.load_weights(...)`` is not)
    return found


def output_structure(ctx, recv: ast.AST):
    """``("list", n)`` or ``("dict", [keys])`` for a functional model whose outputs are a
    list/tuple or dict literal (following a name assigned once); None otherwise."""
    call = functional_model(ctx, recv)
    if call is None:
        return None
    outs = arg(call, 1, "outputs")
    if isinstance(outs, ast.Name):
        vals = visible_values(ctx, outs)
        outs = vals[0] if len(vals) == 1 else None
    if isinstance(outs, (ast.List, ast.Tuple)) and not any(isinstance(e, ast.Starred) for e in outs.elts):
        return ("list", len(outs.elts))
    if isinstance(outs, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                          for k in outs.keys):
        return ("dict", [k.value for k in outs.keys])
    return None
