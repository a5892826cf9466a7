"""Security of the CLI and the server's entry points (issue 18): symlinks out of the target are
never read or rewritten, GitHub annotations cannot be forged through a file name, and the
server has no network listener."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_migrate.cli import main

KERAS2 = "from tensorflow import keras\nopt = keras.optimizers.Adam(lr=0.01)\n"


def _run(argv, capsys):
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_fix_never_rewrites_files_outside_the_target_through_symlinks(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.py").write_text(KERAS2, encoding="utf-8")
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "own.py").write_text(KERAS2, encoding="utf-8")
    (proj / "linked_dir").symlink_to(outside, target_is_directory=True)
    (proj / "linked_file.py").symlink_to(outside / "victim.py")
    # a link inside the target to another part of the target is fine
    (proj / "sub").mkdir()
    (proj / "sub" / "inner.py").write_text(KERAS2, encoding="utf-8")
    (proj / "alias").symlink_to(proj / "sub", target_is_directory=True)

    rc, out, err = _run(["check", str(proj)], capsys)
    assert "victim" not in out and "linked" not in out
    assert "own.py" in out and "inner.py" in out
    rc, out, err = _run(["fix", "--unsafe-fixes", str(proj)], capsys)
    assert (outside / "victim.py").read_text(encoding="utf-8") == KERAS2
    assert (proj / "own.py").read_text(encoding="utf-8") != KERAS2


def test_a_link_to_the_root_of_the_filesystem_is_not_walked(tmp_path, capsys):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "a.py").write_text(KERAS2, encoding="utf-8")
    (proj / "root").symlink_to("/", target_is_directory=True)
    rc, out, err = _run(["check", str(proj)], capsys)
    assert rc == 1 and "a.py" in out
    assert "1 file" in (out + err)


def test_workspace_index_does_not_read_through_a_symlink_out_of_the_root(tmp_path):
    from keras_migrate.engine.workspace import WorkspaceIndex

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "base.py").write_text("from tensorflow import keras\nclass Base(keras.layers.Layer):\n    pass\n",
                                     encoding="utf-8")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "base.py").symlink_to(outside / "base.py")
    (ws / "local.py").write_text("from tensorflow import keras\nclass Local(keras.layers.Layer):\n    pass\n",
                                 encoding="utf-8")
    index = WorkspaceIndex(str(ws))
    assert index.class_kinds("local", "Local", from_path=str(ws / "user.py"))
    assert not index.class_kinds("base", "Base", from_path=str(ws / "user.py"))
    assert index.stats["parsed"] == 1


def test_github_annotations_escape_file_names(tmp_path, capsys):
    name = "a,b:c%d\n::error file=x.py::forged.py"
    f = tmp_path / name
    f.write_text(KERAS2, encoding="utf-8")
    rc, out, err = _run(["check", "--format", "github", str(f)], capsys)
    lines = out.splitlines()
    assert len(lines) == 2, out  # two findings, two annotations: the newline started no command
    for line in lines:
        assert line.startswith(("::warning file=", "::error file="))
        assert "forged" in line and "%0A" in line and "%2C" in line and "%3A" in line and "%25" in line
        props = line.split("::")[1]
        assert props.count(",") == 5  # file, line, col, endLine, endColumn, title: no extra property


def test_server_has_no_tcp_mode():
    proc = subprocess.run([sys.executable, "-m", "keras_migrate", "server", "--tcp", "--port", "2087"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "TCP is not supported" in proc.stderr


def test_a_broken_install_is_not_reported_as_a_missing_cli(tmp_path):
    """The entry point used to swallow every ImportError as "the command line is not installed"
    (that is how a shadowing workspace module went unnoticed)."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "difflib.py").write_text("raise ImportError('shadowed difflib')\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(lib))
    proc = subprocess.run([sys.executable, "-m", "keras_migrate", "--version"], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp_path)
    assert "not installed in this build" not in proc.stderr
    assert proc.returncode != 0 and "shadowed difflib" in proc.stderr
