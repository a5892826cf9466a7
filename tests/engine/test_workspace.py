"""The cross-file workspace index (engine/workspace.py) on a fixture workspace of several files:

    tests/fixtures/workspace/pkg/base.py     BaseLayer(keras.layers.Layer), Helper, make_layer()
    tests/fixtures/workspace/pkg/blocks.py   Block(BaseLayer) storing a tf.Variable; NotALayer(Helper)
    tests/fixtures/workspace/pkg/__init__.py re-exports BaseLayer and `Block as PublicBlock`
    tests/fixtures/workspace/pkg/deep.py     Deeper(Block), ViaReexport(PublicBlock)
    tests/fixtures/workspace/models.py       build_model() -> keras.Sequential, build_optimizer(), ...
    tests/fixtures/workspace/train.py        Head(Deeper) with a tf.Variable; model = build_model(); model.save("dir")
    tests/fixtures/workspace/cycle_[ab].py   A(B), B(A)
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import FileContext, Settings
from keras_migrate.engine.knowledge import LAYER, MODEL, OPTIMIZER
from keras_migrate.engine.source import SourceText
from keras_migrate.engine.workspace import WorkspaceIndex
from keras_migrate.rules.layers.tf_variable_attribute import TfVariableAttribute

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "workspace"


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    return root


def _ctx(index, path: Path) -> FileContext:
    text = path.read_text()
    return FileContext(SourceText(text), ast.parse(text), str(path), Settings(), workspace=index)


def test_class_kinds_across_modules(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=30)
    blocks = str(ws / "pkg" / "blocks.py")
    train = str(ws / "train.py")
    assert ix.class_kinds("base", "BaseLayer", 1, blocks) == {LAYER}
    assert ix.class_kinds("base", "Helper", 1, blocks) == frozenset()
    # a chain over three modules, and one through a package re-export with `as`
    assert ix.class_kinds("pkg.deep", "Deeper", 0, train) == {LAYER}
    assert ix.class_kinds("pkg.deep", "ViaReexport", 0, train) == {LAYER}
    assert ix.class_kinds("pkg", "PublicBlock", 0, train) == {LAYER}
    # an import cycle ends, empty
    assert ix.class_kinds("cycle_a", "A", 0, train) == frozenset()
    # not the workspace's: answered without jedi
    calls = ix.stats["jedi_calls"]
    assert ix.class_kinds("numpy", "ndarray", 0, train) == frozenset()
    assert ix.class_kinds("os.path", "join", 0, train) == frozenset()
    assert ix.stats["jedi_calls"] == calls


def test_value_kinds_of_workspace_functions_and_objects(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=30)
    train = str(ws / "train.py")
    assert ix.value_kind("models", "build_model", 0, train) == MODEL
    assert ix.value_kind("models", "build_optimizer", 0, train) == OPTIMIZER
    assert ix.value_kind("models", "not_a_model", 0, train) is None
    assert ix.value_kind("models", "DEFAULT_MODEL", 0, train) == MODEL
    assert ix.value_kind("pkg.base", "make_layer", 0, train) == LAYER
    assert ix.value_kind("pkg.deep", "Deeper", 0, train) == LAYER      # a class: its instances


def test_k301_fires_in_subclass_of_a_base_from_another_module(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=30)
    eng = Engine([TfVariableAttribute()], Settings(), workspace=ix)
    blocks = ws / "pkg" / "blocks.py"
    text = blocks.read_text()
    res = eng.analyze(text, str(blocks))
    flagged = [text[f.start:f.end] for f in res.findings]
    # Block(BaseLayer) is a layer through pkg/base.py; NotALayer(Helper) is not
    assert flagged == ["tf.Variable(tf.zeros([input_shape[-1], 2]))"]
    train = ws / "train.py"
    text = train.read_text()
    res = eng.analyze(text, str(train))
    assert [text[f.start:f.end] for f in res.findings] == ["tf.Variable(1.0)"]   # Head(Deeper(Block(BaseLayer)))
    # without the index the base is unknown: nothing is flagged (never guess)
    assert not Engine([TfVariableAttribute()], Settings()).analyze(text, str(train)).findings


def test_model_from_workspace_function_is_a_model(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=30)
    ctx = _ctx(ix, ws / "train.py")
    saves = [c for c in ctx.nodes(ast.Call) if isinstance(c.func, ast.Attribute) and c.func.attr == "save"]
    assert len(saves) == 1
    assert ctx.value_kind(saves[0].func.value) == MODEL          # model = build_model(); model.save("dir")
    config = [n for n in ctx.nodes(ast.Name) if n.id == "config"][0]
    assert ctx.value_kind(config) is None                        # config = not_a_model()


def test_k201_flags_save_of_workspace_model_when_present(ws):
    rules = pytest.importorskip("keras_migrate.rules")
    k201 = rules.rule_by_code("K201")
    if k201 is None:
        pytest.skip("K201 (save-savedmodel) not written yet; covered by ctx.value_kind above")
    text = (ws / "train.py").read_text()
    res = Engine([k201()], Settings(), workspace=WorkspaceIndex(str(ws), timeout_s=30)).analyze(text, str(ws / "train.py"))
    assert any("save" in text[f.start:f.end] or "saved_dir" in text[f.start:f.end] for f in res.findings)


def test_results_follow_file_changes(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=30)
    train = str(ws / "train.py")
    assert ix.class_kinds("pkg.deep", "Deeper", 0, train) == {LAYER}
    base = ws / "pkg" / "base.py"
    base.write_text(base.read_text().replace("class BaseLayer(keras.layers.Layer):", "class BaseLayer:  # no longer a layer"))
    os.utime(base, (time.time() + 5, time.time() + 5))   # a distinct mtime even on coarse clocks
    # the cached answer depended on base.py: re-validated by mtime, even before invalidate()
    assert ix.class_kinds("pkg.deep", "Deeper", 0, train) == frozenset()
    base.write_text(base.read_text().replace("class BaseLayer:  # no longer a layer", "class BaseLayer(keras.Model):"))
    ix.invalidate(str(base))
    assert ix.class_kinds("pkg.deep", "Deeper", 0, train) == {LAYER, MODEL}
    # a new module appears: invalidate() drops the "not in the workspace" answer
    assert ix.value_kind("later", "make", 0, train) is None
    (ws / "later.py").write_text("import keras\ndef make():\n    return keras.Sequential()\n")
    ix.invalidate(str(ws / "later.py"))
    assert ix.value_kind("later", "make", 0, train) == MODEL


def test_timeout_answers_empty_then_a_later_call_gets_it(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=0.05)
    real_goto = ix._goto_now
    gate = threading.Event()

    def slow(key):
        gate.wait(20)                                           # jedi "hangs" until released
        return real_goto(key)

    ix._goto_now = slow
    blocks = str(ws / "pkg" / "blocks.py")
    t = time.perf_counter()
    assert ix.class_kinds("base", "BaseLayer", 1, blocks) == frozenset()
    assert time.perf_counter() - t < 1.0                        # bounded by the deadline, not by jedi
    assert ix.stats["timeouts"] >= 1
    gate.set()                                                  # jedi finishes in the background...
    deadline = time.time() + 20
    while ix._pending and time.time() < deadline:
        time.sleep(0.01)
    ix.timeout_s = 30
    assert ix.class_kinds("base", "BaseLayer", 1, blocks) == {LAYER}   # ...and a later call gets it


def test_works_without_jedi_by_path(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=30)
    ix._jedi = False                                            # as if jedi were not installed
    train = str(ws / "train.py")
    assert ix.class_kinds("pkg.deep", "Deeper", 0, train) == {LAYER}
    assert ix.class_kinds("pkg", "PublicBlock", 0, train) == {LAYER}
    assert ix.value_kind("models", "build_model", 0, train) == MODEL
    assert ix.stats["jedi_calls"] == 0


def test_thread_safe(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=30)
    train = str(ws / "train.py")
    out, errors = [], []

    def worker(i):
        try:
            for _ in range(20):
                out.append((ix.class_kinds("pkg.deep", "Deeper", 0, train),
                            ix.value_kind("models", "build_model", 0, train)))
                if i % 3 == 0:
                    ix.invalidate(str(ws / "pkg" / "base.py"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert set(out) == {(frozenset({LAYER}), MODEL)}


def test_never_imports_user_code_or_heavy_libraries(ws):
    """Indexing in a fresh interpreter adds no tensorflow/keras/torch to sys.modules and runs
    nothing of the workspace (its modules would print)."""
    (ws / "pkg" / "loud.py").write_text("print('EXECUTED')\nimport keras\nclass Loud(keras.layers.Layer):\n    pass\n")
    script = f"""
import sys, json, time
from keras_migrate.engine.workspace import WorkspaceIndex
heavy = lambda: sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'torch', 'jax', 'tf_keras'))
before = heavy()
ix = WorkspaceIndex({str(ws)!r}, timeout_s=30)
t = time.perf_counter()
r1 = ix.class_kinds('pkg.deep', 'Deeper', 0, {str(ws / 'train.py')!r})
cold = (time.perf_counter() - t) * 1000
t = time.perf_counter()
r2 = ix.class_kinds('pkg.deep', 'Deeper', 0, {str(ws / 'train.py')!r})
warm = (time.perf_counter() - t) * 1000
r3 = ix.class_kinds('pkg.loud', 'Loud', 0, {str(ws / 'train.py')!r})
r4 = ix.value_kind('models', 'build_model', 0, {str(ws / 'train.py')!r})
print(json.dumps(dict(before=before, after=heavy(), r=[sorted(r1), sorted(r2), sorted(r3), r4],
                      cold_ms=cold, warm_ms=warm, jedi='jedi' in sys.modules)))
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(Path(__file__).resolve().parents[2] / d) for d in ("server", "rules")))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env,
                          cwd=str(ws.parent))
    assert proc.returncode == 0, proc.stderr
    assert "EXECUTED" not in proc.stdout
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["before"] == [] and got["after"] == [], got
    assert got["r"] == [["layer"], ["layer"], ["layer"], "model"]
    assert got["jedi"] is True
    assert got["warm_ms"] < 50, got                               # ~0.1 ms when the machine is idle


def test_warm_up_does_not_block_and_loads_jedi(ws):
    ix = WorkspaceIndex(str(ws), timeout_s=30)
    t = time.perf_counter()
    ix.warm_up()
    assert time.perf_counter() - t < 0.1                        # the work happens on the worker thread
    deadline = time.time() + 10
    while ix._jedi is None and time.time() < deadline:
        time.sleep(0.02)
    assert ix._jedi
    assert ix.class_kinds("pkg.deep", "Deeper", 0, str(ws / "train.py")) == {LAYER}


def test_very_long_chain_of_bases_is_bounded(tmp_path):
    """60 modules, each subclassing the previous one: no RecursionError; past the depth limit
    the answer is empty and nothing partial is cached, so shorter chains fill the cache and a
    later question about the deep class is answered."""
    root = tmp_path / "deep"
    (root / "chain").mkdir(parents=True)
    (root / "chain" / "__init__.py").write_text("")
    (root / "chain" / "m0.py").write_text("import keras\n\nclass C0(keras.layers.Layer):\n    pass\n")
    for i in range(1, 60):
        (root / "chain" / f"m{i}.py").write_text(f"from .m{i - 1} import C{i - 1}\n\nclass C{i}(C{i - 1}):\n    pass\n")
    ix = WorkspaceIndex(str(root), timeout_s=60)
    user = str(root / "user.py")
    assert ix.class_kinds("chain.m59", "C59", 0, user) == frozenset()      # too deep at once
    for i in (20, 40):
        assert ix.class_kinds(f"chain.m{i}", f"C{i}", 0, user) == {LAYER}
    assert ix.class_kinds("chain.m59", "C59", 0, user) == {LAYER}          # through the cached C40


def test_parsed_modules_are_bounded_and_an_evicted_one_is_parsed_again(tmp_path):
    """A workspace report over thousands of files must not keep every parsed tree (issue 18:
    335 MB at rest after a 5,000-file report): the index keeps the most recently used modules
    only, and a query that needs an evicted module parses it again with the same answer."""
    root = tmp_path / "big"
    root.mkdir()
    (root / "base.py").write_text("import keras\nclass Base(keras.layers.Layer):\n    pass\n")
    n = 40
    for i in range(n):
        (root / f"m{i}.py").write_text(f"from base import Base\nclass L{i}(Base):\n    pass\n")
    user = str(root / "user.py")
    (root / "user.py").write_text("x = 1\n")
    ix = WorkspaceIndex(str(root), timeout_s=30, max_parsed=8)
    for i in range(n):
        assert ix.class_kinds(f"m{i}", f"L{i}", 0, user) == {LAYER}
        assert len(ix._files) <= 8
    parsed = ix.stats["parsed"]
    assert parsed >= n + 1
    # answers are cached apart from the trees: asking again parses nothing ...
    assert ix.class_kinds("m0", "L0", 0, user) == {LAYER}
    assert ix.stats["parsed"] == parsed
    # ... until the module changes: then the evicted tree is parsed again, with the new answer
    (root / "m0.py").write_text("class L0:\n    pass\n")
    os.utime(root / "m0.py", (time.time() + 5, time.time() + 5))
    assert ix.class_kinds("m0", "L0", 0, user) == frozenset()
    assert ix.stats["parsed"] == parsed + 1
    assert len(ix._files) <= 8
