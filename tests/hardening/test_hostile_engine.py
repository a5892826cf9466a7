"""Hostile input never crashes the engine or the CLI: each case gets a clear message."""
import json
import os
import time
from pathlib import Path

import pytest

from keras_migrate.cli import main
from keras_migrate.config import Config
from keras_migrate.engine.source import DecodeError, decode_source
from keras_migrate.service import Linter

KERAS2 = "import tensorflow as tf\nm = tf.keras.Sequential()\n"


@pytest.fixture(scope="module")
def linter():
    return Linter(Config(target_backends=("tensorflow", "jax", "torch")))


def test_nul_bytes(linter):
    res = linter.check_source("import tensorflow as tf\x00\nm = tf.keras.Sequential()\n")
    assert res.error is not None and "null" in res.error.message.lower() or "cannot parse" in res.error.message


def test_non_utf8_bytes():
    with pytest.raises(DecodeError, match="not valid utf-8 text: byte 0xff at line 2"):
        decode_source(b"import tensorflow as tf\nx = '\xff'\n")
    assert decode_source(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n").endswith("'\u00e9'\n")
    assert decode_source(b"\xef\xbb\xbfimport keras\n") == "import keras\n"


@pytest.mark.parametrize("depth", [5000])
def test_deep_nesting(linter, depth):
    nested_parens = "import tensorflow as tf\nx = " + "(" * depth + "1" + ")" * depth + "\n"
    res = linter.check_source(nested_parens)
    assert res.error is not None  # the parser refuses: reported, not raised
    chain = "import tensorflow as tf\nx = tf" + ".keras" * depth + "\n"
    res = linter.check_source(chain)
    assert res.error is not None or isinstance(res.findings, list)
    calls = "import tensorflow as tf\nx = " + "tf.keras.Sequential(" * 150 + ")" * 150 + "\n"
    res = linter.check_source(calls)
    assert res.error is None and res.findings
    binop = "import tensorflow as tf\nx = " + " + ".join(["tf.keras.layers.Dense(1)"] * depth) + "\n"
    res = linter.check_source(binop)
    assert res.error is not None or len(res.findings) == depth


def test_long_line(linter):
    line = "x = [" + ", ".join(["tf.keras.layers.Dense(1)"] * 4000) + "]"
    assert len(line) > 100_000
    res = linter.check_source("import tensorflow as tf\n" + line + "\n")
    assert res.error is None and len(res.findings) == 4000
    out = linter.fix_source("import tensorflow as tf\n" + line + "\n", unsafe=False)
    assert "tf." not in out.text and not out.failed


def test_ten_megabyte_file(linter):
    block = "def f{i}(x):\n    y = x + {i}\n    return tf.keras.layers.Dense(y)\n\n"
    text = "import tensorflow as tf\n" + "".join(block.format(i=i) for i in range(145_000))
    assert len(text.encode()) > 10_000_000
    t0 = time.perf_counter()
    res = linter.check_source(text)
    elapsed = time.perf_counter() - t0
    assert res.error is None and len(res.findings) == 145_000
    print(f"10 MB file analysed in {elapsed:.1f} s")


def test_cli_hostile_files(tmp_path, capsys):
    (tmp_path / "nul.py").write_bytes(b"import tensorflow\x00\n")
    (tmp_path / "latin.py").write_bytes(b"import tensorflow as tf\nx = '\xe9'\n")
    (tmp_path / "half.py").write_text("import tensorflow as tf\nm = tf.keras.Seq(\n")
    (tmp_path / "nb.ipynb").write_text('{"cells": [{"cell_type": "code"}], "metadata": {}}')  # missing source
    (tmp_path / "nb2.ipynb").write_text('{"cells": "nope"}')
    (tmp_path / "nb3.ipynb").write_bytes(b"\xff\xfe{")
    (tmp_path / "ok.py").write_text(KERAS2)
    loop = tmp_path / "loop"
    loop.mkdir()
    os.symlink(loop, loop / "again")
    os.symlink(tmp_path / "missing-target.py", tmp_path / "dangling.py")
    rc = main(["check", "--format", "json", str(tmp_path)])
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert rc == 2  # unreadable files are I/O errors
    assert any("ok.py" in f["path"] for f in data["findings"])  # everything else still checked
    text = " ".join(data["unparsable"] + data["errors"])
    assert "nul.py" in text and "half.py" in text and "nb2.ipynb" in text and "nb3.ipynb" in text
    assert "latin.py" in text  # not UTF-8 and no coding cookie: reported as unreadable
    assert "Traceback" not in out + err
