"""One discovery and one configuration model: the CLI (`check`, `report`) and the editor's
report command (the real server over stdio) see the same files and the same findings on a
tree that exercises every part of it: nested tables, .gitignore with a negation,
.git/info/exclude, a virtualenv, a .pyi stub, a notebook, excludes, per-file-ignores."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from lsprotocol import types

from keras_migrate.cli import main
from lsp_helpers import start

pytestmark = pytest.mark.asyncio

KERAS2 = ('import tensorflow as tf\nfrom tensorflow import keras\nmodel = tf.keras.Sequential()\n'
          'layer = keras.layers.Dense(1)\n')
NB = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                 "source": ["import tensorflow as tf\n", "m = tf.keras.Sequential()\n"]}],
      "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def make_tree(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    files = {
        "pyproject.toml": '[tool.keras-migrate]\nexclude = ["vendor"]\nper-file-ignores = {"**/test_*.py" = ["K101"]}\n',
        ".gitignore": "*.gen.py\n",
        "a.py": KERAS2, "test_a.py": KERAS2, "stub.pyi": KERAS2, "x.gen.py": KERAS2,
        "nb.ipynb": json.dumps(NB), "local.py": KERAS2,
        "sub/pyproject.toml": '[tool.keras-migrate]\nignore = ["K102"]\n',
        "sub/.gitignore": "!keep.gen.py\n", "sub/keep.gen.py": KERAS2, "sub/b.py": KERAS2,
        "vendor/v.py": KERAS2, "pkg/vendor/w.py": KERAS2,
        "env1/pyvenv.cfg": "home = /usr\n", "env1/lib/site.py": KERAS2,
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("local.py\n")


EXPECTED_FILES = ["a.py", "nb.ipynb", "stub.pyi", "sub/b.py", "sub/keep.gen.py", "test_a.py"]


def cli_json(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert rc in (0, 1), err
    return json.loads(out)


async def test_cli_and_server_report_see_the_same_files_and_findings(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))   # no global git excludes of the machine's user
    ws = tmp_path / "ws"
    ws.mkdir()
    make_tree(ws)
    monkeypatch.chdir(ws)

    check = cli_json(capsys, "check", "--output-format", "json", ".")
    per_file_check: dict = {}
    for f in check["findings"]:
        counts = per_file_check.setdefault(Path(f["path"]).as_posix(), {})
        counts[f["code"]] = counts.get(f["code"], 0) + 1
    cli_report = cli_json(capsys, "report", "--format", "json", ".")

    client = await start(ws)
    try:
        result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="keras-migrate.report", arguments=[]))
    finally:
        await client.shutdown_session()
        await client.stop()
    server = result["data"]

    assert [r["file"] for r in cli_report["records"]] == EXPECTED_FILES
    assert [r["file"] for r in server["records"]] == EXPECTED_FILES
    assert check["files_checked"] == len(EXPECTED_FILES)
    assert server["perFile"] == cli_report["perFile"] == per_file_check
    # the per-file answers themselves: sub/ ignores K102, test_*.py (top level too) K101
    assert per_file_check["sub/b.py"] == {"K101": 1} and per_file_check["test_a.py"] == {"K102": 1}
    assert per_file_check["a.py"] == {"K101": 1, "K102": 1}
    assert server["ready"] == cli_report["ready"] and server["perRule"] == cli_report["perRule"]
    assert result["markdown"].startswith("# Keras migration report")
