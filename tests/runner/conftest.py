"""Shared helpers for the backend-runner tests.

The runs use the Keras stack interpreter (``.venv-keras/bin/python``, made by
``scripts/setup-keras-env.sh``; override with ``KERAS_STACK_PYTHON``). A missing stack is
a failure, never a skip. Everything runs on the CPU: there is no GPU here, and the GPU
listing is tested against a stand-in ``nvidia-smi`` (see ``fake_nvidia_smi``).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "runner"
RECORDED_SMI = FIXTURES / "nvidia-smi.recorded.txt"


def stack_python() -> str:
    py = os.environ.get("KERAS_STACK_PYTHON") or str(REPO / ".venv-keras" / "bin" / "python")
    if not (os.path.isfile(py) and os.access(py, os.X_OK)):
        pytest.fail(
            f"Keras stack interpreter not found: {py}\n"
            "Run `bash scripts/setup-keras-env.sh` first, or set KERAS_STACK_PYTHON.",
            pytrace=False,
        )
    return py


def quiet_env(tmp: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment for runs: TensorFlow's C++ logging off, Keras's home in tmp."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "PYTHONPATH", "PYTHONHOME", "TF_USE_LEGACY_KERAS")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if tmp is not None:
        env["KERAS_HOME"] = str(tmp / "keras-home")
    env.update(extra)
    return env


def _print_file(path: Path) -> str:
    # Shell built-ins only: the stand-in must work with PATH holding nothing else.
    return f'while IFS= read -r l; do echo "$l"; done < "{path}"'


def write_fake_nvidia_smi(folder: Path, output: str | None = None, fail: str | None = None) -> Path:
    """A stand-in ``nvidia-smi`` (no GPU here): prints recorded output, or fails."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "nvidia-smi"
    if fail is not None:
        message = folder / "nvidia-smi.err"
        message.write_text(fail + "\n")
        body = f'#!/bin/sh\n{_print_file(message)} >&2\nexit 9\n'
    else:
        data = folder / "nvidia-smi.out"
        data.write_text(output if output is not None else RECORDED_SMI.read_text())
        body = (
            "#!/bin/sh\n"
            "# Stand-in for nvidia-smi: answers the runner's one query with recorded output.\n"
            'case "$*" in\n'
            '  *--query-gpu=index,name,memory.used,memory.total,utilization.gpu*--format=csv,noheader,nounits*)'
            f" {_print_file(data)} ;;\n"
            '  *) echo "unexpected arguments: $*" >&2; exit 2 ;;\n'
            "esac\n"
        )
    script.write_text(body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def copy_fixture_tree(dest: Path) -> Path:
    """The runner fixtures in a fresh folder (a workspace of their own)."""
    shutil.copytree(FIXTURES, dest, dirs_exist_ok=True)
    return dest


def line_of(path: Path, marker: str) -> int:
    """1-based line number of the first line containing ``marker``."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(f"{marker!r} not in {path}")


def process_state(pid: int) -> str | None:
    """The process's state letter from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper."""
    state = process_state(pid)
    return state is not None and state not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.fixture(scope="session")
def keras_python() -> str:
    return stack_python()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return copy_fixture_tree(tmp_path / "ws")


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path):
    """Put a stand-in nvidia-smi that prints recorded output first on PATH."""
    folder = write_fake_nvidia_smi(tmp_path / "smi-bin")
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{folder}{os.pathsep}{old}"
    try:
        yield folder
    finally:
        os.environ["PATH"] = old


needs_proc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
