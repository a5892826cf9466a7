"""The server stays an adapter (issue 17, "thin server"): it walks no files (the CLI's walker
does), converts positions with the engine's line table (the CLI's SARIF columns and the
server's characters agree), reads noqa comments with the engine's parser, patches no pygls
class at run time, and the runner bridge reaches it through RunnerHost alone."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

import keras_migrate.server as server_pkg
from lsp_helpers import open_doc, start, wait_for_diagnostics

SERVER_DIR = Path(server_pkg.__file__).resolve().parent
MODULES = sorted(SERVER_DIR.glob("*.py"))


def _trees():
    return [(p.name, ast.parse(p.read_text(encoding="utf-8"))) for p in MODULES]


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def test_no_server_module_swaps_a_class_or_walks_files():
    bad = []
    walkers = {"walk", "rglob", "glob", "iglob", "scandir", "iterdir", "listdir"}
    for name, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "__class__"
                                                    for t in node.targets):
                bad.append(f"{name}:{node.lineno}: assigns __class__")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in walkers:
                bad.append(f"{name}:{node.lineno}: {_dotted(node.func)}() (the walker is keras_migrate.discovery)")
    assert not bad, bad


def test_noqa_comments_are_read_by_the_engine_only():
    """No regular expression about noqa in the server (actions.py uses engine.analyze.parse_noqa)."""
    bad = []
    for name, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func).startswith("re.") and node.args \
                    and isinstance(node.args[0], ast.Constant) and "noqa" in str(node.args[0].value).lower():
                bad.append(f"{name}:{node.lineno}: {_dotted(node.func)}({node.args[0].value!r})")
    assert not bad, bad
    from keras_migrate.engine import analyze
    from keras_migrate.server import actions
    assert actions.parse_noqa is analyze.parse_noqa


def test_the_runner_bridge_probes_nothing_on_its_server():
    from keras_migrate.server import runner_bridge
    from keras_migrate.server.server import server

    tree = ast.parse(Path(runner_bridge.__file__).read_text(encoding="utf-8"))
    probes = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
              and n.func.id in ("getattr", "hasattr", "setattr")]
    assert probes == [], f"runner_bridge.py probes with getattr/hasattr on lines {probes}"
    assert isinstance(server, runner_bridge.RunnerHost)
    with pytest.raises(TypeError, match="RunnerHost"):
        runner_bridge.register(object())


def test_a_server_with_its_own_settings_checks_is_gone():
    """server/keras_migrate/server/settings.py validates through the schema; it defines no list of allowed values."""
    tree = ast.parse((SERVER_DIR / "settings.py").read_text(encoding="utf-8"))
    tuples = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.value, (ast.Tuple, ast.Set))
              and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in n.value.elts)]
    assert tuples == [], f"server/keras_migrate/server/settings.py has its own value lists on lines {tuples}"


TEXT = "import tensorflow as tf\n# a\x0cb \u2028 c \U0001F600\nm = tf.keras.Sequential()  # \u00e9\x0c\nx = '\U0001F600'; n = tf.keras.layers.Dense(1)\n"


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
async def test_server_characters_are_the_engines_columns_as_the_cli_reports_them(tmp_path, encoding):
    """One position model: the server's characters for a finding after a form feed, U+2028 and
    astral characters are the CLI's SARIF columns (UTF-16), and the same columns in UTF-8/32."""
    path = tmp_path / "pos.py"
    path.write_bytes(TEXT.encode("utf-8"))
    proc = subprocess.run([sys.executable, "-m", "keras_migrate", "check", "--no-cache", "--output-format",
                           "sarif", str(path)], capture_output=True, text=True, cwd=tmp_path)
    sarif = json.loads(proc.stdout)
    regions = sorted((r["locations"][0]["physicalLocation"]["region"]["startLine"] - 1,
                      r["locations"][0]["physicalLocation"]["region"]["startColumn"] - 1)
                     for r in sarif["runs"][0]["results"])
    assert len(regions) == 2, regions
    client = await start(tmp_path, encodings=[encoding])
    try:
        open_doc(client, path.as_uri(), TEXT)
        diags = await wait_for_diagnostics(client, path.as_uri(), lambda d: len(d) == 2)
    finally:
        await client.shutdown_session()
        await client.stop()
    got = sorted((d.range.start.line, d.range.start.character) for d in diags)
    lines = TEXT.split("\n")
    units = {"utf-8": lambda s: len(s.encode("utf-8")), "utf-32": len,
             "utf-16": lambda s: len(s.encode("utf-16-le")) // 2}[encoding]
    want = []
    for line, col16 in regions:
        head = next(lines[line][:i] for i in range(len(lines[line]) + 1)
                    if len(lines[line][:i].encode("utf-16-le")) // 2 == col16)
        want.append((line, units(head)))
    assert got == want
