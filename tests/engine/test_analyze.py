"""engine/analyze.py: the noqa parser every adapter edits through (the CLI's --add-noqa, the
server's "Suppress with # noqa"), where a noqa for a finding belongs, and how noqa comments
suppress findings of a logical line."""
from __future__ import annotations

from keras_migrate.engine.analyze import noqa_line, parse_noqa
from keras_migrate.service import Linter

# found by the edit fuzzer (tests/fuzz/test_regressions.py, finding 6)
NOQA_SEMICOLON = (
    'import tensorflow as tf\n\n'
    'x = tf.keras.backend.sum(y) + \\\n'
    ' tf.keras.backend.mean(y); text = """\nmore\n"""\n'
)


def test_parse_noqa_reads_bare_and_coded_comments():
    assert parse_noqa("x = 1") is None and parse_noqa("x = 1  # a comment") is None
    bare = parse_noqa("x = 1  # noqa")
    assert bare is not None and bare.codes is None
    line = "x = 1  # NOQA: k101,K102  and why"
    c = parse_noqa(line)
    assert c.codes == ("K101", "K102")
    assert line[c.codes_start:c.codes_end] == "k101,K102"   # where the server's edit adds a code


def test_noqa_line_is_the_last_line_of_the_logical_line():
    text = "a = (1 +\n     2)\nb = '''\nx\n'''\nc = 1 + \\\n    2\n"
    assert [noqa_line(text, n) for n in range(7)] == [1, 1, 4, 4, 4, 6, 6]
    # a lone \r is a line break, as for SourceText and LSP
    assert noqa_line("a = 1\rb = (2 +\r     3)\r", 1) == 2


def test_noqa_map_merges_statements_sharing_a_line():
    """The engine half of finding 6, without the server: the comment after the string's
    closing quotes suppresses findings on every line of the logical line, and no other."""
    lin = Linter()
    found = lin.check_source(NOQA_SEMICOLON).findings
    assert {f.range.start.line for f in found} == {2, 3}, found
    codes = ", ".join(sorted({f.code for f in found}))
    text = NOQA_SEMICOLON[:-1] + f"  # noqa: {codes}\n"
    assert lin.check_source(text).findings == []
    # the same comment on a statement of its own suppresses only its own line
    other = NOQA_SEMICOLON + f'z = tf.keras.backend.abs(y)  # noqa: {codes}\n'
    lines = sorted({f.range.start.line for f in lin.check_source(other).findings})
    assert lines == [2, 3], lines
