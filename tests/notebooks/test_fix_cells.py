"""Fixes that respect cells: insertions stay in their cell, imports go with the notebook's
imports, every cell keeps its own end, a second fix changes nothing, bytes outside the
edited cells never change."""
from __future__ import annotations

import ast
import json

import pytest
from helpers import notebook, sources

from keras_migrate.engine.model import Edit
from keras_migrate.engine.notebook import VirtualSource, mask_magics, source_spans, write_cells
from keras_migrate.service import Linter

LINTER = Linter()


def fix(raw: str, unsafe: bool = True) -> str:
    new, _ = LINTER.fix_notebook(raw, None, unsafe)
    again, _ = LINTER.fix_notebook(new, None, unsafe)
    assert again == new, "a second fix changed something"
    for cell in json.loads(new)["cells"]:
        if cell["cell_type"] == "code":
            ast.parse(mask_magics("".join(cell["source"])))
    return new


def test_decorator_for_a_class_at_the_top_of_a_cell_lands_in_that_cell():
    raw = notebook("from tensorflow import keras\nx = 1", "class Block(keras.layers.Layer):\n    pass\n",
                   "m = keras.Sequential([Block()])\nm.save('m.keras')\n")
    new = sources(fix(raw))
    assert new[0] == "import keras\nx = 1"
    assert new[1] == "@keras.saving.register_keras_serializable()\nclass Block(keras.layers.Layer):\n    pass\n"


def test_added_import_joins_the_imports_cell_after_a_pip_cell():
    raw = notebook("!pip install -q tensorflow\n", "import numpy as np\nimport tensorflow as tf\n",
                   "m = tf.keras.Sequential()\n")
    new = sources(fix(raw))
    assert new[0] == "!pip install -q tensorflow\n"
    assert new[1].startswith("import numpy as np\n") and "import keras\n" in new[1]
    assert new[2] == "m = keras.Sequential()\n"


def test_import_after_imports_with_a_magic_between_them():
    raw = notebook("%matplotlib inline\nimport tensorflow as tf\n%load_ext tensorboard\n", "m = tf.keras.Sequential()")
    new = sources(fix(raw))
    assert new[0] == "%matplotlib inline\nimport keras\n%load_ext tensorboard\n"
    assert new[1] == "m = keras.Sequential()"


def test_an_edited_cell_keeps_its_trailing_newline_state():
    raw = notebook("import tensorflow as tf", "m = tf.keras.Sequential()", "n = tf.keras.Model()\n")
    new = sources(fix(raw))
    assert not new[0].endswith("\n") and not new[1].endswith("\n") and new[2].endswith("\n")


def test_many_consecutive_one_line_cells_all_fixed():
    # every cell changed: the diff's changed block spans all of them; aligned per cell
    cells = ["import tensorflow as tf\n"] + [f"l{i} = tf.keras.layers.Dense({i})\n" for i in range(40)]
    new = sources(fix(notebook(*cells)))
    assert all(new[i + 1] == f"l{i} = keras.layers.Dense({i})\n" for i in range(40)), new[:3]


def test_an_edit_across_cells_is_cut_at_the_boundary():
    vs = VirtualSource.build([(0, "a = 1\n"), (1, "b = 2\n")])
    per = vs.split_edits([Edit(4, 11, "9\nb = 3")])
    assert per == {0: [Edit(4, 5, "9")], 1: [Edit(4, 5, "3")]}


def test_insertion_at_a_cell_start_belongs_to_that_cell():
    vs = VirtualSource.build([(0, "x = 1\n"), (1, "class A:\n    pass\n")])
    assert vs.split_edits([Edit(6, 6, "@dec\n")]) == {1: [Edit(0, 0, "@dec\n")]}


def test_import_insertion_at_a_boundary_joins_an_imports_cell():
    vs = VirtualSource.build([(0, "import os"), (1, "x = 1\n")])
    assert vs.split_edits([Edit(10, 10, "import keras\n")]) == {0: [Edit(9, 9, "\nimport keras")]}


def test_magic_cells_are_never_rewritten():
    raw = notebook("%%bash\npip install tensorflow\n", "import tensorflow as tf\nm = tf.keras.Sequential()\n")
    new = sources(fix(raw))
    assert new[0] == "%%bash\npip install tensorflow\n"


# -- bytes ------------------------------------------------------------------------------------------
def _outside(raw: str, idx: int) -> tuple[str, str]:
    s, e = source_spans(raw)[idx]
    return raw[:s], raw[e:]


@pytest.mark.parametrize("dump", [dict(indent=1, ensure_ascii=True), dict(indent="\t"), dict(indent=None),
                                  dict(indent=2, separators=(",", ":"))])
def test_only_the_edited_cells_bytes_change(dump):
    raw = notebook(("markdown", "\u00bfQu\u00e9? \u2014 caf\u00e9\n"), "import tensorflow as tf\n",
                   "m = tf.keras.Sequential()\n", "print('\u00bf')\n", **dump)
    new = fix(raw)
    assert new != raw
    # everything before cell 2's source and after cell 3's is the same bytes
    assert new[:source_spans(raw)[1][0]] == raw[:source_spans(raw)[1][0]]
    assert new[source_spans(new)[2][1]:] == raw[source_spans(raw)[2][1]:]
    assert ("\\u00bf" in new) == ("\\u00bf" in raw)
    assert json.loads(new)["cells"][3]["source"] == json.loads(raw)["cells"][3]["source"]


def test_cell_source_as_one_string_stays_one_string():
    raw = notebook("import tensorflow as tf\nm = tf.keras.Sequential()\n", as_list=False)
    new = fix(raw)
    assert isinstance(json.loads(new)["cells"][0]["source"], str)


def test_a_source_list_with_a_non_string_item_is_left_alone_and_reported():
    nb = json.loads(notebook("import tensorflow as tf\n", "m = tf.keras.Sequential()\n"))
    nb["cells"][1]["source"] = ["m = tf.keras.Sequential()\n", 7]
    raw = json.dumps(nb, indent=1)
    nr = LINTER.check_notebook(raw)
    assert [(e.key, e.message) for e in nr.cell_errors] == [(1, "the cell's source is not text")]
    new, _ = LINTER.fix_notebook(raw, None, True)
    assert json.loads(new)["cells"][1]["source"] == ["m = tf.keras.Sequential()\n", 7]


def test_write_cells_keeps_other_keys_order_and_spacing():
    raw = '{"nbformat": 4, "cells": [ {"source": "a = 1", "cell_type": "code", "outputs": [], "metadata": {}} ],' \
          ' "metadata": {}, "nbformat_minor": 5}'
    out = write_cells(raw, json.loads(raw), {0: "a = 2"})
    assert out == raw.replace('"a = 1"', '"a = 2"')


def test_hundreds_of_cells_with_two_changed_lines_each_all_fixed():
    # issue 18: the changed lines straddle every boundary; before, the whole fix was refused
    cells = ["import tensorflow as tf\n"] + [
        f"l{i} = tf.keras.layers.Dense({i})\no{i} = tf.keras.optimizers.Adam(lr=0.1)\n" for i in range(300)]
    new, outcome = LINTER.fix_notebook(notebook(*cells), None, True)
    assert not outcome.failed
    src = sources(new)
    assert all(src[i + 1] == f"l{i} = keras.layers.Dense({i})\no{i} = keras.optimizers.Adam(learning_rate=0.1)\n"
               for i in range(300))
