"""The runner's commands through the project's own server: ``python -m keras_migrate server``.

Written against the contract (issue 8): the server registers ``server/keras_migrate/server/runner_bridge.py``,
takes ``runInterpreter`` and ``trusted`` from ``initializationOptions`` (its
``RunnerHost.runner_context``), merges the run's diagnostics (``set_run_diagnostics``) into
what it publishes. Keras runs use
the Keras stack on the CPU; one backend per run keeps this short (all three backends over
LSP are covered in ``test_server_bridge.py``).

If the server cannot be started at all these tests fail: that is a wiring problem to fix,
never a reason to skip.
"""

import asyncio
import contextlib
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig

from .conftest import line_of, quiet_env, stack_python

pytestmark = pytest.mark.asyncio
SERVER = [sys.executable, "-m", "keras_migrate", "server"]


@contextlib.asynccontextmanager
async def real_server(root: Path, tmp_path: Path, trusted: bool = True):
    client = await ClientServerConfig(server_command=SERVER, server_env=quiet_env(tmp_path)).start()
    outputs: list = []

    def on_output(params):
        outputs.append(params)

    client.feature("keras-migrate/runOutput")(on_output)
    client.km_outputs = outputs
    await client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        root_uri=from_fs_path(str(root)),
        workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(root)), name="ws")],
        initialization_options={"runInterpreter": stack_python(), "trusted": trusted},
    ))
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


async def execute(client, command, *arguments):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments)))


def run_diagnostics(client, uri):
    return [d for d in client.diagnostics.get(uri, []) if d.source == "keras-migrate run"]


async def wait_for(predicate, timeout=20.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def test_real_server_run_failure_diagnostic_then_cleared(workspace, tmp_path):
    target = workspace / "fails_in_function.py"
    uri = from_fs_path(str(target))
    line = line_of(target, "ERROR-LINE")
    async with real_server(workspace, tmp_path) as client:
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                                 text=target.read_text())))
        reply = await execute(client, "keras-migrate.run", {
            "uri": uri, "backend": "torch", "device": {"kind": "cpu"}, "args": []})
        (result,) = reply["results"]
        assert result["exitCode"] == 1 and result["kerasBackend"] == "torch", reply
        assert result["firstErrorLine"].startswith("ValueError: Exception encountered")
        assert "| torch | cpu | failed (1) |" in reply["matrixMarkdown"]
        assert any("Traceback" in (o.get("text") if isinstance(o, dict) else o.text)
                   for o in client.km_outputs)
        assert await wait_for(lambda: run_diagnostics(client, uri)), client.diagnostics.get(uri)
        (diag,) = run_diagnostics(client, uri)
        assert diag.range.start.line == line - 1
        assert diag.message.startswith("torch: ValueError: Exception encountered")

        fixed = "import keras\nprint(keras.backend.backend())\n"
        reply = await execute(client, "keras-migrate.run", {
            "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": [], "text": fixed})
        assert reply["results"][0]["exitCode"] == 0, reply
        assert await wait_for(lambda: not run_diagnostics(client, uri)), client.diagnostics.get(uri)


async def test_real_server_devices_and_environment(workspace, tmp_path):
    async with real_server(workspace, tmp_path) as client:
        devices = await execute(client, "keras-migrate.listDevices")
        assert isinstance(devices["gpus"], list)
        if not devices["gpus"]:
            assert "--cpu" in devices["error"] or "CPU" in devices["error"]
        env = await execute(client, "keras-migrate.checkEnvironment", {"backend": "all"})
        assert env["ok"] is True, env
        assert env["python"] == stack_python()


async def test_real_server_refuses_runs_when_untrusted(workspace, tmp_path):
    uri = from_fs_path(str(workspace / "probe_main.py"))
    async with real_server(workspace, tmp_path, trusted=False) as client:
        with pytest.raises(Exception, match="untrusted"):
            await execute(client, "keras-migrate.run", {
                "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": []})
        assert client.km_outputs == []
