"""Opening a folder must never run its code (issue 18, security).

A workspace full of marker-writing modules named like what the server imports (``json.py``,
``typing.py``, ``libcst.py``, a ``keras_migrate/`` package, ...) is analysed by the real server,
started exactly as the VS Code client starts it (the interpreter arguments come from the
client's own source, client-vscode/src/interpreter.ts, and the working directory is not the
workspace), trusted and untrusted, through every request that reads the workspace or starts a
process; the CLI runs over it as a CI job would.  No marker may appear.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from lsp_helpers import capabilities, make_client_factory, open_doc, server_env, wait_for_diagnostics

ROOT = Path(__file__).resolve().parents[2]

# what the server, the CLI and the runner's probe import, and a few stdlib modules besides
SHADOWED = ["json", "typing", "difflib", "libcst", "jedi", "pathspec", "pygls", "lsprotocol", "cattrs",
            "attrs", "parso", "re", "ast", "tokenize", "logging", "argparse", "asyncio", "threading",
            "dataclasses", "enum", "functools", "importlib_metadata", "site", "runpy", "tomllib", "tomli",
            "fnmatch", "glob", "shlex", "subprocess", "tempfile", "textwrap", "uuid", "platform"]

KERAS2 = "from tensorflow import keras\nopt = keras.optimizers.Adam(lr=0.01)\n"


def safe_launch_args() -> list[str]:
    """The interpreter arguments of ``safeModuleArgs`` in the VS Code client, read from its
    TypeScript source so the test starts the server exactly as the extension does."""
    src = (ROOT / "client-vscode" / "src" / "interpreter.ts").read_text(encoding="utf-8")
    m = re.search(r"export const SAFE_LAUNCH = \[(.*?)\]\.join\('\\n'\);", src, re.S)
    assert m, "SAFE_LAUNCH not found in client-vscode/src/interpreter.ts"
    lines = [json.loads('"' + s[1:-1].replace('"', '\\"') + '"') if s.startswith("'") else json.loads(s)
             for s in re.findall(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""", m.group(1))]
    assert re.search(r"return \['-I', '-c', SAFE_LAUNCH, \.\.\.args\]", src), "safeModuleArgs changed: update this test"
    return ["-I", "-c", "\n".join(lines)]


def make_workspace(root: Path, markers: Path) -> Path:
    ws = root / "ws"
    ws.mkdir()
    markers.mkdir()
    for name in SHADOWED:
        (ws / f"{name}.py").write_text(
            f"open({str(markers / name)!r}, 'w').write('imported')\n", encoding="utf-8")
    pkg = ws / "keras_migrate"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(f"open({str(markers / 'keras_migrate')!r}, 'w').write('x')\n", encoding="utf-8")
    (pkg / "__main__.py").write_text(f"open({str(markers / 'keras_migrate_main')!r}, 'w').write('x')\n", encoding="utf-8")
    (ws / "train.py").write_text(KERAS2, encoding="utf-8")
    (ws / "sitecustomize.py").write_text(f"open({str(markers / 'sitecustomize')!r}, 'w').write('x')\n", encoding="utf-8")
    (ws / "pyproject.toml").write_text("[tool.keras-migrate]\nunsafe-fixes = true\n", encoding="utf-8")
    return ws


async def _session(ws: Path, cwd: Path, trusted, run_python: str) -> dict:
    client = make_client_factory()()
    env = server_env()
    env.pop("PYTHONPATH", None)
    await client.start_io(sys.executable, *safe_launch_args(), "server", env=env, cwd=str(cwd))
    seen: dict = {}
    try:
        opts = {"settings": {"debounceMs": 20, "runInterpreter": run_python}}
        if trusted is not None:
            opts["trusted"] = trusted
        result = await client.initialize_session(types.InitializeParams(
            capabilities=capabilities(), root_uri=ws.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
            initialization_options=opts))
        seen["server"] = result.server_info.name if result.server_info else None
        uri = (ws / "train.py").as_uri()
        open_doc(client, uri, KERAS2)
        seen["diagnostics"] = [str(d.code) for d in await wait_for_diagnostics(client, uri, lambda d: bool(d))]
        info = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="keras-migrate.serverInfo", arguments=[]))
        seen["trusted"] = info["trusted"]
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="keras-migrate.report", arguments=[]))
        try:
            env_report = await client.workspace_execute_command_async(types.ExecuteCommandParams(
                command="keras-migrate.checkEnvironment", arguments=[{"backend": "jax", "uri": uri}]))
            seen["checkEnvironment"] = "answered" if isinstance(env_report, dict) else env_report
        except Exception as exc:  # refused when untrusted
            seen["checkEnvironment"] = f"refused: {exc}"
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(2, 0)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll])))
        seen["fixAll"] = [a.title for a in actions or []]
    finally:
        await client.shutdown_session()
    return seen


def _markers(markers: Path) -> list[str]:
    return sorted(p.name for p in markers.iterdir())


@pytest.mark.asyncio
@pytest.mark.parametrize("trusted", [True, False, None, "false", 0, "true", 1])
async def test_server_started_as_the_client_does_runs_nothing_from_the_workspace(tmp_path, trusted):
    markers = tmp_path / "markers"
    ws = make_workspace(tmp_path, markers)
    cwd = tmp_path / "extension"  # the client starts the server in its own folder
    cwd.mkdir()
    seen = await _session(ws, cwd, trusted, sys.executable)
    assert seen["server"] == "keras-migrate"
    assert "K502" in seen["diagnostics"]
    assert _markers(markers) == [], f"workspace code ran in the server: {_markers(markers)}"
    # trust fails closed: only `true` trusts
    assert seen["trusted"] is (trusted is True)
    if trusted is True:
        assert seen["checkEnvironment"] == "answered"
        assert any("unsafe" in t for t in seen["fixAll"]), seen["fixAll"]
    else:
        assert seen["checkEnvironment"].startswith("refused") and "untrusted" in seen["checkEnvironment"]
        # the workspace's pyproject asks for unsafe fixes: not while it is untrusted
        assert not any("unsafe" in t for t in seen["fixAll"]), seen["fixAll"]


def test_run_interpreter_probe_runs_nothing_from_the_file_folder(tmp_path):
    """The runner's environment check runs in the file's folder: isolated, it imports nothing there."""
    from keras_migrate.runner.environment import check_environment

    markers = tmp_path / "markers"
    ws = make_workspace(tmp_path, markers)
    report = check_environment(sys.executable, "jax", cwd=str(ws))
    assert report.interpreter_ok, report.problems
    assert _markers(markers) == []


@pytest.mark.parametrize("argv", [["keras-migrate"], [sys.executable, "-m", "keras_migrate"]],
                         ids=["console-script", "python-m"])
def test_cli_in_the_workspace_runs_nothing_from_it(tmp_path, argv):
    """A CI job checks a pull request from inside its checkout: its modules stay unimported.
    (``python -m`` imports a ``keras_migrate/`` folder of the working directory, and the
    modules of runpy itself (functools, contextlib, ...), before any code of ours can run, as
    Python does for every ``-m``: those are left out here and SECURITY.md says to use the
    ``keras-migrate`` command or ``python -I -m``.)"""
    markers = tmp_path / "markers"
    ws = make_workspace(tmp_path, markers)
    import shutil
    shutil.rmtree(ws / "keras_migrate")
    if argv[0] != "keras-migrate":
        # what Python's -m imports (runpy and its modules) before any code of ours runs, read
        # off this interpreter: -m finds those in the working directory, as for every module
        startup = subprocess.run([sys.executable, "-I", "-c", "import sys; b = set(sys.modules); import runpy; "
                                  "print(' '.join(sorted(set(sys.modules) - b)))"],
                                 capture_output=True, text=True, check=True).stdout.split()
        assert "runpy" in startup
        for name in startup:
            (ws / f"{name}.py").unlink(missing_ok=True)
    if argv[0] == "keras-migrate":
        argv = [str(Path(sys.executable).with_name("keras-migrate"))]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([*argv, "check", "."], cwd=ws, capture_output=True, text=True, env=env, timeout=120)
    assert "K502" in proc.stdout, proc.stdout + proc.stderr
    assert _markers(markers) == [], f"workspace code ran in the CLI: {_markers(markers)}"


def test_a_namespace_portion_in_the_workspace_is_not_joined(tmp_path):
    """keras_migrate is a namespace package (two source roots), so a ``keras_migrate/`` folder
    without ``__init__.py`` on sys.path would join it, and its ``entry.py`` or ``engine/`` would
    shadow ours.  The ``keras-migrate`` command in such a workspace does not put the working
    directory on sys.path, so none of it is imported."""
    markers = tmp_path / "markers"
    ws = make_workspace(tmp_path, markers)
    (ws / "keras_migrate" / "__init__.py").unlink()
    for name in ("entry.py", "cli.py", "checking.py", "service.py", "version.py"):
        (ws / "keras_migrate" / name).write_text(
            f"open({str(markers / ('portion-' + name))!r}, 'w').write('x')\n", encoding="utf-8")
    (ws / "keras_migrate" / "engine").mkdir()
    (ws / "keras_migrate" / "engine" / "analyze.py").write_text(
        f"open({str(markers / 'portion-engine')!r}, 'w').write('x')\n", encoding="utf-8")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    cli = str(Path(sys.executable).with_name("keras-migrate"))
    proc = subprocess.run([cli, "check", "train.py"], cwd=ws, capture_output=True, text=True, env=env, timeout=120)
    assert "K502" in proc.stdout, proc.stdout + proc.stderr
    assert _markers(markers) == [], f"workspace code ran in the CLI: {_markers(markers)}"
