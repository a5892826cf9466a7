"""The VS Code extension, end to end, in a real VS Code (code-server 4.100.3).

Builds the linux-x64 .vsix (``scripts/build-vsix.sh``: the server and every library it needs
ship inside, ``bundled/libs``), installs it into a fresh code-server started by
``tests/vscode_e2e/setup.sh`` on a temporary copy of ``tests/vscode_e2e/fixture``, and drives the
workbench in Debian's headless chromium with ``tests/vscode_e2e/drive.js`` (playwright-core).
The driver writes one JSON record per step and a screenshot per step; each step is one test
here, which also checks the screenshot: the PNG is there, and every element the step says it
shows (``shown``: the language status hover, the terminal, the hover...) was visible when it was
taken and has its own crop.

Three sessions:
  * trusted: the server's interpreter is ``$KERAS_MIGRATE_PYTHON`` (default
    ``<repo>/.venv/bin/python``; the bundled server is used, not that environment's
    keras-migrate), "Run File on Backend" runs the file in ``$KERAS_MIGRATE_RUN_PYTHON`` (default
    ``<repo>/.venv-keras/bin/python``) in a terminal task; at the end the interpreter is switched
    to a venv made with ``--without-pip`` and the bundled server runs there.
  * offline: code-server, its extension host and chromium in a network namespace with only the
    loopback interface (``unshare -n``), the server's interpreter a ``--without-pip`` venv with
    nothing installed, ``CUDA_VISIBLE_DEVICES=1`` inherited: diagnostics appear, a run keeps
    that ``CUDA_VISIBLE_DEVICES``.
  * untrusted: the folder in Restricted Mode (workspace trust on).

The one thing mocked: there is no GPU here, so a stand-in ``nvidia-smi`` on PATH prints recorded
``--format=csv,noheader,nounits`` output for two GPUs (GPU 0 nearly full, GPU 1 idle); the runs
themselves use the CPU. Screenshots, the driver's ``results-*.json`` and the extension's output
channels land in ``$KERAS_MIGRATE_ARTIFACTS`` (default ``<repo>/test-artifacts/vscode``).
code-server, chromium and playwright are installed once into ``$KERAS_MIGRATE_E2E_CACHE``
(default ``~/.cache/keras-migrate-e2e``): cold about 2-3 minutes, then a few minutes per run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STEPS = [
    "workbench",
    "language-status",
    "diagnostics",
    "hover",
    "quick-fix",
    "fix-all",
    "fix-all-on-save",
    "notebook",
    "notebook-fix-all",
    "notebook-fix-all-on-save",
    "report",
    "restart-server",
    "run-file",
    "run-input",
    "rerun-status-item",
    "run-failure-diagnostic",
    "notebook-run",
    "cancel-run",
    "compare-backends",
    "debug-file",
    "bundled-server-any-interpreter",
]
UNTRUSTED_STEPS = ["untrusted-workbench", "untrusted-server", "untrusted-run-refused"]
OFFLINE_STEPS = ["offline-no-network", "offline-workbench", "offline-diagnostics", "offline-run-inherited-device"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], env: dict, timeout: int, log: Path) -> subprocess.CompletedProcess:
    with log.open("w") as f:
        proc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, cwd=REPO)
    return proc


def _collect_channel_logs(user_data: Path, artifacts: Path) -> None:
    """Copy the extension's output channels (on disk in the user-data logs) next to the screenshots."""
    for log in user_data.glob("logs/*/exthost*/output_logging_*/*.log"):
        if "Keras Migrate" in log.name:  # N-Keras Migrate Run.log
            name = log.name.split("-", 1)[-1].replace(" ", "-")
            shutil.copy(log, artifacts / f"channel-{name}")
    for log in user_data.glob("logs/*/exthost*/keras-migrate.keras-migrate/*.log"):  # log channels
        shutil.copy(log, artifacts / f"channel-{log.name.replace(' ', '-')}")
    for log in user_data.glob("logs/*/exthost*/remoteexthost.log"):
        shutil.copy(log, artifacts / "remoteexthost.log")


QUIET_USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoUpdate": False,
    "extensions.autoCheckUpdates": False,
    "update.mode": "none",
    "chat.disableAIFeatures": True,
    "window.restoreWindows": "none",
    # xterm's DOM renderer: the terminal's rows are text the driver can read
    "terminal.integrated.gpuAcceleration": "off",
}


# Modules the server, the probe and pip import: the workspace carries marker-writing stand-ins
# (issue 18: opening a folder must never run its code). Each records the process that imported
# it, then turns into the real module, so the user's own runs of fixture files still work.
SHADOWED = ["json", "typing", "difflib", "libcst", "jedi", "pathspec", "pygls", "lsprotocol", "cattrs",
            "attrs", "parso", "ast", "tokenize", "logging", "argparse", "dataclasses", "enum", "functools",
            "importlib_metadata", "tomllib", "fnmatch", "glob", "shlex", "subprocess", "tempfile", "textwrap"]
_SHADOW = """# keras-migrate e2e stand-in: records the process that imported it, then becomes the real module
import os as _o, sys as _s
with open(_o.path.join({markers!r}, {name!r} + "-" + str(_o.getpid())), "w") as _f:
    _f.write(repr((_s.argv, _o.environ.get("KERAS_BACKEND"))))
_here = _o.path.dirname(_o.path.abspath(__file__))
_saved = list(_s.path)
_s.path[:] = [p for p in _s.path if _o.path.abspath(p or ".") != _here]
del _s.modules[__name__]
try:
    import importlib as _il
    _real = _il.import_module(__name__)
finally:
    _s.path[:] = _saved
_s.modules[__name__] = _real
globals().update(_real.__dict__)
"""


def plant_shadow_modules(folder: Path, markers: Path) -> None:
    markers.mkdir(parents=True, exist_ok=True)
    for name in SHADOWED:
        (folder / f"{name}.py").write_text(_SHADOW.format(markers=str(markers), name=name), encoding="utf-8")
    (folder / "keras_migrate").mkdir()
    (folder / "keras_migrate" / "__init__.py").write_text(
        f"open({str(markers / 'keras_migrate-pkg')!r}, 'w').write('imported')\n", encoding="utf-8")


def shadow_markers(markers: Path) -> list[tuple[str, str]]:
    """(module, what the importing process was) for every stand-in some process imported."""
    return sorted((p.name.rsplit("-", 1)[0], p.read_text(encoding="utf-8")) for p in markers.iterdir())


class Harness:
    """One code-server session: a fresh copy of the fixture, the .vsix installed, the driver run."""

    def __init__(self, tmp: Path, artifacts: Path, env: dict, vsix: Path):
        self.tmp, self.artifacts, self.env, self.vsix = tmp, artifacts, env, vsix

    def session(self, name: str, *, workspace_settings: dict, user_settings: dict, trust: bool,
                mode: str, extra_env: dict, offline: bool = False) -> dict:
        root = self.tmp / name
        folder = root / "proj"
        shutil.copytree(HERE / "fixture", folder)
        plant_shadow_modules(folder, root / "markers")
        (folder / ".vscode").mkdir()
        (folder / ".vscode/settings.json").write_text(json.dumps(workspace_settings, indent=2))
        (root / "user-settings.json").write_text(json.dumps(user_settings, indent=2))
        port = _free_port()
        run_dir = root / "run"
        env = dict(self.env, RUN_DIR=str(run_dir), PORT=str(port), FOLDER=str(folder), VSIX=str(self.vsix),
                   USER_SETTINGS=str(root / "user-settings.json"), TRUST="1" if trust else "0")
        log = self.artifacts / f"setup-{name}.log"
        results_file = self.artifacts / f"results-{name}.json"
        drive_env = dict(
            env,
            **extra_env,
            CS_URL=f"http://127.0.0.1:{port}",
            OUT=str(self.artifacts),
            RESULTS=str(results_file),
            TOOLS=str(Path(env["CACHE"]) / "tools"),
            USER_DATA=str(run_dir / "data/user"),
            PROFILE_HOME=str(root / "chromium-home"),
            MODE=mode,
        )
        try:
            if offline:
                # one network namespace with only loopback for code-server (so its extension
                # host and the language server) and the browser: nothing outside is reachable
                script = ('ip link set lo up && bash "$0" > "$2" 2>&1 || { cat "$2"; exit 1; }; '
                          'node "$1"; rc=$?; STOP=1 bash "$0" >/dev/null 2>&1; exit $rc')
                _run(["unshare", "-n", "bash", "-c", script, str(HERE / "setup.sh"), str(HERE / "drive.js"), str(log)],
                     drive_env, 1500, self.artifacts / f"drive-{name}.log")
            else:
                setup = _run(["bash", str(HERE / "setup.sh")], env, 900, log)
                assert setup.returncode == 0, log.read_text()[-3000:]
                _run(["node", str(HERE / "drive.js")], drive_env, 1500, self.artifacts / f"drive-{name}.log")
        except subprocess.TimeoutExpired:
            pass
        finally:
            subprocess.run(["bash", str(HERE / "setup.sh")], env=dict(env, STOP="1"), cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            sub = self.artifacts / f"logs-{name}"
            sub.mkdir(exist_ok=True)
            _collect_channel_logs(run_dir / "data/user", sub)
        assert results_file.exists(), (self.artifacts / f"drive-{name}.log").read_text()[-3000:]
        return json.loads(results_file.read_text())


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> dict:
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is needed for the VS Code end-to-end test (node 20 from NodeSource)")
    server_py = Path(os.environ.get("KERAS_MIGRATE_PYTHON", REPO / ".venv/bin/python"))
    if not server_py.exists():
        pytest.fail(f"no interpreter with keras-migrate at {server_py} (set KERAS_MIGRATE_PYTHON)")
    artifacts = Path(os.environ.get("KERAS_MIGRATE_ARTIFACTS", REPO / "test-artifacts/vscode"))
    if artifacts.exists():
        shutil.rmtree(artifacts)
    artifacts.mkdir(parents=True)

    tmp = tmp_path_factory.mktemp("vscode-e2e")
    env = dict(os.environ)
    env.setdefault("CACHE", os.environ.get("KERAS_MIGRATE_E2E_CACHE", str(Path.home() / ".cache/keras-migrate-e2e")))
    vsix = tmp / "keras-migrate.vsix"
    build = _run(["bash", "scripts/build-vsix.sh", str(vsix)], env, 600, artifacts / "build-vsix.log")
    assert build.returncode == 0, (artifacts / "build-vsix.log").read_text()[-3000:]

    # interpreters with nothing installed, made as uv makes them (no pip): the bundled server
    # runs on them; one is also the workspace-level interpreter an untrusted workspace ignores
    py = os.environ.get("PYTHON", "python3")
    bare = tmp / "bare-venv"
    subprocess.run([py, "-m", "venv", "--without-pip", str(bare)], check=True, cwd=tmp)
    offline = tmp / "offline-venv"
    subprocess.run([py, "-m", "venv", "--without-pip", str(offline)], check=True, cwd=tmp)
    for venv in (bare, offline):
        probe = subprocess.run([str(venv / "bin/python"), "-c", "import pip"], capture_output=True, cwd=tmp)
        assert probe.returncode != 0, f"{venv} has pip"

    # THE ONE MOCK: this machine has no GPU, so a stand-in nvidia-smi on PATH prints recorded
    # `--query-gpu=index,name,memory.used,memory.total,utilization.gpu --format=csv,noheader,nounits`
    # output for two GPUs: GPU 0 nearly full and busy, GPU 1 idle. The picker must list them
    # with their memory and take GPU 1 for "Auto"; the runs themselves use the CPU.
    fakebin = tmp / "fakebin"
    fakebin.mkdir()
    (fakebin / "nvidia-smi").write_text(
        "#!/bin/sh\n"
        "# stand-in for nvidia-smi (no GPU on this machine): recorded nounits CSV of two H100s\n"
        "echo '0, NVIDIA H100 80GB HBM3, 70123, 81559, 96'\n"
        "echo '1, NVIDIA H100 80GB HBM3, 5, 81559, 0'\n"
    )
    (fakebin / "nvidia-smi").chmod(0o755)
    env["PATH"] = f"{fakebin}{os.pathsep}{env.get('PATH', '')}"
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return {"harness": Harness(tmp, artifacts, env, vsix), "server_py": server_py, "bare_py": bare / "bin/python",
            "offline_py": offline / "bin/python"}


@pytest.fixture(scope="module")
def e2e_results(harness) -> dict:
    """The trusted session: every user-facing feature, in order."""
    run_py = Path(os.environ.get("KERAS_MIGRATE_RUN_PYTHON", REPO / ".venv-keras/bin/python"))
    return harness["harness"].session(
        "trusted",
        workspace_settings={
            # the server and the run interpreter (absolute: the workspace is a temporary copy)
            "keras-migrate.interpreter": str(harness["server_py"]),
            "keras-migrate.runInterpreter": str(run_py),
            "keras-migrate.logLevel": "info",
            "[python]": {"editor.codeActionsOnSave": {"source.fixAll.keras-migrate": "explicit"}},
            "notebook.codeActionsOnSave": {"notebook.source.fixAll.keras-migrate": "explicit"},
            "files.autoSave": "off",
        },
        user_settings=dict(QUIET_USER_SETTINGS, **{"security.workspace.trust.enabled": False}),
        trust=False,
        mode="trusted",
        extra_env={"BARE_PYTHON": str(harness["bare_py"])},
    )


@pytest.fixture(scope="module")
def offline_results(harness, e2e_results) -> dict:
    """No network for code-server and its extension host, the server on a bare venv."""
    if not shutil.which("unshare") or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode:
        pytest.fail("`unshare -n` (a network namespace) is not available: run this as root or with CAP_SYS_ADMIN")
    run_py = Path(os.environ.get("KERAS_MIGRATE_RUN_PYTHON", REPO / ".venv-keras/bin/python"))
    return harness["harness"].session(
        "offline",
        workspace_settings={
            "keras-migrate.interpreter": str(harness["offline_py"]),
            "keras-migrate.runInterpreter": str(run_py),
            "keras-migrate.logLevel": "info",
            "files.autoSave": "off",
        },
        user_settings=dict(QUIET_USER_SETTINGS, **{"security.workspace.trust.enabled": False}),
        trust=False,
        mode="offline",
        extra_env={"BARE_PYTHON": str(harness["offline_py"]), "CUDA_VISIBLE_DEVICES": "1"},
        offline=True,
    )


@pytest.fixture(scope="module")
def untrusted_results(harness, e2e_results) -> dict:
    """Restricted Mode: the workspace names an interpreter without keras-migrate (ignored), the
    user settings name the real one; the server analyses, running a file is refused."""
    return harness["harness"].session(
        "untrusted",
        workspace_settings={"keras-migrate.interpreter": str(harness["bare_py"]), "files.autoSave": "off"},
        user_settings=dict(
            QUIET_USER_SETTINGS,
            **{
                "security.workspace.trust.enabled": True,
                "security.workspace.trust.startupPrompt": "never",
                "security.workspace.trust.banner": "never",
                "keras-migrate.interpreter": str(harness["server_py"]),
            },
        ),
        trust=True,
        mode="untrusted",
        extra_env={},
    )


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path.name} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _check(results: dict, step: str) -> None:
    steps = {s["name"]: s for s in results["steps"]}
    assert step in steps, f"the driver did not reach {step!r}: {results.get('driverError', '')}"
    rec = steps[step]
    detail = json.dumps(rec.get("detail", {}), indent=1)[:3000]
    assert rec["ok"], f"{step}: {rec.get('error')} (screenshot {rec.get('screenshot')})\n{detail}"
    # the screenshot: the whole workbench, and a crop of each thing the step shows
    assert rec.get("screenshot"), f"{step}: no screenshot"
    artifacts = Path(results["out"])
    assert _png_size(artifacts / rec["screenshot"]) == (1400, 900), f"{step}: the screenshot is not the 1400x900 page"
    for what, shown in (rec.get("shown") or {}).items():
        assert shown.get("crop"), f"{step}: {what} was not visible in the screenshot"
        w, h = _png_size(artifacts / shown["crop"])
        assert w >= 8 and h >= 8, f"{step}: the crop of {what} is {w}x{h}"


@pytest.mark.parametrize("step", STEPS)
def test_step(e2e_results: dict, step: str) -> None:
    _check(e2e_results, step)


# what each step's screenshot must show (the driver checks it is visible when taken)
SHOWS = {
    "language-status": {"languageStatus"},
    "diagnostics": {"squiggle", "problems"},
    "hover": {"hover"},
    "notebook-fix-all-on-save": {"cell"},
    "run-file": {"terminal", "toast"},
    "run-input": {"terminal"},
    "rerun-status-item": {"rerunItem", "terminal"},
    "run-failure-diagnostic": {"problem", "squiggle"},
    "notebook-run": {"problem", "cellSquiggle"},
    "cancel-run": {"terminal"},
    "compare-backends": {"matrixTab"},
    "debug-file": {"toast"},
    "bundled-server-any-interpreter": {"languageStatus", "squiggle"},
    "offline-diagnostics": {"squiggle", "languageStatus"},
    "offline-run-inherited-device": {"terminal"},
    "untrusted-server": {"squiggle"},
    "untrusted-run-refused": {"toast"},
}


def _check_shows(results: dict) -> None:
    steps = {s["name"]: s for s in results["steps"]}
    for step, shows in SHOWS.items():
        if step in steps:
            assert set(steps[step].get("shown") or {}) >= shows, f"{step}: {steps[step].get('shown')}"


def test_each_step_says_what_its_screenshot_shows(e2e_results: dict) -> None:
    _check_shows(e2e_results)


def test_each_offline_step_says_what_its_screenshot_shows(offline_results: dict) -> None:
    _check_shows(offline_results)


def test_each_untrusted_step_says_what_its_screenshot_shows(untrusted_results: dict) -> None:
    _check_shows(untrusted_results)


@pytest.mark.parametrize("step", OFFLINE_STEPS)
def test_offline_step(offline_results: dict, step: str) -> None:
    _check(offline_results, step)


@pytest.mark.parametrize("step", UNTRUSTED_STEPS)
def test_untrusted_step(untrusted_results: dict, step: str) -> None:
    _check(untrusted_results, step)


def test_no_workspace_module_ran_in_the_trusted_session(harness, e2e_results) -> None:
    """Opening, analysing, fixing, the report, the probes, the interpreter switch: none of it
    imports a workspace module. Only the runs the driver asked for (the user's own program,
    started by the runner with KERAS_BACKEND set) import what lies beside the program, as
    `python file.py` does."""
    markers = shadow_markers(harness["harness"].tmp / "trusted" / "markers")
    outside_runs = [(m, who) for m, who in markers if "None)" in who or m == "keras_migrate-pkg"]
    assert outside_runs == [], f"workspace modules imported outside a user-requested run: {outside_runs[:10]}"


def test_no_workspace_module_ran_in_restricted_mode(harness, untrusted_results) -> None:
    markers = shadow_markers(harness["harness"].tmp / "untrusted" / "markers")
    assert markers == [], f"workspace modules imported in Restricted Mode: {markers[:10]}"


def test_no_workspace_module_ran_in_the_offline_session(harness, offline_results) -> None:
    markers = shadow_markers(harness["harness"].tmp / "offline" / "markers")
    outside_runs = [(m, who) for m, who in markers if "None)" in who or m == "keras_migrate-pkg"]
    assert outside_runs == [], f"workspace modules imported outside a user-requested run: {outside_runs[:10]}"
