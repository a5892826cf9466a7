"""Shared by the data-driven K5xx rules: lookups in ``keras_api.json`` and how an entry
says its fix is.  (The call rewrites described by an entry's ``transform`` (see README.md) are the
engine's call-edit module: ``rewrite_call`` in ``engine/api.py``.)"""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import (CALLBACK, LAYER, LOSS, METRIC, MODEL, OPTIMIZER, Applicability,
                                      enclosing_method, keras_api, walk)

# receiver kind (engine/knowledge.py) -> member table of keras_api.json
KIND_TYPES = {MODEL: "Model", LAYER: "Layer", OPTIMIZER: "Optimizer", METRIC: "Metric",
              LOSS: "Loss", CALLBACK: "Callback"}

APPLICABILITY = {"safe": Applicability.SAFE, "unsafe": Applicability.UNSAFE}


def symbol_entry(canonical: str) -> tuple[Optional[str], Optional[dict], str]:
    """Longest prefix of ``canonical`` that is a Keras 2 symbol not at its Keras 3 path:
    (path, entry, rest-after-path) or (None, None, "")."""
    data = keras_api.data().get("symbols", {})
    parts = canonical.split(".")
    for i in range(len(parts), 1, -1):
        path = ".".join(parts[:i])
        e = data.get(path)
        if e is not None:
            if e.get("status") == "same_path":
                return None, None, ""
            return path, e, ".".join(parts[i:])
    return None, None, ""


def fix_of(entry: dict) -> Optional[Applicability]:
    return APPLICABILITY.get(entry.get("fix", "none"))


def defined_by_user_class(ctx, recv: ast.AST, attr: str) -> bool:
    """``self.<attr>`` where the enclosing (user) class defines or assigns ``attr``."""
    if not (isinstance(recv, ast.Name) and recv.id == "self"):
        return False
    m = enclosing_method(ctx, recv)
    if m is None:
        return False
    cls = m[0]
    for node in walk(cls):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == attr:
            return True
        if isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id == "self":
            return True
    return False


def first_sentence(text: str) -> str:
    return (text or "").strip()


# setup for conformance snippets: T(...) makes a backend tensor, N(...) reads one back
RUN_SETUP = """
import numpy as np
import keras as _k
if _k.__version__.startswith("2."):
    import tensorflow as _tf
    T = _tf.constant  # Keras 2 backend functions want tf tensors
else:
    T = np.asarray


def N(t):  # to NumPy on every backend (torch tensors may require grad)
    return np.asarray(t.detach() if hasattr(t, "detach") else t)
"""
