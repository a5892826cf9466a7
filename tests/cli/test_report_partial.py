"""The report counts what parsed in a partly analysed file, and never calls that file ready.

Real notebooks often have one cell that does not parse (a pasted traceback, a U+00A0 in code):
`check` reports the findings of the other cells, and the report must agree with it instead of
listing the whole file as "could not be analysed" with none of its findings counted.
"""
import json

from keras_migrate.cli import main

BROKEN_PY = (
    "from tensorflow import keras\n"
    "def broken(:\n"
    "    pass\n"
    "opt = keras.optimizers.Adam(lr=0.1)\n"
)


def _nb(cells):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "outputs": [], "execution_count": None,
         "source": src} for i, src in enumerate(cells)]})


def test_partly_analysed_files_count_their_findings_and_are_never_ready(tmp_path, capsys):
    (tmp_path / "broken.py").write_text(BROKEN_PY)
    (tmp_path / "nb.ipynb").write_text(_nb([
        "import tensorflow as tf\nfrom tensorflow import keras\n",
        "this is pasted text, not code\n",
        "opt = keras.optimizers.SGD(lr=0.1)\n",
    ]))
    (tmp_path / "clean.py").write_text("import keras\nprint(keras.__version__)\n")
    rc = main(["report", str(tmp_path), "--format", "json", "-o", str(tmp_path / "r.json")])
    capsys.readouterr()
    d = json.loads((tmp_path / "r.json").read_text())
    recs = {r["file"]: r for r in d["records"]}
    assert d["problems"] == []
    assert d["scanned"] == 3
    partial = {p["file"]: p["problem"] for p in d["partial"]}
    assert set(partial) == {"broken.py", "nb.ipynb"}
    assert "line 2" in partial["broken.py"] and "cell 2, line 1" in partial["nb.ipynb"]
    # the findings of what parsed are counted, as `check` reports them
    assert recs["broken.py"]["findings"].get("K502") == 1
    assert recs["nb.ipynb"]["findings"].get("K502") == 1
    assert d["perRule"]["K502"] == 2
    for backend, ready in d["ready"].items():
        assert "broken.py" not in ready and "nb.ipynb" not in ready, backend
        assert "clean.py" in ready
        assert {"broken.py", "nb.ipynb"} <= set(d["blocking"][backend])
    assert rc in (0, 1)
    md_rc = main(["report", str(tmp_path), "--format", "markdown", "-o", str(tmp_path / "r.md")])
    md = (tmp_path / "r.md").read_text()
    assert "2 files analysed only in part" in md and "## Files analysed in part" in md
    assert "could not be analysed" not in md
    html_rc = main(["report", str(tmp_path), "--format", "html", "-o", str(tmp_path / "r.html")])
    assert 'id="partial"' in (tmp_path / "r.html").read_text()
    assert md_rc == rc and html_rc == rc
