"""The VS Code extension, end to end, in a real VS Code (code-server 4.100.3).

Builds the .vsix (``scripts/build-vsix.sh``), installs it into a fresh code-server started by
``tests/vscode_e2e/setup.sh`` on a temporary copy of ``tests/vscode_e2e/fixture``, and drives the
workbench in Debian's headless chromium with ``tests/vscode_e2e/drive.js`` (playwright-core).
The driver writes one JSON record per step and a screenshot per step; each step is one test here.

The language server runs from ``$KERAS_MIGRATE_PYTHON`` (default ``<repo>/.venv/bin/python``,
where ``pip install -e .`` put keras-migrate); "Run File on Backend" runs the file in
``$KERAS_MIGRATE_RUN_PYTHON`` (default ``<repo>/.venv-keras/bin/python``, made by
``scripts/setup-keras-env.sh``). A second session opens the folder in Restricted Mode (workspace trust on). Screenshots, the
driver's ``results-*.json`` and the extension's output channels land in ``$KERAS_MIGRATE_ARTIFACTS`` (default ``<repo>/test-artifacts/vscode``).
code-server, chromium and playwright are installed once into ``$KERAS_MIGRATE_E2E_CACHE``
(default ``~/.cache/keras-migrate-e2e``): cold about 1-2 minutes, then about a minute per run.
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
    "server-status",
    "diagnostics",
    "quick-fix",
    "fix-all",
    "fix-all-on-save",
    "notebook",
    "notebook-fix-all",
    "report",
    "restart-server",
    "run-file",
    "rerun-status-item",
    "run-failure-diagnostic",
    "cancel-run",
    "compare-backends",
    "missing-server-offer",
    "install-offer-accepted",
]
UNTRUSTED_STEPS = ["untrusted-workbench", "untrusted-server", "untrusted-run-refused"]


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
                mode: str, extra_env: dict) -> dict:
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
        setup = _run(["bash", str(HERE / "setup.sh")], env, 900, log)
        assert setup.returncode == 0, log.read_text()[-3000:]
        results_file = self.artifacts / f"results-{name}.json"
        try:
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
                _run(["node", str(HERE / "drive.js")], drive_env, 900, self.artifacts / f"drive-{name}.log")
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

    # an interpreter without keras-migrate: the "install it?" offer (never accepted), and the
    # workspace-level interpreter an untrusted workspace must ignore
    bare = tmp / "bare-venv"
    subprocess.run([os.environ.get("PYTHON", "python3"), "-m", "venv", "--without-pip", str(bare)], check=True, cwd=tmp)
    # one with pip, into which the driver accepts the install offer (the bundled wheel; its
    # dependencies come from pip's cache or PyPI, as for a user)
    fresh = tmp / "install-venv"
    subprocess.run([os.environ.get("PYTHON", "python3"), "-m", "venv", str(fresh)], check=True, cwd=tmp)

    # a stand-in nvidia-smi on PATH that prints recorded output for two GPUs (this machine has
    # none): the device picker must list them, then the CPU. The runs themselves use the CPU.
    fakebin = tmp / "fakebin"
    fakebin.mkdir()
    (fakebin / "nvidia-smi").write_text(
        "#!/bin/sh\n"
        "# stand-in: recorded output of nvidia-smi --query-gpu=index,name,memory.used,memory.total --format=csv,noheader\n"
        "echo '0, NVIDIA H100 80GB HBM3, 3 MiB, 81559 MiB'\n"
        "echo '1, NVIDIA H100 80GB HBM3, 5 MiB, 81559 MiB'\n"
    )
    (fakebin / "nvidia-smi").chmod(0o755)
    env["PATH"] = f"{fakebin}{os.pathsep}{env.get('PATH', '')}"
    return {"harness": Harness(tmp, artifacts, env, vsix), "server_py": server_py, "bare_py": bare / "bin/python",
            "install_py": fresh / "bin/python"}


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
            "files.autoSave": "off",
        },
        user_settings=dict(QUIET_USER_SETTINGS, **{"security.workspace.trust.enabled": False}),
        trust=False,
        mode="trusted",
        extra_env={"BARE_PYTHON": str(harness["bare_py"]), "INSTALL_PYTHON": str(harness["install_py"])},
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


def _check(results: dict, step: str) -> None:
    steps = {s["name"]: s for s in results["steps"]}
    assert step in steps, f"the driver did not reach {step!r}: {results.get('driverError', '')}"
    rec = steps[step]
    detail = json.dumps(rec.get("detail", {}), indent=1)[:3000]
    assert rec["ok"], f"{step}: {rec.get('error')} (screenshot {rec.get('screenshot')})\n{detail}"
    assert rec.get("screenshot"), f"{step}: no screenshot"


@pytest.mark.parametrize("step", STEPS)
def test_step(e2e_results: dict, step: str) -> None:
    _check(e2e_results, step)


@pytest.mark.parametrize("step", UNTRUSTED_STEPS)
def test_untrusted_step(untrusted_results: dict, step: str) -> None:
    _check(untrusted_results, step)


def test_no_workspace_module_ran_in_the_trusted_session(harness, e2e_results) -> None:
    """Opening, analysing, fixing, the report, the probes, the install offer: none of it
    imports a workspace module. Only the runs the driver asked for (the user's own program,
    started by the runner with KERAS_BACKEND set) import what lies beside the program, as
    `python file.py` does."""
    markers = shadow_markers(harness["harness"].tmp / "trusted" / "markers")
    outside_runs = [(m, who) for m, who in markers if "None)" in who or m == "keras_migrate-pkg"]
    assert outside_runs == [], f"workspace modules imported outside a user-requested run: {outside_runs[:10]}"


def test_no_workspace_module_ran_in_restricted_mode(harness, untrusted_results) -> None:
    markers = shadow_markers(harness["harness"].tmp / "untrusted" / "markers")
    assert markers == [], f"workspace modules imported in Restricted Mode: {markers[:10]}"
