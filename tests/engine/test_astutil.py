"""Compiling user code must not print CPython's warnings about that code.

`"\\d"` in a user's regex is an invalid escape sequence: Python 3.12+ prints a SyntaxWarning
for it when the file is compiled (3.11: a DeprecationWarning, hidden by default). Those are
the user's code's warnings, not ours; and under ``-W error`` (as some CI runs) they would turn
a valid file into "syntax error". Found on real notebooks full of regex strings.
"""
import subprocess
import sys
import textwrap

SRC = 'import re\nPAT = re.compile("\\d+\\.\\w")\nfrom tensorflow import keras\nopt = keras.optimizers.Adam(lr=0.1)\n'


def test_check_under_warnings_as_errors_still_analyses_and_prints_no_warning(tmp_path):
    f = tmp_path / "regexes.py"
    f.write_text(SRC)
    nb = tmp_path / "nb.ipynb"
    import json
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "outputs": [], "execution_count": None,
         "source": SRC.splitlines(keepends=True)}]}))
    proc = subprocess.run([sys.executable, "-W", "error", "-m", "keras_migrate", "check", str(f), str(nb)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "syntax error" not in proc.stdout + proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    # both files analysed: K101 and K502 found in each
    assert proc.stdout.count("K101") == 2 and proc.stdout.count("K502") == 2, proc.stdout


def test_engine_parse_leaves_warning_filters_as_they_were():
    import warnings
    from keras_migrate.engine.analyze import parse
    before = list(warnings.filters)
    tree, err = parse(SRC)
    assert err is None and tree is not None
    assert warnings.filters == before
