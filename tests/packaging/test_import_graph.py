"""The folders are the import graph (issue 17).

``keras_migrate`` is a namespace package with two source roots, the design's top-level
folders ``server/`` and ``rules/`` (pyproject: hatchling's wheel ``sources`` and editable
``dev-mode-dirs``).  These tests hold that, for every tool a developer uses:

* Python, jedi and pyright resolve every ``keras_migrate.*`` module of this checkout to its
  file, from the test environment's install (CI: a fresh editable install, ``pip install -e``);
* no module is importable under a second name: the source roots hold nothing but
  ``keras_migrate/``, and no file of the repository imports our code by another name;
* the structure drawn from the imports runs one way: each layer imports only layers below
  it, the two adapters (CLI, language server) are siblings over ``service``, and no module
  import runs in a circle.
"""
from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = (ROOT / "server", ROOT / "rules")


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for root in SOURCE_ROOTS:
        for path in sorted((root / "keras_migrate").rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join(parts)
            assert name not in out, f"{name} is in both {out.get(name)} and {path}"
            out[name] = path
    return out


MODULES = _modules()


def test_the_source_roots_hold_only_the_package():
    """Anything else in server/ or rules/ would be importable under a top-level name."""
    for root in SOURCE_ROOTS:
        entries = {p.name for p in root.iterdir() if p.name != "__pycache__"}
        assert entries == {"keras_migrate"}, f"{root.name}/ holds {sorted(entries - {'keras_migrate'})}"
        assert not (root / "keras_migrate" / "__init__.py").exists(), "a namespace package has no __init__.py"


def test_python_imports_every_module_from_this_checkout():
    for name, path in MODULES.items():
        if name.endswith("__main__"):
            continue
        mod = importlib.import_module(name)
        assert Path(mod.__file__).resolve() == path.resolve(), f"{name} imported from {mod.__file__}"


def test_jedi_resolves_every_module():
    """go-to-definition on an import, as jedi-language-server and our own workspace index use it,
    with the environment's own sys.path only (the .pth of the editable install), not this
    checkout's folder."""
    import jedi

    env = jedi.create_environment(sys.executable, safe=False)
    project = jedi.Project(ROOT / "tests" / "fixtures", added_sys_path=(), smart_sys_path=False)
    wrong = {}
    for name, path in MODULES.items():
        code = f"import {name}\n"
        defs = jedi.Script(code, project=project, environment=env).goto(1, len(code) - 1, follow_imports=True)
        got = [d.module_path for d in defs if d.module_path is not None]
        if not got or Path(got[0]).resolve() != path.resolve():
            wrong[name] = got
    assert not wrong, f"jedi does not resolve: {wrong}"


def test_pyright_resolves_every_module(tmp_path):
    pyright = ROOT / "node_modules" / ".bin" / "pyright"
    assert pyright.exists(), "pyright is a devDependency: run npm ci"
    names = [n for n in MODULES if not n.endswith("__main__")]
    (tmp_path / "probe.py").write_text("".join(f"import {n}\n" for n in names), encoding="utf-8")
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "off",
                                                            "reportMissingImports": "error"}))
    proc = subprocess.run([str(pyright), "--outputjson", "--pythonpath", sys.executable, "probe.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    missing = [d["message"] for d in report["generalDiagnostics"] if d.get("rule") == "reportMissingImports"]
    assert not missing, missing
    assert report["summary"]["filesAnalyzed"] >= 1


# -- one name per module ------------------------------------------------------------------------
# the repository's folders and our subpackages' last names: never a top-level import of ours
OTHER_NAMES = {"rules", "server", "tests", "scripts", "benchmarks", "examples", "client_vscode",
               "engine", "runner"}


def _repo_python_files():
    skip = {"node_modules", ".venv", ".venv-keras", "fixture_ws", "fixtures"}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if skip & set(rel.parts) or rel.parts[0].startswith("."):
            continue
        yield path


def test_nothing_imports_our_code_by_another_name():
    bad = []
    for path in _repo_python_files():
        try:
            tree = ast.parse(path.read_bytes())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in OTHER_NAMES:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: import {n}")
    assert not bad, "\n".join(bad)


# -- one way ------------------------------------------------------------------------------------
# Bottom to top.  A module may import its own layer and the layers below, never above.
LAYERS = [
    ("base", {"keras_migrate.version"}),
    ("engine", {"keras_migrate.engine", "keras_migrate.fsio"}),   # fsio: the safe reads and writes
    ("runner", {"keras_migrate.runner"}),          # the backend runner: stdlib and the base only
    ("rules", {"keras_migrate.rules"}),
    ("config", {"keras_migrate.config", "keras_migrate.settings_schema", "keras_migrate.discovery",
                "keras_migrate.formats"}),
    ("service", {"keras_migrate.service"}),
    ("checking", {"keras_migrate.checking"}),   # one file in, its report part out
    ("batch", {"keras_migrate.batch", "keras_migrate.batch_pool", "keras_migrate.batch_preload"}),
    ("report", {"keras_migrate.report"}),
    ("adapters", {"keras_migrate.cli", "keras_migrate.server"}),
    ("entry", {"keras_migrate.entry", "keras_migrate.__main__"}),   # the program over both adapters
]
# the runner shares no layer with the engine: neither imports the other
APART = [("engine", "runner"), ("runner", "rules"), ("runner", "config"), ("runner", "service"),
         ("runner", "batch"), ("runner", "report")]


def _layer(module: str) -> str:
    for name, prefixes in LAYERS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path) -> set[str]:
    """The modules of ours that ``name`` imports, at module level or in a function (not the
    annotations-only ``if TYPE_CHECKING:`` imports)."""
    tree = ast.parse(path.read_bytes())
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node):
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            targets = []
        for t in targets:
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_every_module_is_in_a_layer():
    for name in MODULES:
        _layer(name)


def upward(graph: dict[str, set[str]]) -> list[str]:
    order = {name: i for i, (name, _) in enumerate(LAYERS)}
    apart = {frozenset(p) for p in APART}
    up = []
    for mod, deps in graph.items():
        for dep in deps:
            a, b = _layer(mod), _layer(dep)
            sideways = a == b == "adapters" and mod.split(".")[1] != dep.split(".")[1]
            if order[b] > order[a] or sideways or frozenset((a, b)) in apart:
                up.append(f"{mod} ({a}) -> {dep} ({b})")
    return sorted(up)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            strong(v)
    return found


def test_imports_run_down_the_layers():
    up = upward(GRAPH)
    assert not up, "imports that run up or across:\n" + "\n".join(up)


def test_no_import_circle():
    assert not circles(GRAPH), f"import circles: {circles(GRAPH)}"


def test_the_checks_see_an_upward_arrow_a_sideways_one_and_a_circle():
    bad = {"keras_migrate.engine.analyze": {"keras_migrate.rules"},
           "keras_migrate.rules": {"keras_migrate.engine.analyze"},
           "keras_migrate.cli": {"keras_migrate.server.main"},
           "keras_migrate.server.main": set(),
           "keras_migrate.runner.cli": {"keras_migrate.engine.model"},
           "keras_migrate.engine.model": set()}
    assert upward(bad) == ["keras_migrate.cli (adapters) -> keras_migrate.server.main (adapters)",
                           "keras_migrate.engine.analyze (engine) -> keras_migrate.rules (rules)",
                           "keras_migrate.runner.cli (runner) -> keras_migrate.engine.model (engine)"]
    assert circles(bad) == [["keras_migrate.engine.analyze", "keras_migrate.rules"]]
    assert _imports("keras_migrate.engine.knowledge", MODULES["keras_migrate.engine.knowledge"]) <= set(MODULES)
