"""Fast tests of the runner's parts; no Keras is imported (the dev interpreter has none).

The bootstrap and process tests run fixture programs in *this* interpreter, which lacks
Keras: the bootstrap reports that in its line and still runs the file, so how ``__main__``,
``sys.argv``, ``sys.path[0]``, the environment and cancellation behave is checked in
milliseconds. The same paths with real Keras runs are in ``test_cli_keras.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from keras_migrate.runner import (
    BOOTSTRAP,
    Device,
    Run,
    RunRequest,
    RunResult,
    check_environment,
    first_error_line,
    format_markdown,
    format_text,
    list_gpus,
    locate_error,
    parse_nvidia_smi,
    parse_traceback,
    run_file,
    temporary_copy,
)
from keras_migrate.runner import cli as runner_cli
from keras_migrate.runner.process import child_environment

from .conftest import (
    FIXTURES,
    RECORDED_SMI,
    alive,
    group_members,
    needs_proc,
    wait_gone,
    write_fake_nvidia_smi,
)

WEIRD_NAME = "my model 'v2' \"final\" $HOME `x`.py"


# -- tracebacks -----------------------------------------------------------------------------
def test_traceback_last_block_and_exception_line(tmp_path):
    user = tmp_path / "train.py"
    user.write_text("x\n" * 30)
    text = f"""\
some output
Traceback (most recent call last):
  File "{user}", line 3, in <module>
    main()
KeyError: 'first'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "{user}", line 12, in <module>
    main()
  File "{user}", line 7, in main
    return fit(model)
           ^^^^^^^^^^
  File "/usr/lib/python3.11/site-packages/keras/src/trainer.py", line 99, in fit
    raise ValueError("bad shape")
ValueError: Exception encountered when calling Dense.call().

\x1b[1mInput 0 is incompatible\x1b[0m
"""
    parsed = parse_traceback(text)
    assert parsed.exception_line == "ValueError: Exception encountered when calling Dense.call()."
    assert [f.line for f in parsed.frames] == [12, 7, 99]
    assert "Input 0 is incompatible" in parsed.message and "\x1b" not in parsed.message
    loc = locate_error(parsed, [str(tmp_path)], backend="jax")
    assert (loc.path, loc.line) == (str(user), 7)
    assert loc.message.startswith("jax: ValueError: Exception encountered")
    assert first_error_line(text) == parsed.exception_line


def test_syntax_error_without_header_and_no_traceback(tmp_path):
    user = tmp_path / "s.py"
    user.write_text("x = (\n")
    text = f'  File "{user}", line 1\n    x = (\n        ^\nSyntaxError: \'(\' was never closed\n'
    parsed = parse_traceback(text)
    assert parsed.exception_line == "SyntaxError: '(' was never closed"
    assert locate_error(parsed, [str(tmp_path)], backend="torch").line == 1
    assert parse_traceback("all fine\nno traceback here\n") is None


def test_locate_skips_installed_packages_inside_the_workspace_and_maps_temp_copies(tmp_path):
    """A venv inside the workspace is not the user's code; a temp copy maps to the real file."""
    venv_file = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "keras" / "x.py"
    venv_file.parent.mkdir(parents=True)
    venv_file.write_text("\n" * 10)
    temp = tmp_path / ".model.keras-migrate-run-1234.py"
    temp.write_text("\n" * 10)
    real = tmp_path / "model.py"
    text = (
        "Traceback (most recent call last):\n"
        f'  File "{BOOTSTRAP}", line 140, in main\n'
        f'  File "{temp}", line 5, in <module>\n'
        f'  File "{venv_file}", line 2, in call\n'
        "RuntimeError: boom\n"
    )
    loc = locate_error(parse_traceback(text), [str(tmp_path)], backend="tensorflow",
                       path_map={str(temp): str(real)}, exclude=[BOOTSTRAP])
    assert (loc.path, loc.line) == (str(real), 5)
    assert loc.message == "tensorflow: RuntimeError: boom"
    outside = locate_error(parse_traceback(text), ["/nonexistent-root"])
    assert outside is None


# -- matrix -----------------------------------------------------------------------------------
def test_matrix_text_and_markdown():
    ok = RunResult("jax", Device.gpu(1), exit_code=0, wall_time=2.04, keras_backend="jax",
                   devices=[{"kind": "gpu", "id": 0, "name": "NVIDIA H100"}])
    bad = RunResult("torch", Device.gpu(1), exit_code=1, wall_time=3.5, keras_backend="torch",
                    first_error_line="ValueError: a|b", devices=[{"kind": "cpu", "id": 0, "name": "cpu"}])
    skipped = RunResult("tensorflow", Device.gpu(1),
                        not_run="the 'tensorflow' backend needs the tensorflow package")
    text = format_text([ok, bad, skipped])
    lines = text.splitlines()
    assert lines[0].split() == ["backend", "device", "status", "wall", "time", "first", "error", "line"]
    assert "gpu:1 (NVIDIA H100)" in lines[2] and "ok" in lines[2] and "2.0 s" in lines[2]
    assert "cpu (asked for gpu:1)" in lines[3] and "failed (1)" in lines[3]
    assert "not run" in lines[4] and "tensorflow package" in lines[4]
    md = format_markdown([ok, bad, skipped]).splitlines()
    assert md[0] == "| backend | device | status | wall time | first error line |"
    assert md[1] == "|---|---|---|---|---|"
    assert "ValueError: a\\|b" in md[3]
    assert RunResult("jax", Device.cpu(), exit_code=-9).status == "killed (SIGKILL)"


# -- CLI arguments ----------------------------------------------------------------------------
def test_cli_arguments_after_double_dash_reach_the_program():
    top = argparse.ArgumentParser(prog="keras-migrate")
    sub = top.add_subparsers(dest="command")
    runner_cli.add_arguments(sub.add_parser("run"))
    ns = top.parse_args(["run", "f.py", "--backend", "jax", "--", "--epochs", "3", "--", "x"])
    assert (ns.file, ns.backend, ns.program_args) == ("f.py", "jax", ["--epochs", "3", "--", "x"])
    ns = top.parse_args(["run", "--cpu", "f.py", "--backend", "all"])
    assert (ns.cpu, ns.gpu, ns.program_args) == (True, None, [])
    ns = top.parse_args(["run", "f.py", "--gpu", "1", "--", "--backend", "torch"])
    assert (ns.backend, ns.gpu, ns.program_args) == (None, 1, ["--backend", "torch"])
    with pytest.raises(SystemExit):
        top.parse_args(["run", "f.py", "--gpu", "0", "--cpu"])


# -- GPUs -------------------------------------------------------------------------------------
def test_parse_recorded_nvidia_smi_output():
    """``--format=csv,noheader,nounits`` with utilisation (the query the runner sends), and
    the older four-column form with units, which some callers still pass in."""
    gpus = parse_nvidia_smi(RECORDED_SMI.read_text())
    assert [(g.index, g.name, g.memory_used_mib, g.memory_total_mib, g.utilization_pct) for g in gpus] == [
        (0, "NVIDIA H100 80GB HBM3", 1, 81559, 0),
        (1, "NVIDIA A100-SXM4-40GB", 40123, 40960, 97),
        (2, "Tesla T4", None, 15360, None),
    ]
    old = parse_nvidia_smi("0, NVIDIA H100 80GB HBM3, 1 MiB, 81559 MiB\n1, Tesla T4, [N/A], 15360 MiB\n")
    assert [(g.index, g.memory_used_mib, g.memory_total_mib, g.utilization_pct) for g in old] == [
        (0, 1, 81559, None), (1, None, 15360, None)]
    # a name with a comma in it stays whole
    (g,) = parse_nvidia_smi("3, Quadro RTX 8000, rev B, 10, 49152, 5\n")
    assert (g.index, g.name, g.memory_used_mib, g.utilization_pct) == (3, "Quadro RTX 8000, rev B", 10, 5)


def test_default_device_respects_cuda_visible_devices_then_takes_the_least_used(fake_nvidia_smi, monkeypatch):
    """nvidia-smi is a stand-in (no GPU here): recorded output of three GPUs, GPU 0 idle
    (1 of 81559 MiB, 0 %), GPU 1 full (40123 of 40960 MiB, 97 %), GPU 2 unknown."""
    from keras_migrate.runner.gpus import default_device

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    d = default_device()
    assert (d.kind, d.value) == ("env", "1") and "CUDA_VISIBLE_DEVICES=1" in d.reason
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # set but empty: no GPU, still the user's
    assert default_device().kind == "env"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    d = default_device()
    assert (d.kind, d.index) == ("gpu", 0) and "least-used" in d.reason
    # the busy card first in PCI order: the idle one is still chosen
    busy_first = list_gpus().__class__(parse_nvidia_smi(
        "0, NVIDIA H100 80GB HBM3, 70000, 81559, 88\n1, NVIDIA H100 80GB HBM3, 3, 81559, 0\n"))
    assert default_device(busy_first, env={}).index == 1
    # same memory: the lower utilisation wins
    tie = busy_first.__class__(parse_nvidia_smi("0, A, 100, 1000, 50\n1, B, 100, 1000, 10\n"))
    assert default_device(tie, env={}).index == 1
    none = busy_first.__class__([], "no NVIDIA GPU visible")
    assert default_device(none, env={}).kind == "cpu"


def test_list_gpus_with_a_stand_in_nvidia_smi(fake_nvidia_smi):
    """nvidia-smi is mocked (no GPU here): a stand-in script first on PATH prints
    recorded ``--query-gpu=index,name,memory.used,memory.total,utilization.gpu
    --format=csv,noheader,nounits``
    output, in the format the real one prints on an H100 machine."""
    listing = list_gpus()
    assert listing.error is None
    assert listing.to_json()["gpus"][0] == {
        "index": 0, "name": "NVIDIA H100 80GB HBM3", "memoryUsed": 1, "memoryTotal": 81559,
        "utilization": 0}
    assert listing.to_json()["leastUsed"] == 0
    assert listing.find(2).name == "Tesla T4" and listing.find(5) is None


def test_list_gpus_without_nvidia_smi_or_with_a_broken_driver(tmp_path, monkeypatch):
    """No nvidia-smi (the case here): no GPUs and a message offering the CPU. A stand-in
    that fails the way nvidia-smi does without a driver: its message, and the CPU."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    listing = list_gpus()
    assert listing.gpus == [] and "nvidia-smi was not found" in listing.error
    assert "--cpu" in listing.error
    broken = write_fake_nvidia_smi(
        tmp_path / "broken", fail="NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    monkeypatch.setenv("PATH", str(broken))
    listing = list_gpus()
    assert listing.gpus == [] and "couldn't communicate with the NVIDIA driver" in listing.error


# -- environment ------------------------------------------------------------------------------
def test_environment_interpreter_missing():
    report = check_environment("/nonexistent/bin/python3", "jax")
    assert not report.ok and not report.interpreter_ok
    assert "'/nonexistent/bin/python3' does not exist" in report.problems[0].text()


def test_environment_keras_missing_names_the_pip_command():
    """The dev interpreter (this one) has no Keras: say so, with the pip command."""
    report = check_environment(sys.executable, "torch")
    texts = [p.text() for p in report.problems]
    assert any("Keras 3 is not installed" in t and f"{sys.executable} -m pip install 'keras>=3'" in t
               for t in texts), texts
    assert any("needs the torch package" in t and t.endswith("-m pip install torch") for t in texts)


def fake_keras_site(folder: Path, version: str = "3.15.1") -> Path:
    """A site folder with a stand-in ``keras`` distribution and no backend packages."""
    (folder / "keras").mkdir(parents=True)
    (folder / "keras" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    info = folder / f"keras-{version}.dist-info"
    info.mkdir()
    info.joinpath("METADATA").write_text(f"Metadata-Version: 2.1\nName: keras\nVersion: {version}\n")
    return folder


def test_environment_backend_package_missing(tmp_path, monkeypatch):
    """Keras 3 present, jax absent: the problem names jax and its pip command only."""
    monkeypatch.setenv("PYTHONPATH", str(fake_keras_site(tmp_path / "site")))
    report = check_environment(sys.executable, "jax")
    assert report.keras_version == "3.15.1"
    assert [p.backend for p in report.problems] == ["jax"]
    assert "needs the jax and jaxlib packages" in report.problems[0].text()
    assert report.problems[0].command == (sys.executable, "-m", "pip", "install", "jax")


def test_environment_keras_2_is_not_enough(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(fake_keras_site(tmp_path / "site", "2.15.0")))
    report = check_environment(sys.executable, "tensorflow")
    assert "Keras 2.15.0 is installed" in report.problems[0].text()
    assert "--upgrade 'keras>=3'" in report.problems[0].text()


# -- bootstrap and process --------------------------------------------------------------------
def _probe(chunks: list[str]) -> dict:
    for line in "".join(chunks).splitlines():
        if line.startswith("PROBE "):
            return json.loads(line[len("PROBE "):])
    raise AssertionError(f"no PROBE line in {lines!r}")


def test_bootstrap_runs_the_file_like_python_does(tmp_path):
    """__main__, sys.argv, sys.path[0], sibling imports, the environment, the exit code;
    and a file name with spaces, quotes, $ and backticks, run without a shell."""
    folder = tmp_path / "dir with space"
    folder.mkdir()
    target = folder / WEIRD_NAME
    target.write_text((FIXTURES / "probe_main.py").read_text())
    (folder / "sibling_helper.py").write_text("UNITS = 3\n")
    out: list[str] = []
    request = RunRequest(file=str(target), backend="torch", device=Device.gpu(2),
                         python=sys.executable, args=["7", "$HOME", "a b"], cwd=str(tmp_path))
    result = run_file(request, lambda stream, line: out.append(line))
    probe = _probe(out)
    assert probe["name"] == "__main__"
    assert probe["argv"] == [str(target), "7", "$HOME", "a b"]
    assert probe["path0"] == str(folder) and probe["file"] == str(target)
    assert probe["cwd"] == str(tmp_path) and probe["sibling"] == 3
    assert probe["env"] == {
        "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": "2", "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "PYTHONUNBUFFERED": "1"}
    assert result.exit_code == 7 and result.status == "failed (7)"
    assert "@@keras-migrate" not in "".join(out), "the bootstrap line is taken out"
    assert "ModuleNotFoundError" in result.bootstrap.get("error", "")  # no Keras here


def test_bootstrap_traceback_is_the_programs_own(tmp_path):
    """The bootstrap's and runpy's frames are not shown; the location is the user's line."""
    target = tmp_path / "fails.py"
    target.write_text("def f():\n    raise ValueError('boom')\n\n\nf()\n")
    err: list[str] = []
    result = run_file(RunRequest(file=str(target), backend="jax", python=sys.executable),
                      lambda stream, line: err.append(line) if stream == "stderr" else None)
    text = "".join(err)
    assert "bootstrap.py" not in text and "runpy" not in text
    assert text.startswith("Traceback (most recent call last):")
    assert result.exit_code == 1 and result.first_error_line == "ValueError: boom"
    assert (result.error_location.path, result.error_location.line) == (str(target), 2)
    assert result.error_location.message == "jax: ValueError: boom"


def test_exit_without_traceback_keeps_its_last_words(tmp_path):
    target = tmp_path / "exits.py"
    target.write_text("import sys\nsys.exit('config file missing: train.yaml')\n")
    result = run_file(RunRequest(file=str(target), backend="jax", python=sys.executable))
    assert result.exit_code == 1 and result.first_error_line == "config file missing: train.yaml"
    assert result.error_location is None


def test_child_environment_cpu_hides_gpus():
    env = child_environment("jax", Device.cpu(), {"KERAS_BACKEND": "torch", "KEEP": "1"})
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["KERAS_BACKEND"] == "jax" and env["KEEP"] == "1"
    assert Device.from_json({"kind": "gpu", "index": 3}) == Device.gpu(3)
    assert Device.from_json({"kind": "cpu"}) == Device.cpu()
    with pytest.raises(ValueError):
        Device.from_json({"kind": "tpu"})


@needs_proc
def test_cancel_ends_the_whole_process_tree():
    """Output streams while the program runs; cancel ends it and the grandchild it started."""
    seen: list[str] = []
    ready = threading.Event()

    def on_output(stream, text):  # text as it was flushed, not necessarily whole lines
        seen.append(text)
        if "ready\n" in "".join(seen):
            ready.set()

    run = Run(RunRequest(file=str(FIXTURES / "spawns_and_sleeps.py"), backend="jax",
                         python=sys.executable), on_output).start()
    assert ready.wait(30), seen
    pids = [int(p) for p in "".join(seen).split("pids ", 1)[1].split()[:2]]
    assert run.pid == pids[0] and all(alive(p) for p in pids)
    t0 = time.monotonic()
    run.cancel()
    result = run.wait(timeout=30)
    assert time.monotonic() - t0 < 10
    assert result.cancelled and result.status == "cancelled"
    assert result.exit_code == -signal.SIGTERM
    assert wait_gone(pids) == []
    assert group_members(run.pid) == []


@needs_proc
def test_cancel_escalates_to_sigkill(tmp_path):
    """A program that ignores SIGTERM is killed after the grace period."""
    target = tmp_path / "stubborn.py"
    target.write_text(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(600)\n")
    ready = threading.Event()
    run = Run(RunRequest(file=str(target), backend="jax", python=sys.executable),
              lambda s, text: ready.set() if "ready" in text else None).start()
    assert ready.wait(30)
    run.cancel(grace=0.5)
    result = run.wait(timeout=30)
    assert result.exit_code == -signal.SIGKILL and result.cancelled
    assert group_members(run.pid) == []


def test_temporary_copy_sits_beside_the_file_and_is_removed(tmp_path):
    real = tmp_path / "model.py"
    real.write_text("on disk\n")
    with temporary_copy(str(real), "in the buffer\n") as temp:
        assert os.path.dirname(temp) == str(tmp_path) and os.path.basename(temp).startswith(".model.")
        assert Path(temp).read_text() == "in the buffer\n"
    assert not os.path.exists(temp) and real.read_text() == "on disk\n"


def test_progress_redraws_stream_before_the_line_ends(tmp_path):
    """A progress bar redrawn with "\\r" (Keras does it into a pipe too) arrives as it is
    drawn, not when the line finally ends; UTF-8 split across reads stays whole."""
    go = tmp_path / "go"
    target = tmp_path / "progress.py"
    target.write_text(
        "import os, sys, time\n"
        "sys.stdout.write('1/3 ██\\r'); sys.stdout.flush()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
        "sys.stdout.write('3/3 ████\\n')\n")
    seen: list[str] = []
    got_first = threading.Event()

    def on_output(stream, piece):
        seen.append(piece)
        if piece == "1/3 ██\r":
            got_first.set()

    run = Run(RunRequest(file=str(target), backend="jax", python=sys.executable), on_output).start()
    try:
        assert got_first.wait(20), seen
        assert run.proc.poll() is None  # still running: the redraw came live
    finally:
        go.write_text("")
    assert run.wait(timeout=30).exit_code == 0
    assert seen == ["1/3 ██\r", "3/3 ████\n"]


def test_runner_depends_on_the_standard_library_only():
    """The runner imports nothing of the engine, nor libcst, jedi or pygls."""
    import subprocess

    code = ("import sys, keras_migrate.runner, keras_migrate.runner.cli\n"
            "print('\\n'.join(sorted(sys.modules)))")
    mods = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.split())
    ours = {m for m in mods if m.startswith("keras_migrate")}
    assert ours <= {"keras_migrate"} | {m for m in ours if m.startswith("keras_migrate.runner")}, ours
    assert not mods & {"libcst", "jedi", "pygls", "lsprotocol", "pathspec"}
