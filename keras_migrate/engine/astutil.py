"""Faster drop-in versions of ``ast.iter_child_nodes`` and ``ast.walk`` (same order).

The stdlib versions go through ``ast.iter_fields`` generators; these read ``_fields``
directly, which roughly halves the cost of the walks that rules do inside classes and
functions on every keystroke.
"""
from __future__ import annotations

import ast
from collections import deque

_AST = ast.AST


def iter_child_nodes(node: ast.AST) -> list:
    out = []
    for name in node._fields:
        v = getattr(node, name, None)
        if type(v) is list:
            for c in v:
                if isinstance(c, _AST):
                    out.append(c)
        elif isinstance(v, _AST):
            out.append(v)
    return out


def walk(node: ast.AST):
    """Breadth-first, like ``ast.walk``."""
    todo = deque([node])
    while todo:
        node = todo.popleft()
        todo.extend(iter_child_nodes(node))
        yield node
