"""Shared detection for the K3xx rules: which code runs inside a Keras layer's methods, and
which expressions are layers.  (Private: the registry skips ``_`` modules.)

Candidates for the engine (see the K3xx report): ``layer_method``, ``layer_value`` (model
``.layers[i]``, ``get_layer``, ``for layer in model.layers``) and ``assigned_values``.
"""
from __future__ import annotations

import ast
from typing import Iterator, Optional

from keras_migrate.engine.knowledge import LAYER, MODEL
from keras_migrate.engine import astutil as _fast_ast

_FUNC = (ast.FunctionDef, ast.AsyncFunctionDef)


def layer_method(ctx, node: ast.AST, names: Optional[tuple[str, ...]] = None):
    """(class, method) when node is inside a method of a Keras Layer/Model subclass (local,
    Keras or workspace bases), optionally only methods with one of ``names``."""
    m = ctx.knowledge.enclosing_method(node)
    if m is None:
        return None
    cls, fn = m
    if names is not None and fn.name not in names:
        return None
    if LAYER not in ctx.knowledge.class_kinds(cls):
        return None
    return cls, fn


def layer_classes(ctx) -> list[ast.ClassDef]:
    """Keras Layer/Model subclasses of the file (any depth), from the shared node index;
    class kinds come from the bases alone, so no parent map is built for files without any."""
    return [c for c in ctx.nodes(ast.ClassDef) if LAYER in ctx.knowledge.class_kinds(c)]


def layer_methods(ctx, names: tuple[str, ...]) -> Iterator[tuple[ast.ClassDef, ast.AST]]:
    """(class, method) for each method named in ``names`` of a Keras Layer/Model subclass."""
    for cls in ctx.nodes(ast.ClassDef):
        fns = [s for s in cls.body if isinstance(s, _FUNC) and s.name in names]
        if fns and LAYER in ctx.knowledge.class_kinds(cls):
            for fn in fns:
                yield cls, fn


def method_named(cls: ast.ClassDef, name: str):
    for stmt in cls.body:
        if isinstance(stmt, _FUNC) and stmt.name == name:
            return stmt
    return None


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
    """``walk_function(fn)`` as a list, computed once per file analysis: K303 (twice) and
    K305 walk the same ``call()`` methods on every keystroke."""
    cache = getattr(ctx, "_km_function_nodes", None)
    if cache is None:
        cache = ctx._km_function_nodes = {}
    nodes = cache.get(id(fn))
    if nodes is None:
        nodes = cache[id(fn)] = list(walk_function(fn))
    return nodes


def is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def self_attr_target(node: ast.AST) -> Optional[str]:
    """``x`` for ``self.x``."""
    if isinstance(node, ast.Attribute) and is_self(node.value):
        return node.attr
    return None


def assigned_values(ctx, name: ast.Name) -> list[ast.AST]:
    """Values assigned to a name in its scope (and enclosing scopes when none there)."""
    kn = ctx.knowledge
    scope = kn.scope_of(name)
    while True:
        values = kn.scope_assignments(scope).get(name.id)
        if values:
            return values
        if isinstance(scope, ast.Module):
            return []
        scope = kn.scope_of(scope)


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
            if isinstance(anc, _FUNC + (ast.Lambda, ast.ClassDef)):
                break
    return None


def _is_layers_attr(ctx, node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "layers"
            and ctx.value_kind(node.value) == MODEL)


def keras_name(ctx) -> tuple[str, tuple[str, ...]]:
    """How to spell the ``keras`` module in a fix, and the import it needs (if any)."""
    b = ctx.resolver.bindings.get("keras")
    if b is not None and (b.target == "keras" or b.target.endswith(".keras") or b.target == "tf_keras"):
        return "keras", ()
    return "keras", ("import keras",)


def contains_none(node: ast.AST, depth: int = 0) -> Optional[ast.Constant]:
    """The first ``None`` literal inside a (nested) list/tuple/dict literal (not at depth 0)."""
    if isinstance(node, ast.Constant) and node.value is None:
        return node if depth > 0 else None
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        children = node.elts
    elif isinstance(node, ast.Dict):
        children = [v for v in node.values if v is not None]
    else:
        return None
    for c in children:
        got = contains_none(c, depth + 1)
        if got is not None:
            return got
    return None
