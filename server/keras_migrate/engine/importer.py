"""The importer: how a fix spells a Keras name it writes, and the import that makes it valid.

A fix that writes new code naming ``keras.ops.sum`` must write it the way the file already
reaches Keras (ruff's ``Importer::get_or_import_symbol``, which returns the edit and the
binding together)::

    binding, edit = ctx.imports.ensure("keras.ops", at=call)
    return [ctx.replace(call.func, f"{binding}.sum"), edit]

``ensure(dotted)`` returns ``(expression, edit)``: ``expression`` evaluates to the module or
object ``dotted`` in Keras 3; ``edit`` (an ``ImportEdit``) adds the import it needs, or None
when the file already has one.  For ``ensure("keras.ops")``, when the file has

- ``import keras``: ``keras.ops``, nothing added;
- ``import keras as K``: ``K.ops``, nothing added;
- ``from keras import ops`` (``as kops``) and no ``import keras``: ``ops`` (``kops``);
- ``from tensorflow import keras``: ``keras.ops``, nothing added (see below);
- nothing (or only ``import tensorflow as tf``): ``keras.ops``, and ``import keras`` added;
- ``import tf_keras as keras``: ``ImportConflict`` (``keras`` is Keras 2 there).

``from tensorflow import keras`` (and ``import tensorflow.keras as keras``) is Keras 2's
``keras`` in the code being migrated, but once Keras 3 is installed ``tensorflow.keras`` is
Keras 3's compatibility namespace ``keras._tf_keras.keras``, which has every public Keras 3
module (``keras.ops``, ``keras.random``, ``keras.utils.PyDataset``, ...): the fixed code runs
on Keras 3 through it.  So a fix writes through that binding and adds nothing: adding
``import keras`` would rebind ``keras`` under every other use in the file, which is K101's
decision (and fix), not this fix's.  Other bindings of the name (``tf_keras``, the private
``tensorflow.python.keras``, anything not Keras) cannot carry Keras 3 code, so ``ensure``
raises ``ImportConflict`` and the fix is not offered (a finding's fix that raises is dropped;
after K101 rewrites the import, the next round of a fix-all offers it).

``at`` (a node or offset: where the new code goes) places an added import in a notebook's
imports cell before that point, as the fixer always did.
"""
from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Optional, Union

from .model import ImportEdit
from .source import SourceText

if TYPE_CHECKING:  # pragma: no cover
    from .context import FileContext

# bindings through which Keras 3's public API is reached once Keras 3 is installed
_KERAS3_ROOTS = ("keras", "tensorflow.keras")
# a dotted name rooted at ``keras`` (not an attribute of something else: ``tf.keras.x``, ``K.x``)
_KERAS_NAME = re.compile(r"(?<![\w.])keras(?:\.[A-Za-z_]\w*)+")



class ImportConflict(Exception):
    """The name a fix needs is bound to something that is not Keras 3 (``tf_keras``, ...)."""


def _keras3_path(target: str) -> Optional[str]:
    """``keras.ops`` for a binding target that reaches Keras 3's ``keras.ops`` (``keras.ops``,
    ``tensorflow.keras.ops``); None for anything else (``keras.src...`` is private)."""
    for root in _KERAS3_ROOTS:
        if target == root or target.startswith(root + "."):
            path = "keras" + target[len(root):]
            return None if path == "keras.src" or path.startswith("keras.src.") else path
    return None


class Importer:
    """``ctx.imports``: one per analysed file; answers from the file's module-level imports."""

    def __init__(self, ctx: "FileContext"):
        self._ctx = ctx
        self._local_imports: Optional[dict[str, str]] = None

    def ensure(self, dotted: str, *, at: Union[ast.AST, int, None] = None) -> tuple[str, Optional[ImportEdit]]:
        """``(expression, edit)`` for the Keras 3 name ``dotted`` (``"keras"``, ``"keras.ops"``,
        ``"keras.random.SeedGenerator"``).  Raises ``ImportConflict`` when the file binds the
        name the fix would need to something else."""
        if dotted != "keras" and not dotted.startswith("keras."):
            raise ValueError(f"ensure() knows Keras names, not {dotted!r}")
        best: Optional[tuple[int, str]] = None
        for local, b in self._ctx.resolver.bindings.items():
            if not b.module_level or b.kind == "alias":
                continue  # ``tfk = tf.keras``: an assignment, which the fix may be rewriting

            path = _keras3_path(b.target)
            if path is None or not (dotted == path or dotted.startswith(path + ".")):
                continue
            # ``keras`` itself first (``import keras as K``: ``K.ops.sum``), as most code and
            # every other fix spells it; else the deepest binding (``from keras import ops``)
            depth = 1000 if path == "keras" else path.count(".")
            if best is None or depth > best[0]:
                best = (depth, local + dotted[len(path):])

        if best is not None:
            return best[1], None
        root = dotted.split(".")[0]
        taken = self._ctx.resolver.bindings.get(root)
        other = self._other_imports().get(root)
        if (taken is not None and taken.module_level) or other is not None:
            what = taken.target if taken is not None else other
            raise ImportConflict(f"`{root}` is bound to `{what}`, not Keras 3's `{root}`")
        return dotted, self._insert(f"import {root}", at)

    def rewrite(self, code: str, *, at: Union[ast.AST, int, None] = None) -> tuple[str, Optional[ImportEdit]]:
        """``code`` (new code a fix writes, naming Keras by its canonical ``keras.x.y`` names)
        with each such name spelled through ``ensure``, and the import edit they need.  For
        table-driven rewrites whose text names Keras in several places."""
        edit: Optional[ImportEdit] = None

        def spell(m: "re.Match") -> str:
            nonlocal edit
            expr, e = self.ensure(m.group(0), at=at)
            edit = edit or e
            return expr
        return _KERAS_NAME.sub(spell, code), edit

    def rewrite_edits(self, edits, *, at: Union[ast.AST, int, None] = None) -> list:
        """``edits`` with the Keras names their new text writes spelled through ``ensure``,
        plus the import edit they need (when one is needed)."""
        out, imp = [], None
        for e in edits:
            text, need = self.rewrite(e.new_text, at=at)
            out.append(e if text == e.new_text else type(e)(e.start, e.end, text))
            imp = imp or need
        return out + ([imp] if imp is not None else [])



    # -- helpers -----------------------------------------------------------------------------
    def _other_imports(self) -> dict[str, str]:
        """Module-level names bound by imports the resolver does not track (``from mylib
        import keras``), which a new ``import keras`` would shadow."""
        if self._local_imports is None:
            out: dict[str, str] = {}
            for node in self._ctx.tree.body:
                if isinstance(node, ast.Import):
                    for a in node.names:
                        out.setdefault(a.asname or a.name.split(".")[0], a.name)
                elif isinstance(node, ast.ImportFrom):
                    for a in node.names:
                        out.setdefault(a.asname or a.name, f"{node.module}.{a.name}")
            self._local_imports = {k: v for k, v in out.items() if k not in self._ctx.resolver.bindings}
        return self._local_imports

    def _insert(self, stmt: str, at: Union[ast.AST, int, None]) -> ImportEdit:
        ctx = self._ctx
        before = at if isinstance(at, int) or at is None else ctx.span(at)[0]
        offset, prefix = import_insert_offset(ctx.tree, ctx.source, before)
        return ImportEdit(offset, offset, prefix + stmt + ctx.source.newline())


def _masked_no_op(node: ast.AST) -> bool:
    """``0`` alone: a notebook's masked magic or shell line (``0#...``), never real code."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and type(node.value.value) is int and node.value.value == 0)


def import_insert_offset(tree: ast.Module, source: SourceText, before: Optional[int] = None) -> tuple[int, str]:
    """Where new imports go: after the leading import block (or docstring/__future__;
    masked notebook magics between imports are passed over).  Without one, after the first
    block of top-level imports that ends before ``before`` (the first edit that needs them:
    a notebook's imports cell after a ``!pip install`` cell), else at the top."""
    anchor = None
    body = tree.body
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        anchor = body[0]
        i = 1
    while i < len(body) and (isinstance(body[i], (ast.Import, ast.ImportFrom)) or _masked_no_op(body[i])):
        if not _masked_no_op(body[i]):
            anchor = body[i]
        i += 1
    if anchor is None and before is not None:
        k = next((j for j, n in enumerate(body) if isinstance(n, (ast.Import, ast.ImportFrom))), None)
        while k is not None and k < len(body) and (isinstance(body[k], (ast.Import, ast.ImportFrom))
                                                   or _masked_no_op(body[k])):
            if not _masked_no_op(body[k]):
                cand = body[k]
                if source.line_end(cand.end_lineno - 1) > before:
                    break
                anchor = cand
            k += 1
    if anchor is None:
        return 0, ""
    offset = source.line_end(anchor.end_lineno - 1)
    prefix = ""
    if offset == len(source.text) and not source.text.endswith(("\n", "\r")):
        prefix = source.newline()
    return offset, prefix
