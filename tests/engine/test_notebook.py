"""engine/notebook.py: cells joined into one virtual module, and positions back in a cell's own
coordinates, on the lines LSP and Python count (a lone \r breaks a line; \f and U+2028 do not)."""
from __future__ import annotations

import pytest

from keras_migrate.engine.notebook import VirtualSource


@pytest.mark.parametrize("brk,lines", [("\n", 1), ("\r\n", 1), ("\r", 1), ("\x0c\n", 1), ("  # \u2028\n", 1)],
                         ids=["lf", "crlf", "cr", "formfeed", "u2028"])
def test_line_in_cell_counts_lsp_line_breaks(brk, lines):
    first = "import tensorflow as tf" + brk
    cell = first + "m = tf.keras.Sequential()\n"
    vs = VirtualSource.build([("c0", "x = 1\n"), ("c1", cell)])
    off = vs.text.index("tf.keras")
    c, line, col = vs.line_in_cell(off)
    assert (c.key, line, col) == ("c1", lines, len("m = "))


def test_line_in_cell_past_the_cells_text():
    vs = VirtualSource.build([("a", "x = 1"), ("b", "y = 2")])   # the virtual text adds the newlines
    cell, line, col = vs.line_in_cell(vs.cells[1].start - 1)
    assert (cell.key, line, col) == ("a", 0, 5)


def test_magics_are_masked_in_the_virtual_text_and_cells_stay_apart():
    vs = VirtualSource.build([("a", "%matplotlib inline\nimport keras\n"), ("b", "!pip install x\nk = 1\n")])
    assert "%matplotlib" not in vs.text and "!pip" not in vs.text
    assert len(vs.text.splitlines()) == 4
    assert vs.line_in_cell(vs.text.index("k = 1"))[:2][1] == 1
