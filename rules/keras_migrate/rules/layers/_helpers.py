"""Shared detection for the K3xx rules: small predicates on ``self.<attr>``, the spelling of
``keras`` in a fix, ``None`` inside literals.  (Private: the registry skips ``_`` modules.
Which code runs inside a Keras layer's methods, which expressions are layers and the
scope/values query are the engine's now: ``keras_methods``/``keras_method``/``keras_classes``,
``layer_value``, ``visible_values`` in ``engine/api.py``.)
"""
from __future__ import annotations

import ast
from typing import Optional



def is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def self_attr_target(node: ast.AST) -> Optional[str]:
    """``x`` for ``self.x``."""
    if isinstance(node, ast.Attribute) and is_self(node.value):
        return node.attr
    return None


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
