"""Every --output-format checked against its schema or a real consumer: SARIF 2.1.0 (the
OASIS schema), GitLab Code Quality (a schema of GitLab's documented fields), JUnit XML (read
back by junitparser), JSON with each fix's edits (applied back, they give the fixed file)."""
import json
from pathlib import Path

import jsonschema
import junitparser
import pytest

from keras_migrate.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KERAS2 = 'import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n'
NB = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# t\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": ["import tensorflow as tf\n"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
         "source": ["x = 1\n", "m = tf.keras.Sequential()\n"]},
    ],
    "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5,
}


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(KERAS2)
    (tmp_path / "clean.py").write_text("import keras\n")
    (tmp_path / "broken.py").write_text("import tensorflow as tf\nx = tf.keras.Sequential(\n")
    (tmp_path / "n.ipynb").write_text(json.dumps(NB))
    return tmp_path


def _apply(text: str, edits: list[dict]) -> str:
    lines = text.splitlines(keepends=True)
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln))

    def off(loc):
        return starts[loc["row"] - 1] + loc["column"] - 1

    for e in sorted(edits, key=lambda e: off(e["location"]), reverse=True):
        text = text[:off(e["location"])] + e["content"] + text[off(e["end_location"]):]
    return text


def test_names_and_alias(capsys, tree):
    rc1, concise, _ = run(capsys, "check", "--output-format", "concise", "a.py")
    rc2, text, _ = run(capsys, "check", "--format", "text", "a.py")
    assert rc1 == rc2 == 1 and concise == text
    assert concise.splitlines()[0] == "a.py:2:9: K102 [*] `tf.keras.Sequential` reaches Keras through " \
                                      "TensorFlow; use `keras.Sequential`"


def test_full_shows_the_line_and_a_caret(capsys, tree):
    (tree / "t.py").write_text("import tensorflow as tf\nif 1:\n\tm = tf.keras.Sequential()\n")
    rc, out, _ = run(capsys, "check", "--output-format", "full", "t.py")
    lines = out.splitlines()
    assert lines[0].startswith("t.py:3:6: K102 [*]")
    assert lines[2] == "3 |     m = tf.keras.Sequential()"      # the tab shown as 4 columns
    assert lines[3] == "  |         ^^^^^^^^^^^^^^^^^^^ K102"   # under `tf.keras.Sequential`
    assert "= help: Replace with `keras.Sequential`  (Safe fix)" in out


def test_json_edits_rebuild_each_fix(capsys, tree):
    rc, out, _ = run(capsys, "check", "--output-format", "json", "a.py")
    findings = json.loads(out)["findings"]
    assert [f["code"] for f in findings] == ["K102", "K102"]
    first = findings[0]["fix"]
    assert first["applicability"] == "safe" and first["message"] == "Replace with `keras.Sequential`"
    # the edits include the import the fix adds, as ruff's do
    assert _apply(KERAS2, first["edits"]) == \
        "import tensorflow as tf\nimport keras\nmodel = keras.Sequential([tf.keras.layers.Dense(1)])\n"
    assert findings[0]["noqa_row"] == 2


def test_json_notebook_edits_are_cell_positions(capsys, tree):
    rc, out, _ = run(capsys, "check", "--output-format", "json", "n.ipynb")
    (f,) = json.loads(out)["findings"]
    assert f["cell"] == 3 and f["range"]["start"] == {"line": 2, "column": 5}
    rows = {(e["location"]["row"], e["content"]) for e in f["fix"]["edits"]}
    assert (2, "") in rows   # `tf.` removed on line 2 of the cell


def test_json_lines(capsys, tree):
    rc, out, _ = run(capsys, "check", "--output-format", "json-lines", ".")
    objs = [json.loads(line) for line in out.splitlines()]
    assert {o["code"] for o in objs} == {"K102", None}
    (bad,) = [o for o in objs if o["code"] is None]
    assert bad["path"] == "broken.py" and bad["line"] == 2 and "never closed" in bad["message"]


def test_sarif_lists_unparsable_files_as_notifications(capsys, tree):
    rc, out, _ = run(capsys, "check", "--output-format", "sarif", ".")
    log = json.loads(out)
    jsonschema.validate(log, json.loads((FIXTURES / "sarif-2.1.0-rtm.5.json").read_text()))
    inv = log["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    (note,) = inv["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"
    assert "syntax error" in note["message"]["text"] and note["level"] == "error"


def test_gitlab_code_quality(capsys, tree):
    rc, out, _ = run(capsys, "check", "--output-format", "gitlab", str(tree))
    issues = json.loads(out)
    jsonschema.validate(issues, json.loads((FIXTURES / "gitlab-codequality.schema.json").read_text()))
    # GitLab shows only the first issue of a fingerprint: each must be unique
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert {i["location"]["path"] for i in issues} == {"a.py", "broken.py", "n.ipynb"}   # relative to the project
    # stable across runs: the same tree gives the same fingerprints
    rc, again, _ = run(capsys, "check", "--output-format", "gitlab", str(tree))
    assert [i["fingerprint"] for i in json.loads(again)] == [i["fingerprint"] for i in issues]


def test_junit_read_by_junitparser(capsys, tree):
    rc, out, _ = run(capsys, "check", "--output-format", "junit", ".")
    xml = junitparser.JUnitXml.fromstring(out)
    suites = {s.name: s for s in xml}
    assert set(suites) == {"a.py", "clean.py", "broken.py", "n.ipynb"}
    assert suites["a.py"].failures == 2 and suites["a.py"].tests == 2
    assert suites["clean.py"].failures == 0 and suites["clean.py"].tests == 1
    assert suites["broken.py"].errors == 1
    case = next(iter(suites["a.py"]))
    assert case.name == "keras-migrate.K102" and "line 2, col 9" in case.result[0].text


@pytest.mark.parametrize("name", ["a,b:c.py", "new\nline.py"])
def test_github_escapes_file_names(capsys, tree, name):
    (tree / name).write_text(KERAS2)
    rc, out, _ = run(capsys, "check", "--output-format", "github", name)
    line = out.splitlines()[0]
    prop = line.split(" ", 1)[1].split("::", 1)[0]
    assert prop.startswith("file=" + name.replace(",", "%2C").replace(":", "%3A").replace("\n", "%0A") + ",line=2,")
    assert len(out.splitlines()) == 2   # one annotation per finding, no line broken by the name


# Python breaks lines at \r\n, \r and \n only; str.splitlines also at \f, \v, \x1c-\x1e,
# \x85, \u2028, \u2029, which put columns and source lines on the wrong line.
ODD = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
FLAGGED = "import numpy as np; from tensorflow import keras\n"   # K101 at column 21
PLAIN = 'note = "x"\n' + FLAGGED


@pytest.mark.parametrize("ch", ODD, ids=[hex(ord(c)) for c in ODD])
def test_columns_after_characters_splitlines_breaks_at(capsys, tmp_path, monkeypatch, ch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd.py").write_text(f'note = "{ch}x"\n' + FLAGGED, encoding="utf-8", newline="")
    (tmp_path / "plain.py").write_text(PLAIN, encoding="utf-8", newline="")
    rc, out, _ = run(capsys, "check", "--no-cache", "--select", "K101", "--output-format", "sarif", "odd.py")
    assert rc == 1
    region = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, 21), region
    assert (region["endLine"], region["endColumn"]) == (2, 49), region
    rc, out, _ = run(capsys, "check", "--no-cache", "--select", "K101", "--output-format", "github", "odd.py")
    assert "line=2,col=21,endLine=2,endColumn=49" in out, out
    rc, out, _ = run(capsys, "check", "--no-cache", "--select", "K101", "--output-format", "full", "odd.py")
    assert "from tensorflow import keras" in out and "^^^" in out, out
    # GitLab's fingerprint is made from the flagged line: the same line, the same issue
    rc, out, _ = run(capsys, "check", "--no-cache", "--select", "K101", "--output-format", "gitlab",
                     "odd.py", "plain.py")
    fps = {i["location"]["path"]: i["fingerprint"] for i in json.loads(out)}
    from keras_migrate.formats import _fingerprint
    assert fps["odd.py"] == _fingerprint("K101", "odd.py", None, FLAGGED.strip(), 0)


def test_utf16_columns_on_the_engine_line_table():
    from keras_migrate.engine.source import SourceText
    s = SourceText('a = "\f😀"\r\nb = "é" ; c\rd\u2028e\n')
    assert s.line_count == 4
    assert s.utf16_col(0, 7) == 8            # the emoji is two UTF-16 units; \f is one
    assert s.utf16_col(1, 10) == 10 and s.utf16_col(1, 99) == 11   # past the end: the line
    assert s.utf16_col(2, 3) == 3 and s.utf16_col(3, 5) == 0 and s.utf16_col(9, 1) == 0
