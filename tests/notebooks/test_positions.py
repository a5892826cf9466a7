"""Machine-readable notebook positions: JSON cell/cell_index/cell_id, SARIF and GitHub at
the line of the .ipynb file that holds the code."""
from __future__ import annotations

import json

from helpers import notebook

from keras_migrate.cli import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


RAW = notebook(("markdown", "# title\n"), "import tensorflow as tf\n", "x = 1\nm = tf.keras.Sequential()\n", ids=True)


def _file_line(raw: str, needle: str) -> int:
    return next(i for i, ln in enumerate(raw.splitlines(), 1) if needle in ln)


def test_json_has_cell_cell_index_and_cell_id(capsys, tmp_path):
    p = tmp_path / "n.ipynb"
    p.write_text(RAW)
    _, out, _ = run(capsys, "check", "--output-format", "json", str(p))
    f = json.loads(out)["findings"][0]
    assert (f["cell"], f["cell_index"], f["cell_id"]) == (3, 2, "id-2")
    assert f["range"]["start"] == {"line": 2, "column": 5}


def test_json_without_ids_has_no_cell_id(capsys, tmp_path):
    p = tmp_path / "n.ipynb"
    p.write_text(notebook("import tensorflow as tf\nm = tf.keras.Sequential()\n"))
    _, out, _ = run(capsys, "check", "--output-format", "json", str(p))
    f = json.loads(out)["findings"][0]
    assert f["cell_index"] == 0 and "cell_id" not in f


def test_sarif_points_at_the_line_in_the_ipynb_file(capsys, tmp_path):
    p = tmp_path / "n.ipynb"
    p.write_text(RAW)
    _, out, _ = run(capsys, "check", "--output-format", "sarif", str(p))
    res = json.loads(out)["runs"][0]["results"][0]
    region = res["locations"][0]["physicalLocation"]["region"]
    line = _file_line(RAW, '"m = tf.keras.Sequential()')
    assert region["startLine"] == line
    text = RAW.splitlines()[line - 1]
    assert text[region["startColumn"] - 1:].startswith("tf.keras.Sequential")
    assert res["properties"]["notebookCell"] == 3 and res["properties"]["cellLine"] == 2
    assert res["properties"]["cellIndex"] == 2 and res["properties"]["cellId"] == "id-2"


def test_github_annotation_points_at_the_line_in_the_ipynb_file(capsys, tmp_path):
    p = tmp_path / "n.ipynb"
    p.write_text(RAW)
    _, out, _ = run(capsys, "check", "--output-format", "github", str(p))
    line = _file_line(RAW, '"m = tf.keras.Sequential()')
    col = RAW.splitlines()[line - 1].index("tf.keras") + 1
    assert f",line={line},col={col}," in out.splitlines()[0]


def test_escaped_characters_before_the_finding_are_counted_in_the_file_column(capsys, tmp_path):
    p = tmp_path / "n.ipynb"
    raw = notebook("import tensorflow as tf\ns = '\u00e9\"'; m = tf.keras.Sequential()\n", ensure_ascii=True)
    p.write_text(raw)
    _, out, _ = run(capsys, "check", "--output-format", "github", str(p))
    line = _file_line(raw, "tf.keras.Sequential")
    col = raw.splitlines()[line - 1].index("tf.keras") + 1
    assert f",line={line},col={col}," in out


def test_bad_cell_in_sarif_points_at_its_line(capsys, tmp_path):
    p = tmp_path / "n.ipynb"
    raw = notebook("import keras\n", "x = 1\nif y\n")
    p.write_text(raw)
    _, out, _ = run(capsys, "check", "--output-format", "sarif", str(p))
    note = json.loads(out)["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]
    assert note["properties"]["notebookCell"] == 2
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == _file_line(raw, '"if y')
