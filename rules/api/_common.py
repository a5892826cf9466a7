"""Shared by the data-driven K5xx rules: lookups in ``keras_api.json``, ownership by other
rules, and the call rewrites described by an entry's ``transform`` (see README.md)."""
from __future__ import annotations

import ast
from functools import lru_cache
from typing import Optional

from keras_migrate.engine.knowledge import CALLBACK, LAYER, LOSS, METRIC, MODEL, OPTIMIZER
from keras_migrate.engine.model import Applicability
from keras_migrate.rules import apidata
from keras_migrate.engine import astutil as _fast_ast

# receiver kind (engine/knowledge.py) -> member table of keras_api.json
KIND_TYPES = {MODEL: "Model", LAYER: "Layer", OPTIMIZER: "Optimizer", METRIC: "Metric",
              LOSS: "Loss", CALLBACK: "Callback"}

APPLICABILITY = {"safe": Applicability.SAFE, "unsafe": Applicability.UNSAFE}


@lru_cache(maxsize=1)
def _registered() -> frozenset:
    from keras_migrate.rules import all_rules  # at check time: no import cycle
    return frozenset(r.code for r in all_rules())


def owned_by(ctx, code: str) -> bool:
    """True when rule ``code`` exists and is enabled in this analysis (then it reports the
    pattern, and K5xx stays quiet); with it ignored or unselected, K5xx reports it."""
    return code in _registered() and ctx.enabled(code)


def symbol_entry(canonical: str) -> tuple[Optional[str], Optional[dict], str]:
    """Longest prefix of ``canonical`` that is a Keras 2 symbol not at its Keras 3 path:
    (path, entry, rest-after-path) or (None, None, "")."""
    data = apidata.data().get("symbols", {})
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


def arg_source(ctx, call: ast.Call, name: str, index: Optional[int]) -> Optional[str]:
    """Source text of a call's argument given by keyword ``name`` or position ``index``."""
    for kw in call.keywords:
        if kw.arg == name:
            return ctx.segment(kw.value)
    if index is not None and index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
        return ctx.segment(call.args[index])
    return None


def plain_call(call: ast.Call) -> bool:
    return not any(isinstance(a, ast.Starred) for a in call.args) and all(k.arg is not None for k in call.keywords)


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
    keyword renames, positional-to-keyword mapping, explicit defaults and drops applied."""
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


def is_call_func(ctx, node: ast.AST) -> Optional[ast.Call]:
    parent = ctx.parent(node)
    if isinstance(parent, ast.Call) and parent.func is node:
        return parent
    return None


def defined_by_user_class(ctx, recv: ast.AST, attr: str) -> bool:
    """``self.<attr>`` where the enclosing (user) class defines or assigns ``attr``."""
    if not (isinstance(recv, ast.Name) and recv.id == "self"):
        return False
    m = ctx.knowledge.enclosing_method(recv)
    if m is None:
        return False
    cls = m[0]
    for node in _fast_ast.walk(cls):
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
