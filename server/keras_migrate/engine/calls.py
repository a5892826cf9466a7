"""Calls: reading their arguments, finding them, and editing them (the one call-edit module).

Reading: ``keyword``, ``arg``, ``const_bool``, ``plain_call``, ``arg_source``.
Finding: ``calls_to`` (by canonical name), ``method_calls`` (``<expr>.<name>(...)``),
``call_of_func`` (the call a node is the callee of).
Editing: ``compose_call_edits`` merges edits that touch one call with keyword removals into
one edit; ``rewrite_call`` writes a call anew from a transform (a new callee, keyword renames,
positional-to-keyword mapping, defaults written out, drops, or a template), the schema of
``rules/keras_migrate/rules/api/README.md``.  Edits of single arguments are the context's (``ctx.add_keyword``,
``ctx.remove_keywords``, ``ctx.rename_keyword``).
"""
from __future__ import annotations

import ast
from typing import Iterator, Optional

from .knowledge import FUNC
from .model import Edit


# -- reading ------------------------------------------------------------------------------------
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


def plain_call(call: ast.Call) -> bool:
    """No ``*args`` and no ``**kwargs``: every argument can be read."""
    return not any(isinstance(a, ast.Starred) for a in call.args) and all(k.arg is not None for k in call.keywords)


def arg_source(ctx, call: ast.Call, name: str, index: Optional[int]) -> Optional[str]:
    """Source text of a call's argument given by keyword ``name`` or position ``index``."""
    for kw in call.keywords:
        if kw.arg == name:
            return ctx.segment(kw.value)
    if index is not None and index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
        return ctx.segment(call.args[index])
    return None


# -- finding ------------------------------------------------------------------------------------
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


def method_calls(ctx, names) -> Iterator[tuple[ast.Call, ast.Attribute]]:
    """Calls ``<expr>.<name>(...)`` for the given method names."""
    names = frozenset(names)
    for call in ctx.nodes(ast.Call):
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr in names:
            yield call, f


def call_of_func(ctx, node: ast.AST) -> Optional[ast.Call]:
    """The call whose callee ``node`` is (``node(...)``), or None."""
    parent = ctx.parent(node)
    if isinstance(parent, ast.Call) and parent.func is node:
        return parent
    return None


# -- editing ------------------------------------------------------------------------------------
def compose_call_edits(ctx, call: ast.Call, edits: list[Edit], drop: tuple[str, ...] = ()) -> list[Edit]:
    """Compose edits that touch one call: those inside the call's span are applied to its
    text, then keyword arguments named in ``drop`` are removed (commas handled); edits outside
    the call are returned unchanged.  One non-overlapping edit list comes back."""
    import libcst as cst

    start, end = ctx.span(call)
    inner = [e for e in edits if start <= e.start and e.end <= end]
    outer = [e for e in edits if e not in inner]
    text = ctx.text[start:end]
    for e in sorted(inner, key=lambda e: e.start, reverse=True):
        text = text[:e.start - start] + e.new_text + text[e.end - start:]
    if drop:
        wrapped = cst.parse_expression("(" + text + ")")
        node = wrapped.with_changes(lpar=wrapped.lpar[1:], rpar=wrapped.rpar[:-1])
        if isinstance(node, cst.Call):
            args = list(node.args)
            keep = [a for a in args if not (a.keyword is not None and a.keyword.value in drop)]
            if keep and args[-1] not in keep:
                # the old last argument's trailing comma and the layout before `)` move over
                keep[-1] = keep[-1].with_changes(comma=args[-1].comma,
                                                 whitespace_after_arg=args[-1].whitespace_after_arg)
            text = cst.Module(body=[]).code_for_node(node.with_changes(args=keep))
    if text == ctx.text[start:end]:
        return outer
    return outer + [Edit(start, end, text)]


def render_template(ctx, call: ast.Call, template: str, params: list[str]) -> Optional[str]:
    """Fill ``{param}`` placeholders from the call; None when the call has other arguments."""
    if not plain_call(call):
        return None
    values = {}
    for i, p in enumerate(params):
        src = arg_source(ctx, call, p, i)
        if src is None:
            return None
        values[p] = src
    if len(call.args) > len(params) or any(k.arg not in params for k in call.keywords):
        return None  # arguments the template does not carry over
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return None


def rewrite_call(ctx, call: ast.Call, new_func: str, transform: Optional[dict]) -> Optional[str]:
    """New source for ``call`` with its callee replaced by ``new_func`` and the transform's
    keyword renames, positional-to-keyword mapping, explicit defaults and drops applied
    (``{"kwargs": {old: new}, "positional": [names], "defaults": {name: src},
    "default_positions": {name: index}, "drop": [names]}``, or ``{"template": ..., "params": [...]}``);
    None when the call cannot be carried over (``*args``, a clash, too many positionals)."""
    t = transform or {}
    if t.get("template"):
        return render_template(ctx, call, t["template"], t.get("params", []))
    if not plain_call(call):
        return None
    renames = t.get("kwargs") or {}
    positional = t.get("positional") or []
    drop = t.get("drop") if isinstance(t.get("drop"), list) else []
    args = []
    given = set()
    for i, a in enumerate(call.args):
        src = ctx.segment(a)
        if positional:
            if i >= len(positional):
                return None
            args.append(f"{positional[i]}={src}")
            given.add(positional[i])
        else:
            args.append(src)
    for kw in call.keywords:
        if kw.arg in drop:
            continue
        name = renames.get(kw.arg, kw.arg)
        if name in given:
            return None
        given.add(name)
        args.append(f"{name}={ctx.segment(kw.value)}")
    for name, src in (t.get("defaults") or {}).items():
        if name not in given and not _positional_covers(call, name, positional, t.get("default_positions") or {}):
            args.append(f"{name}={src}")
    return f"{new_func}({', '.join(args)})"


def _positional_covers(call: ast.Call, name: str, positional: list[str], positions: dict) -> bool:
    """The call already passes ``name`` positionally (so its Keras 2 default is not used)."""
    if name in positional[: len(call.args)]:
        return True
    return name in positions and len(call.args) > positions[name]
