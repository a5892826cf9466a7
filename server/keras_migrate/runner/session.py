"""Run a file on one backend or on all of them, one after another.

A :class:`RunSession` checks the environment once, runs each backend that can run, and
records a "not run" row (with the reason and the pip command) for each that cannot. It can
be cancelled from any thread: the running program's tree ends and the rest are skipped.
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable

from .environment import BACKENDS, KERAS2, EnvironmentReport, check_environment
from .process import Device, Run, RunRequest, RunResult

SessionOutput = Callable[[str, str, str], None]
"""Called as ``callback(backend, stream, line)``."""
SessionEvent = Callable[[str, str, object], None]
"""Called as ``callback(event, backend, payload)``; events: ``"start"`` (payload: the
:class:`RunRequest`) and ``"end"`` (payload: the :class:`RunResult`)."""


def expand_backends(backend: str | None, keras2: bool = False) -> tuple[str, ...]:
    """The runs, in order; ``keras2`` puts a Keras 2 (tf-keras) run first, for comparison."""
    first = (KERAS2,) if keras2 else ()
    if backend is None or backend == KERAS2:
        if keras2 or backend == KERAS2:
            return (KERAS2,)
        raise ValueError("choose a backend: jax, torch, tensorflow or all")
    if backend == "all":
        return first + BACKENDS
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)} or all")
    return first + (backend,)


@dataclass
class RunSession:
    file: str
    backend: str | None
    """One of ``jax``, ``torch``, ``tensorflow`` or ``all`` (None: only ``keras2``)."""
    device: Device = field(default_factory=Device.cpu)
    python: str | None = None
    args: list[str] = field(default_factory=list)
    cwd: str | None = None
    roots: list[str] = field(default_factory=list)
    display_file: str | None = None
    terminal: bool = False
    """Give each program this process's terminal (see :mod:`.terminal`)."""
    on_output: SessionOutput | None = None
    on_event: SessionEvent | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    smoke: bool = False
    """Smoke runs: training capped, ``keras.datasets`` synthetic (``smoke.py``)."""
    keras2: bool = False
    """Also (first) run on Keras 2, tf-keras, for comparison."""

    environment: EnvironmentReport | None = field(default=None, init=False)
    results: list[RunResult] = field(default_factory=list, init=False)
    _current: Run | None = field(default=None, init=False, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def backends(self) -> tuple[str, ...]:
        return expand_backends(self.backend, self.keras2)

    def check(self) -> EnvironmentReport:
        folder = os.path.dirname(os.path.abspath(self.display_file or self.file))
        self.environment = check_environment(self.python, self.backends, cwd=folder)
        return self.environment

    def cancel(self) -> None:
        """Stop the running backend (its whole process tree) and skip the others."""
        with self._lock:
            self._cancel.set()
            current = self._current
        if current is not None:
            current.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def current(self) -> Run | None:
        return self._current

    def run(self) -> list[RunResult]:
        """Check, then run each backend in turn; returns one result per backend."""
        report = self.environment or self.check()
        self.results = []
        for backend in self.backends:
            problems = report.problems_for(backend)
            if problems:
                result = RunResult(backend=backend, device=self.device, smoke=self.smoke)
                result.not_run = "; ".join(p.text() for p in problems)
                self.results.append(result)
                self._event("end", backend, result)
                continue
            if self._cancel.is_set():
                result = RunResult(backend=backend, device=self.device, cancelled=True, smoke=self.smoke)
                self.results.append(result)
                self._event("end", backend, result)
                continue
            request = RunRequest(
                file=self.file,
                backend=backend,
                device=self.device,
                python=report.python,
                args=list(self.args),
                cwd=self.cwd,
                roots=list(self.roots),
                display_file=self.display_file,
                smoke=self.smoke,
                terminal=self.terminal,
            )
            out = self.on_output

            def emit(stream: str, line: str, _backend: str = backend) -> None:
                if out is not None:
                    out(_backend, stream, line)

            run = Run(request, emit)
            with self._lock:
                if self._cancel.is_set():
                    run = None
                else:
                    self._current = run
            if run is None:
                result = RunResult(backend=backend, device=self.device, cancelled=True, smoke=self.smoke)
                self.results.append(result)
                self._event("end", backend, result)
                continue
            self._event("start", backend, request)
            try:
                run.start()
                result = run.wait()
                if result.cancelled:  # Ctrl-C in the terminal: the rest is skipped too
                    self._cancel.set()
            except OSError as exc:
                result = run.result
                result.not_run = f"could not start {request.python}: {exc}"
            except BaseException:  # KeyboardInterrupt in the waiting thread, say
                self._cancel.set()
                run.cancel()
                result = run.wait() if run.proc is not None else run.result
                result.cancelled = True
                self.results.append(result)
                self._event("end", backend, result)
                raise
            finally:
                with self._lock:
                    self._current = None
            self.results.append(result)
            self._event("end", backend, result)
        return self.results

    def _event(self, event: str, backend: str, payload: object) -> None:
        if self.on_event is not None:
            self.on_event(event, backend, payload)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)
