"""The kinds of values the engine tells apart (a model, a layer, an optimizer, a symbolic
Keras tensor, ...), the calls that make a model or a symbolic tensor, and the function node
types.  Names only: ``knowledge`` (what a value is) and ``symbolic`` (which values are
symbolic tensors) both read them, and neither imports the other at module level.
"""
from __future__ import annotations

import ast

MODEL = "model"
LAYER = "layer"
OPTIMIZER = "optimizer"
SCHEDULE = "schedule"
CALLBACK = "callback"
METRIC = "metric"
LOSS = "loss"
SEQUENCE = "sequence"
HISTORY = "history"
KERAS_TENSOR = "keras_tensor"

MODEL_FACTORIES = {
    "keras.Sequential", "keras.Model", "keras.models.Sequential", "keras.models.Model",
    "keras.models.load_model", "keras.saving.load_model", "keras.models.clone_model",
    "keras.models.model_from_json", "keras.models.model_from_config",
    "keras.models.model_from_yaml",
}
TENSOR_FACTORIES = {"keras.Input", "keras.layers.Input"}

FUNC = (ast.FunctionDef, ast.AsyncFunctionDef)
