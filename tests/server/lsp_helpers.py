"""End-to-end fixtures: the real server in a subprocess, a real LSP client (pytest-lsp) over
stdio.  Tests wait for notifications (``wait_for_notification``), never sleep."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Callable, Optional

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]
SERVER_CMD = [sys.executable, "-m", "keras_migrate.server.main"]
TIMEOUT = 20.0


def server_env() -> dict:
    env = dict(os.environ)
    env.pop("KERAS_MIGRATE_API_DATA", None)  # the tree's rules/keras_migrate/rules/api/keras_api.json, nothing else
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def capabilities(pull: bool = False, encodings: Optional[list[str]] = None, resolve: bool = True,
                 notebooks: bool = True) -> types.ClientCapabilities:
    td = types.TextDocumentClientCapabilities(
        synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
            version_support=True, code_description_support=True, data_support=True,
            tag_support=types.ClientDiagnosticsTagOptions(value_set=[types.DiagnosticTag.Deprecated])),
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(value_set=["quickfix", "source", "source.fixAll"])),
            is_preferred_support=True, data_support=True,
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None),
        hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
        diagnostic=types.DiagnosticClientCapabilities(related_document_support=False) if pull else None,
    )
    return types.ClientCapabilities(
        text_document=td,
        notebook_document=types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities()) if notebooks else None,
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True, configuration=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True),
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=True) if pull else None,
        ),
        window=types.WindowClientCapabilities(work_done_progress=True, show_message=None),
        general=types.GeneralClientCapabilities(position_encodings=encodings) if encodings else None,
    )


def make_client_factory():
    from pygls.protocol import default_converter
    from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

    def publish(client: LanguageClient, params: types.PublishDiagnosticsParams):
        client.diagnostics[params.uri] = params.diagnostics
        client.published.setdefault(params.uri, []).append(params)

    def apply_edit(client: LanguageClient, params: types.ApplyWorkspaceEditParams):
        client.applied_edits.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    def register(client: LanguageClient, params: types.RegistrationParams):
        client.registrations.extend(params.registrations)

    def factory():
        client = LanguageClient(converter_factory=default_converter)
        client.published = {}
        client.applied_edits = []
        client.registrations = []
        features = {**DEFAULT_CLIENT_FEATURES, types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: publish,
                    types.WORKSPACE_APPLY_EDIT: apply_edit, types.CLIENT_REGISTER_CAPABILITY: register}
        register_lsp_features(client, features)
        return client
    return factory


CONFIG = ClientServerConfig(server_command=SERVER_CMD, server_env=server_env(), client_factory=make_client_factory())


async def start(tmp_path: Path, pull: bool = False, encodings=None, init_options=None, resolve: bool = True):
    client = await CONFIG.start()
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities(pull=pull, encodings=encodings, resolve=resolve),
        root_uri=tmp_path.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="ws")],
        initialization_options=init_options if init_options is not None else {"settings": {"debounceMs": 20}, "trusted": True},
    ))
    return client


# -- helpers ---------------------------------------------------------------------------------------
async def wait_for_diagnostics(client: LanguageClient, uri: str,
                               predicate: Callable[[list], bool] = lambda d: True,
                               timeout: float = TIMEOUT, version: Optional[int] = None) -> list:
    """Wait until the latest diagnostics published for ``uri`` satisfy ``predicate`` (and,
    if given, were computed for document ``version``).

    Checks what has arrived, then waits for the next publishDiagnostics notification (no
    sleeping); there is no await between the check and registering the wait.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = client.published.get(uri)
        if got:
            last = got[-1]
            if predicate(list(last.diagnostics)) and (version is None or last.version == version):
                return list(last.diagnostics)
        remaining = deadline - loop.time()
        if remaining <= 0:
            last = got[-1] if got else None
            raise AssertionError(
                f"timed out waiting for diagnostics on {uri}; last (version "
                f"{last.version if last else None}): "
                f"{[(d.code, d.range.start.line, d.message) for d in (last.diagnostics if last else [])]}")
        try:
            await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), remaining)
        except asyncio.TimeoutError:
            pass


def codes(diags) -> list[str]:
    return [str(d.code) for d in diags]


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)))


def change(client: LanguageClient, uri: str, version: int, start: tuple[int, int], end: tuple[int, int], text: str):
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(*start), types.Position(*end)), text=text)]))


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP TextEdits (UTF-16 positions) to ``text`` the way an editor does."""
    lines = text.splitlines(keepends=True) or [""]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        line = lines[pos.line]
        units = 0
        for i, ch in enumerate(line):
            if units >= pos.character:
                return starts[pos.line] + i
            units += 2 if ord(ch) > 0xFFFF else 1
        return starts[pos.line] + len(line.rstrip("\r\n")) if units < pos.character else starts[pos.line] + len(line)

    # ranges refer to the original text; inserts at one position appear in array order
    spans = sorted(((offset(e.range.start), offset(e.range.end), i, e.new_text) for i, e in enumerate(edits)),
                   reverse=True)
    for s, e, _, new in spans:
        text = text[:s] + new + text[e:]
    return text


def edits_for(edit: types.WorkspaceEdit, uri: str) -> list[types.TextEdit]:
    out = []
    for dc in edit.document_changes or []:
        if isinstance(dc, types.TextDocumentEdit) and dc.text_document.uri == uri:
            out.extend(dc.edits)
    out.extend((edit.changes or {}).get(uri, []))
    return out
