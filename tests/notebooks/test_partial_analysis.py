"""One bad cell, one bad statement: reported once at its own place, the rest analysed."""
from __future__ import annotations

import json

from helpers import notebook, sources

from keras_migrate.cli import main
from keras_migrate.engine.analyze import Engine, top_level_starts
from keras_migrate.service import Linter


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


BAD_MIDDLE = notebook("import tensorflow as tf\n",
                      "m1 = tf.keras.Sequential()\n",
                      "def broken(:\n    pass\n",
                      ("markdown", "# text\n"),
                      "x = 1\nm2 = tf.keras.Sequential()\n")


def test_bad_cell_reported_once_at_its_cell_and_line_others_analysed(capsys, tmp_path):
    p = tmp_path / "nb.ipynb"
    p.write_text(BAD_MIDDLE)
    rc, out, _ = run(capsys, "check", str(p))
    assert rc == 1
    assert f"{p}:cell 2:1:6: K102" in out and f"{p}:cell 5:2:6: K102" in out
    bad = [ln for ln in out.splitlines() if "syntax error" in ln]
    assert bad == [f"{p}:cell 3:1:12: syntax error: invalid syntax"]
    assert "All checks passed" not in out
    assert "1 notebook cell(s) in 1 notebook(s) were not analysed" in out


def test_no_findings_but_a_bad_cell_is_not_all_checks_passed(capsys, tmp_path):
    p = tmp_path / "nb.ipynb"
    p.write_text(notebook("import keras\n", "if x:\n"))
    rc, out, _ = run(capsys, "check", str(p))
    assert rc == 1 and "All checks passed" not in out and "No findings in what was analysed" in out
    assert f"{p}:cell 2:1:6: syntax error" in out


def test_json_lists_the_bad_cell_with_its_index(capsys, tmp_path):
    p = tmp_path / "nb.ipynb"
    p.write_text(BAD_MIDDLE)
    rc, out, _ = run(capsys, "check", "--output-format", "json", str(p))
    data = json.loads(out)
    assert len(data["findings"]) == 2
    assert [(u["cell"], u["cell_index"], u["line"]) for u in data["not_analysed"]] == [(3, 2, 1)]


def test_later_cells_use_names_from_earlier_good_cells_across_a_bad_one():
    nr = Linter().check_cells(list(enumerate(["from tensorflow import keras\n", "oops(\n", "m = keras.Sequential()\n"])))
    assert [ce.key for ce in nr.cell_errors] == [1]
    assert {f.code for f, *_ in nr.cell_findings()} == {"K101"}


def test_fix_leaves_the_bad_cell_byte_identical_and_fixes_the_others(capsys, tmp_path):
    p = tmp_path / "nb.ipynb"
    p.write_text(BAD_MIDDLE)
    _, _, err = run(capsys, "fix", str(p))
    assert f"{p}: cell 3, line 1: left as it is: syntax error" in err
    new = sources(p.read_text())
    assert new[2] == "def broken(:\n    pass\n"
    assert "tf.keras" not in new[1] + new[4]
    raw = p.read_text()
    run(capsys, "fix", str(p))
    assert p.read_text() == raw


BROKEN_PY = ("import tensorflow as tf\n\n\ndef half_typed(x:\n    return x\n\n\n"
             "model = tf.keras.Sequential()\nmodel.save('saved_dir')\n")


def test_py_file_with_a_broken_function_still_analyses_the_rest(capsys, tmp_path):
    p = tmp_path / "a.py"
    p.write_text(BROKEN_PY)
    rc, out, _ = run(capsys, "check", str(p))
    assert rc == 1
    assert f"{p}:4:" in out and "syntax error" in out            # the real position
    assert f"{p}:8:9: K102" in out and f"{p}:9:12: K201" in out   # below the bad function
    assert "1 file(s) were analysed only in part" in out and "All checks passed" not in out


def test_py_file_with_a_syntax_error_is_not_fixed(capsys, tmp_path):
    p = tmp_path / "a.py"
    p.write_text(BROKEN_PY)
    run(capsys, "fix", str(p))
    assert p.read_text() == BROKEN_PY


def test_analysis_result_carries_every_error_and_says_partial():
    eng = Engine([r() for r in Linter().rules])
    text = "import tensorflow as tf\nif x\n    pass\nm = tf.keras.Sequential()\nclass A(:\n    pass\n"
    res = eng.analyze(text)
    assert res.partial and not res.failed and not res.ok
    assert [e.line for e in res.errors] == [1, 4]
    assert [f.code for f in res.findings] == ["K102"] and res.findings[0].range.start.line == 3
    assert len(res.analysed_text) == len(text)


def test_nothing_parses_is_failed():
    res = Engine([r() for r in Linter().rules]).analyze("import tensorflow as tf\nx = (\n")
    assert res.partial is False or res.findings == []
    assert res.errors


def test_top_level_starts_keep_decorators_and_else_with_their_statement():
    text = "@dec\ndef f():\n    pass\nif a:\n    pass\nelse:\n    pass\nx = (1,\n2)\ny = 2\n"
    assert top_level_starts(text) == [0, 3, 7, 9]


def test_top_level_starts_after_an_unclosed_bracket():
    text = "x = 1\ny = f(\nz = 2\nclass A:\n    pass\n"
    assert top_level_starts(text) == [0, 1, 2, 3]


def test_notebook_cell_with_a_non_breaking_space_is_reported_not_fatal():
    # IPython cannot run it either (U+00A0 in code); the other cells are analysed
    nr = Linter().check_cells(list(enumerate(["import tensorflow as tf\n", "x =\u00a0tf.keras.Input((1,))\n",
                                              "m = tf.keras.Sequential()\n"])))
    assert [ce.key for ce in nr.cell_errors] == [1] and "U+00A0" in nr.cell_errors[0].message
    assert [k for _, k, *_ in nr.cell_findings()] == [2]


def test_text_pasted_into_a_code_cell_is_reported_at_its_cell():
    nr = Linter().check_cells(list(enumerate(["import tensorflow as tf\n",
                                              "View experiment: https://example.org/2KIN/\n",
                                              "m = tf.keras.Sequential()\n"])))
    assert [(ce.key, ce.line) for ce in nr.cell_errors] == [(1, 0)]


def test_assignment_cell_with_an_empty_function_body():
    cell = "import tensorflow as tf\n\ndef todo(img):\n    # your code here\n\nurl = 'x'\n"
    nr = Linter().check_cells(list(enumerate([cell, "m = tf.keras.Sequential()\n"])))
    assert [(ce.key, ce.line) for ce in nr.cell_errors] == [(0, 5)]
    assert [k for _, k, *_ in nr.cell_findings()] == [1]


def test_summary_tells_a_file_analysed_in_part_from_one_not_analysed_at_all(capsys, tmp_path):
    """`--statistics` and the plain summary say the same, and a file whose every statement
    fails is "could not be analysed", while one with findings from the rest is "in part"."""
    part = tmp_path / "part.py"
    part.write_text(BROKEN_PY)
    whole = tmp_path / "whole.py"
    whole.write_text("tf.keras.Sequential(\n")   # its only statement does not parse
    for extra in ((), ("--statistics",)):
        rc, out, _ = run(capsys, "check", str(part), str(whole), *extra)
        assert rc == 1
        assert out.rstrip().endswith("1 file(s) could not be analysed; 1 file(s) were analysed only in part "
                                     "(code that does not parse) (listed above)."), out
