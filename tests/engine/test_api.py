"""engine/api.py: the rule API (the door): its names exist, and its ctx-first queries answer as the engine does."""
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


def test_ownership_asks_the_enabled_set():
    on = ctx_for("import keras\n", enabled=frozenset({"K103"}))
    off = ctx_for("import keras\n", enabled=frozenset({"K501"}))
    assert api.owned_by(on, "K103") and not api.owned_by(off, "K103")
    assert not api.owned_by(on, "K999")  # no such rule: nobody owns it


def test_every_door_name_exists():
    for name in api.__all__:
        assert hasattr(api, name), name
    assert len(set(api.__all__)) == len(api.__all__)


def test_the_ctx_queries_answer_as_the_engine():
    ctx = ctx_for("""
        import keras
        from mylib import helper

        class Block(keras.layers.Layer):
            def call(self, x):
                return x
    """)
    cls = ctx.nodes(ast.ClassDef)[0]
    ret = ctx.nodes(ast.Return)[0]
    assert api.class_kinds(ctx, cls) == {api.LAYER}
    assert api.module_class(ctx, "Block") is cls and api.module_class(ctx, "Nope") is None
    assert api.enclosing_method(ctx, ret) == (cls, cls.body[0])
    assert api.enclosing_function(ctx, ret) is cls.body[0]
    assert cls in list(api.ancestors(ctx, ret))
    assert api.imported_names(ctx) == {"helper": ("mylib", "helper", 0)}
    assert set(api.bindings(ctx)) == {"keras"} and len(api.import_nodes(ctx)) == 1
    assert api.raw_name(ctx, cls.bases[0]) == "keras.layers.Layer"
    assert api.newline(ctx) == "\n"
    assert ctx.text[api.line_start(ctx, 4):api.line_end(ctx, 4)] == "class Block(keras.layers.Layer):\n"
    assert api.line_text(ctx, 4) == "class Block(keras.layers.Layer):"
    assert api.offset(ctx, 4, 6) == api.ast_offset(ctx, 5, 6) == api.def_name_span(ctx, cls)[0]
    assert ctx.text[slice(*api.def_name_span(ctx, cls.body[0]))] == "call"


def test_remove_binding_edit():
    ctx = ctx_for("from keras import layers, models\n")
    e = api.remove_binding_edit(ctx, ctx.nodes(ast.ImportFrom)[0], "models")
    assert ctx.text[:e.start] + e.new_text + ctx.text[e.end:] == "from keras import layers\n"
