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
from keras_migrate.engine import api
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

