"""The runner's LSP commands over a real stdio connection (pytest-lsp).

The server here is ``tests/runner/bridge_server.py``: a pygls server that carries only
``server/keras_migrate/server/runner_bridge.py``, wired the way the project's server wires it: a ``RunnerHost``
(``runner_context()``, whose run interpreter is the Keras stack, and
``set_run_diagnostics()``). The same commands against ``python -m keras_migrate server`` are in
``test_server_real.py``. Programs run on the CPU; ``nvidia-smi`` is a stand-in or absent.
"""

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig

from .conftest import (
    FIXTURES,
    group_members,
    line_of,
    needs_proc,
    quiet_env,
    stack_python,
    wait_gone,
    write_fake_nvidia_smi,
)

BRIDGE_SERVER = Path(__file__).with_name("bridge_server.py")
pytestmark = pytest.mark.asyncio


def field(obj, name):
    """A notification's params arrive as a dict or an attribute object."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name)


class Session:
    def __init__(self, client):
        self.client = client
        self.started: list = []
        self.output: list = []

        # pygls marks handlers with attributes, so they must be plain functions.
        def on_started(params):
            self.started.append(params)

        def on_output(params):
            self.output.append(params)

        client.feature("keras-migrate/runStarted")(on_started)
        client.feature("keras-migrate/runOutput")(on_output)

    def text(self, backend=None) -> str:
        return "".join(field(o, "text") for o in self.output
                       if backend is None or field(o, "backend") == backend)

    async def command(self, name, *arguments):
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments)))


@contextlib.asynccontextmanager
async def bridge(root: Path, tmp_path: Path, **env):
    server_env = quiet_env(tmp_path, KM_TEST_RUN_INTERPRETER=stack_python(),
                           **{k: v for k, v in env.items() if v is not None})
    for k in [k for k, v in env.items() if v is None]:  # None: not set in the server
        server_env.pop(k, None)
    client = await ClientServerConfig(
        server_command=[sys.executable, str(BRIDGE_SERVER)], server_env=server_env).start()
    session = Session(client)
    await client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True)),
        root_uri=from_fs_path(str(root)),
        workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(root)), name="ws")],
    ))
    try:
        yield session
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_run_all_backends_streams_output_progress_and_matrix(workspace, tmp_path):
    target = workspace / "tiny_model.py"
    uri = from_fs_path(str(target))
    async with bridge(workspace, tmp_path) as s:
        s.client.progress_reports["run-1"] = []
        reply = await s.command("keras-migrate.run", {
            "uri": uri, "backend": "all", "device": {"kind": "cpu"},
            "args": ["--flag", "two words"], "workDoneToken": "run-1"})
        assert [r["backend"] for r in reply["results"]] == ["jax", "torch", "tensorflow"]
        for r in reply["results"]:
            assert r["exitCode"] == 0 and r["status"] == "ok", reply
            assert r["kerasBackend"] == r["backend"] and r["device"] == {"kind": "cpu"}
            assert r["devices"] and r["devices"][0]["kind"] == "cpu"
            assert r["wallTime"] > 0 and r["firstErrorLine"] is None
        md = reply["matrixMarkdown"].splitlines()
        assert md[0] == "| backend | device | status | wall time | first error line |"
        assert len(md) == 5 and all("| ok |" in row for row in md[2:])
        assert reply["ok"] is True and reply["problems"] == []
        assert [field(p, "runId") for p in s.started] == [reply["runId"]]
        assert {field(o, "runId") for o in s.output} == {reply["runId"]}
        for backend in ("jax", "torch", "tensorflow"):
            text = s.text(backend)
            assert "argv: ['--flag', 'two words']" in text
            assert f"backend: {backend} output shape: (2, 3)" in text
        kinds = [type(v).__name__ for v in s.client.progress_reports["run-1"]]
        assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
        assert kinds.count("WorkDoneProgressReport") == 3


async def test_failure_becomes_a_diagnostic_from_the_unsaved_buffer_and_clears(workspace, tmp_path):
    """The buffer (two lines longer than the file on disk) runs through a temporary copy
    beside the file; every backend fails on the same line, which becomes one diagnostic on
    the real file; a later successful run clears it."""
    target = workspace / "fails_in_function.py"
    uri = from_fs_path(str(target))
    buffer = "# unsaved\n# edits\n" + target.read_text()
    line = line_of(target, "ERROR-LINE") + 2
    async with bridge(workspace, tmp_path) as s:
        reply = await s.command("keras-migrate.run", {
            "uri": uri, "backend": "all", "device": {"kind": "cpu"}, "args": [], "text": buffer})
        assert [r["exitCode"] for r in reply["results"]] == [1, 1, 1], reply
        assert all(r["firstErrorLine"].startswith("ValueError: Exception encountered")
                   for r in reply["results"])
        (diag,) = s.client.diagnostics[uri]
        assert diag.source == "keras-migrate run"
        assert diag.range.start.line == line - 1
        assert diag.range.start.character == 4  # the statement, not its indentation
        assert diag.message.startswith("jax, torch, tensorflow: ValueError: Exception encountered")
        assert diag.severity == types.DiagnosticSeverity.Error
        assert str(target) in s.text() and ".keras-migrate-run-" not in s.text()
        assert sorted(p.name for p in workspace.iterdir() if "keras-migrate-run" in p.name) == []

        fixed = "import keras\nprint('fixed on', keras.backend.backend())\n"
        reply = await s.command("keras-migrate.run", {
            "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": [], "text": fixed})
        assert reply["results"][0]["exitCode"] == 0
        assert list(s.client.diagnostics[uri]) == []


@needs_proc
async def test_run_cancel_ends_the_process_tree(workspace, tmp_path):
    uri = from_fs_path(str(workspace / "spawns_and_sleeps.py"))
    async with bridge(workspace, tmp_path) as s:
        running = asyncio.ensure_future(s.command("keras-migrate.run", {
            "uri": uri, "backend": "all", "device": {"kind": "cpu"}, "args": []}))
        for _ in range(600):
            if "ready" in s.text():
                break
            await asyncio.sleep(0.1)
        assert "ready" in s.text(), s.text()
        pids = [int(x) for x in s.text().split("pids ", 1)[1].split()[:2]]
        run_id = field(s.started[0], "runId")
        assert (await s.command("keras-migrate.runCancel", {"runId": run_id})) == {"cancelled": True}
        reply = await asyncio.wait_for(running, 30)
        assert [r["status"] for r in reply["results"]] == ["cancelled"] * 3
        assert wait_gone(pids) == [] and group_members(pids[0]) == []
        assert list(s.client.diagnostics.get(uri, [])) == []
        assert (await s.command("keras-migrate.runCancel", {"runId": run_id})) == {"cancelled": False}


async def test_list_devices_with_a_stand_in_nvidia_smi_and_without_one(tmp_path):
    """nvidia-smi is mocked (no GPU here): a stand-in first on the server's PATH prints
    recorded output; with none on PATH the reply says so and offers the CPU."""
    smi = write_fake_nvidia_smi(tmp_path / "smi")
    async with bridge(tmp_path, tmp_path, PATH=f"{smi}{os.pathsep}{os.environ['PATH']}",
                      CUDA_VISIBLE_DEVICES=None) as s:
        reply = await s.command("keras-migrate.listDevices")
        assert reply["gpus"][0] == {"index": 0, "name": "NVIDIA H100 80GB HBM3",
                                    "memoryUsed": 1, "memoryTotal": 81559, "utilization": 0}
        assert len(reply["gpus"]) == 3 and "error" not in reply
        assert reply["leastUsed"] == 0 and reply["cudaVisibleDevices"] is None
        assert reply["default"]["kind"] == "gpu" and reply["default"]["index"] == 0
    # an inherited CUDA_VISIBLE_DEVICES is shown and kept when no device is chosen
    async with bridge(tmp_path, tmp_path, PATH=f"{smi}{os.pathsep}{os.environ['PATH']}",
                      CUDA_VISIBLE_DEVICES="1") as s:
        reply = await s.command("keras-migrate.listDevices")
        assert reply["cudaVisibleDevices"] == "1"
        assert reply["default"]["kind"] == "env" and reply["default"]["value"] == "1"
    async with bridge(tmp_path, tmp_path, PATH=str(Path(sys.executable).parent)) as s:
        reply = await s.command("keras-migrate.listDevices")
        assert reply["gpus"] == [] and "no NVIDIA GPU visible" in reply["error"]
        env = await s.command("keras-migrate.checkEnvironment",
                              {"backend": "jax", "device": {"kind": "gpu", "index": 0}})
        assert env["ok"] is False and "GPU 0 was chosen, but no NVIDIA GPU visible" in env["problems"][-1]
        target = FIXTURES / "tiny_model.py"
        reply = await s.command("keras-migrate.run", {
            "uri": from_fs_path(str(target)), "backend": "jax",
            "device": {"kind": "gpu", "index": 0}, "args": []})
        (result,) = reply["results"]
        assert result["status"] == "not run" and "no NVIDIA GPU visible" in result["notRun"]
        assert s.output == []


async def test_check_environment_and_missing_interpreters(workspace, tmp_path):
    uri = from_fs_path(str(workspace / "tiny_model.py"))
    async with bridge(workspace, tmp_path) as s:
        ok = await s.command("keras-migrate.checkEnvironment", {"backend": "all"})
        assert ok["ok"] is True and ok["problems"] == [] and ok["kerasVersion"].startswith("3.")
        bad = await s.command("keras-migrate.checkEnvironment",
                              {"backend": "torch", "python": sys.executable})
        assert bad["ok"] is False
        assert any("Keras 3 is not installed" in p for p in bad["problems"])
        assert any(p.endswith(f"{sys.executable} -m pip install torch") for p in bad["problems"])
        missing = str(tmp_path / "nowhere" / "python")
        reply = await s.command("keras-migrate.run", {
            "uri": uri, "backend": "torch", "device": {"kind": "cpu"}, "args": [], "python": missing})
        (result,) = reply["results"]
        assert result["status"] == "not run" and result["exitCode"] is None
        assert "does not exist or is not executable" in reply["problems"][0]


async def test_run_is_refused_in_an_untrusted_workspace(workspace, tmp_path):
    uri = from_fs_path(str(workspace / "probe_main.py"))
    async with bridge(workspace, tmp_path, KM_TEST_TRUSTED="0") as s:
        with pytest.raises(Exception, match="untrusted workspace"):
            await s.command("keras-migrate.run", {
                "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": []})
        assert s.output == [] and s.started == []


async def test_run_starts_in_the_workspace_folder_with_the_files_folder_on_sys_path(workspace, tmp_path):
    """As an editor's "Run Python File": cwd is the workspace folder, sys.path[0] the
    file's folder (siblings import), and the program sees the backend's environment."""
    import json

    sub = workspace / "sub dir"
    sub.mkdir()
    for name in ("probe_main.py", "sibling_helper.py"):
        (sub / name).write_text((workspace / name).read_text())
    async with bridge(workspace, tmp_path) as s:
        reply = await s.command("keras-migrate.run", {
            "uri": from_fs_path(str(sub / "probe_main.py")), "backend": "jax",
            "device": {"kind": "cpu"}, "args": ["0"]})
        assert reply["results"][0]["exitCode"] == 0, reply
        probe = json.loads(s.text().split("PROBE ", 1)[1].splitlines()[0])
        assert probe["cwd"] == str(workspace) and probe["path0"] == str(sub)
        assert probe["name"] == "__main__" and probe["sibling"] == 3
        assert probe["env"]["KERAS_BACKEND"] == "jax" and probe["env"]["CUDA_VISIBLE_DEVICES"] == ""


@needs_proc
async def test_cancelling_the_request_ends_the_run(workspace, tmp_path):
    """``$/cancelRequest`` for the run request itself ends the program's tree too."""
    uri = from_fs_path(str(workspace / "spawns_and_sleeps.py"))
    async with bridge(workspace, tmp_path) as s:
        request = asyncio.ensure_future(s.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="keras-migrate.run", arguments=[{
                "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": []}]),
            msg_id="run-to-cancel"))
        for _ in range(600):
            if "ready" in s.text():
                break
            await asyncio.sleep(0.1)
        pids = [int(x) for x in s.text().split("pids ", 1)[1].split()[:2]]
        s.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="run-to-cancel"))
        with pytest.raises(BaseException):
            await asyncio.wait_for(request, 30)
        assert wait_gone(pids) == [] and group_members(pids[0]) == []


async def test_untitled_buffer_runs_from_a_scratch_folder(workspace, tmp_path):
    """A buffer never saved (``untitled:``) runs; its failure lands on that uri."""
    uri = "untitled:Untitled-1"
    text = "import keras\n\nraise RuntimeError('from an untitled buffer')\n"
    async with bridge(workspace, tmp_path) as s:
        reply = await s.command("keras-migrate.run", {
            "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": [], "text": text})
        (result,) = reply["results"]
        assert result["exitCode"] == 1 and result["firstErrorLine"] == "RuntimeError: from an untitled buffer"
        (diag,) = s.client.diagnostics[uri]
        assert diag.range.start.line == 2 and diag.message == "jax: RuntimeError: from an untitled buffer"
        scratch = s.text().split('File "', 1)[1].split('"', 1)[0]
        assert scratch.endswith("Untitled-1.py") and not os.path.exists(os.path.dirname(scratch))


@pytest.mark.conformance
async def test_smoke_argument_caps_the_run_and_reports_what_was_capped(workspace, tmp_path):
    """``smoke: true`` (the editor's smoke switch): the 100-epoch MNIST script runs capped on
    synthetic data; each result's ``smokeSummary`` says what was capped; a non-boolean
    ``smoke`` is refused before anything runs."""
    target = workspace / "smoke" / "mnist_100_epochs.py"
    uri = from_fs_path(str(target))
    async with bridge(workspace, tmp_path) as s:
        with pytest.raises(Exception, match="'smoke' must be true or false"):
            await s.command("keras-migrate.run", {
                "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": [], "smoke": "yes"})
        assert s.started == []
        reply = await s.command("keras-migrate.run", {
            "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": [], "smoke": True})
        (result,) = reply["results"]
        assert result["status"] == "ok" and result["smoke"] is True, reply
        assert result["smokeSummary"][:2] == [
            "keras.datasets.mnist.load_data: 1 call answered with synthetic data, nothing "
            "downloaded (60000 + 10000 images 28x28 uint8, labels 0-9)",
            "fit: 1 call: 1 capped to 1 epoch of at most 2 steps (asked for up to 100 epochs, "
            "60000 samples, 10000 validation samples)",
        ]
        assert "fit ran: 1 epoch(s), 2 batch(es)" in s.text("jax")
        assert field(s.started[0], "smoke") is True


async def test_failure_line_after_a_form_feed_is_the_line_python_reports(workspace, tmp_path):
    """Python (and LSP) break lines at \\r\\n, \\r, \\n only: a form feed inside line 1 must
    not shift the diagnostic's line text (``str.splitlines`` did: the range ended at 1)."""
    uri = "untitled:Untitled-ff"
    text = 'note = "\f"\nraise RuntimeError("after a form feed")\n'
    async with bridge(workspace, tmp_path) as s:
        reply = await s.command("keras-migrate.run", {
            "uri": uri, "backend": "jax", "device": {"kind": "cpu"}, "args": [], "text": text})
        assert reply["results"][0]["exitCode"] == 1, reply
        (diag,) = s.client.diagnostics[uri]
        raise_line = 'raise RuntimeError("after a form feed")'
        assert (diag.range.start.line, diag.range.start.character) == (1, 0)
        assert (diag.range.end.line, diag.range.end.character) == (1, len(raise_line))
