"""The CLI as a user runs it: exit codes, formats, fix in place, notebooks, config."""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from keras_migrate.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KERAS2 = 'import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n'
CLEAN = "import keras\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def proj(tmp_path):
    (tmp_path / "a.py").write_text(KERAS2)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def test_check_reports_and_exits_1(capsys, proj):
    rc, out, _ = run(capsys, "check", str(proj))
    assert rc == 1
    assert f"{proj / 'a.py'}:2:9: K102 [*] `tf.keras.Sequential`" in out
    assert "Found 2 findings in 1 file (2 checked)." in out
    assert "[*] 2 fixable" in out


def test_check_clean_exits_0(capsys, proj):
    rc, out, _ = run(capsys, "check", str(proj / "clean.py"))
    assert rc == 0 and "All checks passed" in out


def test_missing_path_exits_2(capsys, tmp_path):
    rc, _, err = run(capsys, "check", str(tmp_path / "nope"))
    assert rc == 2 and "no such file" in err


def test_json_format(capsys, proj):
    rc, out, _ = run(capsys, "check", "--format", "json", str(proj / "a.py"))
    data = json.loads(out)
    f = data["findings"][0]
    assert f["code"] == "K102" and f["name"] == "tf-keras-attribute"
    assert f["range"] == {"start": {"line": 2, "column": 9}, "end": {"line": 2, "column": 28}}
    assert {k: f["fix"][k] for k in ("available", "applicability", "title")} == \
        {"available": True, "applicability": "safe", "title": "Replace with `keras.Sequential`"}
    assert f["severity"] == "warning"


def test_sarif_validates_against_schema(capsys, proj):
    (proj / "u.py").write_text('import tensorflow as tf\ns = "😀"; m = tf.keras.Sequential()\n')
    rc, out, _ = run(capsys, "check", "--format", "sarif", str(proj))
    log = json.loads(out)
    schema = json.loads((FIXTURES / "sarif-2.1.0-rtm.5.json").read_text())
    jsonschema.validate(log, schema)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"K102"}
    u = [r for r in results if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("u.py")][0]
    # columns are UTF-16 code units: the emoji takes two (code point column 14, UTF-16 column 15)
    assert u["locations"][0]["physicalLocation"]["region"]["startColumn"] == 15


def test_github_format(capsys, proj):
    rc, out, _ = run(capsys, "check", "--format", "github", str(proj / "a.py"))
    assert out.startswith("::warning file=") and "line=2,col=9,endLine=2,endColumn=28,title=K102" in out


def test_stdin_filename(proj):
    p = subprocess.run([sys.executable, "-m", "keras_migrate", "check", "--stdin-filename", "x.py"],
                       input=KERAS2, capture_output=True, text=True, cwd=proj)
    assert p.returncode == 1 and "x.py:2:9: K102" in p.stdout


def test_fix_in_place_is_idempotent_and_keeps_bytes(capsys, proj):
    src = "# -*- coding: utf-8 -*-\r\nimport tensorflow as tf  # keep\r\n\r\nm = tf.keras.Sequential(  # comment\r\n    [],\r\n)\r\n"
    p = proj / "crlf.py"
    p.write_bytes(src.encode())
    rc, out, _ = run(capsys, "fix", str(p))
    new = p.read_bytes().decode()
    assert new == "# -*- coding: utf-8 -*-\r\nimport keras\r\n\r\nm = keras.Sequential(  # comment\r\n    [],\r\n)\r\n"
    rc2, out2, _ = run(capsys, "fix", str(p))
    assert p.read_bytes().decode() == new
    assert "Fixed 0 findings" in out2 and rc2 == 0


def test_fix_diff_writes_nothing(capsys, proj):
    rc, out, err = run(capsys, "fix", "--diff", str(proj / "a.py"))
    assert rc == 1
    assert "-model = tf.keras.Sequential([tf.keras.layers.Dense(1)])" in out
    assert "+model = keras.Sequential([keras.layers.Dense(1)])" in out
    assert (proj / "a.py").read_text() == KERAS2


def test_syntax_error_file_is_reported_not_touched(capsys, proj):
    p = proj / "broken.py"
    p.write_text("import tensorflow as tf\nx = tf.keras.Sequential(\n")
    rc, out, _ = run(capsys, "check", str(p))
    assert rc == 1 and "syntax error" in out
    run(capsys, "fix", str(p))
    assert p.read_text() == "import tensorflow as tf\nx = tf.keras.Sequential(\n"


def test_noqa(capsys, tmp_path):
    p = tmp_path / "n.py"
    p.write_text("import tensorflow as tf\na = tf.keras.Sequential()  # noqa: K102\nb = tf.keras.Sequential()  # noqa\n"
                 "c = tf.keras.Sequential()  # noqa: K999\n")
    rc, out, _ = run(capsys, "check", str(p))
    assert out.count("K102") == 1 and ":4:5:" in out


def test_gitignore_and_venvs_are_skipped(capsys, tmp_path):
    (tmp_path / ".gitignore").write_text("generated/\n*.gen.py\n")
    for rel in ["generated/x.py", "y.gen.py", "venv/lib/z.py", "build/b.py", "pkg/site-packages/s.py", "ok.py"]:
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(KERAS2)
    (tmp_path / "myenv").mkdir()
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "myenv" / "e.py").write_text(KERAS2)
    rc, out, _ = run(capsys, "check", "--format", "json", str(tmp_path))
    paths = {Path(f["path"]).name for f in json.loads(out)["findings"]}
    assert paths == {"ok.py"}


def test_pyproject_config(capsys, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.keras-migrate]\nignore = ["K10"]\nper-file-ignores = {"legacy/*" = ["K1"]}\n')
    (tmp_path / "a.py").write_text(KERAS2)
    rc, out, _ = run(capsys, "check", str(tmp_path))
    assert rc == 0, out
    rc, out, _ = run(capsys, "check", "--select", "K102", str(tmp_path))
    assert rc == 1 and "K102" in out  # the command line overrides the file


def test_per_file_ignores(capsys, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.keras-migrate]\nper-file-ignores = {"legacy/*" = ["K1"]}\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.py").write_text(KERAS2)
    (tmp_path / "new.py").write_text(KERAS2)
    rc, out, _ = run(capsys, "check", "--format", "json", str(tmp_path))
    assert {Path(f["path"]).name for f in json.loads(out)["findings"]} == {"new.py"}


@pytest.mark.parametrize("table,key", [
    ('select = "K1O1"', "select"),
    ('target-backends = ["tensorflow", "mxnet"]', "target-backends"),
    ('keras-version = "2.15"', "keras-version"),
    ('colour = "red"', "colour"),
])
def test_malformed_config_names_the_key(capsys, tmp_path, table, key):
    (tmp_path / "pyproject.toml").write_text(f"[tool.keras-migrate]\n{table}\n")
    (tmp_path / "a.py").write_text(KERAS2)
    rc, out, err = run(capsys, "check", str(tmp_path))
    assert rc == 2 and f"`{key}`" in err and "Traceback" not in err


def test_unparsable_pyproject(capsys, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.keras-migrate\nselect=\n")
    (tmp_path / "a.py").write_text(KERAS2)
    rc, out, err = run(capsys, "check", str(tmp_path))
    assert rc == 2 and "does not parse" in err


def test_non_utf8_file_is_an_io_error(capsys, tmp_path):
    (tmp_path / "bad.py").write_bytes(b"import tensorflow as tf\nx = '\xff\xfe'\n")
    rc, out, err = run(capsys, "check", str(tmp_path))
    assert rc == 2 and "not valid utf-8 text" in err and "bad.py" in err


NB = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# t\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {"tags": ["x"]}, "outputs": [],
         "source": ["%matplotlib inline\n", "import tensorflow as tf"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {},
         "outputs": [{"name": "stdout", "output_type": "stream", "text": ["hi\n"]}],
         "source": ["!pip install keras\n", "m = tf.keras.Sequential()\n", "print('hi')"]},
    ],
    "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5,
}


def test_notebook_findings_name_the_cell(capsys, tmp_path):
    p = tmp_path / "n.ipynb"
    p.write_text(json.dumps(NB, indent=1) + "\n")
    rc, out, _ = run(capsys, "check", str(p))
    assert f"{p}:cell 3:2:5: K102" in out


def test_notebook_round_trips_byte_identical_when_clean(capsys, tmp_path):
    nb = json.loads(json.dumps(NB))
    nb["cells"][2]["source"] = ["!pip install keras\n", "x = 1\n"]
    raw = json.dumps(nb, indent=2, sort_keys=True) + "\n"
    p = tmp_path / "clean.ipynb"
    p.write_text(raw)
    run(capsys, "fix", str(p))
    assert p.read_text() == raw


def test_notebook_fix_keeps_outputs_and_metadata(capsys, tmp_path):
    p = tmp_path / "n.ipynb"
    p.write_text(json.dumps(NB, indent=1) + "\n")
    run(capsys, "fix", str(p))
    nb = json.loads(p.read_text())
    assert nb["cells"][1]["source"] == ["%matplotlib inline\n", "import keras"]
    assert nb["cells"][2]["source"] == ["!pip install keras\n", "m = keras.Sequential()\n", "print('hi')"]
    assert nb["cells"][2]["outputs"] == NB["cells"][2]["outputs"]
    assert nb["cells"][1]["metadata"] == {"tags": ["x"]}
    before = p.read_text()
    run(capsys, "fix", str(p))
    assert p.read_text() == before


def test_malformed_notebook(capsys, tmp_path):
    (tmp_path / "bad.ipynb").write_text("{not json")
    (tmp_path / "nocells.ipynb").write_text('{"metadata": {}}')
    rc, out, _ = run(capsys, "check", str(tmp_path))
    assert rc == 1 and "bad.ipynb: not a valid notebook" in out and "nocells.ipynb: not a valid notebook" in out


def test_rules_and_rule(capsys):
    rc, out, _ = run(capsys, "rules")
    assert rc == 0 and "K101  tensorflow-keras-import" in out
    rc, out, _ = run(capsys, "rule", "K101")
    assert rc == 0 and "## What it does" in out and "## Fix safety" in out
    rc, _, err = run(capsys, "rule", "K999")
    assert rc == 2


def test_rules_doc_is_generated_not_hand_written(capsys):
    rc, out, _ = run(capsys, "rules", "--format", "markdown")
    doc = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    assert doc.read_text() == out, "docs/rules.md is stale: run `keras-migrate rules --format markdown > docs/rules.md`"


def test_cross_file_base_class_is_known(capsys, tmp_path):
    """A Layer subclass whose base lives in another module of the project (jedi + our index)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "base.py").write_text("import tensorflow as tf\nclass Base(tf.keras.layers.Layer):\n    pass\n")
    (tmp_path / "blk.py").write_text("import tensorflow as tf\nfrom pkg.base import Base\n"
                                     "class Blk(Base):\n    def build(self, s):\n        self.v = tf.Variable(1.0)\n")
    (tmp_path / "other.py").write_text("import tensorflow as tf\nclass Plain:\n    def build(self, s):\n"
                                       "        self.v = tf.Variable(1.0)\n")
    rc, out, _ = run(capsys, "check", "--select", "K301", str(tmp_path))
    assert "blk.py:5:18: K301" in out and "other.py" not in out


def test_noqa_covers_the_logical_line(capsys, tmp_path):
    p = tmp_path / "n.py"
    p.write_text("import tensorflow as tf\na = tf.keras.Sequential(\n    [],\n)  # noqa: K102\n"
                 "b = tf.keras.Sequential() + \\\n    1  # noqa\nc = tf.keras.Sequential()\n")
    rc, out, _ = run(capsys, "check", str(p))
    assert out.count("K102") == 1 and ":7:5:" in out
