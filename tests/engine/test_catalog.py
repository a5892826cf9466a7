"""engine/catalog.py: what the rule set installs into the engine (codes, the Keras API table, the ops table)."""
from __future__ import annotations

import ast
import textwrap

import keras_migrate.rules  # noqa: F401  (the registry installs the rule set's tables)
from keras_migrate.config import closest_code as config_closest_code
from keras_migrate.engine import api
from keras_migrate.rules import all_rules
from keras_migrate.engine.context import FileContext
from keras_migrate.engine.source import SourceText


def ctx_for(code: str, enabled=None) -> FileContext:
    code = textwrap.dedent(code)
    return FileContext(SourceText(code), ast.parse(code), enabled=enabled)


def _name(ctx, ident: str, nth: int = -1) -> ast.Name:
    """The ``nth`` use (a load) of ``ident``."""
    return [n for n in ctx.nodes(ast.Name) if n.id == ident and isinstance(n.ctx, ast.Load)][nth]


def test_the_rule_sets_tables_through_the_door():
    assert api.known_codes() == tuple(r.code for r in all_rules())
    assert api.is_rule_code("K201") and not api.is_rule_code("K999")
    assert api.closest_code("K1020") == config_closest_code("K1020") == "K102"
    assert api.keras3_has("keras.layers.Dense") and not api.keras3_has("keras.layers.NoSuchLayer")
    assert api.tf_op("tensorflow.reduce_sum")["ops"] == "sum"
    assert api.keras_api.members("Model")  # the Keras API table's member lists
