"""``keras-migrate run`` end to end: real Keras 3 files on the CPU, every backend.

The CLI runs as ``python -m keras_migrate.runner.cli`` (the same ``add_arguments`` /
``main`` the ``keras-migrate run`` subcommand calls) in the dev interpreter; the programs
run in the Keras stack interpreter (``--python``). No GPU here: runs use ``--cpu``, and the
``--gpu`` cases use a stand-in ``nvidia-smi`` or none at all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import (
    group_members,
    line_of,
    needs_proc,
    quiet_env,
    wait_gone,
    write_fake_nvidia_smi,
)

CLI = [sys.executable, "-m", "keras_migrate.runner.cli"]


def cli(*args: str, env=None, cwd=None, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def matrix_rows(stdout: str) -> dict[str, str]:
    """backend -> its matrix row, from the table at the end of the output."""
    lines = stdout.splitlines()
    head = max(i for i, l in enumerate(lines) if l.startswith("backend "))
    return {l.split()[0]: l for l in lines[head + 2:] if l.strip()}


def test_all_backends_on_a_file_named_with_spaces_quotes_and_dollar(workspace, keras_python, tmp_path):
    """One tiny model on jax, torch and tensorflow, with program arguments after ``--``."""
    target = workspace / "my model 'v2' \"final\" $HOME.py"
    shutil.copy(workspace / "tiny_model.py", target)
    proc = cli(str(target), "--backend", "all", "--cpu", "--python", keras_python,
               "--", "--epochs", "1", "$PATH", env=quiet_env(tmp_path), cwd=workspace)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for backend in ("jax", "torch", "tensorflow"):
        assert f"==> {backend} on cpu" in proc.stdout
        assert f"backend: {backend} output shape: (2, 3)" in proc.stdout
    assert proc.stdout.count("argv: ['--epochs', '1', '$PATH']") == 3
    rows = matrix_rows(proc.stdout)
    assert set(rows) == {"jax", "torch", "tensorflow"}
    assert all(" ok " in row and row.split()[1] == "cpu" for row in rows.values()), rows
    assert "@@keras-migrate" not in proc.stdout


def test_failing_file_points_at_the_users_line(workspace, keras_python, tmp_path):
    """The exit status is the program's; the location is printed compiler-style."""
    target = workspace / "fails_in_function.py"
    proc = cli(str(target), "--backend", "jax", "--cpu", "--python", keras_python,
               env=quiet_env(tmp_path), cwd=workspace)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = line_of(target, "ERROR-LINE")
    assert f"{target}:{line}: jax: ValueError: Exception encountered when calling" in proc.stderr
    row = matrix_rows(proc.stdout)["jax"]
    assert "failed (1)" in row and "ValueError: Exception encountered" in row
    assert "bootstrap.py" not in proc.stderr


@needs_proc
def test_ctrl_c_ends_the_program_and_everything_it_started(keras_python, tmp_path):
    """SIGINT to the CLI (Ctrl-C) cancels: exit 130, no process of the run left."""
    p, pids = _start_sleeper(keras_python, tmp_path)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130, out + err
    assert "cancelled" in err
    assert wait_gone(pids) == []
    assert group_members(pids[0]) == []


def _start_sleeper(keras_python, tmp_path):
    """The CLI running a program that started a grandchild, once the program says "ready".

    SIGINT is reset to its default in the CLI's process, as in a terminal: a test run that
    was itself started as a background job inherits SIGINT ignored, which the CLI honours."""
    from .conftest import FIXTURES

    p = subprocess.Popen([*CLI, str(FIXTURES / "spawns_and_sleeps.py"), "--backend", "jax",
                          "--cpu", "--python", keras_python],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=quiet_env(tmp_path), stdin=subprocess.DEVNULL,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    pids: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("pids "):
            pids = [int(x) for x in line.split()[1:]]
        if line.strip() == "ready":
            break
    assert len(pids) == 2, "the program never said it was ready"
    return p, pids


@needs_proc
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_termination_signal_ends_the_program_too(keras_python, tmp_path, sig):
    """SIGTERM (a CI job's timeout) or SIGHUP (the terminal closed) to the CLI: the program
    runs in its own session, so the CLI must end its tree before exiting with 128+N."""
    p, pids = _start_sleeper(keras_python, tmp_path)
    signum = getattr(signal, sig)
    p.send_signal(signum)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 128 + signum, out + err
    assert "cancelled" in err
    assert wait_gone(pids) == []
    assert group_members(pids[0]) == []


def test_backend_package_missing(tmp_path):
    """Keras 3 is there but jax is not: exit 2, and the message says what to pip install."""
    from .test_runner_units import fake_keras_site

    site = fake_keras_site(tmp_path / "site")
    target = tmp_path / "m.py"
    target.write_text("import keras\n")
    proc = cli(str(target), "--backend", "jax", "--cpu", "--python", sys.executable,
               env=quiet_env(tmp_path, PYTHONPATH=str(site)))
    assert proc.returncode == 2
    assert "the 'jax' backend needs the jax and jaxlib packages" in proc.stderr
    assert f"{sys.executable} -m pip install jax" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_interpreter_without_keras(tmp_path):
    """The dev interpreter has no Keras at all."""
    target = tmp_path / "m.py"
    target.write_text("import keras\n")
    proc = cli(str(target), "--backend", "all", "--cpu", "--python", sys.executable,
               env=quiet_env(tmp_path))
    assert proc.returncode == 2
    assert "Keras 3 is not installed" in proc.stderr and "pip install 'keras>=3'" in proc.stderr


def test_interpreter_that_does_not_exist(tmp_path):
    target = tmp_path / "m.py"
    target.write_text("print('hi')\n")
    proc = cli(str(target), "--backend", "torch", "--cpu", "--python", str(tmp_path / "no" / "python"),
               env=quiet_env(tmp_path))
    assert proc.returncode == 2
    assert "does not exist or is not executable" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_gpu_asked_for_where_there_is_none(tmp_path):
    """No nvidia-smi (as on this machine): --gpu 0 is refused with the CPU offered."""
    target = tmp_path / "m.py"
    target.write_text("print('hi')\n")
    env = quiet_env(tmp_path, PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]))
    if shutil.which("nvidia-smi", path=env["PATH"]):
        env["PATH"] = str(Path(sys.executable).parent)
    proc = cli(str(target), "--backend", "jax", "--gpu", "0", "--python", sys.executable, env=env)
    assert proc.returncode == 2
    assert "GPU 0 asked for, but no NVIDIA GPU visible" in proc.stderr and "--cpu" in proc.stderr


def test_gpu_index_not_in_the_listing(tmp_path):
    """nvidia-smi is mocked (no GPU here): a stand-in prints recorded output for 3 GPUs."""
    target = tmp_path / "m.py"
    target.write_text("print('hi')\n")
    smi = write_fake_nvidia_smi(tmp_path / "smi")
    env = quiet_env(tmp_path, PATH=f"{smi}{os.pathsep}{os.environ['PATH']}")
    proc = cli(str(target), "--backend", "jax", "--gpu", "7", "--python", sys.executable, env=env)
    assert proc.returncode == 2
    assert "there is no GPU 7; GPUs here: GPU 0: NVIDIA H100 80GB HBM3" in proc.stderr


def test_missing_file_and_missing_backend_option(tmp_path):
    proc = cli(str(tmp_path / "nope.py"), "--backend", "jax", "--cpu")
    assert proc.returncode == 2 and "no such file" in proc.stderr
    target = tmp_path / "m.py"
    target.write_text("")
    proc = cli(str(target), "--cpu")
    assert proc.returncode == 2 and "choose a backend" in proc.stderr
