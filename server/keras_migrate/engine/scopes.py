"""Where code is and what names hold: scopes, values, Keras classes and their methods,
receivers.  Queries over the context's shared indexes (``ctx.nodes``, ``ctx.knowledge``).

- values: ``visible_values`` (the one scope/values query), ``self_attr_values``,
  ``param_annotation`` / ``is_param``;
- Keras classes and methods (the one "code inside a Keras class method" query):
  ``keras_classes``, ``keras_methods`` (top-down), ``keras_method`` (the one enclosing a node),
  ``methods_of`` / ``method_named``;
- walking a function: ``walk_no_nested``, ``walk_function`` / ``function_nodes``;
- receivers: ``receiver_kind`` (``value_kind`` plus annotated parameters), ``layer_value``
  (also ``model.layers[i]``, ``get_layer``, ``for layer in model.layers``), ``is_opaque``,
  ``model_receiver`` (the policy for Keras-only method names on unknown receivers).
"""
from __future__ import annotations

import ast
from typing import Iterator, Optional

from . import astutil as _fast_ast
from .calls import FUNC
from .knowledge import LAYER, MODEL, kind_of_class_name

_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


# -- values -------------------------------------------------------------------------------------
def visible_values(ctx, name: ast.Name) -> list[ast.AST]:
    """The values assigned to ``name`` in its scope chain (the innermost scope that assigns
    it; nested functions and classes are their own scopes)."""
    kn = ctx.knowledge
    scope = kn.scope_of(name)
    while True:
        values = kn.scope_assignments(scope).get(name.id)
        if values:
            return values
        if isinstance(scope, ast.Module):
            return []
        scope = kn.scope_of(scope)


def self_attr_values(cls: ast.ClassDef, attr: str) -> list[ast.AST]:
    """Values of ``self.<attr> = ...`` / ``self.<attr>: T = ...`` anywhere inside ``cls``."""
    out = []
    for node in _fast_ast.walk(cls):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if (isinstance(t, ast.Attribute) and t.attr == attr and isinstance(t.value, ast.Name)
                        and t.value.id == "self"):
                    out.append(node.value)
    return out


def param_annotation(ctx, name: ast.Name) -> Optional[ast.AST]:
    """The annotation of the enclosing functions' parameter ``name`` (None: none, or not one)."""
    fn = ctx.knowledge.enclosing_function(name)
    while fn is not None:
        a = fn.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs:
            if arg.arg == name.id:
                return arg.annotation
        fn = ctx.knowledge.enclosing_function(fn)
    return None


def is_param(ctx, name: ast.Name) -> bool:
    """``name`` is a parameter of an enclosing function (``*args``/``**kwargs`` included)."""
    fn = ctx.knowledge.enclosing_function(name)
    while fn is not None:
        a = fn.args
        names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
        names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
        if name.id in names:
            return True
        fn = ctx.knowledge.enclosing_function(fn)
    return False


# -- Keras classes and their methods ---------------------------------------------------------------
def keras_classes(ctx, kinds=(LAYER,)) -> list[ast.ClassDef]:
    """Classes of the file (any depth) of any of ``kinds`` (default: Keras layers, models
    included), from the shared node index; class kinds come from the bases alone, so no
    parent map is built for files without any."""
    kinds = frozenset(kinds)
    return [c for c in ctx.nodes(ast.ClassDef) if ctx.knowledge.class_kinds(c) & kinds]


def keras_methods(ctx, names=None, kinds=(LAYER,)) -> Iterator[tuple[ast.ClassDef, ast.AST]]:
    """(class, method) for each method (named in ``names``, or any) of a class of any of
    ``kinds``: classes in the shared walk's order, methods in body order."""
    kinds = frozenset(kinds)
    for cls in ctx.nodes(ast.ClassDef):
        fns = [s for s in cls.body if isinstance(s, FUNC) and (names is None or s.name in names)]
        if fns and ctx.knowledge.class_kinds(cls) & kinds:
            for fn in fns:
                yield cls, fn


def keras_method(ctx, node: ast.AST, names=None, kinds=(LAYER,)):
    """(class, method) when ``node`` is inside a method (nested functions count) of a class of
    any of ``kinds`` (local, Keras or workspace bases), optionally only methods named in
    ``names``; else None."""
    m = ctx.knowledge.enclosing_method(node)
    if m is None:
        return None
    cls, fn = m
    if names is not None and fn.name not in names:
        return None
    if not ctx.knowledge.class_kinds(cls) & frozenset(kinds):
        return None
    return cls, fn


def methods_of(cls: ast.ClassDef) -> dict[str, ast.AST]:
    return {s.name: s for s in cls.body if isinstance(s, FUNC)}


def method_named(cls: ast.ClassDef, name: str):
    for stmt in cls.body:
        if isinstance(stmt, FUNC) and stmt.name == name:
            return stmt
    return None


# -- walking a function -------------------------------------------------------------------------
def walk_no_nested(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes inside a function body, not descending into nested defs/classes/lambdas."""
    stack = list(_fast_ast.iter_child_nodes(node))
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, _NESTED):
            continue
        stack.extend(_fast_ast.iter_child_nodes(n))


def walk_function(fn: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested classes (nested functions and
    lambdas are part of the method: they run when it runs)."""
    stack = list(fn.body) if hasattr(fn, "body") and isinstance(fn.body, list) else [fn]
    while stack:
        node = stack.pop()
        yield node
        for child in _fast_ast.iter_child_nodes(node):
            if not isinstance(child, ast.ClassDef):
                stack.append(child)


def function_nodes(ctx, fn: ast.AST) -> list:
    """``walk_function(fn)`` as a list, computed once per file analysis (several rules walk
    the same ``call()`` methods on every keystroke)."""
    return ctx.memo(("engine.function_nodes", id(fn)), lambda: (fn, list(walk_function(fn))))[1]


# -- receivers ----------------------------------------------------------------------------------
def receiver_kind(ctx, expr: ast.AST) -> Optional[str]:
    """``ctx.value_kind`` plus annotated parameters (``def f(model: keras.Model)``)."""
    kind = ctx.value_kind(expr)
    if kind is not None:
        return kind
    if isinstance(expr, ast.Name):
        ann = param_annotation(ctx, expr)
        if ann is not None:
            q = ctx.qualname(ann)
            if q is not None:
                kinds = kind_of_class_name(q)
                if kinds:
                    return MODEL if MODEL in kinds else kinds[0]
    return None


def layer_value(ctx, expr: ast.AST) -> Optional[str]:
    """LAYER or MODEL when expr is a Keras layer/model; also ``model.layers[i]``,
    ``model.get_layer(...)`` and the target of ``for layer in model.layers``."""
    kind = ctx.value_kind(expr)
    if kind in (LAYER, MODEL):
        return kind
    if isinstance(expr, ast.Subscript) and _is_layers_attr(ctx, expr.value):
        return LAYER
    if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get_layer"
            and ctx.value_kind(expr.func.value) == MODEL):
        return LAYER
    if isinstance(expr, ast.Name):
        for anc in ctx.knowledge.ancestors(expr):
            if (isinstance(anc, (ast.For, ast.comprehension)) and isinstance(anc.target, ast.Name)
                    and anc.target.id == expr.id and _is_layers_attr(ctx, anc.iter)):
                return LAYER
            if isinstance(anc, FUNC + (ast.Lambda, ast.ClassDef)):
                break
    return None


def _is_layers_attr(ctx, node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "layers"
            and ctx.value_kind(node.value) == MODEL)


def is_opaque(ctx, expr: ast.AST, _depth: int = 0) -> bool:
    """True when nothing in the file says what ``expr`` is (a parameter, a loop variable, an
    attribute of an unknown object, the result of an imported function).  False when we can
    see its value and that value is not a Keras object (``w = Wrapper()``)."""
    if isinstance(expr, ast.Name):
        if is_param(ctx, expr):
            return param_annotation(ctx, expr) is None
        values = visible_values(ctx, expr)
        return not values
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id == "self":
            m = ctx.knowledge.enclosing_method(expr)
            if m is not None:
                values = self_attr_values(m[0], expr.attr)
                # ``self.model = model`` (a parameter) tells nothing: still opaque
                return _depth < 3 and all(is_opaque(ctx, v, _depth + 1) for v in values)
        return True
    if isinstance(expr, ast.Call):
        f = expr.func
        if isinstance(f, ast.Name) and any(isinstance(n, _NESTED[:3]) and n.name == f.id for n in ctx.tree.body):
            return False  # a local function/class we can read: value_kind already said no
        return ctx.qualname(f) is None
    if isinstance(expr, ast.Subscript):
        return True
    return False


def local_method_names(ctx) -> frozenset:
    """Names of methods defined by classes of this file that are not Keras classes."""
    def build():
        names = set()
        for cls in ctx.nodes(ast.ClassDef):
            if ctx.knowledge.class_kinds(cls):
                continue
            for stmt in cls.body:
                if isinstance(stmt, FUNC):
                    names.add(stmt.name)
        return frozenset(names)
    return ctx.memo("engine.local_method_names", build)


def model_receiver(ctx, recv: ast.AST, method: str, keras_only: bool) -> Optional[str]:
    """``"known"`` when ``recv`` is a Keras model; ``"unknown"`` when the method name is
    Keras-only (``fit_generator``, ``metrics_names``), the receiver is opaque and no class of
    this file defines that name; else None (never flag)."""
    kind = receiver_kind(ctx, recv)
    if kind == MODEL:
        return "known"
    if kind is not None or not keras_only:
        return None
    if method in local_method_names(ctx):
        return None
    return "unknown" if is_opaque(ctx, recv) else None
