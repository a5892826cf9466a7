"""engine/fixer.py: line-aligned minimal edits (one diff for the CLI and the server) and the
fix loop on text that does not parse."""
from __future__ import annotations

import random

import pytest

from keras_migrate.engine.fixer import apply_edits, minimal_edits
from keras_migrate.service import Linter


def apply_in_order(text: str, edits) -> str:
    """LSP semantics: ranges refer to the original text; inserts at one point keep array order."""
    for _, e in sorted(enumerate(edits), key=lambda ie: (ie[1].start, ie[1].end, ie[0]), reverse=True):
        text = text[:e.start] + e.new_text + text[e.end:]
    return text


def test_minimal_edits_reproduce_the_new_text():
    rng = random.Random(7)
    pool = ["import tensorflow as tf\n", "import keras\n", "m = tf.keras.Model()\n", "m = keras.Model()\n",
            "x = 1\n", "\n", "# comment\n", "y = tf.constant(1)"]
    for _ in range(500):
        old = "".join(rng.choice(pool) for _ in range(rng.randint(0, 10)))
        lines = old.splitlines(keepends=True)
        new_lines = [l.replace("tf.keras", "keras") if rng.random() < 0.6 else l for l in lines]
        for _ in range(rng.randint(0, 2)):
            new_lines.insert(rng.randint(0, len(new_lines)), rng.choice(pool))
        if new_lines and rng.random() < 0.3:
            new_lines.pop(rng.randrange(len(new_lines)))
        new = "".join(new_lines)
        assert apply_in_order(old, minimal_edits(old, new)) == new


def test_added_import_stays_an_insertion():
    old = "import tensorflow as tf\nm = tf.keras.Model()\n"
    new = "import tensorflow as tf\nimport keras\nm = keras.Model()\n"
    edits = minimal_edits(old, new)
    assert edits[0].start == edits[0].end == len("import tensorflow as tf\n")
    assert edits[0].new_text == "import keras\n"


# found by the edit fuzzer (tests/fuzz/test_regressions.py, finding 2): the fix loop raised on unparsable text that never mentions TF/Keras ------------
# Engine.analyze() returns early (no parse, no error) when the text has none of the rules'
# needles; fix_text() then calls ast.parse() unguarded.  `keras-migrate fix` on such a file
# dies with a SyntaxError traceback (and ValueError/SyntaxError for NUL bytes).
@pytest.mark.parametrize("text", ["x = (\n", "x = 1\x00\n"], ids=["unclosed", "nul"])
def test_fix_source_on_unparsable_text_without_keras(text):
    outcome = Linter().fix_source(text)
    assert not outcome.changed and outcome.text == text
