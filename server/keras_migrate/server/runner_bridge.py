"""The backend runner's LSP commands (``workspace/executeCommand``).

Thin wiring over :mod:`keras_migrate.runner`; ``register(ls)`` adds four commands:

``keras-migrate.run`` ``[{uri, backend, device, args, text?, workDoneToken?, python?, cwd?, smoke?, keras2?}]``
    ``smoke: true`` makes every run a smoke run (training capped to one epoch of a couple
    of steps, ``keras.datasets`` synthetic; each result's ``smokeSummary`` says what was
    capped); ``keras2: true`` adds a run on Keras 2 (tf-keras) first, for comparison.
    Runs the file on ``backend`` (``jax``, ``torch``, ``tensorflow`` or ``all``) and
    ``device`` (``{"kind": "gpu", "index": N}`` or ``{"kind": "cpu"}``) with ``args`` as
    its ``sys.argv[1:]``. With ``text`` (an unsaved buffer) a temporary copy runs in the
    same folder and is deleted afterwards; tracebacks point at the real file. An untitled
    buffer (a non-``file:`` uri with ``text``) runs from a scratch folder of its own. Replies
    when done with ``{runId, results: [{backend, device, exitCode, wallTime,
    firstErrorLine, kerasBackend, devices, status, ...}], matrixMarkdown, problems}``.
    While it runs the server sends ``keras-migrate/runStarted`` ``{runId, backends,
    device}`` first, then ``keras-migrate/runOutput`` ``{runId, backend, stream, text}``
    as the program prints, and ``$/progress`` for ``workDoneToken`` (pygls does not hand
    a command the request's own ``workDoneToken``, so the client passes it in the
    argument object). Cancelling the request or the progress ends the run too.
    The interpreter: ``python`` if given, else the server's ``runInterpreter`` setting
    (``ls.km_settings``), else the server's own interpreter. The working folder: ``cwd``
    if given, else the workspace folder holding the file, else the file's folder.
``keras-migrate.runCancel`` ``[{runId}]``
    Ends the run's whole process tree and skips the backends still to come.
    Replies ``{cancelled: bool}``.
``keras-migrate.listDevices``
    Replies ``{gpus: [{index, name, memoryUsed, memoryTotal, utilization}], leastUsed?,
    cudaVisibleDevices, default: {kind, index?, value?, reason}, error?}``:
    ``cudaVisibleDevices`` is the server's inherited value (null when unset), ``default``
    what a run with device ``{"kind": "auto"}`` gets (``gpus.default_device``).
``keras-migrate.checkEnvironment`` ``[{backend, device?, uri?, python?}]``
    Replies ``{ok, problems: [str], python, kerasVersion, backendVersions}``.

The bridge asks the server it is registered on for two things only, the
:class:`RunnerHost` interface: ``runner_context()`` (trust, the run interpreter, the
workspace folders, the client's position units) and ``set_run_diagnostics(uri, diagnostics)``.
A failed run puts a diagnostic (source ``keras-migrate run``) on the deepest traceback
frame in the workspace through the latter; the next run that executes replaces or clears it
(and the server drops one whose line is edited, moving the others with the edits). Runs are
refused while the workspace is untrusted. Nothing here is ever called from the analysis
path: only an explicit command starts a program.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, runtime_checkable

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.uris import from_fs_path, to_fs_path

from keras_migrate.runner import (
    BACKENDS,
    Device,
    RunResult,
    RunSession,
    check_environment,
    format_markdown,
    list_gpus,
    temporary_copy,
)
from keras_migrate.engine.source import SourceText, utf16_units
from keras_migrate.runner.environment import Problem

SOURCE = "keras-migrate run"
CMD_RUN = "keras-migrate.run"
CMD_CANCEL = "keras-migrate.runCancel"
CMD_LIST_DEVICES = "keras-migrate.listDevices"
CMD_CHECK = "keras-migrate.checkEnvironment"
NOTIFY_STARTED = "keras-migrate/runStarted"
NOTIFY_OUTPUT = "keras-migrate/runOutput"
_FLUSH_S = 0.05
_MAX_CHUNK = 64 * 1024


def _arg(args: tuple, name: str) -> dict:
    if not args or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f"{name} takes one argument object")
    return args[0]


@dataclass(frozen=True)
class RunnerContext:
    """What a run needs to know about the server, read at the start of each command."""

    trusted: bool                      # workspace trust: runs are refused without it (fails closed)
    interpreter: Optional[str] = None  # the ``runInterpreter`` setting; None: the server's own Python
    roots: tuple[str, ...] = ()        # the workspace folders (the working folder of a run)
    num_units: Callable[[str], int] = utf16_units   # the client's position units


@runtime_checkable
class RunnerHost(Protocol):
    """The two methods the bridge needs from the language server it is registered on
    (besides pygls' own API: commands, notifications, progress, open documents)."""

    def runner_context(self) -> RunnerContext: ...

    def set_run_diagnostics(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        """Show ``diagnostics`` on ``uri`` in place of the runs' earlier ones, and publish."""


class _OutputPump:
    """Collects output from the reader threads; the event loop sends it in batches."""

    def __init__(self, send):
        self._send = send
        self._lock = threading.Lock()
        self._items: list[tuple[str, str, str]] = []

    def put(self, backend: str, stream: str, text: str) -> None:
        with self._lock:
            self._items.append((backend, stream, text))

    def drain(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        batch: list[list[str]] = []
        for backend, stream, text in items:
            if batch and batch[-1][0] == backend and batch[-1][1] == stream and len(batch[-1][2]) < _MAX_CHUNK:
                batch[-1][2] += text
            else:
                batch.append([backend, stream, text])
        for backend, stream, text in batch:
            self._send(backend, stream, text)


class RunnerBridge:
    """The runner's state inside one language server: running sessions, diagnostics."""

    def __init__(self, ls: Any):
        self.ls = ls   # a pygls LanguageServer that is a RunnerHost
        self.sessions: dict[str, RunSession] = {}
        self._owned: dict[str, set[str]] = {}  # run file uri -> uris holding its diagnostics

    # -- the host -----------------------------------------------------------------------
    def context(self) -> RunnerContext:
        return self.ls.runner_context()

    def interpreter(self, override: str | None = None) -> str | None:
        if override:
            return override
        value = self.context().interpreter
        if isinstance(value, str) and value.strip():
            return os.path.expanduser(value.strip())
        return None  # the runner falls back to sys.executable

    def roots(self) -> list[str]:
        return list(self.context().roots)

    # -- notifications ------------------------------------------------------------------
    def _notify(self, method: str, params: dict) -> None:
        try:
            self.ls.protocol.notify(method, params)
        except Exception:
            pass

    # -- commands -----------------------------------------------------------------------
    def _require_trust(self, what: str) -> None:
        """Every command that starts a process checks this first.  Trust fails closed: a
        server that was never told ``trusted: true`` treats the workspace as untrusted."""
        if self.context().trusted is not True:
            raise JsonRpcInvalidRequest(
                f"keras-migrate will not {what} in an untrusted workspace; trust the workspace first"
            )

    async def run(self, *args: Any) -> dict:
        self._require_trust("run code")
        spec = _arg(args, CMD_RUN)
        uri = spec.get("uri")
        if not isinstance(uri, str) or not uri:
            raise JsonRpcInvalidParams("keras-migrate.run needs a 'uri'")
        backend = spec.get("backend", "all")
        if backend not in (*BACKENDS, "all"):
            raise JsonRpcInvalidParams(
                f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)} or all"
            )
        try:
            device = Device.from_json(spec.get("device"))
        except (TypeError, ValueError) as exc:
            raise JsonRpcInvalidParams(f"bad device: {exc}") from None
        program_args = spec.get("args") or []
        if not isinstance(program_args, list) or not all(isinstance(a, str) for a in program_args):
            raise JsonRpcInvalidParams("'args' must be a list of strings")
        text = spec.get("text")
        if text is not None and not isinstance(text, str):
            raise JsonRpcInvalidParams("'text' must be a string")
        smoke = spec.get("smoke", False)
        keras2 = spec.get("keras2", False)
        for name, value in (("smoke", smoke), ("keras2", keras2)):
            if not isinstance(value, bool):
                raise JsonRpcInvalidParams(f"'{name}' must be true or false")
        cwd = spec.get("cwd")
        if cwd is not None and (not isinstance(cwd, str) or not os.path.isdir(cwd)):
            raise JsonRpcInvalidParams(f"'cwd' is not a folder: {cwd!r}")
        path = to_fs_path(uri) if uri.startswith("file:") else None
        scratch = None
        if path is None:
            if text is None:
                raise JsonRpcInvalidParams(f"{uri} is not a file on disk: send its text to run it")
            # An untitled buffer: it runs from a scratch folder of its own.
            scratch = tempfile.mkdtemp(prefix="keras-migrate-untitled-")
            name = re.sub(r"[^\w.-]+", "_", uri.rsplit("/", 1)[-1].split(":")[-1]) or "untitled"
            path = os.path.join(scratch, name if name.endswith(".py") else name + ".py")
        elif text is None and not os.path.isfile(path):
            raise JsonRpcInvalidParams(f"no such file: {path}")

        roots = self.roots()
        if cwd is None:
            cwd = _working_directory(path, roots)

        loop = asyncio.get_running_loop()
        session = RunSession(
            file=path,
            backend=backend,
            device=device,
            python=self.interpreter(spec.get("python")),
            args=list(program_args),
            roots=roots,
            cwd=cwd,
            smoke=smoke,
            keras2=keras2,
        )
        run_id = session.run_id
        self.sessions[run_id] = session
        token = spec.get("workDoneToken")
        temp_path: list[str] = []

        def send_output(backend_name: str, stream: str, chunk: str) -> None:
            for temp in temp_path:
                chunk = chunk.replace(temp, path)
            self._notify(
                NOTIFY_OUTPUT,
                {"runId": run_id, "backend": backend_name, "stream": stream, "text": chunk},
            )

        pump = _OutputPump(send_output)
        session.on_output = pump.put

        def on_event(event: str, backend_name: str, payload: object) -> None:
            if event == "start" and token is not None:
                n = session.backends.index(backend_name) + 1
                loop.call_soon_threadsafe(
                    self._progress_report, token,
                    f"{backend_name} on {device.label()} ({n}/{len(session.backends)})",
                    int(100 * (n - 1) / len(session.backends)),
                )

        session.on_event = on_event
        self._cancel_with_request(session)
        self._notify(
            NOTIFY_STARTED,
            {"runId": run_id, "backends": list(session.backends), "device": device.to_json(),
             "uri": uri, "smoke": smoke},
        )
        if token is not None:
            self._progress_begin(token, session)

        problems: list[str] = []
        results: list[RunResult] = []
        try:
            gpu_problem = await self._check_gpu(device)
            with (temporary_copy(path, text) if text is not None else nullcontext(path)) as run_path:
                if run_path != path:
                    temp_path.append(run_path)
                    session.file = run_path
                    session.display_file = path
                report = await loop.run_in_executor(None, session.check)
                if gpu_problem is not None:
                    report.problems.append(gpu_problem)
                problems = [p.text() for p in report.problems]
                work = loop.run_in_executor(None, session.run)
                try:
                    while True:
                        done, _ = await asyncio.wait({work}, timeout=_FLUSH_S)
                        pump.drain()
                        if done:
                            break
                except asyncio.CancelledError:  # $/cancelRequest or the client going away
                    await loop.run_in_executor(None, session.cancel)
                    await asyncio.wait({work})
                    pump.drain()
                    raise
                results = work.result()
                pump.drain()
        finally:
            self.sessions.pop(run_id, None)
            if token is not None:
                self._progress_end(token, results)
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

        if any(not r.cancelled and r.not_run is None for r in results):
            self._publish_run_diagnostics(uri, path, text, results)
        return {
            "runId": run_id,
            "results": [r.to_json() for r in results],
            "matrixMarkdown": format_markdown(results),
            "problems": problems,
            "ok": bool(results) and all(r.ok for r in results),
        }

    def _cancel_with_request(self, session: RunSession) -> None:
        """End the run when the client cancels the ``executeCommand`` request.

        pygls answers ``$/cancelRequest`` by cancelling the request's own future, which for
        a command is not the task running this coroutine; so watch that future (found by
        the request id pygls keeps in a context variable) and cancel the run with it.
        """
        try:
            protocol = self.ls.protocol
            msg_id = protocol.msg_id
            outer = protocol._request_futures.get(msg_id) if msg_id is not None else None
        except Exception:
            return
        if outer is None:
            return

        def done(future) -> None:
            if future.cancelled():
                threading.Thread(target=session.cancel, daemon=True,
                                 name="keras-migrate-run-cancel").start()

        outer.add_done_callback(done)

    async def _check_gpu(self, device: Device) -> Problem | None:
        if device.kind != "gpu":
            return None
        listing = await asyncio.get_running_loop().run_in_executor(None, list_gpus)
        if listing.error:
            return Problem(f"GPU {device.index} was chosen, but {listing.error}")
        if listing.find(device.index) is None:
            have = "; ".join(g.label() for g in listing.gpus)
            return Problem(f"there is no GPU {device.index}; GPUs here: {have}; or run on the CPU")
        return None

    async def cancel(self, *args: Any) -> dict:
        spec = _arg(args, CMD_CANCEL)
        session = self.sessions.get(str(spec.get("runId")))
        if session is None:
            return {"cancelled": False}
        await asyncio.get_running_loop().run_in_executor(None, session.cancel)
        return {"cancelled": True}

    async def list_devices(self, *args: Any) -> dict:
        self._require_trust("start nvidia-smi")
        listing = await asyncio.get_running_loop().run_in_executor(None, list_gpus)
        return devices_reply(listing)

    async def check(self, *args: Any) -> dict:
        self._require_trust("start the run interpreter")
        spec = args[0] if args and isinstance(args[0], dict) else {}
        backend = spec.get("backend", "all")
        if backend not in (*BACKENDS, "all"):
            raise JsonRpcInvalidParams(
                f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)} or all"
            )
        cwd = None
        if isinstance(spec.get("uri"), str) and spec["uri"].startswith("file:"):
            cwd = os.path.dirname(to_fs_path(spec["uri"]) or "") or None
        try:
            device = Device.from_json(spec.get("device"))
        except (TypeError, ValueError) as exc:
            raise JsonRpcInvalidParams(f"bad device: {exc}") from None
        python = self.interpreter(spec.get("python"))
        report = await asyncio.get_running_loop().run_in_executor(
            None, lambda: check_environment(python, backend, cwd=cwd)
        )
        gpu_problem = await self._check_gpu(device)
        if gpu_problem is not None:
            report.problems.append(gpu_problem)
        return report.to_json()

    # -- progress -----------------------------------------------------------------------
    def _progress_begin(self, token, session: RunSession) -> None:
        try:
            progress = self.ls.work_done_progress
            progress.begin(
                token,
                types.WorkDoneProgressBegin(
                    title="Keras Migrate: run",
                    message=f"{os.path.basename(session.file)} on {', '.join(session.backends)}"
                            + (" (smoke run)" if session.smoke else ""),
                    cancellable=True,
                    percentage=0,
                ),
            )
            future = progress.tokens.get(token)
            if future is not None:
                future.add_done_callback(
                    lambda f: f.cancelled() and threading.Thread(target=session.cancel, daemon=True).start()
                )
        except Exception:
            pass

    def _progress_report(self, token, message: str, percentage: int) -> None:
        try:
            self.ls.work_done_progress.report(
                token, types.WorkDoneProgressReport(message=message, percentage=percentage)
            )
        except Exception:
            pass

    def _progress_end(self, token, results: list[RunResult]) -> None:
        summary = ", ".join(f"{r.backend}: {r.status}" for r in results) or "not run"
        try:
            self.ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=summary))
        except Exception:
            pass
        try:
            self.ls.work_done_progress.tokens.pop(token, None)
        except Exception:
            pass

    # -- diagnostics --------------------------------------------------------------------
    def _source(self, uri: str, path: str, run_path: str, text: str | None) -> SourceText:
        source = None
        if text is not None and os.path.abspath(path) == os.path.abspath(run_path):
            source = text
        if source is None:
            try:
                doc = self.ls.workspace.text_documents.get(uri)
                source = doc.source if doc is not None else None
            except Exception:
                source = None
        if source is None:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    source = f.read()
            except OSError:
                source = ""
        return SourceText(source)  # the engine's line table (Python's and LSP's line breaks)

    def _publish_run_diagnostics(self, uri: str, path: str, text: str | None,
                                 results: list[RunResult]) -> None:
        # Backends failing on the same line with the same exception line share one
        # diagnostic (their full messages differ in details such as tensor types).
        grouped: dict[tuple[str, int, str], tuple[list[str], str]] = {}
        for r in results:
            loc = r.error_location
            if loc is None:
                continue
            message = loc.message
            prefix = f"{r.backend}: "
            if message.startswith(prefix):
                message = message[len(prefix):]
            key = (loc.path, loc.line, message.splitlines()[0] if message else "")
            grouped.setdefault(key, ([], message))[0].append(r.backend)
        new: dict[str, list[types.Diagnostic]] = {}
        units = self.context().num_units
        for (loc_path, line, _), (backends, message) in grouped.items():
            same = os.path.abspath(loc_path) == os.path.abspath(path)
            target = uri if same else from_fs_path(loc_path)
            line0 = max(line - 1, 0)
            st = self._source(target, loc_path, path, text if same else None)
            line_text = st.line_text(line0) if line0 < st.line_count else ""
            start = len(line_text) - len(line_text.lstrip())
            # the whole statement line, in the client's units (the engine's position model)
            diag = types.Diagnostic(
                range=types.Range(
                    start=types.Position(line=line0, character=st.column(line0, start, units)),
                    end=types.Position(line=line0, character=st.column(line0, len(line_text), units)),
                ),
                message=f"{', '.join(backends)}: {message}",
                severity=types.DiagnosticSeverity.Error,
                source=SOURCE,
                data={"backends": backends},
            )
            new.setdefault(target, []).append(diag)
        touched = set(self._owned.get(uri, set())) | set(new)
        self._owned[uri] = set(new)
        for target in sorted(touched):
            self.ls.set_run_diagnostics(target, new.get(target, []))


def _working_directory(path: str, roots: list[str]) -> str:
    """The innermost workspace folder holding ``path`` (as an editor's "Run Python File"
    does), else the file's own folder."""
    real = os.path.realpath(path)
    best = ""
    for root in roots:
        r = os.path.realpath(root)
        try:
            if os.path.commonpath([real, r]) == r and len(r) > len(best):
                best = r
        except ValueError:
            continue
    return best or os.path.dirname(path)


def devices_reply(listing) -> dict:
    """The ``keras-migrate.listDevices`` reply: the GPUs and the no-choice convention."""
    from keras_migrate.runner.gpus import default_device, inherited_visible_devices

    reply = listing.to_json()
    reply["cudaVisibleDevices"] = inherited_visible_devices()
    d = default_device(listing)
    reply["default"] = {"kind": d.kind, "index": d.index, "value": d.value, "reason": d.reason}
    return reply


def register(ls: Any) -> RunnerBridge:
    """Register the runner's commands on ``ls``: a ``pygls.lsp.server.LanguageServer`` that is
    a :class:`RunnerHost`."""
    if not isinstance(ls, RunnerHost):
        raise TypeError(f"{type(ls).__name__} is not a RunnerHost (runner_context, set_run_diagnostics)")
    bridge = RunnerBridge(ls)
    server = ls

    # pygls injects the server as the first parameter when it is named ``ls``; the
    # command's JSON arguments arrive, unconverted, in ``*args``.
    @server.command(CMD_RUN)
    async def run(ls, *args):
        return await bridge.run(*args)

    @server.command(CMD_CANCEL)
    async def run_cancel(ls, *args):
        return await bridge.cancel(*args)

    @server.command(CMD_LIST_DEVICES)
    async def list_devices(ls, *args):
        return await bridge.list_devices(*args)

    @server.command(CMD_CHECK)
    async def check_environment_(ls, *args):
        return await bridge.check(*args)

    return bridge
