"""A renamed artefact is renamed where it is read back, and the reader explains itself
(issue 13 gap 3): its own finding, with the save as related information (LSP
relatedInformation, `related` in the JSON output)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import Settings
from keras_migrate.rules import all_rules

CODE = textwrap.dedent('''\
    import os
    import keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save_weights(os.path.join("out", "snap"))
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    other.load_weights(os.path.join("out", "snap"))
    model.save("m", save_format="tf")
    restored = keras.models.load_model("m")
''')


def _findings():
    eng = Engine([r() for r in all_rules()], Settings(unsafe_fixes=True))
    return eng.analyze(CODE, "t.py").findings


def test_reader_has_its_own_finding_pointing_at_the_save():
    by_line = {(f.code, f.range.start.line): f for f in _findings()}
    w = by_line[("K203", 5)]
    assert "line 4" in w.message and w.has_fix
    (rng, msg), = w.related
    assert (rng.start.line, CODE.splitlines()[3][rng.start.col:rng.end.col]) == (3, 'os.path.join("out", "snap")')
    m = by_line[("K201", 7)]
    assert "line 7" in m.message and m.related[0][0].start.line == 6
    # the round trip is not exported: the save's fix renames to .keras on both sides
    assert "export" not in by_line[("K201", 6)].fix_title
    assert not any(f.code == "K202" for f in _findings())  # K201 owns that load


def test_json_output_carries_related(tmp_path):
    p = tmp_path / "t.py"
    p.write_text(CODE)
    out = subprocess.run([sys.executable, "-m", "keras_migrate", "check", str(p), "--output-format", "json",
                          "--exit-zero"], capture_output=True, text=True, check=True).stdout
    items = [d for d in json.loads(out)["findings"] if d["code"] == "K203" and d["range"]["start"]["line"] == 6]
    assert items and items[0]["related"][0]["range"]["start"]["line"] == 4


def test_lsp_diagnostic_has_related_information():
    from keras_migrate.server.diagnostics import Lines, text_diagnostics

    findings = [f for f in _findings() if f.code == "K203"]
    diags = text_diagnostics(findings, Lines(CODE, len), 1, "file:///t.py")
    reader = [d for d in diags if d.range.start.line == 5][0]
    info, = reader.related_information
    assert info.location.uri == "file:///t.py" and info.location.range.start.line == 3
    assert info.message == "the weights are saved here"


def test_related_survives_the_results_cache(tmp_path):
    """The second run reads the findings back from batch's cache: `related` must come back too."""
    p = tmp_path / "t.py"
    p.write_text(CODE)
    env = dict(os.environ, KERAS_MIGRATE_CACHE_DIR=str(tmp_path / "cache"))
    outs = []
    for _ in range(2):
        outs.append(subprocess.run([sys.executable, "-m", "keras_migrate", "check", str(p), "--output-format", "json",
                                    "--exit-zero"], capture_output=True, text=True, check=True, env=env).stdout)
    assert outs[0] == outs[1]
    items = [d for d in json.loads(outs[1])["findings"] if d["code"] == "K203" and d["range"]["start"]["line"] == 6]
    assert items and items[0]["related"][0]["range"]["start"]["line"] == 4
