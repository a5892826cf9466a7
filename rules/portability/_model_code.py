"""Where model code is: methods of Layer/Model/Loss/Metric subclasses, and the functions that
run as model code without being methods (``compile(loss=fn, metrics=[fn])``, ``Lambda(fn)``).
Shared by K601, K603 and K605."""
from __future__ import annotations

import ast

from keras_migrate.engine.knowledge import LAYER, LOSS, METRIC, MODEL

MODEL_KINDS = frozenset({LAYER, MODEL, LOSS, METRIC})
_FUNC = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def model_code_regions(ctx) -> dict[int, str]:
    """id(function or lambda) -> what it is, for functions that run as model code although
    they are not methods: functions passed as ``loss=``/``metrics=`` to ``compile`` and the
    function of a ``keras.layers.Lambda``."""
    regions = getattr(ctx, "_km_model_regions", None)
    if regions is not None:
        return regions
    regions = {}
    functions = {n.name: n for n in ctx.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def mark(expr, what):
        if isinstance(expr, ast.Lambda):
            regions[id(expr)] = what
        elif isinstance(expr, ast.Name) and expr.id in functions:
            regions[id(functions[expr.id])] = what
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
    ctx._km_model_regions = regions
    return regions


def where_in_model_code(ctx, node: ast.AST):
    """What model code ``node`` is in ("layer `Block`", ...) or None."""
    m = ctx.knowledge.enclosing_method(node)
    if m is not None:
        kinds = ctx.knowledge.class_kinds(m[0]) & MODEL_KINDS
        if kinds:
            kind = "model" if MODEL in kinds else sorted(kinds)[0]
            return f"{kind} `{m[0].name}`"
    regions = model_code_regions(ctx)
    if regions:
        for a in ctx.knowledge.ancestors(node):
            if isinstance(a, _FUNC) and id(a) in regions:
                return regions[id(a)]
    return None


