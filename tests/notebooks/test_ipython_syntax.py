"""IPython syntax masked as IPython reads it (IPython.core.inputtransformer2 is the
reference): same length, same line breaks, the Python around it analysed."""
from __future__ import annotations

import ast

import pytest

from keras_migrate.engine.notebook import mask_magics
from keras_migrate.service import Linter

LINTER = Linter()


def masked(src: str) -> str:
    out = mask_magics(src)
    assert len(out) == len(src) and out.splitlines() and len(out.splitlines()) == len(src.splitlines())
    ast.parse(out)
    return out


def codes_at(cells, code=None):
    """(cell index, line, col, code) of every finding in these cells analysed as a notebook."""
    nr = LINTER.check_cells(list(enumerate(cells)))
    assert not nr.cell_errors, nr.cell_errors
    return [(k, line, col, f.code) for f, k, line, col in nr.cell_findings() if code is None or f.code == code]


def test_shell_line_alone_in_a_block_keeps_the_block():
    src = "if IN_COLAB:\n    !pip install tensorflow==2.15\nmodel = tf.keras.Sequential()\n"
    assert masked(src).splitlines()[1] == "    0#ip install tensorflow==2.15"
    assert (1, 2, 8, "K102") in codes_at(["import tensorflow as tf\n", src])


def test_colab_tensorflow_version_in_try():
    src = "try:\n    %tensorflow_version 2.x\nexcept Exception:\n    pass\nimport tensorflow as tf\n" \
          "opt = tf.keras.optimizers.Adam(lr=0.1)\n"
    assert masked(src).splitlines()[1].startswith("    0#")
    assert {c for *_, c in codes_at([src])} >= {"K102", "K502"}


@pytest.mark.parametrize("magic", ["%%time", "%%timeit", "%%capture out", "%%prun -s cumulative"])
def test_python_cell_magics_have_their_body_analysed(magic):
    cell = f"{magic}\nlayer = tf.keras.layers.Dense(1)\n"
    assert masked(cell).splitlines()[1] == "layer = tf.keras.layers.Dense(1)"
    found = codes_at(["import tensorflow as tf\n", cell])
    assert (1, 1, 8, "K102") in found, found


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile train.py", "%%html", "%%javascript", "%%sh", "%%script bash"])
def test_other_cell_magics_are_skipped(magic):
    cell = f"{magic}\nimport tensorflow as tf\nmodel = tf.keras.Sequential()\n"
    assert all(ln.lstrip().startswith("#") for ln in masked(cell).splitlines())
    assert codes_at([cell]) == []


def test_time_line_magic_analyses_its_statement():
    cell = "import tensorflow as tf\n%time opt = tf.keras.optimizers.Adam(lr=0.01)\n"
    out = masked(cell).splitlines()[1]
    assert out.endswith("opt = tf.keras.optimizers.Adam(lr=0.01)") and out.startswith("0;")
    found = codes_at([cell], "K502")
    assert found == [(0, 1, cell.splitlines()[1].index("lr"), "K502")]


def test_timeit_with_options_analyses_its_statement():
    cell = "%timeit -n 10 -r 3 model.fit(x, y, nb_epoch=1)\n"
    assert masked(cell).endswith("model.fit(x, y, nb_epoch=1)\n")
    assert masked("%timeit -n10 f()\n") == "0;" + " " * 11 + "f()\n"


def test_timeit_with_a_compound_statement_is_masked_whole():
    assert masked("%time for i in range(3): f(i)\n").startswith("0#")


def test_shell_command_continued_with_backslash():
    cell = "!pip install tensorflow \\\n    keras \\\n    numpy\nimport tensorflow as tf\nm = tf.keras.Sequential()\n"
    out = masked(cell).splitlines()
    assert out[0].startswith("0#") and out[1].lstrip().startswith("#") and out[2].lstrip().startswith("#")
    assert (0, 4, 4, "K102") in codes_at([cell])


def test_assignments_from_the_shell_and_from_magics():
    cell = "files = !ls data\nnames = %who_ls\nimport tensorflow as tf\nm = tf.keras.Sequential()\n"
    out = masked(cell).splitlines()
    assert out[0] == "files = 0#s data" and out[1] == "names = 0#ho_ls"
    assert (0, 3, 4, "K102") in codes_at([cell])


@pytest.mark.parametrize("line", ["tf.keras.layers.Dense?", "?tf.keras.Model", "model.fit??", "%timeit?", "  x?"[2:]])
def test_help_syntax_alone_on_a_logical_line(line):
    assert masked(line + "\n").startswith("0")


def test_comment_ending_in_a_question_mark_is_python():
    cell = "import tensorflow as tf\nopt = tf.keras.optimizers.Adam(lr=0.01)  # too high?\n"
    assert mask_magics(cell) == cell
    assert [c for *_, c in codes_at([cell], "K502")] == ["K502"]


def test_percent_formatting_and_a_continued_modulo_are_python():
    for cell in ["print('lr = %s' % lr)\n", "x = (total\n     % 3)\n", "s = '%d%%' % (\n    100)\n",
                 "msg = '!' + x\n", "d = {'a':\n     !b}\n"[:0] or "y = [1,\n     2]\n"]:
        assert mask_magics(cell) == cell


def test_shell_after_a_statement_on_the_same_line_is_not_ipython():
    # IPython only sees ``!`` that starts a logical line: this cell fails in IPython too
    assert mask_magics("a = 1; !ls\n") == "a = 1; !ls\n"


def test_help_on_something_that_is_not_a_name_is_left_to_the_parser():
    # IPython raises SyntaxError for ``f(x)?``: so does the analysis (the cell is reported)
    assert mask_magics("f(x)?\n") == "f(x)?\n"


def test_magic_inside_a_function_body():
    cell = "def train():\n    %env TF_CPP_MIN_LOG_LEVEL=3\n    return 1\n"
    assert masked(cell).splitlines()[1] == "    0#nv TF_CPP_MIN_LOG_LEVEL=3"


def test_magic_lines_in_a_triple_quoted_string_are_text():
    cell = 's = """\n!not a command\n%neither\n"""\n'
    assert mask_magics(cell) == cell


def test_one_character_commands():
    assert masked("!\n%\n?\n") == "0\n0\n0\n"


def test_cell_magic_after_blank_lines():
    assert masked("\n\n%%bash\nls\n") == "\n\n#%bash\n#s\n"


def test_windows_line_endings_are_kept():
    src = "if x:\r\n    !pip install y\r\nz = 1\r\n"
    out = mask_magics(src)
    assert out == "if x:\r\n    0#ip install y\r\nz = 1\r\n"


def test_indented_cell_magic_over_unindented_lines_is_not_a_cell_magic():
    # IPython dedents the common indentation first: " %%time" stays indented, so IPython runs
    # it as an indented line magic and fails ("unexpected indent"); so does the analysis
    cell = " %%time\nx = 1\n"
    assert masked_or_error(cell) == "unexpected indent"
    assert mask_magics(" %%time\n x = 1\n").startswith(" #%time")  # all indented: a cell magic


def masked_or_error(src):
    try:
        ast.parse(mask_magics(src))
    except SyntaxError as exc:
        return exc.msg
    return None


def test_equals_percent_inside_a_string_is_python():
    # a plotting cell: "= %" inside a format string is not a magic assignment
    cell = "plt.text(px, py, \"x = %0.2f\\ny = %0.2f\"%(px, py), rotation=-30,\n         color='gray')\n"
    assert mask_magics(cell) == cell


def test_comment_ending_in_a_question_mark_inside_brackets_is_python():
    # a keyword argument per line, each with a comment; one comment asks a question
    cell = ("import tensorflow as tf\nv = tf.keras.layers.TextVectorization(max_tokens=None,\n"
            "    ngrams=None, # create groups of n-words?\n    output_sequence_length=None) # how long?\n")
    assert mask_magics(cell) == cell
    assert [c for *_, c in codes_at([cell])] == ["K102"]


def test_import_goes_to_the_imports_cell_after_a_colab_try_cell():
    raw = [("try:\n    from google.colab import drive\n    COLAB = True\n    %tensorflow_version 2.x\n"
            "except:\n    COLAB = False\n"),
           "import os\nfrom tensorflow.keras.datasets import mnist\nimport tensorflow as tf\n",
           "m = tf.keras.Sequential()\n"]
    changed, _ = LINTER.fix_cells(list(enumerate(raw)), None, True)
    assert 0 not in changed
    assert "import keras\n" in changed[1] and changed[2] == "m = keras.Sequential()\n"
