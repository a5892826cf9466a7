"""One door: a rule imports the engine's rule API (``keras_migrate.engine.api``), its own
family's private modules and the standard library, nothing else; the semantics it uses live
in the engine once each; the engine never imports the rules."""
from __future__ import annotations

import ast
import importlib
import sys
import textwrap
from pathlib import Path

import pytest

import keras_migrate.engine as engine_pkg
from keras_migrate.config import closest_code as config_closest_code
from keras_migrate.engine import api
from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import FileContext
from keras_migrate.engine.source import SourceText
from keras_migrate.rules import FAMILIES, all_rules

DOOR = "keras_migrate.engine.api"
# the one third-party library a rule may name: the syntax tree ``ctx.cst`` hands it
THIRD_PARTY = {"libcst"}
REACH_THROUGH = {"knowledge", "resolver", "source"}
# the packages and adapters built on the engine (keras_migrate.<name>)
ABOVE_THE_ENGINE = {"rules", "server", "cli", "config", "service", "batch", "batch_preload", "report", "runner"}


def _family_files() -> list[tuple[str, Path]]:
    out = []
    for family in FAMILIES:
        pkg = importlib.import_module(f"keras_migrate.rules.{family}")
        for p in sorted(Path(pkg.__path__[0]).glob("*.py")):
            out.append((family, p))
    return out


FILES = _family_files()


def _ids(files):
    return [f"{fam}/{p.name}" for fam, p in files]


def test_every_rule_module_is_checked():
    # the registry's rule modules are among the parsed files (none lives elsewhere)
    checked = {p.resolve() for _, p in FILES}
    for rule in all_rules():
        path = Path(sys.modules[rule.__module__].__file__).resolve()
        assert path in checked, f"{rule.code}: {path} is not under a family folder"
    assert len(FILES) > len(FAMILIES) * 2


def _import_problems(family: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in THIRD_PARTY:
                    problems.append(f"line {node.lineno}: import {a.name}")
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 1:
                continue  # the family's own modules (``from ._helpers import X``)
            if node.level > 1:
                problems.append(f"line {node.lineno}: from {'.' * node.level}{mod} (another family)")
            elif mod == DOOR or mod == "__future__":
                continue
            elif mod.split(".")[0] in sys.stdlib_module_names or mod.split(".")[0] in THIRD_PARTY:
                continue
            else:
                problems.append(f"line {node.lineno}: from {mod} import ...")
    return problems


@pytest.mark.parametrize("family,path", FILES, ids=_ids(FILES))
def test_rule_files_import_only_the_door_their_family_and_the_stdlib(family, path):
    assert _import_problems(family, path) == []


def test_the_import_check_catches_what_it_forbids(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        import ast
        from keras_migrate.engine.knowledge import MODEL
        from keras_migrate.rules.training._helpers import arg
        from keras_migrate.config import known_codes
        from ..saving._helpers import path_tail
        import numpy
        from keras_migrate.engine.api import Rule
        from ._helpers import keras_name

        def f():
            from keras_migrate.engine.fixer import _remove_binding_edit
    """))
    got = _import_problems("layers", bad)
    assert [g.split(":")[0] for g in got] == ["line 3", "line 4", "line 5", "line 6", "line 7", "line 12"]


def _reaches(path: Path) -> list[str]:
    """``ctx.knowledge`` / ``ctx.resolver`` / ``ctx.source``, a private attribute of the
    context (``ctx._km_*`` caches) or ``setattr``/``__dict__`` on it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ctx":
            if node.attr in REACH_THROUGH or node.attr.startswith("_"):
                out.append(f"line {node.lineno}: ctx.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "getattr") \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "ctx":
            out.append(f"line {node.lineno}: {node.func.id}(ctx, ...)")
    return out


@pytest.mark.parametrize("family,path", FILES, ids=_ids(FILES))
def test_rules_ask_ctx_and_the_door_not_the_engine_behind_them(family, path):
    assert _reaches(path) == []


def test_family_helpers_hold_no_copy_of_the_door():
    # what the engine offers is defined there only: no family module defines a door name
    # (``_FUNC``, ``visible_values``, ``rewrite_call``, ``is_symbolic``, ...) again
    door = set(api.__all__)
    again = {"_FUNC", "_fast_ast", "qualname", "value_kind", "parent", "assigned_values", "tracker",
             "kind_of", "layer_method", "layer_methods", "layer_classes"}
    for family, path in FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for n in names:
                assert n not in door and n not in again, f"{family}/{path.name} defines {n} again"


def test_the_engine_never_imports_the_rules_or_the_adapters():
    # the arrows run from rules (and CLI, server) to the engine, lazy imports included
    for path in sorted(Path(engine_pkg.__path__[0]).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.ImportFrom):
                mods = [("." * node.level) + (node.module or "")]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for m in mods:
                top = m.split(".")[1] if m.startswith("keras_migrate.") else None
                assert top not in ABOVE_THE_ENGINE, (path.name, m)
                assert not m.startswith(".."), (path.name, m)


def test_every_door_name_exists():
    for name in api.__all__:
        assert hasattr(api, name), name
    assert len(set(api.__all__)) == len(api.__all__)


# -- the promoted semantics ------------------------------------------------------------------
def ctx_for(code: str, enabled=None) -> FileContext:
    code = textwrap.dedent(code)
    return FileContext(SourceText(code), ast.parse(code), enabled=enabled)


def _name(ctx, ident: str, nth: int = -1) -> ast.Name:
    """The ``nth`` use (a load) of ``ident``."""
    return [n for n in ctx.nodes(ast.Name) if n.id == ident and isinstance(n.ctx, ast.Load)][nth]


def test_one_is_symbolic_follows_rebinding_and_helpers():
    ctx = ctx_for("""
        import tensorflow as tf
        import keras

        def block(t):
            return tf.nn.relu(t)

        x = keras.Input((3,))
        x = tf.nn.relu(x)
        a, b = tf.split(x, 2)
        y = block(a)
        n = 3
        out = keras.layers.Dense(2)(y)
        RESULT = [out, b, n]
    """)
    for ident in ("x", "a", "b", "y", "out"):
        node = _name(ctx, ident)
        assert api.is_symbolic(ctx, node), ident
        assert ctx.knowledge.is_symbolic(node) is True  # the same question, one answer
    assert not api.is_symbolic(ctx, _name(ctx, "n"))
    assert not ctx.knowledge._symbolic_operand(_name(ctx, "x"))  # value_kind's narrower test stops at tf
    dense = [c for c in ctx.nodes(ast.Call) if ctx.qualname(c.func) == "tensorflow.split"][0]
    assert api.any_symbolic_arg(ctx, dense)
    assert api.has_symbolic_sources(ctx)
    assert not api.has_symbolic_sources(ctx_for("import tensorflow as tf\nx = tf.ones(3)\n"))


def test_one_scope_values_query():
    ctx = ctx_for("""
        import keras
        m = keras.Sequential()

        def f():
            m2 = m
            return m2

        def g(model: keras.Model, other):
            return model, other
    """)
    uses = [n for n in ctx.nodes(ast.Name) if n.id == "m" and isinstance(n.ctx, ast.Load)]
    assert [ctx.segment(v) for v in api.visible_values(ctx, uses[0])] == ["keras.Sequential()"]
    assert api.receiver_kind(ctx, _name(ctx, "model")) == api.MODEL  # the annotation
    assert api.receiver_kind(ctx, _name(ctx, "other")) is None
    assert api.is_opaque(ctx, _name(ctx, "other"))


def test_one_keras_methods_query_top_down_and_bottom_up_agree():
    ctx = ctx_for("""
        import keras

        class Block(keras.layers.Layer):
            def build(self, shape):
                pass

            def call(self, x):
                return x + 1

        class Plain:
            def call(self, x):
                return x

        class Score(keras.metrics.Metric):
            def update_state(self, y):
                return y
    """)
    top_down = [(c.name, f.name) for c, f in api.keras_methods(ctx)]
    assert top_down == [("Block", "build"), ("Block", "call")]
    assert [(c.name, f.name) for c, f in api.keras_methods(ctx, ("call",))] == [("Block", "call")]
    assert [(c.name, f.name) for c, f in api.keras_methods(ctx, kinds=(api.METRIC,))] == [("Score", "update_state")]
    for binop in ctx.nodes(ast.BinOp):
        cls, fn = api.keras_method(ctx, binop)
        assert (cls.name, fn.name) == ("Block", "call")
        assert api.keras_method(ctx, binop, names=("build",)) is None
    plain_x = [r for r in ctx.nodes(ast.Return) if ctx.segment(r) == "return x"][0]
    assert api.keras_method(ctx, plain_x) is None
    assert [c.name for c in api.keras_classes(ctx)] == ["Block"]


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


def test_memo_replaces_attributes_on_the_context():
    ctx = ctx_for("import keras\n")
    built = []
    assert ctx.memo("k", lambda: built.append(1) or "v") == "v"
    assert ctx.memo("k", lambda: built.append(1) or "w") == "v"
    assert built == [1]


def test_the_rule_sets_tables_through_the_door():
    assert api.known_codes() == tuple(r.code for r in all_rules())
    assert api.is_rule_code("K201") and not api.is_rule_code("K999")
    assert api.closest_code("K1020") == config_closest_code("K1020") == "K102"
    assert api.keras3_has("keras.layers.Dense") and not api.keras3_has("keras.layers.NoSuchLayer")
    assert api.tf_op("tensorflow.reduce_sum")["ops"] == "sum"
    assert api.keras_api.members("Model")  # the Keras API table's member lists


def test_ownership_asks_the_enabled_set():
    on = ctx_for("import keras\n", enabled=frozenset({"K103"}))
    off = ctx_for("import keras\n", enabled=frozenset({"K501"}))
    assert api.owned_by(on, "K103") and not api.owned_by(off, "K103")
    assert not api.owned_by(on, "K999")  # no such rule: nobody owns it


def test_k302_finds_the_op_through_the_door_table():
    # layers (K302) uses the portability family's table only through the engine
    from keras_migrate.rules.layers.tf_op_on_keras_tensor import TfOpOnKerasTensor
    code = "import tensorflow as tf\nimport keras\nx = keras.Input((3,))\ny = tf.reduce_sum(x)\n"
    res = Engine([TfOpOnKerasTensor()]).analyze(code)
    assert [(f.code, code[f.start:f.end]) for f in res.findings] == [("K302", "tf.reduce_sum")]
    assert res.findings[0].fix_title == "Replace `tf.reduce_sum` with `keras.ops.sum`"
