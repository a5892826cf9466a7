"""Where model code is: methods of Layer/Model/Loss/Metric subclasses, and the functions that
run as model code without being methods (``compile(loss=fn, metrics=[fn])``, ``Lambda(fn)``).
Shared by K601, K603 and K605."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import LAYER, LOSS, METRIC, MODEL, class_kinds, keras_methods, walk

MODEL_KINDS = frozenset({LAYER, MODEL, LOSS, METRIC})


def model_code_regions(ctx) -> dict[int, tuple[ast.AST, str]]:
    """id(function or lambda) -> (node, what it is), for functions that run as model code although
    they are not methods: functions passed as ``loss=``/``metrics=`` to ``compile`` and the
    function of a ``keras.layers.Lambda``."""
    return ctx.memo("portability.model_code_regions", lambda: _model_code_regions(ctx))


def _model_code_regions(ctx) -> dict[int, tuple[ast.AST, str]]:
    regions = {}
    functions = {n.name: n for n in ctx.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def mark(expr, what):
        if isinstance(expr, ast.Lambda):
            regions[id(expr)] = (expr, what)
        elif isinstance(expr, ast.Name) and expr.id in functions:
            regions[id(functions[expr.id])] = (functions[expr.id], what)
        elif isinstance(expr, (ast.List, ast.Tuple)):
            for e in expr.elts:
                mark(e, what)
        elif isinstance(expr, ast.Dict):
            for v in expr.values:
                mark(v, what)

    for call in ctx.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "compile":
            for kw in call.keywords:
                if kw.arg in ("loss", "metrics", "weighted_metrics"):
                    mark(kw.value, "a loss or metric function")
        elif ctx.qualname(func) == "keras.layers.Lambda":
            if call.args:
                mark(call.args[0], "a Lambda layer")
            for kw in call.keywords:
                if kw.arg == "function":
                    mark(kw.value, "a Lambda layer")
    return regions


class Site:
    """Where a call in model code is: a label for messages, and the class/method if any."""

    __slots__ = ("label", "cls", "method", "kinds")

    def __init__(self, label, cls=None, method=None, kinds=frozenset()):
        self.label, self.cls, self.method, self.kinds = label, cls, method, kinds


def model_code_calls(ctx) -> dict[int, Site]:
    """id(ast.Call) -> Site for every call in model code, found top-down from the classes
    of the shared walk (no parent map: files without Keras classes cost one loop)."""
    return ctx.memo("portability.model_code_calls", lambda: _model_code_calls(ctx))


def _model_code_calls(ctx) -> dict[int, Site]:
    out: dict[int, Site] = {}
    for cls, fn in keras_methods(ctx, kinds=MODEL_KINDS):
        kinds = class_kinds(ctx, cls) & MODEL_KINDS
        kind = "model" if MODEL in kinds else sorted(kinds)[0]
        site = Site(f"{kind} `{cls.name}`", cls, fn, kinds)
        for node in walk(fn):
            if isinstance(node, ast.Call):
                out.setdefault(id(node), site)
    for node, what in model_code_regions(ctx).values():
        site = Site(what)
        for sub in walk(node):
            if isinstance(sub, ast.Call):
                out.setdefault(id(sub), site)
    return out


def where_in_model_code(ctx, call: ast.Call):
    """What model code ``call`` is in ("layer `Block`", ...) or None."""
    site = model_code_calls(ctx).get(id(call))
    return None if site is None else site.label
