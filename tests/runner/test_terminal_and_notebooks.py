"""Terminal runs (the program owns a real pseudo-terminal) and notebook runs; no Keras.

The terminal tests start the runner inside a pty made with the standard ``pty`` module, the
way VS Code's terminal (node-pty) starts a task: the runner is the session leader and the
pty is its controlling terminal. Programs run in this interpreter, which has no Keras; the
bootstrap tolerates that (its report says so) and runs the file anyway.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keras_migrate.runner import cli as runner_cli
from keras_migrate.runner.notebooks import NotebookError, build_script

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX ptys")

RUNNER = textwrap.dedent("""
    import json, sys
    from keras_migrate.runner.process import RunRequest, run_file
    results = []
    for backend in ("jax", "torch"):
        r = run_file(RunRequest(file=sys.argv[1], backend=backend, python=sys.executable, terminal=True))
        results.append(r.to_json())
        if r.cancelled:
            break
    sys.stdout.write("@@RESULT " + json.dumps(results) + "\\n")
""")


def _spawn_in_pty(argv: list[str], cwd: Path) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: session leader with the pty as its controlling terminal
        try:
            os.chdir(cwd)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    return pid, fd


def _read_until(fd: int, pattern: str, timeout: float, seen: list[str]) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536).decode("utf-8", "replace")
            except OSError:  # the other side closed
                break
            seen.append(chunk)
            if pattern in "".join(seen):
                return "".join(seen)
    text = "".join(seen)
    if pattern not in text:
        raise AssertionError(f"{pattern!r} did not appear within {timeout} s:\n{text[-3000:]}")
    return text


def _finish(pid: int, fd: int, seen: list[str]) -> tuple[int, str]:
    text = _read_until(fd, "@@RESULT", 30, seen)
    try:
        while True:  # drain
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen.append(chunk.decode("utf-8", "replace"))
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), "".join(seen)


def _results(text: str) -> list[dict]:
    line = next(l for l in text.splitlines() if l.startswith("@@RESULT "))
    return json.loads(line[len("@@RESULT "):])


def test_terminal_run_gives_the_program_a_tty_input_and_keeps_the_output_clean(tmp_path):
    prog = tmp_path / "ask.py"
    prog.write_text(textwrap.dedent("""
        import sys
        print("TTY", sys.stdin.isatty(), sys.stdout.isatty(), flush=True)
        for i in range(3):
            print(f"\\rstep {i}/3", end="", flush=True)
        print()
        name = input("name? ")
        print("HELLO", name[::-1])
        raise SystemExit(3)
    """))
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    pid, fd = _spawn_in_pty([sys.executable, str(runner), str(prog)], tmp_path)
    seen: list[str] = []
    for answer in (b"abc", b"xyz"):  # jax, then torch: each run reads the keyboard
        _read_until(fd, "name? ", 30, seen)
        os.write(fd, answer + b"\n")
        _read_until(fd, "HELLO " + answer.decode()[::-1], 30, seen)
        seen = ["".join(seen).replace("name? ", "", 1)]
    code, text = _finish(pid, fd, seen)
    assert code == 0
    assert "TTY True True" in text  # the program's stdin and stdout are the terminal
    assert "\rstep 2/3" in text      # a carriage-return progress line reaches it as is
    assert "@@keras-migrate" not in text  # the runner's own line does not go through it
    first, second = _results(text)
    assert first["exitCode"] == 3 and first["backend"] == "jax" and not first["cancelled"]
    assert second["backend"] == "torch"


def test_ctrl_c_in_the_terminal_reaches_the_program_and_cancels_the_rest(tmp_path):
    prog = tmp_path / "slow.py"
    prog.write_text(textwrap.dedent("""
        import time
        try:
            print("SLEEPING", flush=True)
            time.sleep(60)
        except KeyboardInterrupt:
            print("GOT KEYBOARDINTERRUPT", flush=True)
            raise
    """))
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    t0 = time.monotonic()
    pid, fd = _spawn_in_pty([sys.executable, str(runner), str(prog)], tmp_path)
    seen: list[str] = []
    _read_until(fd, "SLEEPING", 30, seen)
    os.write(fd, b"\x03")  # what the terminal sends for Ctrl-C: SIGINT to the foreground group
    code, text = _finish(pid, fd, seen)
    assert time.monotonic() - t0 < 30
    assert "GOT KEYBOARDINTERRUPT" in text  # the program, not the runner, got the Ctrl-C
    assert code == 0  # ... and the runner went on: it reported, it was not interrupted
    (only,) = _results(text)  # the second backend was not started
    assert only["cancelled"] is True and only["status"] == "cancelled"
    assert only["exitCode"] == -signal.SIGINT


def test_terminal_run_reports_the_uncaught_exception_for_the_failure_diagnostic(tmp_path):
    prog = tmp_path / "boom.py"
    prog.write_text("def f():\n    raise ValueError('deliberate')\n\nf()\n")
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    pid, fd = _spawn_in_pty([sys.executable, str(runner), str(prog)], tmp_path)
    code, text = _finish(pid, fd, [])
    first = _results(text)[0]
    assert "ValueError: deliberate" in text  # the user sees the traceback in the terminal
    assert first["firstErrorLine"] == "ValueError: deliberate"
    assert first["errorLocation"]["line"] == 2 and first["errorLocation"]["path"] == str(prog)


# -- notebooks ----------------------------------------------------------------------------
def _nb(*cells) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": src, **({"outputs": [], "execution_count": None}
                                                             if kind == "code" else {})}
        for kind, src in cells]})


def test_notebook_script_skips_magics_and_maps_lines_back_to_cells():
    raw = _nb(
        ("markdown", "# Title\n%not code"),
        ("code", ["%matplotlib inline\n", "import os\n", "x = 1"]),
        ("code", "%%bash\necho hi\n  indented"),
        ("code", "if True:\n    !pip install keras\nfiles = !ls\nos.path?\ny = '%d' % 3"),
        ("code", "s = '''\n%d items\n'''\nraise ValueError(s)"),
    )
    script = build_script(raw, "nb.ipynb")
    compile(script.text, "nb.py", "exec")  # what runs is valid Python
    assert script.code_cells == 4
    assert [(k.cell, k.line, k.text.strip()) for k in script.skipped] == [
        (1, 1, "%matplotlib inline"), (2, 1, "%%bash"),
        (3, 2, "!pip install keras"), (3, 3, "files = !ls"), (3, 4, "os.path?")]
    assert "y = '%d' % 3" in script.text
    # a cell that compiles is left exactly as written (its "%d" line is inside a string)
    assert "s = '''\n%d items\n'''\nraise ValueError(s)" in script.text
    lines = script.text.split("\n")
    raise_line = lines.index("raise ValueError(s)") + 1
    assert script.cell_of(raise_line) == (4, 4)
    assert script.cell_of(lines.index("import os") + 1) == (1, 2)
    assert "IPython magics skipped" in script.summary() and "cell 2 line 1" in script.summary()


def test_notebook_script_refuses_what_it_cannot_read():
    with pytest.raises(NotebookError, match="invalid JSON"):
        build_script("{nope")
    with pytest.raises(NotebookError, match="nbformat 3"):
        build_script(json.dumps({"nbformat": 3, "worksheets": []}))


def test_cli_runs_a_notebook_and_points_a_failure_at_its_cell(tmp_path, capsys, monkeypatch):
    """Through the CLI with the environment check answered "ok" (this interpreter has no Keras,
    and the check would say so; the real Keras run of a notebook is in the e2e test):
    the notebook's cells run in order, magics skipped and said so, the failure is located in
    its cell, and the JSON carries the cell for the editor's diagnostic."""
    nb = tmp_path / "train.ipynb"
    nb.write_text(_nb(
        ("code", "%load_ext autoreload\nprint('CELL ONE')"),
        ("markdown", "text"),
        ("code", "print('CELL TWO')\n\nraise RuntimeError('in cell three')"),
    ))
    from keras_migrate.runner import environment

    monkeypatch.setattr(runner_cli.RunSession, "check", lambda self: _ok_report(self, environment))
    out_json = tmp_path / "r.json"
    args = runner_cli.build_parser().parse_args(
        [str(nb), "--backend", "jax", "--cpu", "--python", sys.executable, "--json", str(out_json), "--capture"])
    code = runner_cli.main(args)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.index("CELL ONE") < captured.out.index("CELL TWO")
    assert "1 code cell" not in captured.err and "2 code cells in order" in captured.err
    assert "IPython magics skipped" in captured.err and "%load_ext autoreload" in captured.err
    assert f"{nb}: cell 3, line 3: jax: RuntimeError: in cell three" in captured.err
    data = json.loads(out_json.read_text())
    assert data["file"] == str(nb) and data["notebook"]["codeCells"] == 2
    loc = data["results"][0]["errorLocation"]
    assert (loc["path"], loc["cell"], loc["cellLine"]) == (str(nb), 2, 3)
    assert not [p for p in tmp_path.iterdir() if "keras-migrate-run" in p.name]  # the script is gone


def _ok_report(session, environment):
    report = environment.EnvironmentReport(python=session.python or sys.executable, backends=session.backends)
    session.environment = report
    return report


def test_cli_device_conventions_with_a_stand_in_nvidia_smi(fake_nvidia_smi, monkeypatch, capsys):
    """nvidia-smi is a stand-in (no GPU here): GPU 0 idle, GPU 1 full. With no --gpu/--cpu
    an existing CUDA_VISIBLE_DEVICES is kept, else the least-used GPU is taken."""
    ns = runner_cli.build_parser().parse_args(["f.py", "--backend", "jax"])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    d = runner_cli._choose_device(ns)
    assert (d.kind, d.value, d.label()) == ("env", "1", "CUDA_VISIBLE_DEVICES=1")
    assert "CUDA_VISIBLE_DEVICES=1 is set in the environment: it is kept" in capsys.readouterr().err
    from keras_migrate.runner.process import child_environment

    env = child_environment("jax", d, {"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "FASTEST_FIRST"})
    assert (env["CUDA_VISIBLE_DEVICES"], env["CUDA_DEVICE_ORDER"]) == ("1", "FASTEST_FIRST")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    d = runner_cli._choose_device(ns)
    assert (d.kind, d.index) == ("gpu", 0)
    assert "least-used GPU, GPU 0: NVIDIA H100 80GB HBM3, 1/81559 MiB used, 0% busy" in capsys.readouterr().err
    # a choice wins over the environment
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    picked = runner_cli._choose_device(runner_cli.build_parser().parse_args(["f.py", "--backend", "jax", "--gpu", "2"]))
    assert (picked.kind, picked.index) == ("gpu", 2)
    assert child_environment("jax", picked, {"CUDA_VISIBLE_DEVICES": "1"})["CUDA_VISIBLE_DEVICES"] == "2"


def _read_to_eof(pid: int, fd: int, timeout: float) -> tuple[int, str]:
    seen: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                break
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        seen.append(chunk.decode("utf-8", "replace"))
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError(f"the run did not end within {timeout} s:\n{''.join(seen)[-3000:]}")
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 0
    os.close(fd)
    return os.waitstatus_to_exitcode(status), "".join(seen)


@pytest.mark.conformance
def test_terminal_smoke_run_keeps_its_summary(tmp_path):
    """A smoke run in a terminal (as the VS Code task runs it): the summary the smoke patch
    prints at exit goes to the terminal, which the runner does not read, so it comes back
    through the bootstrap's report file: the results carry it and the CLI does not claim it
    is missing. Real Keras 3 (the .venv-keras stack) on jax, CPU."""
    from .conftest import quiet_env, stack_python

    prog = tmp_path / "train.py"
    prog.write_text(textwrap.dedent("""
        import numpy as np
        import keras
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.zeros((640, 4)), np.zeros((640, 1)), epochs=50, batch_size=8, verbose=0)
        print("TRAINED", flush=True)
    """))
    out = tmp_path / "result.json"
    argv = [sys.executable, "-m", "keras_migrate.runner.cli", str(prog), "--backend", "jax", "--cpu",
            "--smoke", "--python", stack_python(), "--json", str(out)]
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.chdir(tmp_path)
            os.execve(argv[0], argv, quiet_env(tmp_path))
        finally:
            os._exit(127)
    code, text = _read_to_eof(pid, fd, 300)
    assert code == 0, text[-3000:]
    assert "TRAINED" in text
    assert "keras-migrate smoke: fit: 1 call" in text  # the user sees it in the terminal
    assert "summary is missing" not in text, text[-3000:]
    (result,) = json.loads(out.read_text())["results"]
    assert result["smokeSummary"] and result["smokeSummary"][0].startswith("fit: 1 call: 1 capped"), result
