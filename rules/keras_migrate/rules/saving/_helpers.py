"""Private helpers of the K2xx rules: what a path expression ends with, how to rename its
extension inside the literal, and which calls in a file save or load models/weights."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import LAYER, MODEL, Edit, arg, calls_to, keyword, receiver_kind, visible_values

_JOIN_FUNCS = {"os.path.join", "posixpath.join", "ntpath.join", "pathlib.Path", "Path", "str",
               "os.fspath", "pathlib.PurePath", "PurePath"}
SAVE_MODEL_FUNCS = ("keras.models.save_model", "keras.saving.save_model")
LOAD_MODEL_FUNCS = ("keras.models.load_model", "keras.saving.load_model")


def _dotted(node: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def path_literal(ctx, expr: ast.AST, _depth: int = 0) -> Optional[ast.AST]:
    """The string literal (``Constant`` or f-string) that ends a path expression:
    ``"m.h5"``, ``f"{d}/m.h5"``, ``d + "/m.h5"``, ``Path(d) / "m.h5"``,
    ``os.path.join(d, "m.h5")``, or a name assigned once from one of those."""
    if _depth > 6 or expr is None:
        return None
    d = _depth + 1
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr
    if isinstance(expr, ast.JoinedStr):
        return expr
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Div)):
        return path_literal(ctx, expr.right, d)
    if isinstance(expr, ast.Call) and expr.args and not expr.keywords:
        name = _dotted(expr.func)
        if name in _JOIN_FUNCS and not isinstance(expr.args[-1], ast.Starred):
            return path_literal(ctx, expr.args[-1], d)
        return None
    if isinstance(expr, ast.Name):
        values = visible_values(ctx, expr)
        if len(values) == 1:
            return path_literal(ctx, values[0], d)
    return None


def path_tail(ctx, expr: ast.AST) -> Optional[str]:
    """The known ending of a path expression's value, or None when it is not known
    (an f-string ending in ``{...}``, a variable, a call)."""
    lit = path_literal(ctx, expr)
    if isinstance(lit, ast.Constant):
        return lit.value
    if isinstance(lit, ast.JoinedStr) and lit.values:
        last = lit.values[-1]
        if isinstance(last, ast.Constant):
            return str(last.value)
        if isinstance(last, ast.FormattedValue) and _numeric_placeholder(last):
            return ""  # f"ckpt/model_{epoch}": known to end without an extension
    return None


_COUNTERS = {"epoch", "epochs", "step", "steps", "batch", "i", "j", "n", "e", "ep", "idx", "index",
             "iteration", "it", "count", "version", "run", "fold", "k"}


def _numeric_placeholder(fv: ast.FormattedValue) -> bool:
    """``{epoch}``, ``{self.step}``, ``{i + 1}``, ``{x:04d}``: a counter, never an extension."""
    spec = fv.format_spec
    if isinstance(spec, ast.JoinedStr) and len(spec.values) == 1 and isinstance(spec.values[0], ast.Constant) \
            and str(spec.values[0].value).endswith(("d", "f")):
        return True
    v = fv.value
    if isinstance(v, ast.BinOp) and isinstance(v.op, (ast.Add, ast.Sub)):
        v = v.left
    name = v.attr if isinstance(v, ast.Attribute) else getattr(v, "id", None)
    return name in _COUNTERS


def path_text(ctx, expr: ast.AST) -> Optional[str]:
    """The whole value when the path is one plain string literal (directly or via a name)."""
    lit = path_literal(ctx, expr)
    if isinstance(lit, ast.Constant) and (lit is expr or isinstance(expr, ast.Name)):
        return lit.value
    return None


def _quote(seg: str) -> Optional[str]:
    for q in ('"""', "'''", '"', "'"):
        if seg.endswith(q) and len(seg) >= 2 * len(q):
            return q
    return None


def rename_tail(ctx, lit: ast.AST, old: str, new: str) -> Optional[Edit]:
    """Edit the end of a string literal: replace a trailing ``old`` with ``new`` (or append
    ``new`` when ``old`` is empty), quotes, prefixes and formatting kept."""
    seg = ctx.segment(lit)
    q = _quote(seg)
    if q is None:
        return None
    start, end = ctx.span(lit)
    body_end = end - len(q)
    body = ctx.text[start:body_end]
    if old:
        if not body.endswith(old):
            return None
        return Edit(body_end - len(old), body_end, new)
    if body.endswith("\\"):
        return None
    return Edit(body_end, body_end, new)


def model_receiver_known(ctx, recv: ast.AST) -> bool:
    return receiver_kind(ctx, recv) == MODEL


def full_model_saves(ctx) -> list[tuple[ast.Call, ast.AST]]:
    """(call, path expression) of every full-model save of a Keras model in the file:
    ``model.save(p)`` and ``keras.models.save_model(model, p)``."""
    return ctx.memo("saving.full_model_saves", lambda: _full_model_saves(ctx))


def _full_model_saves(ctx) -> list[tuple[ast.Call, ast.AST]]:
    out = []
    for call in ctx.nodes(ast.Call):
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr == "save":
            if ctx.qualname(f) is None and model_receiver_known(ctx, f.value):
                p = arg(call, 0, "filepath")
                if p is not None:
                    out.append((call, p))
    for call, _ in calls_to(ctx, SAVE_MODEL_FUNCS):
        p = arg(call, 1, "filepath")
        if p is not None:
            out.append((call, p))
    out.sort(key=lambda cp: (cp[0].lineno, cp[0].col_offset))
    return out


def saves_full_model(ctx) -> bool:
    """True when the file saves a whole model: ``model.save``, ``save_model`` or a
    ``ModelCheckpoint`` that is not weights-only."""
    if full_model_saves(ctx):
        return True
    for call, _ in calls_to(ctx, ("keras.callbacks.ModelCheckpoint",)):
        kw = keyword(call, "save_weights_only")
        if kw is None or not (isinstance(kw.value, ast.Constant) and kw.value.value is True):
            return True
    return False


def savedmodel_suffix_fix(tail: str) -> tuple[str, str]:
    """(old, new) text at the end of a path to turn it into a ``.keras`` file."""
    for ext in (".tf", ".pb", ".savedmodel"):
        if tail.endswith(ext):
            return ext, ".keras"
    return "", ".keras"


def weights_suffix_fix(tail: str) -> tuple[str, str]:
    """(old, new) text at the end of a path to turn it into a ``.weights.h5`` file."""
    if tail.endswith(".weights"):
        return "", ".h5"
    for ext in (".h5", ".hdf5", ".ckpt", ".tf", ".weights.hdf5"):
        if tail.endswith(ext):
            if ext == ".hdf5" and tail.endswith(".weights.hdf5"):
                return ".weights.hdf5", ".weights.h5"
            return ext, ".weights.h5"
    return "", ".weights.h5"


def has_ext(tail: Optional[str], exts) -> bool:
    return tail is not None and tail.endswith(tuple(exts))


# -- where a saved file is read back ------------------------------------------------------
_GLOB_FUNCS = {"glob.glob", "glob.iglob", "glob"}
SAVEDMODEL_LOAD_FUNCS = ("tensorflow.saved_model.load",)


def path_key(ctx, expr: ast.AST, _depth: int = 0) -> Optional[str]:
    """The structure of a path expression as one comparable string: literals as written,
    ``os.path.join`` / ``Path(...) / ...`` / ``+`` as ``/`` or concatenation, names assigned
    once followed to their value, any other part (a variable, a call, an f-string
    placeholder) as ``{source}``. ``os.path.join("out", "snap")`` and ``f"out/snap"`` and
    ``Path("out") / "snap"`` all give ``out/snap``; ``ModelCheckpoint``'s ``{epoch:02d}``
    stays a placeholder."""
    if expr is None or _depth > 8:
        return None
    d = _depth + 1
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.JoinedStr):
        parts = []
        for v in expr.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                inner = path_key(ctx, v.value, d) if isinstance(v.value, ast.Name) else None
                parts.append(inner if inner is not None and "{" not in inner else "{" + ctx.segment(v.value) + "}")
        return "".join(parts)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Div)):
        left, right = path_key(ctx, expr.left, d), path_key(ctx, expr.right, d)
        if left is None or right is None:
            return None
        return left + ("/" if isinstance(expr.op, ast.Div) else "") + right
    if isinstance(expr, ast.Call) and expr.args and not expr.keywords:
        if _dotted(expr.func) in _JOIN_FUNCS and not any(isinstance(a, ast.Starred) for a in expr.args):
            parts = [path_key(ctx, a, d) for a in expr.args]
            if any(p is None for p in parts):
                return None
            return "/".join(parts)
    if isinstance(expr, ast.Name):
        values = visible_values(ctx, expr)
        if len(values) == 1:
            return path_key(ctx, values[0], d)
    seg = ctx.segment(expr)
    return "{" + seg + "}" if seg else None


def _norm(key: str) -> str:
    while "//" in key:
        key = key.replace("//", "/")
    while key.startswith("./"):
        key = key[2:]
    return key


def _concrete(key: str) -> str:
    """A file name the pattern ``key`` writes (placeholders filled in), for glob matching."""
    import re

    return re.sub(r"\{[^{}]*\}", "0", key)


def same_file(saved_key: Optional[str], read_key: Optional[str], glob: bool = False) -> bool:
    if saved_key is None or read_key is None:
        return False
    a, b = _norm(saved_key), _norm(read_key)
    if not glob:
        return a == b
    import fnmatch

    return any(ch in b for ch in "*?[") and "{" not in b and fnmatch.fnmatchcase(_concrete(a), b)


def path_readers(ctx, kinds: tuple[str, ...]) -> list[tuple[ast.Call, ast.AST, str]]:
    """(call, path expression, kind) of each call in the file that reads a file back:
    ``"load_model"``, ``"load_weights"`` (on a Keras model or layer), ``"saved_model"``
    (``tf.saved_model.load``) and ``"glob"`` (``glob.glob`` / ``glob.iglob``)."""
    out = []
    if "load_model" in kinds:
        for call, _ in calls_to(ctx, LOAD_MODEL_FUNCS):
            p = arg(call, 0, "filepath")
            if p is not None:
                out.append((call, p, "load_model"))
    if "saved_model" in kinds:
        for call in ctx.nodes(ast.Call):
            if ctx.qualname(call.func) in SAVEDMODEL_LOAD_FUNCS:
                p = arg(call, 0, "export_dir")
                if p is not None:
                    out.append((call, p, "saved_model"))
    for call in ctx.nodes(ast.Call):
        f = call.func
        if "load_weights" in kinds and isinstance(f, ast.Attribute) and f.attr == "load_weights":
            if ctx.qualname(f) is None and receiver_kind(ctx, f.value) in (MODEL, LAYER):
                p = arg(call, 0, "filepath")
                if p is not None:
                    out.append((call, p, "load_weights"))
        elif "glob" in kinds and _dotted(f) in _GLOB_FUNCS and call.args:
            out.append((call, call.args[0], "glob"))
    out.sort(key=lambda c: (c[0].lineno, c[0].col_offset))
    return out


def readers_of(ctx, saved_path: ast.AST, kinds: tuple[str, ...]) -> list[tuple[ast.Call, ast.AST, str]]:
    """The readers (see :func:`path_readers`) of the file a save call writes to ``saved_path``:
    the same path structure, or a glob pattern that matches it."""
    key = path_key(ctx, saved_path)
    if key is None or key.startswith("{") and key.endswith("}") and key.count("{") == 1:
        return []  # an opaque value: nothing to compare
    return [(c, p, k) for c, p, k in path_readers(ctx, kinds)
            if same_file(key, path_key(ctx, p), glob=(k == "glob"))]


def reader_edits(ctx, readers, old: str, new: str, skip: tuple[ast.AST, ...] = ()) -> list[Edit]:
    """Rename the ending of each reader's path literal like its save's (``old`` -> ``new``);
    a literal shared with the save (one variable) is edited once."""
    seen = {id(s) for s in skip}
    out = []
    for _, p, kind in readers:
        lit = path_literal(ctx, p)
        if lit is None or id(lit) in seen:
            continue
        seen.add(id(lit))
        e = rename_tail(ctx, lit, old, new)
        if e is not None:
            out.append(e)
    return out


def line_of(node: ast.AST) -> int:
    return getattr(node, "lineno", 0)
