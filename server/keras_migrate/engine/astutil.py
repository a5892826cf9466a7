"""Faster drop-in versions of ``ast.iter_child_nodes`` and ``ast.walk`` (same order).

The stdlib versions go through ``ast.iter_fields`` generators; these read a per-class table
of the fields that can hold child nodes, which roughly halves the cost of the walks rules do
on every keystroke.  One difference: the expression-context singletons (``ctx=Load()``,
``Store()``, ``Del()``), a third of the nodes of typical Keras code, are not visited; read
``node.ctx`` where the context matters.
"""
from __future__ import annotations

import ast
import warnings
from collections import deque

_AST = ast.AST

# fields that never hold a child node (identifiers, flags, literals) or hold only the
# shared expression-context singletons; ``name`` is an identifier except in TypeAlias (3.12)
_SKIP = frozenset({"ctx", "id", "attr", "arg", "module", "level", "kind", "type_comment",
                   "conversion", "is_async", "simple", "tag"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of an ast class that can hold child nodes, in ``_fields`` order."""
    f = _FIELDS.get(cls)
    if f is None:
        f = _FIELDS[cls] = tuple(n for n in cls._fields
                                 if n not in _SKIP and (n != "name" or cls.__name__ == "TypeAlias"))
    return f


def iter_child_nodes(node: ast.AST) -> list:
    out = []
    fields = _FIELDS.get(type(node))
    if fields is None:
        fields = child_fields(type(node))
    for name in fields:
        v = getattr(node, name, None)
        if type(v) is list:
            for c in v:
                if isinstance(c, _AST):
                    out.append(c)
        elif isinstance(v, _AST):
            out.append(v)
    return out


def walk(node: ast.AST):
    """Breadth-first, like ``ast.walk`` (without the ``ctx`` singletons)."""
    todo = deque([node])
    while todo:
        node = todo.popleft()
        todo.extend(iter_child_nodes(node))
        yield node


def parse_quietly(text, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse`` without the warnings CPython emits for the code it reads.

    Compiling user code warns about *its* oddities (``"\\d"`` is an invalid escape sequence:
    a ``SyntaxWarning`` on Python 3.12+, printed to the user's terminal by ``check``); they are
    not ours to print, and under ``-W error`` they would make valid code look unparsable.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=filename)
