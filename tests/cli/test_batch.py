"""The parallel, cached CLI (server/keras_migrate/batch.py): the same output as a serial run in every
format that matters, whatever the pool and the cache do; the cache follows file and
cross-file changes; results stream in order; the cache directory is marked like ruff's."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keras_migrate import batch
from keras_migrate.formats import Item, Report

WS = Path(__file__).resolve().parents[1] / "fixtures" / "workspace"

SNIPPETS = [
    "import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense({n})])\n"
    "model.compile(optimizer=tf.keras.optimizers.Adam(lr=0.{n}), loss='mse')\n",
    "from tensorflow import keras\nfrom tensorflow.keras.layers import Dense\n\n"
    "def build(units={n}):\n    m = keras.Sequential([Dense(units, input_shape=(4,))])\n"
    "    m.save('saved_{n}')\n    return m\n",
    "import tensorflow as tf\n\nclass Block{n}(tf.keras.layers.Layer):\n    def build(self, input_shape):\n"
    "        self.w = tf.Variable(tf.zeros([input_shape[-1], {n}]))\n\n    def call(self, x):\n"
    "        if tf.reduce_sum(x) > 0:  # a tensor condition\n            return x\n        return x * 2\n",
    "import keras\nmodel = keras.Sequential([keras.layers.Dense({n})])  # clean Keras 3\n",
    "import tensorflow as tf\ncb = tf.keras.callbacks.ModelCheckpoint('w{n}.h5', save_weights_only=True)  # noqa: K102\n"
    "x = tf.keras.backend.get_value(tf.constant({n}))\n",
    "import tensorflow as tf\ny = 'caf\u00e9 \u2603'\nlayer = tf.keras.layers.Dense({n}, name=y)\n",
]


def make_tree(root: Path, n: int = 90) -> Path:
    """Many files: Keras 2 patterns, clean ones, unicode, a syntax error, a notebook, a
    folder with its own pyproject, and a package whose base layer lives in another module."""
    for i in range(n):
        d = root / f"pkg{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i:03d}.py").write_text(SNIPPETS[i % len(SNIPPETS)].format(n=i + 1), encoding="utf-8")
    (root / "pkg3" / "broken.py").write_text("import tensorflow as tf\ndef f(:\n    pass\n")
    (root / "pkg4" / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nimport tensorflow as tf\ns = '\xe9'\n"
                                             b"m = tf.keras.Model()\n")
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": ["import tensorflow as tf\n", "m = tf.keras.Sequential()\n"]},
                    {"cell_type": "markdown", "metadata": {}, "source": ["# notes"]},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": ["m.save('dir')\n"]}],
          "metadata": {"kernelspec": {"language": "python", "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    (root / "pkg5" / "nb.ipynb").write_text(json.dumps(nb))
    sub = root / "configured"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[tool.keras-migrate]\ntarget-backends = ["jax"]\nignore = ["K104"]\n')
    for i in range(6):
        (sub / f"c{i}.py").write_text(SNIPPETS[i].format(n=i + 100))
    shutil.copytree(WS, root / "ws")
    return root


def km(cwd: Path, *argv: str, env=None) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop(batch.CACHE_ENV, None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "keras_migrate", *argv], cwd=cwd, capture_output=True,
                          text=True, env=e, timeout=300)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return make_tree(tmp_path_factory.mktemp("batch") / "tree")


@pytest.mark.parametrize("fmt", ["concise", "json", "full", "sarif"])
def test_serial_parallel_and_cached_outputs_are_identical(tree, fmt, tmp_path):
    cache = tmp_path / "cache"
    serial = km(tree, "check", ".", "--output-format", fmt, "--jobs", "1", "--no-cache")
    assert serial.returncode == 1, serial.stderr
    assert "Traceback" not in serial.stderr
    if fmt == "concise":   # the tree is what it claims to be: findings, a syntax error, a notebook
        assert "Found " in serial.stdout and "ws/pkg/blocks.py" in serial.stdout
        assert "pkg3/broken.py:2:7:" in serial.stdout and "pkg5/nb.ipynb:cell 1:2:" in serial.stdout
        assert serial.stdout.count("\n") > 150
    parallel = km(tree, "check", ".", "--output-format", fmt, "--jobs", "2", "--no-cache")
    cold = km(tree, "check", ".", "--output-format", fmt, "--jobs", "2", "--cache-dir", str(cache))
    warm = km(tree, "check", ".", "--output-format", fmt, "--jobs", "2", "--cache-dir", str(cache))
    for run in (parallel, cold, warm):
        assert (run.returncode, run.stdout, run.stderr) == (serial.returncode, serial.stdout, serial.stderr)
    assert list(cache.glob("*/results-*.json"))


def test_cache_follows_changes_of_the_file_and_of_the_modules_it_reads(tmp_path):
    tree = make_tree(tmp_path / "t", n=12)
    cache = tmp_path / "cache"

    def check(*extra):
        r = km(tree, "check", ".", "--cache-dir", str(cache), "--jobs", "2", *extra)
        assert "Traceback" not in r.stderr, r.stderr
        return r.stdout

    first = check()
    assert check() == first
    # the file itself changes (same size, same mtime second: the hash decides)
    target = tree / "pkg0" / "m000.py"
    st = target.stat()
    target.write_text(target.read_text().replace("tf.keras.Sequential", "zz.keras.Sequential"))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = check()
    assert after == check("--no-cache") and after != first
    # a base class in another module stops being a layer: the subclass's findings go
    blocks = "ws/pkg/blocks.py:"
    assert blocks in after
    base = tree / "ws" / "pkg" / "base.py"
    base.write_text(base.read_text().replace("class BaseLayer(keras.layers.Layer):", "class BaseLayer:"))
    os.utime(base, (time.time() + 5, time.time() + 5))
    changed = check()
    assert changed == check("--no-cache")
    assert [ln for ln in changed.splitlines() if blocks in ln] != [ln for ln in after.splitlines() if blocks in ln]
    # a new file is analysed, a deleted one is gone
    (tree / "pkg1" / "new.py").write_text("import tensorflow as tf\nm = tf.keras.Model()\n")
    (tree / "pkg2" / "m002.py").unlink()
    out = check()
    assert out == check("--no-cache") and "pkg1/new.py:2:5:" in out and "pkg2/m002.py" not in out


def test_cache_lives_in_the_project_root_and_is_marked(tmp_path):
    tree = make_tree(tmp_path / "t", n=8)
    (tree / "pyproject.toml").write_text("[tool.keras-migrate]\n")
    r = km(tree / "pkg0", "check", str(tree))
    assert r.returncode == 1, r.stderr
    d = tree / batch.CACHE_DIR_NAME
    assert (d / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (d / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert list(d.glob("*/results-*.json"))
    # the configured subfolder has its own pyproject: its own cache
    assert list((tree / "configured" / batch.CACHE_DIR_NAME).glob("*/results-*.json"))
    # and git ignores the folder without being told
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    st = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tree, capture_output=True,
                        text=True, check=True).stdout
    assert batch.CACHE_DIR_NAME not in st
    # --no-cache writes nothing
    shutil.rmtree(d)
    km(tree, "check", ".", "--no-cache")
    assert not d.exists()


def test_cache_file_is_data_not_code(tmp_path):
    """A damaged or planted cache file is ignored (the results are recomputed), never run."""
    tree = make_tree(tmp_path / "t", n=6)
    cache = tmp_path / "cache"
    good = km(tree, "check", ".", "--cache-dir", str(cache)).stdout
    f = next(cache.glob("*/results-*.json"))
    f.write_text("{not json")
    assert km(tree, "check", ".", "--cache-dir", str(cache)).stdout == good
    f.write_bytes(b"\x80\x04\x95cos\nsystem\n")   # a pickle: JSON only, so just garbage
    assert km(tree, "check", ".", "--cache-dir", str(cache)).stdout == good


def test_results_stream_in_order_as_they_come():
    """A writer iterating ``report.items`` gets file 1's items before file 2 is even asked
    for; ``len`` waits for everything; the report's other fields are merged per file."""
    pulled: list[int] = []

    def parts():
        for n in range(3):
            pulled.append(n)
            part = Report(files=1, checked_paths=[f"f{n}"])
            part.items = [Item(f"f{n}", None, k + 1, 1, k + 1, 2) for k in range(2)]
            part.errors = [f"e{n}"] if n == 1 else []
            yield part

    report = Report()
    items = batch.StreamingItems(parts(), report)
    it = iter(items)
    assert next(it).path == "f0" and pulled == [0]
    assert next(it).path == "f0" and pulled == [0]
    assert next(it).path == "f1" and pulled == [0, 1]
    assert len(items) == 6 and pulled == [0, 1, 2]
    assert [i.path for i in it] == ["f1", "f2", "f2"]
    assert report.files == 3 and report.checked_paths == ["f0", "f1", "f2"] and report.errors == ["e1"]


def test_check_streams_through_the_pool(tmp_path, monkeypatch):
    """run_checks(stream=True) returns before any file is merged; iterating the items runs
    the files in order, and the report is whole (and the same as a serial run's) at the end."""
    from keras_migrate import cli
    tree = make_tree(tmp_path / "t", n=20)
    monkeypatch.chdir(tree)
    reports = {}
    for jobs in ("1", "2"):
        args = cli.build_parser().parse_args(["check", ".", "--no-cache", "--jobs", jobs])
        session = cli.Session(args)
        report = Report()
        jobs_list = cli.collect(args, session, report.errors)
        cli.run_checks(session, jobs_list, report, stream=True)
        assert isinstance(report.items, batch.StreamingItems)
        assert report.files == 0                    # nothing waited for yet
        first = next(iter(report.items))
        assert first.path == str(jobs_list[0][0]) or report.files >= 1
        assert report.files < len(jobs_list)        # the rest is still to come
        paths = [it.path for it in report.items]
        assert report.files == len(jobs_list) and len(paths) == len(report.items)
        reports[jobs] = [(it.path, it.line, it.col, it.finding.code, it.finding.message) for it in report.items]
    assert reports["1"] == reports["2"]


def test_cached_items_have_every_field_of_a_fresh_one(tmp_path):
    """The cache rebuilds Items and Findings field by field: every dataclass field comes back
    with the value a fresh analysis gave (a field added later fails here, not in output)."""
    import dataclasses

    from keras_migrate.checking import _items_for_text
    from keras_migrate.service import Linter
    text = SNIPPETS[0].format(n=3) + SNIPPETS[2].format(n=4)
    res = Linter().check_source(text, tmp_path / "a.py")
    items = _items_for_text("a.py", text, res.findings, want_edits=True)
    assert len(items) >= 3 and any(it.finding.has_fix for it in items)
    for it in items:
        back = batch._item_from_json(json.loads(json.dumps(batch._item_to_json(it))), "a.py")
        assert set(vars(back)) == {f.name for f in dataclasses.fields(Item)}
        assert set(vars(back.finding)) == {f.name for f in dataclasses.fields(type(it.finding))}
        for f in dataclasses.fields(Item):
            if f.name != "finding":
                assert getattr(back, f.name) == getattr(it, f.name), f.name
        for f in dataclasses.fields(type(it.finding)):
            if f.name not in ("fix_factory", "_fix_cache", "_fix_done"):
                assert getattr(back.finding, f.name) == getattr(it.finding, f.name), f.name
        assert back.finding.has_fix == it.finding.has_fix
        assert back.finding.fixable(True) == it.finding.fixable(True)


def test_cached_problems_have_every_field():
    import dataclasses

    from keras_migrate.formats import Problem
    values = {"message": "does not parse", "line": 3, "col": 7, "cell": 2, "cell_index": 1, "cell_id": "a1b2",
              "file_pos": (14, 9), "partial": True}
    u = Problem("nb.ipynb", **{k: v for k, v in values.items() if k in {f.name for f in dataclasses.fields(Problem)}})
    assert {f.name for f in dataclasses.fields(Problem)} - {"path"} <= set(values), "a new Problem field: add it here"
    back = batch._problem_from_json(json.loads(json.dumps(batch._problem_to_json(u))), "nb.ipynb")
    assert back == u and type(back.file_pos) is tuple


def test_a_warm_run_does_not_import_the_rules(tmp_path):
    """Answered from the cache, a run never imports the rules (~0.2 s of a warm run); only a
    pyproject that names codes does (the codes are validated against the registry)."""
    tree = make_tree(tmp_path / "t", n=10)
    shutil.rmtree(tree / "configured")
    cache = tmp_path / "cache"
    km(tree, "check", ".", "--cache-dir", str(cache))
    probe = ("import sys, runpy; sys.argv = ['keras-migrate', 'check', '.', '--cache-dir', %r]\n"
             "try:\n    runpy.run_module('keras_migrate', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print('RULES' if any(m.startswith('keras_migrate.rules.') for m in sys.modules) else 'NO-RULES', "
             "file=sys.stderr)\n"
             "print('HEAVY', sorted(m for m in ('concurrent.futures', 'multiprocessing', 'keras_migrate.engine.analyze', "
             "'keras_migrate.runner', 'libcst', 'jedi', 'pygls') if m in sys.modules), file=sys.stderr)\n" % str(cache))
    r = subprocess.run([sys.executable, "-c", probe], cwd=tree, capture_output=True, text=True, timeout=300)
    assert r.stderr.strip().splitlines()[-2] == "NO-RULES", r.stderr
    # nor the pool, the engine, the runner or the editor's libraries (a third of its time)
    assert r.stderr.strip().splitlines()[-1] == "HEAVY []", r.stderr
    assert "Found " in r.stdout


def test_progress_only_on_a_terminal_after_a_second():
    class Tty:
        def __init__(self, tty):
            self.buf, self.tty = [], tty

        def write(self, s):
            self.buf.append(s)

        def flush(self):
            pass

        def isatty(self):
            return self.tty

    quiet = Tty(False)
    p = batch.Progress(100, quiet, None)
    p.start -= 5
    p.update(10)
    assert quiet.buf == []
    tty = Tty(True)
    p = batch.Progress(100, tty, None)
    p.update(1)
    assert tty.buf == []           # under a second: nothing
    p.start -= 5
    p.update(42)
    assert tty.buf == ["\r\x1b[Kkeras-migrate: 42/100 files"]
    p.clear()
    assert tty.buf[-1] == "\r\x1b[K"


def test_a_worker_that_dies_does_not_lose_files(tmp_path, monkeypatch):
    """If the pool breaks (a worker killed for memory), the rest is analysed in this process:
    the output is still the serial one."""
    tree = make_tree(tmp_path / "t", n=10)
    monkeypatch.chdir(tree)
    import io
    serial, parallel = io.StringIO(), io.StringIO()
    from keras_migrate import cli

    def run(out, **kw):
        args = cli.build_parser().parse_args(["check", ".", "--no-cache", *kw.get("extra", [])])
        return cli.cmd_check(args, out, io.StringIO())

    rc1 = run(serial, extra=["--jobs", "1"])
    monkeypatch.setattr(batch, "_work", _die)
    rc2 = run(parallel, extra=["--jobs", "2"])
    assert (rc1, serial.getvalue()) == (rc2, parallel.getvalue())


def _die(chunk):
    os._exit(3)


def test_findings_with_related_locations_are_cached_and_read_back(tmp_path):
    """A reader's finding points at its save (``related``: engine Ranges): the cache must carry
    it (it once raised "not cacheable: Range" and aborted the whole check) and give it back."""
    import dataclasses

    from keras_migrate.checking import _items_for_text
    from keras_migrate.service import Linter
    text = ("from tensorflow import keras\nm = keras.Sequential()\nm.save('out', save_format='tf')\n"
            "back = keras.models.load_model('out')\n")
    res = Linter().check_source(text, tmp_path / "a.py")
    items = _items_for_text("a.py", text, res.findings, want_edits=True)
    assert any(it.finding.related for it in items), "the example no longer has related locations"
    for it in items:
        back = batch._item_from_json(json.loads(json.dumps(batch._item_to_json(it))), "a.py")
        for f in dataclasses.fields(type(it.finding)):
            if f.name not in ("fix_factory", "_fix_cache", "_fix_done"):
                assert getattr(back.finding, f.name) == getattr(it.finding, f.name), f.name
    (tmp_path / "a.py").write_text(text)
    cache = tmp_path / "cache"
    cold = km(tmp_path, "check", "a.py", "--output-format", "json", "--exit-zero", "--cache-dir", str(cache))
    warm = km(tmp_path, "check", "a.py", "--output-format", "json", "--exit-zero", "--cache-dir", str(cache))
    assert cold.returncode == 0 and warm.returncode == 0, cold.stderr + warm.stderr
    assert cold.stdout == warm.stdout and '"related"' in cold.stdout
    assert any(p.is_file() and p.name != "CACHEDIR.TAG" and p.name != ".gitignore" for p in cache.rglob("*"))


def test_the_pool_leaves_the_environment_as_it_was(tmp_path, monkeypatch):
    """The pool's children start with PYTHONSAFEPATH=1; the variable must not outlive the pool
    in this process (a program the runner starts later would inherit it)."""
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    pool = batch.make_pool(2)
    assert os.environ.get("PYTHONSAFEPATH") == "1"
    assert pool.submit(os.getenv, "PYTHONSAFEPATH").result(timeout=120) == "1"
    pool.shutdown()
    assert "PYTHONSAFEPATH" not in os.environ
    monkeypatch.setenv("PYTHONSAFEPATH", "x")
    batch.make_pool(2).shutdown()
    assert os.environ["PYTHONSAFEPATH"] == "x"
