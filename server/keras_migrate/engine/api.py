"""The rule API: everything a rule may import from the engine, in one module (the door).

A rule module imports from here, from its own family's private modules (``from ._helpers
import X``: data and family policy) and from the standard library; nothing else (checked by
``tests/rules/test_door.py``).  What a rule asks about one file goes through the
``FileContext`` it is given (``ctx.nodes``, ``ctx.qualname``, ``ctx.value_kind``,
``ctx.parent``, ``ctx.references()``, ``ctx.span``/``ctx.segment``, ``ctx.report``, ``ctx.memo``,
the edit builders) and the functions below, which take it as their first argument; rules do
not reach into ``ctx.knowledge``, ``ctx.resolver`` or ``ctx.source``.

Sections: the rule interface; findings and edits; kinds of Keras objects; calls (reading,
finding, editing); scopes, values, Keras classes and methods, receivers; symbolic tensors;
tf -> keras.ops; the rule set's tables; the file (imports, source lines) through ``ctx``.
"""
from __future__ import annotations

import ast
from typing import Optional

# -- the rule interface ---------------------------------------------------------------------------
from .rule import Invalid, Rule, Run, Valid
from .model import Applicability, Edit, Fix, Group, Severity
from .importer import ImportConflict

# -- kinds of Keras objects (engine/knowledge.py) ---------------------------------------------------
from .knowledge import (CALLBACK, HISTORY, KERAS_TENSOR, LAYER, LOSS, METRIC, MODEL, MODEL_FACTORIES,
                        OPTIMIZER, SCHEDULE, SEQUENCE, TENSOR_FACTORIES, kind_of_class_name)
from .resolve import canonicalize

# -- walking the tree (engine/astutil.py: ``ast.walk`` without the ctx singletons) -------------------
from .astutil import iter_child_nodes, walk

# -- calls (engine/calls.py) ------------------------------------------------------------------------
from .calls import (FUNC, arg, arg_source, call_of_func, calls_to, compose_call_edits, const_bool, keyword,
                    method_calls, plain_call, render_template, rewrite_call)

# -- scopes, values, Keras classes and methods, receivers (engine/scopes.py) --------------------------
from .scopes import (function_nodes, is_opaque, is_param, keras_classes, keras_method, keras_methods,
                     layer_value, local_method_names, method_named, methods_of, model_receiver,
                     param_annotation, receiver_kind, self_attr_values, visible_values, walk_function,
                     walk_no_nested)

# -- symbolic tensors (engine/symbolic.py) ----------------------------------------------------------
from .symbolic import GRAPH_ATTRS, any_symbolic_arg, has_symbolic_sources, is_symbolic

# -- tf -> keras.ops (engine/tfops.py; the table is the portability family's) --------------------------
from .tfops import (TF_DTYPES, Plan, canonical, display, dtype_string, fix_for, plan_call, report_tf_call,
                    rewrite_expression, tf_calls)

# -- what the rule set provides: codes, the Keras API table (engine/catalog.py) -------------------------
from .catalog import closest_code, is_rule_code, keras3_has, keras_api, known_codes, tf_op


# -- the file, through ctx: kinds, enclosing code, imports, source lines ------------------------------
def owned_by(ctx, code: str) -> bool:
    """True when rule ``code`` exists and is enabled in this analysis: then it reports the
    pattern, and a rule deferring to it stays quiet; with it ignored or unselected, the
    deferring rule reports it (ruff's ``checker.enabled``)."""
    return is_rule_code(code) and ctx.enabled(code)


def class_kinds(ctx, cls: ast.ClassDef) -> frozenset:
    """Kinds of a class of the file from its bases (local, Keras or workspace classes)."""
    return ctx.knowledge.class_kinds(cls)


def module_class(ctx, name: str) -> Optional[ast.ClassDef]:
    """The class ``name`` defined at the top level of the file, or None."""
    return ctx.knowledge._classes.get(name)


def imported_names(ctx) -> dict[str, tuple[str, str, int]]:
    """local name -> (module, name, level) for ``from X import Y`` of non-Keras modules."""
    return ctx.knowledge.other_imports()


def ancestors(ctx, node: ast.AST):
    """The nodes enclosing ``node``, innermost first."""
    return ctx.knowledge.ancestors(node)


def enclosing_function(ctx, node: ast.AST) -> Optional[ast.AST]:
    return ctx.knowledge.enclosing_function(node)


def enclosing_method(ctx, node: ast.AST) -> Optional[tuple[ast.ClassDef, ast.AST]]:
    """(class, method) when node is inside a method of any class (nested functions count);
    for Keras classes only, ``keras_method``."""
    return ctx.knowledge.enclosing_method(node)


def bindings(ctx) -> dict:
    """local name -> ``Binding`` (``.target``: the dotted path it stands for) of the file's
    imports and module-level aliases of tensorflow / keras / tf_keras."""
    return ctx.resolver.bindings


def import_nodes(ctx) -> list:
    """The file's ``import`` / ``from ... import`` statements of tensorflow / keras / tf_keras."""
    return ctx.resolver.import_nodes


def raw_name(ctx, node: ast.AST) -> Optional[str]:
    """The dotted path an expression spells through the file's imports, before
    canonicalisation (``tf.keras`` -> ``tensorflow.keras``), or None."""
    return ctx.resolver.raw(node)


def remove_binding_edit(ctx, stmt: ast.AST, local: str) -> Optional[Edit]:
    """Edit removing the name bound as ``local`` from an import statement (the whole line
    when it is the only one)."""
    from .fixer import _remove_binding_edit
    return _remove_binding_edit(ctx.text, ctx.source, stmt, local)


def newline(ctx) -> str:
    """The file's line ending (``\\n``, ``\\r\\n``)."""
    return ctx.source.newline()


def line_start(ctx, line: int) -> int:
    """Offset where 0-based ``line`` starts."""
    return ctx.source.line_starts[line]


def line_end(ctx, line: int) -> int:
    """Offset just past 0-based ``line``'s line break (the next line's start)."""
    return ctx.source.line_end(line)


def line_text(ctx, line: int) -> str:
    return ctx.source.line_text(line)


def offset(ctx, line: int, col: int) -> int:
    """Offset of (0-based line, column in characters)."""
    return ctx.source.offset(line, col)


def ast_offset(ctx, lineno: int, col_offset: int) -> int:
    """Offset of an ast position (1-based ``lineno``, ``col_offset`` in UTF-8 bytes)."""
    return ctx.source.ast_offset(lineno, col_offset)


def def_name_span(ctx, fn: ast.AST) -> tuple[int, int]:
    """The span of a function's (or class's) name in ``def name(`` / ``class Name``."""
    start = ctx.source.ast_offset(fn.lineno, fn.col_offset)
    i = ctx.text.find(fn.name, start)
    return (i, i + len(fn.name)) if i >= 0 else ctx.span(fn)


__all__ = [
    # the rule interface
    "Rule", "Valid", "Invalid", "Run", "Severity", "Group", "Applicability", "Edit",
    # a fix, declared once (Fix.safe/unsafe(title, build, *args)); ctx.imports.ensure's refusal
    "Fix", "ImportConflict",
    # kinds
    "CALLBACK", "HISTORY", "KERAS_TENSOR", "LAYER", "LOSS", "METRIC", "MODEL", "OPTIMIZER", "SCHEDULE",
    "SEQUENCE", "MODEL_FACTORIES", "TENSOR_FACTORIES", "kind_of_class_name", "canonicalize",
    # walking
    "walk", "iter_child_nodes",
    # calls
    "FUNC", "keyword", "arg", "const_bool", "plain_call", "arg_source", "calls_to", "method_calls",
    "call_of_func", "compose_call_edits", "rewrite_call", "render_template",
    # scopes, values, classes, receivers
    "visible_values", "self_attr_values", "param_annotation", "is_param", "keras_classes", "keras_methods",
    "keras_method", "methods_of", "method_named", "walk_no_nested", "walk_function", "function_nodes",
    "receiver_kind", "layer_value", "is_opaque", "local_method_names", "model_receiver",
    # symbolic tensors
    "GRAPH_ATTRS", "is_symbolic", "any_symbolic_arg", "has_symbolic_sources",
    # tf -> keras.ops
    "TF_DTYPES", "Plan", "canonical", "display", "dtype_string", "plan_call", "tf_calls", "rewrite_expression",
    "fix_for", "report_tf_call",
    # the rule set's tables
    "known_codes", "is_rule_code", "closest_code", "keras3_has", "keras_api", "tf_op",
    # the file through ctx
    "owned_by", "class_kinds", "module_class", "imported_names", "ancestors", "enclosing_function", "enclosing_method",
    "bindings", "import_nodes", "raw_name", "remove_binding_edit", "newline", "line_start", "line_end",
    "line_text", "offset", "ast_offset", "def_name_span",
]
