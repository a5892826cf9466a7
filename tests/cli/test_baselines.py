"""Baselines for a long migration: --add-noqa (idempotent, merges, notebooks, logical
lines), the file-level `# keras-migrate: noqa`, the unused-noqa finding K900 (unknown and
stale codes), --exit-zero and --statistics."""
import ast
import json
from pathlib import Path

from keras_migrate.cli import main

SRC = ("import tensorflow as tf\n"
       "from tensorflow import keras\n"
       "m = tf.keras.Sequential([\n"
       "    tf.keras.layers.Dense(1),\n"
       "])\n"
       "s = '''text\n"
       "''' + str(tf.keras.layers.Dense)\n"
       "x = tf.keras.Sequential()  # noqa: E501\n"
       "y = tf.keras.Input((1,))  # keep this comment\n")


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def findings(capsys, path) -> list:
    rc, out, err = run(capsys, "check", "--output-format", "json", str(path))
    return json.loads(out)["findings"]


def test_add_noqa_suppresses_everything_and_is_idempotent(capsys, tmp_path):
    p = tmp_path / "a.py"
    p.write_text(SRC)
    before = findings(capsys, p)
    assert len(before) >= 5
    rc, out, _ = run(capsys, "check", "--add-noqa", str(p))
    assert rc == 0 and out.startswith("Added ")
    new = p.read_text()
    ast.parse(new)
    assert findings(capsys, p) == []          # the baseline: nothing reported now
    lines = new.splitlines()
    # a statement over several lines gets its comment on its last line, the line of a
    # multi-line string after the string; existing comments are kept and merged into
    assert lines[4] == "])  # noqa: K102"
    assert lines[6] == "''' + str(tf.keras.layers.Dense)  # noqa: K102"
    assert lines[7] == "x = tf.keras.Sequential()  # noqa: E501, K102"
    assert lines[8] == "y = tf.keras.Input((1,))  # keep this comment  # noqa: K102"
    assert lines[1] == "from tensorflow import keras  # noqa: K101"
    rc, out, _ = run(capsys, "check", "--add-noqa", str(p))
    assert p.read_text() == new and out.startswith("Added 0 noqa directives")


def test_add_noqa_in_notebook_cells(capsys, tmp_path):
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": ["%matplotlib inline\n", "import tensorflow as tf\n"]},
                    {"cell_type": "markdown", "metadata": {}, "source": ["m = tf.keras.Sequential()"]},
                    {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": ["m = tf.keras.Sequential()\n", "n = 1"]}],
          "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    p = tmp_path / "n.ipynb"
    p.write_text(json.dumps(nb, indent=1) + "\n")
    assert len(findings(capsys, p)) == 1
    run(capsys, "check", "--add-noqa", str(p))
    got = json.loads(p.read_text())
    assert got["cells"][2]["source"] == ["m = tf.keras.Sequential()  # noqa: K102\n", "n = 1"]
    assert got["cells"][1] == nb["cells"][1] and got["cells"][0] == nb["cells"][0]
    assert findings(capsys, p) == []
    before = p.read_text()
    run(capsys, "check", "--add-noqa", str(p))
    assert p.read_text() == before


def test_file_level_noqa(capsys, tmp_path):
    p = tmp_path / "a.py"
    p.write_text("# keras-migrate: noqa\n" + SRC)
    assert findings(capsys, p) == []
    p.write_text("# keras-migrate: noqa: K102\n" + SRC)
    assert {f["code"] for f in findings(capsys, p)} == {"K101"}
    p.write_text(SRC.replace("import tensorflow as tf\n", "import tensorflow as tf  # Keras-Migrate: NOQA: K101\n"))
    assert {f["code"] for f in findings(capsys, p)} == {"K102"}


def test_unused_and_unknown_noqa_codes(capsys, tmp_path):
    p = tmp_path / "a.py"
    p.write_text("import tensorflow as tf\n"
                 "a = tf.keras.Sequential()  # noqa: K102\n"        # used
                 "b = tf.constant(1)  # noqa: K102, E501\n"          # K102 stale here
                 "c = tf.constant(2)  # noqa: K9999\n"               # unknown
                 "d = tf.constant(3)  # noqa: K1020\n")              # a typo of K102
    got = [(f["range"]["start"]["line"], f["code"], f["message"]) for f in findings(capsys, p)]
    assert got == [
        (3, "K900", "Unused `noqa` directive (unused: `K102`)"),
        (4, "K900", "Unused `noqa` directive (unknown: `K9999`)"),
        (5, "K900", "Unused `noqa` directive (unknown: `K1020` (did you mean `K102`?))"),
    ]
    rc, out, _ = run(capsys, "fix", str(p))
    # only the unused codes go; the suppressed K102 on line 2 stays suppressed (not fixed)
    assert p.read_text() == ("import tensorflow as tf\na = tf.keras.Sequential()  # noqa: K102\n"
                             "b = tf.constant(1)  # noqa: E501\nc = tf.constant(2)\nd = tf.constant(3)\n")
    assert findings(capsys, p) == []


def test_rules_not_enabled_are_not_judged(capsys, tmp_path):
    p = tmp_path / "a.py"
    p.write_text("import tensorflow as tf\nb = tf.constant(1)  # noqa: K102\n")
    rc, out, _ = run(capsys, "check", "--ignore", "K102", str(p))
    assert rc == 0 and "All checks passed" in out
    rc, out, _ = run(capsys, "check", str(p))
    assert rc == 1 and "K900" in out


def test_exit_zero_and_statistics(capsys, tmp_path):
    p = tmp_path / "a.py"
    p.write_text(SRC)
    rc, out, _ = run(capsys, "check", "--exit-zero", str(p))
    assert rc == 0 and "K102" in out
    rc, out, _ = run(capsys, "check", "--statistics", str(p))
    lines = out.splitlines()
    assert rc == 1 and lines[0].split("\t") == ["5", "K102", "[*] tf-keras-attribute"]
    assert lines[1].split("\t") == ["1", "K101", "[*] tensorflow-keras-import"]
    rc, out, _ = run(capsys, "check", "--statistics", "--output-format", "json", str(p))
    assert json.loads(out)[0] == {"code": "K102", "name": "tf-keras-attribute", "count": 5,
                                  "fixable": True, "fixable_count": 5}
    rc, _, err = run(capsys, "check", "--exit-zero", str(tmp_path / "missing.py"))
    assert rc == 2


def test_add_noqa_lands_on_the_flagged_line_after_a_form_feed(capsys, tmp_path):
    """--add-noqa wrote the comment on the wrong line after a character ``str.splitlines``
    breaks at (\\f, \\v, \\x85, \\u2028, ...) but Python does not: the finding stayed."""
    p = tmp_path / "ff.py"
    src = 'note = "\f\x85"\nfrom tensorflow import keras\nm = keras.Sequential()\n'
    p.write_text(src, encoding="utf-8", newline="")
    assert [f["code"] for f in findings(capsys, p)] == ["K101"]
    rc, out, _ = run(capsys, "check", "--add-noqa", str(p))
    assert rc == 0 and out.startswith("Added 1 ")
    new = p.read_bytes().decode("utf-8")
    assert new == 'note = "\f\x85"\nfrom tensorflow import keras  # noqa: K101\nm = keras.Sequential()\n'
    assert findings(capsys, p) == []


def test_noqa_written_by_the_tools_is_the_noqa_the_engine_reads():
    """The CLI's --add-noqa, the server's quick fix and suppression share one parser."""
    from keras_migrate.engine.analyze import noqa_map, parse_noqa
    from keras_migrate.engine.source import SourceText
    from keras_migrate.server.actions import noqa_edit
    for line in ["x = 1", "x = 1  # noqa: k101", "x = 1  #noqa:K101 , K2", "x = 1  # NOQA", "x = 1  # nota bene"]:
        text = line + "\n"
        e = noqa_edit(text, 0, "K102")
        new = text if e is None else text[:e.start] + e.new_text + text[e.end:]
        codes = noqa_map(SourceText(new))[0]
        assert codes is None or "K102" in codes, (line, new)
        c = parse_noqa(new.rstrip("\n"))
        assert c is not None and (c.codes is None or "K102" in c.codes)
