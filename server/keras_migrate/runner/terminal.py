"""Terminal runs: the program gets the terminal itself, as with ``python FILE`` in a shell.

When ``keras-migrate run`` runs in a terminal (the VS Code client starts it as a task in
one), the program inherits stdin, stdout and stderr: ``isatty()`` is true, so colours and
``\\r`` progress bars behave as the user knows them, and ``input()`` reads the keyboard.
The program runs in its own process group, which becomes the terminal's foreground group
for the time it runs (what a shell's job control does): Ctrl-C reaches the program as
``KeyboardInterrupt``, not the runner. The runner takes the terminal back when the program
ends. Its own bookkeeping (the bootstrap's line, an uncaught exception's traceback) goes
through a report file (``$KERAS_MIGRATE_REPORT``), never through the program's output.

POSIX only; elsewhere (or with no controlling terminal) the program still inherits the
streams, without the foreground switch.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from typing import Iterator

REPORT_ENV = "KERAS_MIGRATE_REPORT"


def wants_terminal() -> bool:
    """True when stdin and stdout are a terminal (a run started in one)."""
    try:
        return os.isatty(0) and os.isatty(1)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _sigttou_blocked() -> Iterator[None]:
    # tcsetpgrp from a background group raises SIGTTOU (stopping us) unless it is blocked
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _tty_fd() -> int | None:
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) >= 0:
                return fd
        except OSError:
            continue
    return None


def _give_terminal(fd: int | None, pgid: int) -> bool:
    if fd is None:
        return False
    with _sigttou_blocked():
        try:
            os.tcsetpgrp(fd, pgid)
            return True
        except OSError:
            return False


def _child_setup() -> None:  # runs in the child between fork and exec
    os.setpgid(0, 0)
    fd = _tty_fd()
    if fd is not None:
        _give_terminal(fd, os.getpgrp())


class TerminalProcess:
    """A program in the foreground of the runner's terminal; ``wait()`` hands it back."""

    def __init__(self, argv: list[str], cwd: str | None, env: dict[str, str]):
        fd, self.report_path = tempfile.mkstemp(prefix="keras-migrate-run-", suffix=".json")
        os.close(fd)
        env = dict(env, **{REPORT_ENV: self.report_path})
        self._tty = _tty_fd() if os.name == "posix" else None
        self._own_pgid = os.getpgrp() if os.name == "posix" else None
        kwargs: dict = {}
        if os.name == "posix":
            kwargs["preexec_fn"] = _child_setup  # new group + foreground, before exec
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, **kwargs)
        if os.name == "posix":
            with contextlib.suppress(OSError):  # the child may have done it already
                os.setpgid(self.proc.pid, self.proc.pid)
            _give_terminal(self._tty, self.proc.pid)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def take_back(self) -> None:
        if self._own_pgid is not None:
            _give_terminal(self._tty, self._own_pgid)

    def report(self) -> dict:
        """What the bootstrap wrote (``info``, ``traceback``); the file is removed."""
        try:
            with open(self.report_path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {}
        finally:
            with contextlib.suppress(OSError):
                os.unlink(self.report_path)
        return data if isinstance(data, dict) else {}


def interrupted(returncode: int | None) -> bool:
    """The program ended from Ctrl-C: killed by SIGINT (Python re-raises it for an
    uncaught KeyboardInterrupt), or exit status 130 as shells report it."""
    return returncode is not None and (returncode == -signal.SIGINT or returncode == 128 + signal.SIGINT)


__all__ = ["REPORT_ENV", "TerminalProcess", "interrupted", "wants_terminal"]
