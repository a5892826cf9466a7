"""Private helpers of the K4xx (training) rules: models built in this file and the
structure of a functional model's outputs.  (The receiver policy, annotated parameters as
kinds and the scope/values query they used to hold are the engine's now: ``engine/api.py``.)
"""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import arg, visible_values


def model_constructions(ctx, cls: ast.ClassDef) -> list[ast.AST]:
    """Receivers (Name nodes) assigned an instance of ``cls``: ``m = MyModel(...)``."""
    out = []
    for assign in ctx.nodes(ast.Assign):
        v = assign.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == cls.name:
            out.extend(t for t in assign.targets if isinstance(t, ast.Name))
    return out


_FUNCTIONAL = ("keras.Model", "keras.models.Model")


def functional_outputs(ctx, recv: ast.AST) -> Optional[ast.AST]:
    """The ``outputs`` expression of a functional model built in this file
    (``model = keras.Model(inputs, [a, b])``), or None."""
    if not isinstance(recv, ast.Name):
        return None
    values = visible_values(ctx, recv)
    if len(values) != 1:
        return None
    v = values[0]
    if not (isinstance(v, ast.Call) and ctx.qualname(v.func) in _FUNCTIONAL):
        return None
    return arg(v, 1, "outputs")


def functional_model(ctx, recv: ast.AST) -> Optional[ast.Call]:
    """The ``keras.Model(inputs, outputs)`` call that built ``recv`` (a name assigned once in
    its scope), or None: the engine's *functional model* kind. A subclass of ``keras.Model``,
    ``Sequential`` or a loaded model is not functional here."""
    if not isinstance(recv, ast.Name):
        return None
    found = None
    for v in visible_values(ctx, recv):
        if isinstance(v, ast.Call) and ctx.qualname(v.func) in _FUNCTIONAL and arg(v, 1, "outputs") is not None:
            found = found or v
        elif not (isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute)
                  and isinstance(v.func.value, ast.Name) and v.func.value.id == recv.id):
            return None  # also assigned something else (``vae = vae.load_weights(...)`` is not)
    return found


def output_structure(ctx, recv: ast.AST):
    """``("list", n)`` or ``("dict", [keys])`` for a functional model whose outputs are a
    list/tuple or dict literal (following a name assigned once); None otherwise."""
    call = functional_model(ctx, recv)
    if call is None:
        return None
    outs = arg(call, 1, "outputs")
    if isinstance(outs, ast.Name):
        vals = visible_values(ctx, outs)
        outs = vals[0] if len(vals) == 1 else None
    if isinstance(outs, (ast.List, ast.Tuple)) and not any(isinstance(e, ast.Starred) for e in outs.elts):
        return ("list", len(outs.elts))
    if isinstance(outs, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                          for k in outs.keys):
        return ("dict", [k.value for k in outs.keys])
    return None
