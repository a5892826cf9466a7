"""Hostile files cost one line each, never a hang, an abort or a traceback (issue 18), in the
CLI (named, and met in a walk), in ``fix``, in ``keras-migrate report`` and in the editor's
workspace report (``server/keras_migrate/server/report.py``).  Each case runs in a subprocess with a deadline, so a
regression that hangs (a FIFO read) fails instead of blocking the suite."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

GOOD = "from tensorflow import keras\n"
ROOT = Path(__file__).resolve().parents[2]


def _nb(**over) -> str:
    nb = {"cells": [{"cell_type": "code", "source": [GOOD], "metadata": {}, "outputs": [],
                     "execution_count": None}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    nb.update(over)
    return json.dumps(nb)


def _write(p: Path, data) -> Path:
    (p.write_bytes if isinstance(data, bytes) else p.write_text)(data)
    return p


# name -> (make(folder) -> path, what the one line says, exit code when named, in walk: warning only)
CASES = {
    "coding-undefined": (lambda d: _write(d / "coding.py", "# coding: undefined\n" + GOOD),
                         "unknown encoding 'undefined'", 2),
    "coding-rot13": (lambda d: _write(d / "rot.py", "# coding: rot13\n" + GOOD), "unknown encoding 'rot13'", 2),
    "non-utf8": (lambda d: _write(d / "latin.py", b"x = '\xff\xfe'\n"), "not valid utf-8 text: byte 0xff at line 1", 2),
    "deep-json": (lambda d: _write(d / "deep.ipynb", '{"cells":' + "[" * 100_000 + "]" * 100_000 + "}"),
                  "malformed notebook: its JSON is nested too deeply", 1),
    "nbformat-3": (lambda d: _write(d / "old.ipynb", json.dumps({"worksheets": [{"cells": []}], "metadata": {},
                                                                "nbformat": 3, "nbformat_minor": 0})),
                   "nbformat 3 is not supported", 1),
    "not-json": (lambda d: _write(d / "broken.ipynb", "{not json"), "not a valid notebook", 1),
    "fifo": (lambda d: (os.mkfifo(d / "fifo.py"), d / "fifo.py")[1], "not a regular file", 2),
    "too-large": (lambda d: _write(d / "big.py", GOOD + "x = 1\n" * 60_000), "too large", 2),
}
ENV = {"KERAS_MIGRATE_MAX_FILE_BYTES": "300000", "PYTHONDONTWRITEBYTECODE": "1"}


def _run(args, cwd, timeout=90, as_nobody=False):
    cmd = [sys.executable, "-m", "keras_migrate", *args]
    if as_nobody:
        cmd = [sys.executable, str(Path(__file__).with_name("as_nobody.py")), *args]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **ENV))
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture
def folder():
    d = Path(tempfile.mkdtemp(prefix="km-hostile-"))   # world-readable: the nobody case reads it too
    os.chmod(d, 0o755)
    yield d
    for p in d.rglob("*"):
        try:
            os.chmod(p, 0o755, follow_symlinks=False)
        except (OSError, NotImplementedError):
            pass
    shutil.rmtree(d, ignore_errors=True)


def _lines_about(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if name in line]


@pytest.mark.parametrize("case", sorted(CASES))
def test_named_hostile_file_costs_one_line_and_a_non_zero_exit(folder, case):
    make, said, rc = CASES[case]
    path = make(folder)
    r = _run(["check", str(path)], folder)
    lines = _lines_about(r.stdout + r.stderr, path.name)
    assert len(lines) == 1 and said in lines[0], r.stdout + r.stderr
    assert r.returncode == rc, r.stdout + r.stderr
    assert "All checks passed" not in r.stdout


@pytest.mark.parametrize("special", ["/dev/null", "/dev/zero", "link-to-dev-zero"])
def test_named_device_is_not_a_regular_file(folder, special):
    path = special
    if special == "link-to-dev-zero":
        (folder / "zero.py").symlink_to("/dev/zero")
        path = str(folder / "zero.py")
    r = _run(["check", path], folder, timeout=30)
    assert r.returncode == 2
    assert f"error: {path}: not a regular file" in r.stderr
    assert "All checks passed" not in r.stdout


def _hostile_folder(folder: Path) -> dict[str, Path]:
    made = {case: make(folder) for case, (make, _, _) in CASES.items()}
    (folder / "zero.py").symlink_to("/dev/zero")
    (folder / "dangling.py").symlink_to(folder / "gone.py")
    _write(folder / "meta_list.ipynb", _nb(metadata=[]))      # analysed: the metadata is not needed
    _write(folder / "meta_str.ipynb", _nb(metadata="x"))
    _write(folder / "good.py", GOOD)
    return made


def test_walk_of_a_hostile_folder_goes_on(folder):
    made = _hostile_folder(folder)
    r = _run(["check", "."], folder)
    out = r.stdout + r.stderr
    assert "good.py:1:1: K101" in r.stdout and "meta_list.ipynb:cell 1:1:1: K101" in r.stdout
    assert "meta_str.ipynb:cell 1:1:1: K101" in r.stdout
    for case, path in made.items():
        lines = _lines_about(out, path.name)
        assert len(lines) == 1 and CASES[case][1] in lines[0], (case, out)
    assert _lines_about(out, "zero.py") == ["warning: zero.py: skipped: a symlink out of the folder: not followed"]
    assert _lines_about(out, "dangling.py") == ["warning: dangling.py: skipped: a broken symlink"]
    assert r.returncode == 2   # files that could not be read


def test_fix_of_a_hostile_folder_fixes_the_rest_and_touches_nothing_else(folder):
    made = _hostile_folder(folder)
    before = {p: p.read_bytes() for p in made.values() if p.is_file() and not p.is_symlink()}
    r = _run(["fix", "."], folder)
    assert (folder / "good.py").read_text() == "import keras\n"
    assert "Fixed 3 findings in 3 files" in r.stdout, r.stdout + r.stderr   # good.py and two notebooks
    for p, data in before.items():
        assert p.read_bytes() == data
    for case, path in made.items():
        assert len(_lines_about(r.stdout + r.stderr, path.name)) == 1, (case, r.stdout + r.stderr)


def test_cli_report_lists_each_hostile_file(folder):
    made = _hostile_folder(folder)
    r = _run(["report", ".", "--format", "json"], folder)
    assert r.returncode == 0, r.stderr
    problems = {p["file"]: p["problem"] for p in json.loads(r.stdout)["problems"]}
    for case, path in made.items():
        assert CASES[case][1] in problems[path.name], (case, problems)
    assert "good.py" in json.loads(r.stdout)["perFile"]


def test_workspace_report_of_the_editor_lists_each_hostile_file(folder):
    """``server/report.scan`` (the ``keras-migrate.report`` command) over the same folder, in a
    subprocess with a deadline: it used to hang forever on the FIFO."""
    made = _hostile_folder(folder)
    code = ("import json, sys; from pathlib import Path\n"
            "from keras_migrate.server.report import scan\n"
            "from keras_migrate.config import config_for\n"
            "d = scan([Path(sys.argv[1])], lambda p: config_for(p), lambda p: None, lambda *a: None)\n"
            "print(json.dumps(d['data']))\n")
    r = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=90,
                       env=dict(os.environ, **ENV), cwd="/")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    data = json.loads(r.stdout)
    problems = {p["file"]: p["problem"] for p in data["problems"]}
    for case, path in made.items():
        assert CASES[case][1] in problems[path.name], (case, problems)
    assert {"good.py", "meta_list.ipynb", "meta_str.ipynb"} <= set(data["perFile"])


def _unreadable(folder: Path) -> tuple[Path, bool]:
    locked = folder / "locked"
    (locked / "sub").mkdir(parents=True)
    _write(locked / "sub" / "a.py", GOOD)
    _write(folder / "good.py", GOOD)
    os.chmod(locked, 0)
    as_nobody = os.geteuid() == 0   # root reads any folder: drop to nobody after the imports
    return locked, as_nobody


def test_unreadable_folder_costs_one_line(folder):
    locked, nobody = _unreadable(folder)
    r = _run(["check", str(folder)], "/", as_nobody=nobody)
    assert f"warning: {locked}: skipped: cannot be read: Permission denied" in r.stderr, r.stderr
    assert "good.py:1:1: K101" in r.stdout
    assert r.returncode == 1
    r = _run(["check", str(locked)], "/", as_nobody=nobody)        # named: an error
    assert r.returncode == 2 and f"error: {locked}: cannot be read: Permission denied" in r.stderr, r.stderr
    r = _run(["report", str(folder), "--format", "json"], "/", as_nobody=nobody)
    problems = {p["file"]: p["problem"] for p in json.loads(r.stdout)["problems"]}
    assert problems == {"locked": "cannot be read: Permission denied"}
