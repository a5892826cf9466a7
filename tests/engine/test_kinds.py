"""engine/kinds.py: the value kinds and factory tables, one definition read by knowledge,
symbolic and the rule API (the door)."""
from __future__ import annotations

import ast

from keras_migrate.engine import api, kinds, knowledge, symbolic
from keras_migrate.rules import apidata


def test_one_definition_everywhere():
    for name in ("MODEL", "LAYER", "KERAS_TENSOR", "MODEL_FACTORIES", "TENSOR_FACTORIES", "FUNC"):
        assert getattr(knowledge, name) is getattr(kinds, name)
        assert getattr(api, name) is getattr(kinds, name)
    for name in ("KERAS_TENSOR", "LAYER", "MODEL", "TENSOR_FACTORIES", "FUNC"):
        assert getattr(symbolic, name) is getattr(kinds, name)


def test_the_factories_are_keras_3_names():
    """Every factory is a real Keras 3 symbol (the generated API table, made from Keras 3.15.1),
    except the Keras 2 loaders that Keras 3 removed, which must be absent there."""
    removed = {"keras.models.model_from_yaml", "keras.models.model_from_config"}   # Keras 2 only
    for name in kinds.MODEL_FACTORIES | kinds.TENSOR_FACTORIES:
        assert apidata.keras3_has(name) == (name not in removed), name


def test_a_kind_names_what_knowledge_answers():
    code = "import keras\nm = keras.Sequential()\nx = keras.Input((2,))\n"
    from keras_migrate.engine.context import FileContext
    from keras_migrate.engine.source import SourceText
    tree = ast.parse(code)
    ctx = FileContext(SourceText(code), tree)
    m, x = tree.body[1].value, tree.body[2].value
    assert ctx.value_kind(m) == kinds.MODEL
    assert ctx.value_kind(x) == kinds.KERAS_TENSOR
    assert isinstance(tree.body[0], ast.stmt) and not isinstance(tree.body[0], kinds.FUNC)
