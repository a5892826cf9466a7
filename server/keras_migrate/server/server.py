"""The keras-migrate language server: pygls wiring over ``keras_migrate.service.Linter``.

Every handler below is thin: it reads the protocol, asks the server object (documents,
configuration, analysis) or the library, and answers.  Analysis is CPU-bound and synchronous;
it runs in one worker thread, never on the event loop, debounced per document; a result is
published only if the document has not changed since it was started.
"""
from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from keras_migrate.version import __version__
from keras_migrate.config import Config, is_excluded
from keras_migrate.engine.gchold import GC_HOLD
from keras_migrate.service import Linter, registry

from . import actions as act
from . import profiling
from .configuration import Configurations, WorkspaceIndex
from .analysis import Analysis, analyse_cells, analyse_text, fix_edits
from .diagnostics import contains, converter, hover_markdown
from .documents import (Debouncer, DocState, LspWorkspace, applied_line_changes, line_breaks,
                        line_changes, shift_diagnostics)
from .runner_bridge import RunnerContext
from .settings import ServerSettings, parse_settings, unwrap

log = logging.getLogger("keras_migrate.server")

NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[types.NotebookDocumentFilterWithCells(
        notebook="*", cells=[types.NotebookCellLanguage(language="python")])],
    save=True,
)
CODE_ACTION_KINDS = [act.QUICKFIX, act.FIX_ALL_KIND, act.NOTEBOOK_FIX_ALL_KIND]
PYPROJECT = "pyproject.toml"
MAX_CHARS = 5_000_000  # larger documents are not analysed (reported once)
# larger documents are analysed on open and on save, not after every keystroke: a 4.9 MB file
# cost 15 s and 1.9 GB per analysis, ~1 s and ~170 MB per MB of dense Keras 2 code
TYPE_MAX_CHARS = 1_000_000
CACHE_SIZE = 8
# memory over long sessions (issue 18): an analysis leaves its tree as cyclic garbage once its
# cache entry goes, already promoted to the oldest generation, which Python collects rarely;
# over 20,000 edits the garbage peaks grew RSS by 50 MB. A full collection runs once the
# editor is idle for IDLE_GC_S, and at the latest after FULL_GC_EVERY analyses.
IDLE_GC_S = 1.0
FULL_GC_EVERY = 16
# ... or once the analyses since the last one read this many characters: the garbage is ~15
# objects per character, and 16 analyses of a dense 5,000-line file left 1.2M objects whose
# collection (up to 540 ms) outlasted the debounce that should hide it; two of them (~150 ms)
# fit in it
FULL_GC_CHARS = 350_000


def _malloc_trim():
    """Give freed heap pages back to the system (glibc); a no-op elsewhere."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        return libc.malloc_trim
    except Exception:
        return None


MALLOC_TRIM = _malloc_trim() if sys.platform.startswith("linux") else None


def uri_path(uri: str) -> Optional[Path]:
    if not uri.startswith("file:"):
        return None
    p = to_fs_path(uri)
    return Path(p) if p else None


def notebook_path(uri: str) -> Optional[Path]:
    """A notebook's file path (vscode-notebook-cell URIs carry it too, before the fragment)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("file", "vscode-notebook", "vscode-notebook-cell") and parsed.path:
        return Path(unquote(parsed.path))
    return None


class ClientLogHandler(logging.Handler):
    """Python logging -> ``window/logMessage`` (from any thread)."""

    LEVELS = ((logging.ERROR, types.MessageType.Error), (logging.WARNING, types.MessageType.Warning),
              (logging.INFO, types.MessageType.Info), (0, types.MessageType.Log))

    def __init__(self, ls: "KerasMigrateServer") -> None:
        super().__init__()
        self.ls = ls

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            kind = next(t for lvl, t in self.LEVELS if record.levelno >= lvl)
            self.ls.call_on_loop(lambda: self.ls.window_log_message(types.LogMessageParams(type=kind, message=msg)))
        except Exception:  # logging must never break the server
            pass


_command_params: contextvars.ContextVar[Optional[types.ExecuteCommandParams]] = \
    contextvars.ContextVar("km_command_params", default=None)


class _Unfit:
    """A message whose params do not fit its method (``structure_message`` failed): a request
    gets an InvalidParams error, a notification is dropped with one log line."""
    __slots__ = ("id", "method", "why", "is_request", "code")

    def __init__(self, data: dict, why: str, code: int = types.ErrorCodes.InvalidParams) -> None:
        self.code = code
        self.is_request = "id" in data
        self.id = data.get("id") if isinstance(data.get("id"), (int, str)) else None
        self.method = data.get("method")
        self.why = why


def _short_error(exc: BaseException) -> str:
    """A cattrs validation error in one line (the first leaf's message)."""
    leaves = []

    def walk(e):
        subs = getattr(e, "exceptions", None)
        if subs:
            for x in subs:
                walk(x)
        else:
            note = (getattr(e, "__notes__", None) or [""])[-1]
            leaves.append(f"{note}: {e}" if note else str(e))
    walk(exc)
    return (leaves[0] if leaves else str(exc))[:200]


class KerasMigrateProtocol(LanguageServerProtocol):
    """pygls' protocol, exposing the ``ExecuteCommandParams`` (its ``workDoneToken``) to the
    command handler through a context variable, and making the protocol total (issue 18):

    * every request is answered: one whose params do not fit its method (``hover`` with null
      params, ``codeAction/resolve`` without a title, ``executeCommand`` without a command,
      ``diagnostic({})``) gets InvalidParams, a message that is not JSON-RPC gets
      InvalidRequest, unparsable JSON a ParseError (pygls drops them and logs a traceback);
    * after ``shutdown`` a request gets InvalidRequest (pygls ignores it: the client waits);
    * a notification leaves nothing behind: pygls keeps each handler's finished Future in
      ``_request_futures`` under a fresh uuid forever (~2 KB per didChange, 51 -> 106 MB over
      20,000 edits); it is dropped as soon as it is done;
    * a ``didChange`` older than the document's version is rejected (not applied, one log line).
    """

    def send_error(self, rid, code: int, message: str) -> None:
        """A JSON-RPC error response; with a null id when the request's id is unknown or invalid
        (pygls would leave ``id`` out, which a client cannot match)."""
        if rid is None:
            self._send_data({"jsonrpc": "2.0", "id": None, "error": {"code": int(code), "message": message}})
        else:
            self._send_response(rid, None, types.ResponseError(code=code, message=message))

    def structure_message(self, data: dict):
        if isinstance(data, dict) and "jsonrpc" in data and "method" in data and "error" not in data:
            method = data.get("method")
            if not isinstance(method, str):
                return _Unfit(data, "the method is not a string", types.ErrorCodes.InvalidRequest)
            rid = data.get("id", 0)
            if "id" in data and (not isinstance(rid, (int, str)) or isinstance(rid, bool)):
                # answered with a null id, as JSON-RPC says
                return _Unfit(data, "the id is not a number or a string", types.ErrorCodes.InvalidRequest)
            msg_type = self.get_message_type(method)
            if msg_type is None:   # a method we do not serve: pygls' generic types (params optional)
                data = {"params": None, **data}
                msg_type = JsonRPCRequestMessage if "id" in data else JsonRPCNotification
            try:
                return self._converter.structure(data, msg_type)
            except Exception as exc:   # ClassValidationError & co.: the params do not fit
                return _Unfit(data, _short_error(exc))
        try:
            return super().structure_message(data)
        except Exception as exc:   # a response we cannot read: dropped, one log line
            log.warning("ignored a message pygls cannot read: %s", _short_error(exc))
            return _Unfit({"method": "(response)"}, _short_error(exc))

    def handle_message(self, message) -> None:
        if isinstance(message, _Unfit):
            if message.is_request:
                log.warning("%s: invalid params: %s", message.method, message.why)
                self.send_error(message.id, message.code, f"{message.method}: "
                                f"{'invalid params: ' if message.code == types.ErrorCodes.InvalidParams else ''}"
                                f"{message.why}")
            else:
                log.warning("notification %s ignored: invalid params: %s", message.method, message.why)
            return
        if not hasattr(message, "jsonrpc"):   # not a JSON-RPC object: a dict without "jsonrpc", a list, a number
            rid = message.get("id") if isinstance(message, dict) else None
            if isinstance(message, dict) and "method" in message and "id" in message:
                self.send_error(rid if isinstance(rid, (int, str)) else None, types.ErrorCodes.InvalidRequest,
                                "not a JSON-RPC 2.0 request")
            else:
                log.warning("ignored a message that is not JSON-RPC 2.0: %.80r", message)
            return
        method = getattr(message, "method", None)
        if self._shutdown and method is not None and method != types.EXIT and hasattr(message, "id") \
                and not hasattr(message, "result"):
            self.send_error(message.id, types.ErrorCodes.InvalidRequest, f"{method}: the server is shutting down")
            return
        super().handle_message(message)

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        if callback == self._check_handler_result:   # a notification: nobody will pop its future
            pending = self.__dict__.setdefault("_km_notification_ids", [])
            pending.append(msg_id)
            # swept here, on the loop thread (a done-callback could run on a worker thread while
            # shutdown iterates the dict): finished ones go, at most the running ones stay
            keep = []
            for k in pending:
                fut = self._request_futures.get(k)
                if fut is None:
                    continue
                if fut.done():
                    del self._request_futures[k]
                else:
                    keep.append(k)
            self._km_notification_ids = keep

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        """pygls' initialize, with the workspace built as an ``LspWorkspace`` (LSP's line model
        for every document: pygls' own splits lines at ``\f``, ``\u2028``, ...).  pygls builds
        its ``Workspace`` first, then hands over to the server's initialize handler: the
        workspace is replaced in between, before any document exists."""
        steps = super().lsp_initialize(params)
        try:
            step = next(steps)
        except StopIteration as done:
            return done.value
        ws = self.workspace
        self._workspace = LspWorkspace(ws.root_uri, self._server._text_document_sync_kind,
                                       list(ws.folders.values()), ws.position_encoding)
        while True:
            sent = yield step
            try:
                step = steps.send(sent)
            except StopIteration as done:
                return done.value

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams):
        _command_params.set(params)
        return (yield from super().lsp_workspace__execute_command(params))

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        """Apply the edits (as pygls does), noting how each one moved lines."""
        uri = params.text_document.uri
        doc = self.workspace.text_documents.get(unquote(uri))
        if doc is None:
            log.warning("didChange for a document that is not open: %s", uri)
            return
        version = params.text_document.version
        if isinstance(version, int) and isinstance(doc.version, int) and version < doc.version:
            log.warning("didChange of %s rejected: version %d is older than the document's %d", uri, version,
                        doc.version)
            return
        self._server.line_moves[uri] = applied_line_changes(
            doc, params.content_changes, lambda ch: self.workspace.update_text_document(params.text_document, ch))
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield user_handler, (params,), None

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def lsp_notebook_document__did_change(self, params: types.DidChangeNotebookDocumentParams):
        """Apply the notebook change (as pygls does), noting how each cell edit moved lines."""
        cells = params.change.cells
        for content in (cells.text_content or []) if cells is not None else []:
            doc = self.workspace.text_documents.get(unquote(content.document.uri))
            if doc is not None and len(content.changes) == 1:
                before = line_breaks(doc.source)
                ch = content.changes[0]
                rng = getattr(ch, "range", None)
                self._server.line_moves[content.document.uri] = (before, rng)
        return (yield from super().lsp_notebook_document__did_change(params))


class KerasMigrateServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("keras-migrate", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         notebook_document_sync=NOTEBOOK_SYNC, protocol_cls=KerasMigrateProtocol,
                         converter_factory=converter, max_workers=4)
        self.km_settings = ServerSettings()
        # Workspace trust fails closed: only ``initializationOptions.trusted`` that is exactly
        # ``true`` trusts the workspace (a missing, null, "false", 0 or malformed value does not).
        self.km_trusted = False
        # the runner bridge's diagnostics (RunnerHost.set_run_diagnostics), moved with edits
        self.extra_diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.line_moves: dict[str, Any] = {}       # uri -> how the last didChange moved lines
        # -- documents -----------------------------------------------------------------------
        self.docs: dict[str, DocState] = {}       # text document or notebook URI -> state
        self.debouncer = Debouncer()
        self._cache: "OrderedDict[tuple[str, int], Analysis]" = OrderedDict()
        self.fixall_served = act.FixAllServed()
        # -- configuration -------------------------------------------------------------------
        self.configs = Configurations(self.workspace_roots, self.show_once)
        self._warmed = False
        self._published: dict[str, tuple] = {}    # uri -> (version, diagnostics) last pushed
        self._pending: set[str] = set()            # documents waiting for an analysis
        self._analyses_since_gc = 0
        self._chars_since_gc = 0
        self._gc_due = False      # a full collection waits for the next keystroke (or idleness)
        self._gc_timer: Optional[asyncio.TimerHandle] = None
        self._reported: set[str] = set()
        self._lock = threading.RLock()
        # -- execution -----------------------------------------------------------------------
        self._analysis_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="km-analysis",
                                                 initializer=profiling.worker_initializer)
        self._report_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="km-report")
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[int] = None
        self.log_handler = ClientLogHandler(self)
        self.gc_hold = GC_HOLD  # shared with the engine's own hold, so the two nest

    # -- plumbing -------------------------------------------------------------------------------
    def call_on_loop(self, fn) -> None:
        loop = self.loop
        if loop is None or self.protocol.writer is None:
            return
        if threading.get_ident() == self._loop_thread:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def caps(self, dotted: str, default=None):
        cur: Any = self.client_capabilities
        for part in dotted.split("."):
            cur = getattr(cur, part, None)
            if cur is None:
                return default
        return cur

    @property
    def pull_mode(self) -> bool:
        return self.caps("text_document.diagnostic") is not None

    @property
    def num_units(self):
        return self.workspace.position_codec.client_num_units

    def show_once(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Tell the user about a problem with their settings or files, once per message."""
        if message in self._reported:
            return
        self._reported.add(message)
        log.warning("%s", message)
        self.call_on_loop(lambda: self.window_show_message(
            types.ShowMessageParams(type=kind, message=f"keras-migrate: {message}")))

    def report_server_error(self, error: Exception, source) -> None:
        # pygls would show "Error in server: ..." as a popup; log it instead (never a traceback)
        if isinstance(error, ValueError) and type(error).__name__ == "JSONDecodeError":
            # a body that is not JSON: JSON-RPC's answer is a ParseError with a null id
            log.warning("a message that is not JSON was ignored: %s", error)
            try:
                self.protocol.send_error(None, types.ErrorCodes.ParseError, f"not JSON: {error}")
            except Exception:
                pass
            return
        log.error("internal error (%s): %s", getattr(source, "__name__", source), error)

    # -- settings and configuration ---------------------------------------------------------------
    def apply_settings(self, raw: Any) -> bool:
        settings, problems = parse_settings(raw)
        for p in problems:
            self.show_once(p)
        changed = settings != self.km_settings
        self.km_settings = settings
        self.configs.set_base(settings.base_config(), settings.table, settings.configuration_preference)
        self.set_log_level()
        self.clear_config_caches()
        return changed

    def set_log_level(self) -> None:
        logging.getLogger("keras_migrate").setLevel(self.km_settings.logging_level)
        self.log_handler.setLevel(self.km_settings.logging_level)

    def clear_config_caches(self) -> None:
        self.configs.clear()
        with self._lock:
            self._cache.clear()

    def workspace_roots(self) -> list[Path]:
        roots = []
        try:
            ws = self.workspace
        except RuntimeError:
            return roots
        for f in ws.folders.values():
            p = uri_path(f.uri)
            if p is not None:
                roots.append(p)
        if not roots and ws.root_path:
            roots.append(Path(ws.root_path))
        return roots

    def config_for(self, path: Optional[Path]) -> Config:
        return self.configs.config_for(path)

    def workspace_index(self, path: Optional[Path]):
        return self.configs.workspace_index(path)

    def linter_for(self, cfg: Config, path: Optional[Path]) -> Linter:
        return self.configs.linter_for(cfg, path)

    def invalidate_index(self, path: Optional[Path]) -> None:
        self.configs.invalidate_index(path)

    # -- documents ---------------------------------------------------------------------------------
    def state_for(self, uri: str) -> Optional[DocState]:
        state = self.docs.get(uri)
        if state is not None:
            return state
        nb = self.workspace.get_notebook_document(cell_uri=uri)
        if nb is not None:
            return self.docs.get(nb.uri)
        return None

    def notebook_cells(self, nb_uri: str) -> list[tuple[str, str]]:
        nb = self.workspace.get_notebook_document(notebook_uri=nb_uri)
        if nb is None:
            return []
        cells = []
        for cell in nb.cells:
            if cell.kind != types.NotebookCellKind.Code:
                continue
            doc = self.workspace.text_documents.get(unquote(cell.document)) or \
                self.workspace.text_documents.get(cell.document)
            if doc is None or (doc.language_id and doc.language_id != "python"):
                continue
            cells.append((cell.document, doc.source))
        return cells

    def lsp_version(self, uri: str) -> Optional[int]:
        doc = self.workspace.text_documents.get(unquote(uri)) or self.workspace.text_documents.get(uri)
        return doc.version if doc is not None else None

    def opened(self, uri: str, notebook: bool = False) -> None:
        state = self.docs[uri] = DocState(uri, notebook=notebook)
        state.bump()
        self.schedule(state, 0)

    def changed(self, uri: str, changes) -> None:
        """A text document or a cell changed: move what is shown, analyse again soon."""
        noted = self.line_moves.pop(uri, None)
        state = self.state_for(uri)
        if state is None:
            return
        moves = noted
        if moves is None:
            moves = line_changes(changes)
        state.move_shown(uri, moves)
        if uri in self.extra_diagnostics:
            self.extra_diagnostics[uri] = shift_diagnostics(self.extra_diagnostics[uri], moves)
        state.bump()
        self.after_edit(state)

    def doc_size(self, state: DocState) -> int:
        if state.notebook:
            return sum(len(t) for _, t in self.notebook_cells(state.uri))
        doc = self.workspace.text_documents.get(unquote(state.uri)) or self.workspace.text_documents.get(state.uri)
        return len(doc.source) if doc is not None else 0

    def after_edit(self, state: DocState) -> None:
        """Analyse again after the debounce, or, with ``lint.run: onSave`` and for documents
        over TYPE_MAX_CHARS, wait for the save: what is shown has moved with the edit, and a
        pull (``textDocument/diagnostic``) answers with it instead of analysing."""
        size = self.doc_size(state) if self.km_settings.lint_run != "onSave" else 0
        if self.km_settings.lint_run != "onSave" and size <= TYPE_MAX_CHARS:
            self.schedule(state, self.km_settings.debounce_ms / 1000)
            self.collect_if_due()
            return
        if size > TYPE_MAX_CHARS:   # once per document (the message names no size, which changes)
            self.show_once(f"{state.uri} is over {TYPE_MAX_CHARS:,} characters: analysed when opened and "
                           "saved, not as you type", types.MessageType.Info)
        state.deferred = True
        state.result_id += 1   # the moved diagnostics are what a pull gets
        self.collect_if_due()

    def saved(self, state: DocState) -> None:
        """A save analyses what the edits deferred (and tells a pull client to ask again)."""
        if state.deferred:
            state.refresh_when_done = True
            self.schedule(state, 0)

    def closed(self, uri: str, cell_uris: list[str] = ()) -> None:
        state = self.docs.pop(uri, None)
        self.debouncer.cancel(uri)
        self._pending.discard(uri)
        for u in [uri, *cell_uris]:
            self.extra_diagnostics.pop(u, None)
            self._published.pop(u, None)
            if not self.pull_mode:
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=u, diagnostics=[]))
        if state is not None:
            state.resolve_waiters()
        with self._lock:
            for key in [k for k in self._cache if k[0] == uri]:
                del self._cache[key]

    def schedule(self, state: DocState, delay_s: float) -> None:
        state.deferred = False   # an analysis is coming: a pull waits for it again
        self._pending.add(state.uri)
        self.debouncer.schedule(state.uri, delay_s, lambda: asyncio.ensure_future(self.run_analysis(state)))

    def editor_busy(self) -> bool:
        """Whether an open document waits for (or is in) an analysis: scans give way to it."""
        return bool(self._pending)

    def yield_to_editor(self, cap_s: float = 2.0) -> bool:
        """Report thread, between two files: wait while the editor's documents are being
        analysed (typing during a 5,000-file report had a p95 of 456 ms), at most ``cap_s``
        per file so the report still ends.  Never cancels (returns False)."""
        end = time.monotonic() + cap_s
        while self._pending and time.monotonic() < end:
            time.sleep(0.01)
        return False

    def reanalyse_all(self) -> None:
        for state in list(self.docs.values()):
            state.bump()
            self.schedule(state, 0)
        if self.pull_mode and self.caps("workspace.diagnostics.refresh_support"):
            self.workspace_diagnostic_refresh(None)

    # -- analysis ------------------------------------------------------------------------------------
    def snapshot(self, state: DocState) -> Optional[tuple]:
        if state.notebook:
            nb = self.workspace.get_notebook_document(notebook_uri=state.uri)
            if nb is None:
                return None
            cells = self.notebook_cells(state.uri)
            # the LSP versions belong to this snapshot: read later, on the worker, they could
            # label an analysis of old text with a newer version
            return (notebook_path(state.uri), cells, {u: self.lsp_version(u) for u, _ in cells})
        doc = self.workspace.text_documents.get(unquote(state.uri)) or self.workspace.text_documents.get(state.uri)
        if doc is None:
            return None
        return (uri_path(state.uri), doc.source, {state.uri: doc.version})

    async def run_analysis(self, state: DocState) -> None:
        try:
            await self._run_analysis(state)
        finally:
            if not self.debouncer.pending(state.uri):   # a newer edit keeps it pending
                self._pending.discard(state.uri)

    async def _run_analysis(self, state: DocState) -> None:
        version = state.version
        snap = self.snapshot(state)
        if snap is None:
            return
        state.running = True
        loop = asyncio.get_running_loop()
        # the collector stays off from the analysis to its publishDiagnostics: an analysis
        # allocates ~100k short-lived objects, freed by reference counting, yet each of them
        # counts towards a collection that then walks every open document's retained tree
        # (up to 60 ms at p95 on the 300-line script, 13 ms with it held off); it runs at the
        # next allocation after, while the debounce of the next keystroke hides it
        with self.gc_hold:
            await self._analyse_and_publish(state, version, snap, loop)

    async def _analyse_and_publish(self, state: DocState, version: int, snap: tuple, loop) -> None:
        try:
            analysis = await loop.run_in_executor(self._analysis_pool, self.compute, state, version, snap)
        except Exception as exc:  # an engine bug: keep what is shown, log one line, go on
            log.error("analysis of %s failed: %s: %s", state.uri, type(exc).__name__, exc)
            analysis = Analysis(version, None, None, None, error=f"internal error: {type(exc).__name__}")
        finally:
            state.running = False
        if self.docs.get(state.uri) is not state or state.version != version or analysis is None:
            state.resolve_waiters()
            return  # superseded by a newer edit (or closed): its own run publishes
        if analysis.ok:
            state.set_shown(analysis.diagnostics(), version)
            state.parse_error = None
        else:
            # half-typed code: keep the last good diagnostics, already moved through the edits
            if state.parse_error != analysis.error:
                log.debug("%s does not parse (%s); keeping the last diagnostics", state.uri, analysis.error)
            state.parse_error = analysis.error
            state.analysed_version = version
            state.result_id += 1
        state.resolve_waiters()
        if not self.pull_mode:
            self.publish(state)
        elif state.refresh_when_done:   # analysed on save: the client pulls on edits only
            state.refresh_when_done = False
            if self.caps("workspace.diagnostics.refresh_support"):
                self.workspace_diagnostic_refresh(None)
        self.note_analysis(len(analysis.text))
        if not self._warmed:
            self._warmed = True  # a while after the first diagnostics, not competing with them
            asyncio.get_running_loop().call_later(5.0, lambda: self._analysis_pool.submit(self.warm_up_indexes))

    def note_analysis(self, chars: int = 0) -> None:
        """On the loop, after a publish: collect the garbage of past analyses soon (see IDLE_GC_S)."""
        self._analyses_since_gc += 1
        if self._gc_timer is not None:
            self._gc_timer.cancel()
            self._gc_timer = None
        self._chars_since_gc += chars
        if self._analyses_since_gc >= FULL_GC_EVERY or self._chars_since_gc >= FULL_GC_CHARS:
            # not now: the client's next keystroke is often already on its way, and a full
            # collection here (50-500 ms on a dense file) delayed it by all of that; at that
            # keystroke instead (changed(): inside its debounce, which hides it), or when idle
            self._gc_due = True
        if self.loop is not None:
            self._gc_timer = self.loop.call_later(IDLE_GC_S, self.collect_when_idle)
        elif self._gc_due:
            self.collect_garbage()

    def collect_if_due(self) -> None:
        """At a keystroke, once its debounce timer is set (which hides the collection): the full
        collection FULL_GC_EVERY analyses (or FULL_GC_CHARS) asked for."""
        if self._gc_due:
            self.collect_garbage()

    def collect_when_idle(self) -> None:
        """The idle timer: a document still waiting for (or in) its analysis is not idle (on a
        loaded machine a dense file's keystroke outlasted IDLE_GC_S, and a full collection
        stalled every other keystroke); the next analysis sets the timer again, and
        FULL_GC_EVERY still bounds the garbage."""
        self._gc_timer = None
        if self._pending:
            return
        self.collect_garbage()

    def collect_garbage(self) -> None:
        self._gc_timer = None
        self._gc_due = False
        if not self._analyses_since_gc:
            return
        self._analyses_since_gc = 0
        self._chars_since_gc = 0
        gc.collect()
        if MALLOC_TRIM is not None:
            try:
                MALLOC_TRIM(0)
            except Exception:
                pass

    def warm_up_indexes(self) -> None:
        for root in self.workspace_roots():
            idx = self.workspace_index(root / "__init__.py")
            if idx is not None and hasattr(idx, "warm_up"):
                try:
                    idx.warm_up()
                except Exception as exc:
                    log.info("workspace index warm-up failed: %s", exc)

    def compute(self, state: DocState, version: int, snap: tuple) -> Optional[Analysis]:
        """Worker thread: analyse one snapshot (skipped if a newer edit already arrived)."""
        if state.version != version:
            return None
        path, content, versions = snap
        size = sum(len(t) for _, t in content) if state.notebook else len(content)
        if size > MAX_CHARS:
            self.show_once(f"{state.uri} is too large to analyse as you type ({size:,} characters)",
                           types.MessageType.Info)
            uris = [u for u, _ in content] if state.notebook else [state.uri]
            return Analysis(version, path, None, None, per_uri={u: [] for u in uris}, excluded=True)
        cfg = self.config_for(path)
        if path is not None and is_excluded(cfg, path):
            uris = [u for u, _ in content] if state.notebook else [state.uri]
            return Analysis(version, path, cfg, None, per_uri={u: [] for u in uris}, excluded=True)
        linter = self.linter_for(cfg, path)
        wall, cpu = time.perf_counter(), time.thread_time()
        if state.notebook:
            analysis = analyse_cells(version, path, cfg, linter, content, self.num_units, versions.get)
        else:
            analysis = analyse_text(state.uri, version, path, cfg, linter, content, self.num_units,
                                    versions.get)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("analysed %s #%d: %d findings%s in %.1f ms (%.1f ms CPU)", state.uri, version,
                      len(analysis.findings()), "" if analysis.ok else f" ({analysis.error})",
                      (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000)
        if analysis.ok:
            with self._lock:
                # only the newest version of a document is ever looked up (state.version only
                # grows): an older one kept its whole analysis (tree, context, findings with
                # their fix closures: ~75k objects for a dense 5,000-line file) alive for
                # nothing, and every full collection walked up to CACHE_SIZE of them (300 ms)
                for key in [k for k in self._cache if k[0] == state.uri and k[1] != version]:
                    del self._cache[key]
                self._cache[(state.uri, version)] = analysis
                self._cache.move_to_end((state.uri, version))
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return analysis

    async def current_analysis(self, state: DocState) -> Optional[Analysis]:
        """The analysis of the document as it is now (cached, or computed in the worker)."""
        with self._lock:
            cached = self._cache.get((state.uri, state.version))
        if cached is not None:
            return cached
        snap = self.snapshot(state)
        if snap is None:
            return None
        loop = asyncio.get_running_loop()
        analysis = await loop.run_in_executor(self._analysis_pool, self.compute, state, state.version, snap)
        return analysis if analysis is not None and analysis.ok else None

    async def ensure_fresh(self, state: DocState) -> None:
        """Pull diagnostics: analyse now (skipping the debounce) and wait for the result;
        edits deferred to the save (``after_edit``) are answered with what is shown."""
        for _ in range(20):
            if state.fresh or state.deferred or self.docs.get(state.uri) is not state:
                return
            fut = asyncio.get_running_loop().create_future()
            state.waiters.append(fut)
            if not state.running:
                self.debouncer.cancel(state.uri)
                asyncio.ensure_future(self.run_analysis(state))
            try:
                await asyncio.wait_for(fut, timeout=30)
            except asyncio.TimeoutError:
                return

    # -- publishing -------------------------------------------------------------------------------
    def diagnostics_for(self, state: DocState, uri: str) -> list[types.Diagnostic]:
        return list(state.shown.get(uri, [])) + list(self.extra_diagnostics.get(uri, []))

    def publish(self, state: DocState, only: Optional[str] = None) -> None:
        """Push the diagnostics of a document (each cell of a notebook), only where they changed:
        a cell whose version and diagnostics are those last published is skipped (a keystroke
        in a 5,000-cell notebook published 5,000 cells)."""
        if state.notebook:
            uris = [u for u, _ in self.notebook_cells(state.uri)]
        else:
            uris = [state.uri]
        for uri in uris:
            if only is not None and uri != only:
                continue
            diags = self.diagnostics_for(state, uri)
            version = self.lsp_version(uri)
            if state.notebook:
                # what the editor shows (data's offsets into the joined cells move with edits in
                # earlier cells; the server never reads them back from the client)
                seen = (version, [(d.range, d.code, d.message, d.severity, d.tags) for d in diags])
                if self._published.get(uri) == seen:
                    continue
                self._published[uri] = seen
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=uri, diagnostics=diags, version=version))

    # -- the runner bridge's host (server/keras_migrate/server/runner_bridge.py: RunnerHost) ---------------------------
    def runner_context(self) -> RunnerContext:
        interpreter = self.km_settings.run_interpreter
        return RunnerContext(trusted=self.km_trusted, interpreter=interpreter or None,
                             roots=tuple(str(r) for r in self.workspace_roots()), num_units=self.num_units)

    def set_run_diagnostics(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        if diagnostics:
            self.extra_diagnostics[uri] = list(diagnostics)
        else:
            self.extra_diagnostics.pop(uri, None)
        self.republish(uri)

    def republish(self, uri: str) -> None:
        """Publish again (e.g. after the runner changed ``extra_diagnostics[uri]``)."""
        state = self.state_for(uri)
        if state is None:  # a file that is not open (e.g. a traceback frame): push what we have
            if not self.pull_mode:
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                    uri=uri, diagnostics=list(self.extra_diagnostics.get(uri, []))))
            return
        state.result_id += 1
        if self.pull_mode:
            if self.caps("workspace.diagnostics.refresh_support"):
                self.workspace_diagnostic_refresh(None)
        else:
            self.publish(state, only=uri if state.notebook else None)

    # -- code actions -------------------------------------------------------------------------------
    def unsafe_allowed(self, analysis: Analysis) -> bool:
        """Whether fix-all may apply unsafe fixes: only when the workspace is trusted (a
        workspace's own pyproject.toml or settings must not turn on changes of meaning that run
        unseen, e.g. on save) and the configuration asks for them."""
        if not self.km_trusted:
            return False
        return self.km_settings.unsafe_fixes if analysis.config is None else analysis.config.unsafe_fixes

    def edit_for(self, analysis: Analysis, state: DocState, uri: str, kind: str, data: dict
                 ) -> Optional[types.WorkspaceEdit]:
        """Worker thread: the WorkspaceEdit of one action (a fix, fix-all, per-rule fix-all)."""
        unsafe = self.unsafe_allowed(analysis)
        per_uri = fix_edits(analysis, state.notebook, uri, kind, data, unsafe, self.num_units)
        if per_uri is None:
            return None
        versions = {u: self.lsp_version(u) for u in per_uri}
        return act.workspace_edit(per_uri, versions, bool(self.caps("workspace.workspace_edit.document_changes")))


server = KerasMigrateServer()


# == lifecycle ============================================================================================
@server.feature(types.INITIALIZE)
def initialize(ls: KerasMigrateServer, params: types.InitializeParams) -> None:
    """``initialize``: read ``initializationOptions`` ({settings, trusted}); capabilities
    (incremental sync, notebooks, pull diagnostics, code actions, hover, commands) follow from
    the features registered here, and pygls negotiates the position encoding."""
    ls.loop = asyncio.get_running_loop() if _loop_running() else ls.loop
    ls._loop_thread = threading.get_ident()
    opts = params.initialization_options
    raw = None
    if isinstance(opts, dict):
        ls.km_trusted = opts.get("trusted") is True
        raw = {k: v for k, v in opts.items() if k != "trusted"} or None
    ls.apply_settings(raw)
    # load the rules now, then keep the collector off everything that lives as long as the
    # server (modules, rule tables, lsprotocol's types): its full passes no longer walk them,
    # which took ~10 ms off the p95 of an analysis; AST-heavy analyses allocate a lot, so
    # the first generation is collected less often too
    registry()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
    enc = ls.workspace.position_encoding
    log.info("keras-migrate %s, position encoding %s, %s diagnostics", __version__,
             getattr(enc, "value", enc), "pull" if ls.pull_mode else "push")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


@server.feature(types.INITIALIZED)
async def initialized(ls: KerasMigrateServer, params: types.InitializedParams) -> None:
    """``initialized``: watch ``pyproject.toml`` files so configuration changes apply at once."""
    if ls.caps("workspace.did_change_watched_files.dynamic_registration"):
        try:
            await ls.client_register_capability_async(types.RegistrationParams(registrations=[
                types.Registration(
                    id="keras-migrate-pyproject", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[
                        types.FileSystemWatcher(glob_pattern="**/pyproject.toml")]))]))
        except Exception as exc:
            log.info("could not register a pyproject.toml watcher: %s", exc)


@server.feature(types.SHUTDOWN)
def shutdown(ls: KerasMigrateServer, params: None) -> None:
    """``shutdown``: stop timers and worker threads; ``exit`` follows."""
    for uri in list(ls.docs):
        ls.debouncer.cancel(uri)
    ls._analysis_pool.shutdown(wait=False, cancel_futures=True)
    ls._report_pool.shutdown(wait=False, cancel_futures=True)


# == text documents ==========================================================================================
@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: KerasMigrateServer, params: types.DidOpenTextDocumentParams) -> None:
    """``textDocument/didOpen``: analyse at once (no debounce)."""
    if ls.workspace.get_notebook_document(cell_uri=params.text_document.uri) is not None:
        return
    ls.opened(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: KerasMigrateServer, params: types.DidChangeTextDocumentParams) -> None:
    """``textDocument/didChange`` (incremental): pygls has applied the edits; move the
    diagnostics shown and analyse again after the debounce."""
    uri = params.text_document.uri
    ls.changed(uri, params.content_changes)
    path = uri_path(uri)
    if path is not None and WorkspaceIndex is not None:
        ls._analysis_pool.submit(ls.invalidate_index, path)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: KerasMigrateServer, params: types.DidSaveTextDocumentParams) -> None:
    """``textDocument/didSave``: a saved pyproject.toml reloads the configuration; a saved
    module may change what other open files import from it."""
    uri = params.text_document.uri
    if uri.endswith("/" + PYPROJECT):
        ls.clear_config_caches()
        ls.reanalyse_all()
        return
    saved = ls.docs.get(uri)
    if saved is not None:
        ls.saved(saved)
    if WorkspaceIndex is not None:
        ls._analysis_pool.submit(ls.invalidate_index, uri_path(uri))
        for state in list(ls.docs.values()):
            if state.uri != uri:
                state.bump()
                ls.schedule(state, ls.km_settings.debounce_ms / 1000)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: KerasMigrateServer, params: types.DidCloseTextDocumentParams) -> None:
    """``textDocument/didClose``: forget the document and clear its diagnostics."""
    if params.text_document.uri in ls.docs:
        ls.closed(params.text_document.uri)


# == notebooks =================================================================================================
@server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
def notebook_did_open(ls: KerasMigrateServer, params: types.DidOpenNotebookDocumentParams) -> None:
    """``notebookDocument/didOpen``: the cells are analysed together, in order."""
    ls.opened(params.notebook_document.uri, notebook=True)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
def notebook_did_change(ls: KerasMigrateServer, params: types.DidChangeNotebookDocumentParams) -> None:
    """``notebookDocument/didChange``: cell text edits, cells added, removed or moved."""
    nb_uri = params.notebook_document.uri
    state = ls.docs.get(nb_uri)
    if state is None:
        return
    cells = params.change.cells
    if cells is not None:
        for content in cells.text_content or []:
            uri = content.document.uri
            moves = line_changes(content.changes)
            noted = ls.line_moves.pop(uri, None)
            doc = ls.workspace.text_documents.get(unquote(uri))
            if noted is not None and doc is not None:  # one edit: count the breaks exactly
                before, rng = noted
                moves = [None if rng is None else
                         (rng.start.line, rng.end.line,
                          line_breaks(doc.source) - before + rng.end.line - rng.start.line)]
            state.move_shown(uri, moves)
            if uri in ls.extra_diagnostics:
                ls.extra_diagnostics[uri] = shift_diagnostics(ls.extra_diagnostics[uri], moves)
        structure = cells.structure
        if structure is not None:
            for closed in structure.did_close or []:
                state.shown.pop(closed.uri, None)
                ls._published.pop(closed.uri, None)
                ls.extra_diagnostics.pop(closed.uri, None)
                if not ls.pull_mode:
                    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=closed.uri, diagnostics=[]))
    state.bump()
    ls.after_edit(state)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
def notebook_did_save(ls: KerasMigrateServer, params: types.DidSaveNotebookDocumentParams) -> None:
    """``notebookDocument/didSave``: with ``lint.run: onSave``, the notebook is analysed now."""
    state = ls.docs.get(params.notebook_document.uri)
    if state is not None:
        ls.saved(state)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
def notebook_did_close(ls: KerasMigrateServer, params: types.DidCloseNotebookDocumentParams) -> None:
    """``notebookDocument/didClose``: forget the notebook, clear every cell."""
    ls.fixall_served.forget(params.notebook_document.uri)
    ls.closed(params.notebook_document.uri, [c.uri for c in params.cell_text_documents])


# == diagnostics (pull) ===========================================================================================
@server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC,
                types.DiagnosticOptions(identifier="keras-migrate", inter_file_dependencies=False,
                                        workspace_diagnostics=False))
async def document_diagnostic(ls: KerasMigrateServer, params: types.DocumentDiagnosticParams):
    """``textDocument/diagnostic`` (LSP 3.17 pull model), for clients that declare it;
    others get ``textDocument/publishDiagnostics``."""
    uri = params.text_document.uri
    state = ls.state_for(uri)
    if state is None:
        return types.RelatedFullDocumentDiagnosticReport(items=[])
    await ls.ensure_fresh(state)
    rid = f"{state.uri}#{state.result_id}"
    if params.previous_result_id == rid:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=rid)
    return types.RelatedFullDocumentDiagnosticReport(items=ls.diagnostics_for(state, uri), result_id=rid)


# == code actions ================================================================================================
@server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=CODE_ACTION_KINDS, resolve_provider=True))
async def code_action(ls: KerasMigrateServer, params: types.CodeActionParams):
    """``textDocument/codeAction``: per diagnostic a quick fix (safe ones preferred, unsafe
    ones labelled) and a noqa suppression; "Fix all Kxxx in this file" per rule; and
    ``source.fixAll.keras-migrate``.  Fix edits are filled in by ``codeAction/resolve``."""
    uri = params.text_document.uri
    state = ls.state_for(uri)
    if state is None:
        return None
    analysis = await ls.current_analysis(state)
    if analysis is None:
        return []
    req = act.ActionRequest(uri, params.range, params.context.only, state.notebook, ls.unsafe_allowed(analysis),
                            ls.km_settings.disable_rule_comment, analysis.version)
    out = act.list_actions(req, analysis.per_uri.get(uri, []), analysis.findings(),
                           lambda: ls.workspace.get_text_document(uri).source, ls.num_units, ls.lsp_version(uri),
                           bool(ls.caps("workspace.workspace_edit.document_changes")))
    if not ls.caps("text_document.code_action.resolve_support"):
        loop = asyncio.get_running_loop()
        for a in out:
            if a.edit is None and a.data:
                a.edit = await loop.run_in_executor(ls._analysis_pool, _resolve_edit, ls, state, analysis, a.data)
    return out


def _resolve_edit(ls: KerasMigrateServer, state: DocState, analysis: Analysis, data: dict):
    kind = data.get("kind")
    if kind == "fixAll" and state.notebook and not ls.fixall_served.first(state.uri, state.version):
        return act.workspace_edit({}, {}, bool(ls.caps("workspace.workspace_edit.document_changes")))
    try:
        return ls.edit_for(analysis, state, data["uri"], kind, data)
    except Exception as exc:
        log.error("building the %s edit failed: %s: %s", kind, type(exc).__name__, exc)
        return None


@server.feature(types.CODE_ACTION_RESOLVE)
async def code_action_resolve(ls: KerasMigrateServer, action: types.CodeAction) -> types.CodeAction:
    """``codeAction/resolve``: compute the edits of a fix or fix-all (minimal text edits)."""
    data = action.data if isinstance(action.data, dict) else None
    if not data or action.edit is not None:
        return action
    state = ls.state_for(data.get("uri", ""))
    if state is None:
        return action
    analysis = await ls.current_analysis(state)
    if analysis is None:
        return action
    loop = asyncio.get_running_loop()
    action.edit = await loop.run_in_executor(ls._analysis_pool, _resolve_edit, ls, state, analysis, data)
    return action


# == hover =========================================================================================================
@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: KerasMigrateServer, params: types.HoverParams) -> Optional[types.Hover]:
    """``textDocument/hover`` on a diagnostic: the rule's documentation and fix safety."""
    uri = params.text_document.uri
    state = ls.state_for(uri)
    if state is None:
        return None
    diags = [d for d in state.shown.get(uri, []) if contains(d.range, params.position)]
    text = hover_markdown(diags)
    if text is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                       range=diags[0].range)


# == configuration ====================================================================================================
@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: KerasMigrateServer, params: types.DidChangeConfigurationParams) -> None:
    """``workspace/didChangeConfiguration``: new editor settings (``{"keras-migrate": {...}}``
    or ``{"settings": {...}}``); an empty payload means "ask": ``workspace/configuration``."""
    raw = params.settings
    table = unwrap(raw)
    if not table and ls.caps("workspace.configuration"):
        try:
            got = await ls.workspace_configuration_async(types.ConfigurationParams(
                items=[types.ConfigurationItem(section="keras-migrate")]))
            raw = got[0] if got else None
        except Exception as exc:
            log.info("workspace/configuration failed: %s", exc)
            raw = None
        if not raw:
            return
    elif not table:
        return
    if ls.apply_settings(raw):
        ls.reanalyse_all()


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: KerasMigrateServer, params: types.DidChangeWatchedFilesParams) -> None:
    """``workspace/didChangeWatchedFiles``: a pyproject.toml changed; reload configuration."""
    if any(c.uri.endswith(PYPROJECT) for c in params.changes):
        ls.clear_config_caches()
        ls.reanalyse_all()


# == commands ===========================================================================================================
@server.command("keras-migrate.fixAll")
async def cmd_fix_all(ls: KerasMigrateServer, *args) -> dict:
    """Apply every allowed fix in the document (``[uri]``) through ``workspace/applyEdit``."""
    uri = args[0] if args and isinstance(args[0], str) else (args[0].get("uri") if args and isinstance(args[0], dict) else None)
    state = ls.state_for(uri) if uri else None
    if state is None:
        return {"applied": 0, "error": f"document not open: {uri}"}
    analysis = await ls.current_analysis(state)
    if analysis is None:
        return {"applied": 0, "error": "the document does not parse; nothing fixed"}
    loop = asyncio.get_running_loop()
    edit = await loop.run_in_executor(ls._analysis_pool, lambda: ls.edit_for(analysis, state, uri, "fixAll", {}))
    n = act.edit_count(edit)
    if not n:
        return {"applied": 0}
    result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="keras-migrate: fix all"))
    return {"applied": n if result.applied else 0, "reason": result.failure_reason}


@server.command("keras-migrate.report")
async def cmd_report(ls: KerasMigrateServer, *args) -> dict:
    """Scan the workspace: counts per rule and per file, files ready per target backend;
    reports ``$/progress`` while it scans.  Returns ``{markdown, data}``."""
    from . import report
    token = _work_done_token(ls)
    if token is None and args and isinstance(args[0], dict):
        token = args[0].get("workDoneToken")
    if token is None and ls.caps("window.work_done_progress"):
        token = f"keras-migrate-report-{id(args)}"
        try:
            await ls.work_done_progress.create_async(token)
        except Exception:
            token = None
    if token is not None:
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="keras-migrate: migration report", percentage=0, cancellable=True))
    last = [-1]

    def cancelled() -> bool:   # window/workDoneProgress/cancel cancels the token's future (pygls)
        fut = ls.work_done_progress.tokens.get(token) if token is not None else None
        return bool(fut is not None and fut.cancelled())

    def progress(done: int, total: int, name: str) -> None:
        if token is None:
            return
        pct = int(done * 100 / total) if total else 100
        if pct == last[0] and done != total:
            return
        last[0] = pct
        ls.call_on_loop(lambda: ls.work_done_progress.report(
            token, types.WorkDoneProgressReport(message=f"{done}/{total} {name}", percentage=pct)))

    roots = ls.workspace_roots()
    loop = asyncio.get_running_loop()
    try:
        # open documents first: between two files the scan waits for their analyses; then
        # it stops if the client cancelled
        result = await loop.run_in_executor(ls._report_pool, report.scan, roots, ls.config_for, ls.workspace_index,
                                            progress, lambda: ls.yield_to_editor() or cancelled())
    finally:
        if token is not None:
            done = "cancelled" if cancelled() else "done"
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=done))
            ls.work_done_progress.tokens.pop(token, None)
    return result


def _work_done_token(ls: KerasMigrateServer):
    params = _command_params.get()
    return getattr(params, "work_done_token", None) if params is not None else None


@server.command("keras-migrate.serverInfo")
def cmd_server_info(ls: KerasMigrateServer, *args) -> dict:
    """Versions, so the client can warn about an old pygls shadowing the right one."""
    from importlib.metadata import version as dist_version

    def v(name: str) -> Optional[str]:
        try:
            return dist_version(name)
        except Exception:
            return None
    return {"name": "keras-migrate", "version": __version__, "pygls": v("pygls"), "lsprotocol": v("lsprotocol"),
            "python": sys.version.split()[0], "executable": sys.executable,
            "positionEncoding": getattr(ls.workspace.position_encoding, "value", None),
            "diagnostics": "pull" if ls.pull_mode else "push", "trusted": ls.km_trusted,
            "workspaceIndex": WorkspaceIndex is not None,
            # held off only from an analysis to its publish: False here would be a leak
            "gcEnabled": gc.isenabled()}


def register_runner() -> None:
    from . import runner_bridge
    try:
        runner_bridge.register(server)
    except Exception as exc:  # the runner is optional; its failure must not stop the server
        log.error("runner bridge failed to register: %s", exc)


register_runner()
