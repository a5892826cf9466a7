"""engine/calls.py: the one call-edit module (composing edits on one call, rewriting by a transform)."""
from __future__ import annotations

import ast
import textwrap

import keras_migrate.rules  # noqa: F401  (the registry installs the rule set's tables)
from keras_migrate.engine import api
from keras_migrate.engine.context import FileContext
from keras_migrate.engine.source import SourceText


def ctx_for(code: str, enabled=None) -> FileContext:
    code = textwrap.dedent(code)
    return FileContext(SourceText(code), ast.parse(code), enabled=enabled)


def _name(ctx, ident: str, nth: int = -1) -> ast.Name:
    """The ``nth`` use (a load) of ``ident``."""
    return [n for n in ctx.nodes(ast.Name) if n.id == ident and isinstance(n.ctx, ast.Load)][nth]


def test_one_call_edit_module():
    ctx = ctx_for("model.fit(x, y, workers=4, epochs=2)\n")
    call = ctx.nodes(ast.Call)[0]
    renamed = ctx.rename_keyword(call, "epochs", "n")
    edits = api.compose_call_edits(ctx, call, [renamed], drop=("workers",))
    assert len(edits) == 1
    s, e = ctx.span(call)
    assert edits[0].start == s and edits[0].end == e and edits[0].new_text == "model.fit(x, y, n=2)"
    assert api.rewrite_call(ctx, call, "model.train", {"kwargs": {"epochs": "steps"}, "drop": ["workers"],
                                                       "defaults": {"verbose": "0"}}) == \
        "model.train(x, y, steps=2, verbose=0)"
    assert api.rewrite_call(ctx, call, "f", {"template": "f({x})", "params": ["x"]}) is None  # y left over
