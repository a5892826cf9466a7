"""A layer's ``keras.random.SeedGenerator``: the edits that create ``self.seed_generator`` in
``__init__`` (adding an ``__init__`` when the class has none).  Shared by K603 and K604."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import Edit, line_end, line_text, newline, offset, walk

ATTR = "seed_generator"


def assigns_seed_generator(cls: ast.ClassDef) -> bool:
    for node in walk(cls):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if (isinstance(t, ast.Attribute) and t.attr == ATTR and isinstance(t.value, ast.Name)
                        and t.value.id == "self"):
                    return True
    return False


def _is_super_init(stmt: ast.stmt) -> bool:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    f = stmt.value.func
    return (isinstance(f, ast.Attribute) and f.attr == "__init__" and isinstance(f.value, ast.Call)
            and isinstance(f.value.func, ast.Name) and f.value.func.id == "super")


def _body_indent(ctx, body: list[ast.stmt]) -> str:
    return ctx.line_indent(body[0])


def seed_generator_edits(ctx, cls: ast.ClassDef, seed_src: str = "", random: str = "keras.random") -> Optional[list[Edit]]:
    """Edits creating ``self.seed_generator = keras.random.SeedGenerator(seed_src)`` in
    ``cls.__init__`` ([] when the class already has one; None when it cannot be placed).
    ``random``: how the file spells ``keras.random`` (``ctx.imports.ensure``)."""
    if assigns_seed_generator(cls):
        return []
    nl = newline(ctx)
    line = f"self.{ATTR} = {random}.SeedGenerator({seed_src})"
    init = next((s for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and s.name == "__init__"), None)
    if init is not None:
        anchor = next((s for s in init.body if _is_super_init(s)), None)
        indent = _body_indent(ctx, init.body)
        if anchor is not None:
            at = line_end(ctx, anchor.end_lineno - 1)
            return [ctx.insert(at, f"{indent}{line}{nl}")]
        first = init.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            at = line_end(ctx, first.end_lineno - 1)
        else:
            at = offset(ctx, first.lineno - 1, 0)
        return [ctx.insert(at, f"{indent}{line}{nl}")]
    # no __init__: add one at the top of the class body (after a docstring)
    body = cls.body
    indent = _body_indent(ctx, body)
    inner = indent + "    "
    method = (f"{indent}def __init__(self, **kwargs):{nl}{inner}super().__init__(**kwargs){nl}"
              f"{inner}{line}{nl}{nl}")
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        at = line_end(ctx, first.end_lineno - 1)
        return [ctx.insert(at, nl + method.rstrip(nl) + nl)]
    if first.lineno != cls.lineno and line_text(ctx, first.lineno - 1).strip():
        at = offset(ctx, first.lineno - 1, 0)
        if getattr(first, "decorator_list", None):
            at = offset(ctx, first.decorator_list[0].lineno - 1, 0)
        return [ctx.insert(at, method)]
    return None


def seed_argument_edit(ctx, call: ast.Call, value_src: str) -> Optional[Edit]:
    """Edit making ``seed=<value_src>``: replacing an existing ``seed=`` value, or appending."""
    for kw in call.keywords:
        if kw.arg == "seed":
            return ctx.replace(kw.value, value_src)
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    last = max(list(call.args) + [k for k in call.keywords], key=lambda n: (n.end_lineno, n.end_col_offset),
               default=None)
    if last is None:
        return None
    return ctx.insert(ctx.span(last)[1], f", seed={value_src}")
