"""Run one file on one backend and device, streaming its output.

The program runs as ``<python> <bootstrap.py> <file> [args...]``: an argument list, never
a shell, so any file name works. It starts in a new session (its own process group), so
cancelling ends the whole tree: SIGTERM to the group, then SIGKILL after a grace period.
Its stdin is ``/dev/null`` (a language server's stdin is its protocol channel, and a
process outside the terminal's foreground group cannot read the terminal anyway).

Output is delivered as it arrives (text as the program flushed it, not whole lines: a
progress bar's ``\r`` redraws stream too) to a callback from reader threads, one call at a
time. The bootstrap's ``@@keras-migrate {...}`` line is taken out of the
stream and read into the result.
"""

from __future__ import annotations

import codecs
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .environment import resolve_interpreter
from .tracebacks import ErrorLocation, locate_error, parse_traceback, strip_ansi

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap.py")
SMOKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smoke.py")
MARKER = "@@keras-migrate "
SMOKE_PREFIX = "keras-migrate smoke: "
KERAS2 = "keras2"
"""The pseudo-backend ``--keras2`` adds: Keras 2 (tf-keras) on TensorFlow."""
GRACE_S = 3.0
_STDERR_KEEP = 4000  # lines of stderr kept for the traceback

OutputCallback = Callable[[str, str], None]
"""Called as ``callback(stream, line)``; stream is ``"stdout"`` or ``"stderr"``; the line
keeps its newline (the last one of a stream may have none)."""


@dataclass(frozen=True)
class Device:
    kind: str  # "gpu", "cpu" or "env" (the environment's CUDA_VISIBLE_DEVICES, kept as it is)
    index: int | None = None
    value: str | None = None
    """For ``"env"``: the inherited ``CUDA_VISIBLE_DEVICES`` (shown, never changed)."""

    @classmethod
    def cpu(cls) -> "Device":
        return cls("cpu")

    @classmethod
    def gpu(cls, index: int) -> "Device":
        return cls("gpu", int(index))

    @classmethod
    def inherited(cls, value: str) -> "Device":
        return cls("env", value=value)

    @classmethod
    def from_json(cls, data: dict | None) -> "Device":
        """``{"kind": "gpu", "index": N}``, ``{"kind": "cpu"}`` or ``{"kind": "auto"}`` (the
        LSP contract; ``auto``: the conventions of :func:`gpus.default_device`)."""
        if not data or data.get("kind", "cpu") == "cpu":
            return cls.cpu()
        if data.get("kind") == "gpu":
            return cls.gpu(int(data.get("index", 0)))
        if data.get("kind") in ("auto", "env"):
            return default_device_for_run()
        raise ValueError(f"unknown device kind {data.get('kind')!r}: use 'gpu', 'cpu' or 'auto'")

    def label(self) -> str:
        if self.kind == "env":
            return f"CUDA_VISIBLE_DEVICES={self.value if self.value else chr(34) * 2}"
        return "cpu" if self.kind == "cpu" else f"gpu:{self.index}"

    def to_json(self) -> dict:
        if self.kind == "env":
            return {"kind": "env", "value": self.value}
        return {"kind": "cpu"} if self.kind == "cpu" else {"kind": "gpu", "index": self.index}


def default_device_for_run(env: dict | None = None) -> "Device":
    """The device a run with no choice gets: the environment's ``CUDA_VISIBLE_DEVICES``
    if set, else the least-used GPU, else the CPU (:func:`gpus.default_device`)."""
    from .gpus import default_device

    d = default_device(env=env)
    if d.kind == "env":
        return Device.inherited(d.value or "")
    return Device.gpu(d.index) if d.kind == "gpu" else Device.cpu()


def child_environment(backend: str, device: Device, base: dict[str, str] | None = None,
                      smoke: bool = False) -> dict[str, str]:
    """The environment a run gets: the caller's, plus the backend and device settings.

    ``backend`` ``keras2`` is Keras 2: tf-keras (``TF_USE_LEGACY_KERAS=1``) on TensorFlow.
    ``smoke`` asks the bootstrap for a smoke run (``KERAS_MIGRATE_SMOKE=1``)."""
    env = dict(os.environ if base is None else base)
    keras2 = backend == KERAS2
    for name in ("KERAS_MIGRATE_SMOKE", "KERAS_MIGRATE_KERAS2"):
        env.pop(name, None)
    if keras2:
        env["TF_USE_LEGACY_KERAS"] = "1"
        env["KERAS_MIGRATE_KERAS2"] = "1"
    else:
        env.pop("TF_USE_LEGACY_KERAS", None)  # else tf.keras would be Keras 2 on Keras 3 runs
    if smoke:
        env["KERAS_MIGRATE_SMOKE"] = "1"
    env.update(
        {
            "KERAS_BACKEND": "tensorflow" if keras2 else backend,
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if device.kind != "env":  # "env": the user's CUDA_VISIBLE_DEVICES (and order) stay
        env["CUDA_VISIBLE_DEVICES"] = "" if device.kind == "cpu" else str(device.index)
        # nvidia-smi numbers GPUs in PCI order; make CUDA number them the same way.
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    return env


@dataclass
class RunRequest:
    file: str
    backend: str
    device: Device = field(default_factory=Device.cpu)
    python: str | None = None
    args: list[str] = field(default_factory=list)
    cwd: str | None = None
    """Working directory; default: the caller's (as with ``python file.py``)."""
    roots: list[str] = field(default_factory=list)
    """Where the user's code lives (the workspace); the file's directory always counts."""
    display_file: str | None = None
    """The file the user sees, when ``file`` is a temporary copy of an unsaved buffer."""
    env: dict[str, str] | None = None
    """Base environment (default: this process's)."""
    smoke: bool = False
    """A smoke run: training capped, data sets synthetic (see ``smoke.py``)."""
    terminal: bool = False
    """Give the program this process's terminal (stdin/stdout/stderr, the foreground):
    see :mod:`.terminal`. Its output is then not captured or streamed."""


@dataclass
class RunResult:
    backend: str
    device: Device
    exit_code: int | None = None
    """The program's exit status; negative: killed by that signal; None: it never ran."""
    wall_time: float = 0.0
    first_error_line: str | None = None
    keras_backend: str | None = None
    keras_version: str | None = None
    devices: list[dict] = field(default_factory=list)
    """The devices the backend reported (``{"kind", "id", "name"}``)."""
    cancelled: bool = False
    not_run: str | None = None
    """Why it did not run (an environment problem), else None."""
    error_location: ErrorLocation | None = None
    error_cell: tuple[int, int] | None = None
    """For a notebook run: (cell index, 1-based line in the cell) of ``error_location``."""
    bootstrap: dict = field(default_factory=dict)
    smoke: bool = False
    """Asked for as a smoke run."""
    smoke_summary: list[str] = field(default_factory=list)
    """The smoke run's summary lines (what was capped), without their prefix."""

    @property
    def ok(self) -> bool:
        return self.not_run is None and not self.cancelled and self.exit_code == 0

    @property
    def status(self) -> str:
        if self.not_run is not None:
            return "not run"
        if self.cancelled:
            return "cancelled"
        if self.exit_code == 0:
            return "ok"
        if self.exit_code is not None and self.exit_code < 0:
            try:
                return f"killed ({signal.Signals(-self.exit_code).name})"
            except ValueError:
                return f"killed (signal {-self.exit_code})"
        return f"failed ({self.exit_code})"

    @property
    def gpu_used(self) -> bool:
        return any(d.get("kind") == "gpu" for d in self.devices)

    def device_used(self) -> str:
        """The device the backend reported, in words, e.g. ``gpu:0 (NVIDIA H100)``."""
        if not self.devices:  # not run, or the backend listed nothing: what was asked for
            return self.device.label()
        first = next((d for d in self.devices if d.get("kind") == "gpu"), self.devices[0])
        kind = first.get("kind", "?")
        if kind == "gpu":
            # The backend counts only the visible GPUs, so its gpu:0 is the one asked for.
            index = self.device.index if self.device.kind == "gpu" else first.get("id", 0)
            text = f"gpu:{index} ({first.get('name', '?')})"
        else:
            text = kind
        if self.device.kind == "gpu" and kind != "gpu":
            text += f" (asked for gpu:{self.device.index})"
        return text

    def to_json(self) -> dict:
        """One entry of the ``keras-migrate.run`` reply's ``results``."""
        return {
            "backend": self.backend,
            "device": self.device.to_json(),
            "deviceUsed": self.device_used(),
            "exitCode": self.exit_code,
            "status": self.status,
            "wallTime": round(self.wall_time, 3),
            "firstErrorLine": self.first_error_line,
            "kerasBackend": self.keras_backend,
            "kerasVersion": self.keras_version,
            "devices": list(self.devices),
            "cancelled": self.cancelled,
            "notRun": self.not_run,
            "smoke": self.smoke,
            "smokeSummary": list(self.smoke_summary),
            "errorLocation": None if self.error_location is None else {
                "path": self.error_location.path,
                "line": self.error_location.line,
                "message": self.error_location.message,
                **({"cell": self.error_cell[0], "cellLine": self.error_cell[1]} if self.error_cell else {}),
            },
        }


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when the group is gone."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def process_group_alive(pgid: int) -> bool:
    return _signal_group(pgid, 0)


class Run:
    """One program run. ``start()``, then ``wait()``; ``cancel()`` from any thread."""

    def __init__(self, request: RunRequest, on_output: OutputCallback | None = None):
        self.request = request
        self.on_output = on_output
        self.result = RunResult(backend=request.backend, device=request.device, smoke=request.smoke)
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._callback_lock = threading.Lock()
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._readers: list[threading.Thread] = []
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_KEEP)
        self._stderr_partial = ""
        self._started = 0.0
        self._terminal = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> "Run":
        req = self.request
        python = resolve_interpreter(req.python) or (req.python or sys.executable)
        argv = [python, BOOTSTRAP, os.path.abspath(req.file), *req.args]
        kwargs: dict = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True
        else:  # pragma: no cover - Windows
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        with self._lock:
            if self._cancelled.is_set():  # cancelled before it started: it never runs
                self.result.cancelled = True
                return self
            self._started = time.monotonic()
            if req.terminal:
                from .terminal import TerminalProcess

                self._terminal = TerminalProcess(
                    argv, req.cwd, child_environment(req.backend, req.device, req.env, smoke=req.smoke))
                self.proc = self._terminal.proc
                return self
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=req.cwd,
                env=child_environment(req.backend, req.device, req.env, smoke=req.smoke),
                **kwargs,
            )
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            t = threading.Thread(target=self._read, args=(name, stream), daemon=True,
                                 name=f"keras-migrate-run-{name}")
            t.start()
            self._readers.append(t)
        return self

    def _emit(self, stream: str, text: str) -> None:
        if self.on_output is None:
            return
        with self._callback_lock:
            try:
                self.on_output(stream, text)
            except Exception:  # a broken consumer must not stop the reading
                pass

    def _read(self, name: str, stream) -> None:
        # Pass on what is there as it comes (read1), not line by line: progress bars redraw
        # one line with "\r" (Keras does so even into a pipe), and that must stream too.
        # Only stdout before the bootstrap's line goes by whole lines, to take that line out.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        head = ""
        marker_seen = name != "stdout"
        try:
            while True:
                chunk = stream.read1(65536)
                if not chunk:
                    break
                text = decoder.decode(chunk)
                if not marker_seen:
                    head += text
                    text = ""
                    while not marker_seen and "\n" in head:
                        line, head = head.split("\n", 1)
                        if line.startswith(MARKER):
                            marker_seen = True
                            self._take_marker(line[len(MARKER):])
                        else:
                            self._deliver(name, line + "\n")
                    if marker_seen:
                        text, head = head, ""
                if text:
                    self._deliver(name, text)
            rest = head + decoder.decode(b"", final=True)
            if rest:
                self._deliver(name, rest)
        except (OSError, ValueError):
            pass
        finally:
            try:
                stream.close()
            except OSError:
                pass

    def _deliver(self, name: str, text: str) -> None:
        if name == "stderr":  # kept by lines, for the traceback
            lines = (self._stderr_partial + text).split("\n")
            self._stderr_partial = lines.pop()
            self._stderr.extend(line + "\n" for line in lines)
            if self.request.smoke:
                self.result.smoke_summary.extend(
                    strip_ansi(l)[len(SMOKE_PREFIX):].rstrip() for l in lines
                    if l.startswith(SMOKE_PREFIX))
        self._emit(name, text)

    def _take_marker(self, payload: str) -> None:
        try:
            info = json.loads(payload)
        except ValueError:
            return
        if not isinstance(info, dict):
            return
        self.result.bootstrap = info
        self.result.keras_backend = info.get("keras_backend")
        self.result.keras_version = info.get("keras_version")
        devices = info.get("devices")
        self.result.devices = devices if isinstance(devices, list) else []

    def _take_terminal_report(self) -> None:
        term = self._terminal
        term.take_back()
        data = term.report()
        if isinstance(data.get("info"), dict):
            self._take_marker(json.dumps(data["info"]))
        tb = data.get("traceback")
        if isinstance(tb, str):
            self._stderr.extend(line + "\n" for line in tb.split("\n"))
        summary = data.get("smoke_summary")
        if self.request.smoke and isinstance(summary, list) and not self.result.smoke_summary:
            self.result.smoke_summary.extend(str(line) for line in summary)
        from .terminal import interrupted

        if interrupted(self.proc.returncode):  # Ctrl-C in the terminal: the user's cancel
            self._cancelled.set()

    def cancel(self, grace: float = GRACE_S) -> None:
        """End the whole process tree: SIGTERM to its group, SIGKILL after ``grace`` s."""
        with self._lock:
            self._cancelled.set()
            proc = self.proc
        if proc is None:
            return
        if os.name != "posix":  # pragma: no cover - Windows
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
            return
        _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if proc.poll() is not None and not process_group_alive(proc.pid):
                return
            time.sleep(0.05)
        _signal_group(proc.pid, signal.SIGKILL)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait(self, timeout: float | None = None) -> RunResult:
        """Wait for the program to end and return its result."""
        proc = self.proc
        if proc is None:
            if self._cancelled.is_set():
                return self.result
            raise RuntimeError("start() first")
        proc.wait(timeout=timeout)
        self.result.wall_time = time.monotonic() - self._started
        if self._terminal is not None:
            self._take_terminal_report()
        for t in self._readers:
            t.join(timeout=2.0)
        if any(t.is_alive() for t in self._readers) and os.name == "posix":
            # Something the program started still holds its output open: the run is
            # over, so its leftovers end with it.
            _signal_group(proc.pid, signal.SIGTERM)
            for t in self._readers:
                t.join(timeout=GRACE_S)
            _signal_group(proc.pid, signal.SIGKILL)
            for t in self._readers:
                t.join(timeout=1.0)
        if self._cancelled.is_set() and os.name == "posix":
            # Whatever the program did with SIGTERM, a cancelled run ends with its tree.
            _signal_group(proc.pid, signal.SIGKILL)
        self._finish(proc.returncode)
        self._done.set()
        return self.result

    def _finish(self, returncode: int) -> None:
        res = self.result
        res.exit_code = returncode
        res.cancelled = self._cancelled.is_set()
        if returncode == 0 or res.cancelled:
            return
        lines = [*self._stderr, self._stderr_partial]
        if self.request.smoke:  # the smoke summary is not part of the error
            lines = [l for l in lines if not l.startswith(SMOKE_PREFIX)]
        parsed = parse_traceback(lines)
        if parsed is not None:
            res.first_error_line = parsed.exception_line
        elif returncode > 0:
            # No traceback (sys.exit("message"), a tool's own error): its last words.
            last = next((l.strip() for l in reversed(lines) if l.strip()), None)
            res.first_error_line = strip_ansi(last) if last else None
        req = self.request
        real = os.path.abspath(req.display_file or req.file)
        roots = [*req.roots, os.path.dirname(real), os.path.dirname(os.path.abspath(req.file))]
        path_map = {os.path.abspath(req.file): real} if req.display_file else None
        res.error_location = locate_error(
            parsed, roots, backend=req.backend, path_map=path_map, exclude=[BOOTSTRAP, SMOKE]
        )


def run_file(request: RunRequest, on_output: OutputCallback | None = None) -> RunResult:
    """Run and wait: the simple, blocking form of :class:`Run`."""
    run = Run(request, on_output).start()
    try:
        return run.wait()
    except BaseException:
        run.cancel()
        run.wait()
        raise


@contextmanager
def temporary_copy(real_path: str, text: str) -> Iterator[str]:
    """A copy of an unsaved buffer beside the real file, deleted afterwards.

    Beside it, so sibling imports and relative paths behave as they will once saved. The
    name starts with a dot and says what it is; if the folder cannot be written, the copy
    goes to a temporary folder instead (sibling imports then do not resolve).
    """
    real_path = os.path.abspath(real_path)
    folder = os.path.dirname(real_path)
    base = os.path.splitext(os.path.basename(real_path))[0]
    name = f".{base}.keras-migrate-run-{uuid.uuid4().hex[:8]}.py"
    path = os.path.join(folder, name)
    cleanup_dir = None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        cleanup_dir = tempfile.mkdtemp(prefix="keras-migrate-run-")
        path = os.path.join(cleanup_dir, os.path.basename(real_path))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        yield path
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        if cleanup_dir:
            try:
                os.rmdir(cleanup_dir)
            except OSError:
                pass
