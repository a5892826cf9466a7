"""Settings (initializationOptions, didChangeConfiguration), pyproject.toml changes, pull
diagnostics, position encodings, the workspace report, serverInfo, shutdown/exit."""
from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import change, open_doc, start, wait_for_diagnostics

pytestmark = pytest.mark.asyncio

SRC = "import tensorflow as tf\nm = tf.keras.Sequential()\n"


async def test_did_change_configuration_turns_rule_off_and_bad_setting_reported_once(client: LanguageClient, tmp_path):
    uri = (tmp_path / "a.py").as_uri()
    open_doc(client, uri, SRC)
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"keras-migrate": {"ignore": ["K102"], "debounceMs": 20}}))
    await wait_for_diagnostics(client, uri, lambda d: d == [])
    # a bad value: one showMessage, the key falls back to its default (K102 back on)
    for _ in range(2):
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"settings": {"targetBackends": ["theano"], "debounceMs": 20}}))
        await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    # a second identical bad setting does not produce a second message
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"settings": {"targetBackends": ["theano"], "select": ["K1"], "debounceMs": 20}}))
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    shown = [m.message for m in client.messages if "target-backends" in m.message or "targetBackends" in m.message]
    assert len(shown) == 1, client.messages
    assert "theano" in shown[0] and "default" in shown[0]


async def test_init_options_settings_and_bad_debounce(tmp_path):
    client = await start(tmp_path, init_options={"settings": {"ignore": ["K102"], "debounceMs": "soon", "logLevel": "info"},
                                                  "trusted": False})
    try:
        # logs reach the client's log at the configured level (sent before the initialize reply)
        assert any("position encoding utf-16" in m.message for m in client.log_messages)
        uri = (tmp_path / "a.py").as_uri()
        open_doc(client, uri, SRC)
        assert await wait_for_diagnostics(client, uri) == []
        info = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="keras-migrate.serverInfo", arguments=[]))
        assert info["trusted"] is False and info["version"] and info["pygls"].startswith("2.")
        assert info["lsprotocol"] and info["python"]
        assert any("debounceMs" in m.message for m in client.messages)
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_configuration_preference_editor_first_filesystem_first_editor_only(tmp_path):
    """As ruff's configurationPreference: editorFirst (default) -- a key the editor sets wins,
    the others come from pyproject.toml; filesystemFirst -- the file wins; editorOnly -- the
    file is not read."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.keras-migrate]\nignore = ["K102"]\ntarget-backends = ["jax"]\n')
    src = "import tensorflow as tf\nm = tf.keras.Sequential()\nfrom tensorflow import keras\n"
    cases = {
        None: ({"ignore": ["K101"]}, ["K102"]),            # the default is editorFirst
        "editorFirst": ({"ignore": ["K101"]}, ["K102"]),    # the editor's ignore replaces the file's
        "filesystemFirst": ({"ignore": ["K101"]}, ["K101"]),  # the file's ignore wins
        "editorOnly": ({}, ["K101", "K102"]),               # the file is not read
        # editorFirst: a key the editor leaves unset (ignore) still comes from the file
        "editorFirst ": ({"select": ["K1"]}, ["K101"]),
    }
    for pref, (editor, want) in cases.items():
        settings = dict(editor, debounceMs=20)
        if pref is not None:
            settings["configurationPreference"] = pref.strip()
        client = await start(tmp_path, init_options={"settings": settings})
        try:
            uri = (tmp_path / f"c_{str(pref).strip()}_{len(editor)}.py").as_uri()
            open_doc(client, uri, src)
            diags = await wait_for_diagnostics(client, uri)
            assert sorted({str(d.code) for d in diags}) == want, (pref, [d.code for d in diags])
        finally:
            await client.shutdown_session()
            await client.stop()


async def test_pyproject_wins_and_changes_are_picked_up(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.keras-migrate]\nignore = ["K102"]\n')
    client = await start(tmp_path, init_options={"settings": {"select": ["K1"], "ignore": [], "debounceMs": 20,
                                                              "configurationPreference": "filesystemFirst"}})
    try:
        uri = (tmp_path / "a.py").as_uri()
        open_doc(client, uri, SRC)
        assert await wait_for_diagnostics(client, uri) == []   # pyproject's ignore wins
        # the watcher registration was sent at `initialized`, before these diagnostics
        assert any(r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES for r in client.registrations)
        (tmp_path / "pyproject.toml").write_text('[tool.keras-migrate]\nselect = ["K1"]\n')
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
            types.FileEvent(uri=(tmp_path / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]))
        await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
        # a broken pyproject: reported once, defaults (editor settings) used
        (tmp_path / "pyproject.toml").write_text('[tool.keras-migrate\nignore = [\n')
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
            types.FileEvent(uri=(tmp_path / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]))
        change(client, uri, 2, (0, 0), (0, 0), "# edit\n")
        await wait_for_diagnostics(client, uri, lambda d: len(d) == 1, version=2)
        assert sum("pyproject.toml" in m.message for m in client.messages) == 1
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_pull_diagnostics(tmp_path):
    client = await start(tmp_path, pull=True)
    try:
        uri = (tmp_path / "p.py").as_uri()
        open_doc(client, uri, SRC)
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))
        assert [d.code for d in report.items] == ["K102"]
        again = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id))
        assert again.kind == "unchanged"
        change(client, uri, 2, (1, 0), (2, 0), "")
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id))
        assert report.kind == "full" and list(report.items) == []
        assert uri not in client.diagnostics  # nothing pushed to a pull client
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_utf8_position_encoding_negotiated(tmp_path):
    client = await start(tmp_path, encodings=["utf-8", "utf-16"])
    try:
        uri = (tmp_path / "e.py").as_uri()
        open_doc(client, uri, "import tensorflow as tf\ns = 'é'; m = tf.keras.Sequential()\n")
        diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
        line = "s = 'é'; m = tf.keras.Sequential()"
        assert diags[0].range.start.character == len(line[:line.index("tf.")].encode("utf-8"))
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_report_with_progress_and_undecodable_file(tmp_path):
    (tmp_path / "good.py").write_text("import keras\nm = keras.Sequential()\n")
    (tmp_path / "old.py").write_text("import tensorflow as tf\nm = tf.keras.Sequential()\nl = tf.keras.layers.Dense(1)\n")
    (tmp_path / "latin1.py").write_bytes(b"import tensorflow as tf\ns = '\xe9t\xe9'\n")
    (tmp_path / "broken.ipynb").write_text("{not json")
    client = await start(tmp_path)
    try:
        token = "report-token"
        client.progress_reports[token] = []  # a client-initiated token (the request's workDoneToken)
        result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="keras-migrate.report", arguments=[], work_done_token=token))
        data = result["data"]
        assert data["perRule"] == {"K102": 2}
        assert data["perFile"] == {"old.py": {"K102": 2}}
        assert "good.py" in data["ready"]["tensorflow"] and "old.py" not in data["ready"]["tensorflow"]
        problems = {p["file"]: p["problem"] for p in data["problems"]}
        assert "latin1.py" in problems and "0xe9" in problems["latin1.py"]
        assert "broken.ipynb" in problems
        assert "# Keras migration report" in result["markdown"] and "latin1.py" in result["markdown"]
        kinds = [v.kind for v in client.progress_reports.get(token, [])]
        assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_bad_input_never_kills_the_server(client: LanguageClient, tmp_path):
    uri = (tmp_path / "bad.py").as_uri()
    texts = ["import tensorflow as tf\n" + "(" * 500 + "\n", "\x00\x01 import tensorflow", "import tensorflow as tf\n" + "x = [" * 200,
             "import tensorflow as tf\nm = tf.keras.Sequential()\n" * 3000]
    open_doc(client, uri, texts[0])
    for i, t in enumerate(texts[1:], start=2):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=i),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=t)]))
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 3000, version=4)
    # malformed notebook payload pieces: a cell that is not python, an empty notebook
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(uri=(tmp_path / "e.ipynb").as_uri(), notebook_type="jupyter-notebook",
                                                 version=1, cells=[]), cell_text_documents=[]))
    info = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="keras-migrate.serverInfo"))
    assert info["name"] == "keras-migrate"
    assert not [m for m in client.messages if m.type == types.MessageType.Error]


async def test_collector_is_given_back_after_analyses_of_every_kind(client: LanguageClient, tmp_path):
    """The server holds Python's cyclic GC off from an analysis to its publish; analyses that
    failed to parse, were superseded by a newer edit, or parsed must all give it back."""
    uri = (tmp_path / "g.py").as_uri()
    open_doc(client, uri, SRC)
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 1, version=1)
    change(client, uri, 2, (1, 0), (1, 0), "x = (\n")          # does not parse
    await wait_for_diagnostics(client, uri, version=2)
    for v in range(3, 8):                                      # a burst: most are superseded
        change(client, uri, v, (0, 23), (0, 23), "#")
    change(client, uri, 8, (1, 0), (2, 0), "")                 # parses again
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 1, version=8)
    # the publish of version 8 was sent inside its hold, released in the same step, so by
    # the time this request is read nothing holds the collector
    info = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="keras-migrate.serverInfo"))
    assert info["gcEnabled"] is True


async def test_shutdown_and_exit(tmp_path):
    client = await start(tmp_path)
    await client.shutdown_async(None)
    client.exit(None)
    rc = await asyncio.wait_for(client._server.wait(), 10)
    assert rc == 0
    await client.stop()


async def test_empty_configuration_change_pulls_workspace_configuration(client: LanguageClient, tmp_path):
    """Clients that send an empty didChangeConfiguration (Neovim, many others) are asked with
    workspace/configuration, section keras-migrate."""
    uri = (tmp_path / "w.py").as_uri()
    open_doc(client, uri, SRC)
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    client.set_configuration({"ignore": ["K102"], "debounceMs": 20}, section="keras-migrate")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    await wait_for_diagnostics(client, uri, lambda d: d == [])


async def test_lint_run_on_save_and_the_noqa_quick_fix_switch(tmp_path):
    """``lint.run: onSave``: an edit is not analysed until the file is saved (the open is);
    ``codeAction.disableRuleComment.enable: false``: no "Suppress with # noqa" action."""
    client = await start(tmp_path, init_options={"settings": {
        "lintRun": "onSave", "disableRuleComment": False, "debounceMs": 0}})
    try:
        uri = (tmp_path / "s.py").as_uri()
        open_doc(client, uri, SRC)
        diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1, version=1)
        change(client, uri, 2, (2, 0), (2, 0), "n = tf.keras.Model()\n")
        await asyncio.sleep(1.0)  # debounce 0: an onType server would have published version 2
        assert all(p.version != 2 for p in client.published.get(uri, []))
        client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))
        await wait_for_diagnostics(client, uri, lambda d: len(d) == 2, version=2)
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=diags[0].range,
            context=types.CodeActionContext(diagnostics=diags)))
        titles = [a.title for a in actions]
        assert any(t.startswith("K102: ") for t in titles), titles
        assert not any("noqa" in t for t in titles), titles
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_report_counts_in_its_progress_and_can_be_cancelled(tmp_path):
    """The report says how far it is (done/total) and stops when the client cancels its
    work-done progress: the answer says cancelled, with the files scanned so far."""
    n = 400
    for i in range(n):
        (tmp_path / f"m{i:03d}.py").write_text(SRC * 20 + f"x{i} = tf.keras.layers.Dense({i})\n")
    client = await start(tmp_path)
    try:
        token = "report-cancel"
        client.progress_reports[token] = []
        task = asyncio.ensure_future(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="keras-migrate.report", arguments=[], work_done_token=token)))
        for _ in range(600):
            reports = [v for v in client.progress_reports.get(token, []) if v.kind == "report"]
            if len(reports) >= 2:
                break
            await asyncio.sleep(0.05)
        begin = client.progress_reports[token][0]
        assert begin.kind == "begin" and begin.cancellable is True
        assert reports and reports[-1].message.split(" ")[0].endswith(f"/{n}")
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        result = await asyncio.wait_for(task, 120)
        assert result["cancelled"] is True
        assert 0 < len(result["data"]["records"]) < n and result["data"]["files"] == n
        assert result["markdown"].startswith("_Cancelled")
        end = client.progress_reports[token][-1]
        assert end.kind == "end" and end.message == "cancelled"
        # the server goes on: a new report runs to the end
        again = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="keras-migrate.report", arguments=[]))
        assert "cancelled" not in again and len(again["data"]["records"]) == n
    finally:
        await client.shutdown_session()
        await client.stop()


def _pull(client, uri, previous=None):
    return client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous))


async def test_lint_run_on_save_in_pull_mode(tmp_path):
    """VS Code pulls diagnostics after every edit: with ``lint.run: onSave`` that pull must
    not analyse the edit (it did: onSave only held back pushes). It answers with what is
    shown, moved with the edit; the save analyses and asks the client to pull again."""
    client = await start(tmp_path, pull=True, init_options={"settings": {"lintRun": "onSave", "debounceMs": 0},
                                                             "trusted": True})
    try:
        uri = (tmp_path / "s.py").as_uri()
        open_doc(client, uri, SRC)
        first = await _pull(client, uri)
        assert [d.code for d in first.items] == ["K102"]
        line = first.items[0].range.start.line
        change(client, uri, 2, (0, 0), (0, 0), "n = tf.keras.Model()\n")   # a new finding, above the old one
        moved = await _pull(client, uri, first.result_id)
        assert moved.kind == "full" and [d.code for d in moved.items] == ["K102"]
        assert moved.items[0].range.start.line == line + 1    # moved with the edit, not analysed
        refreshes = client.diagnostic_refresh_count
        client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))
        for _ in range(200):
            if client.diagnostic_refresh_count > refreshes:
                break
            await asyncio.sleep(0.05)
        assert client.diagnostic_refresh_count > refreshes, "the save's analysis did not ask for a pull"
        after = await _pull(client, uri, moved.result_id)
        assert sorted(d.code for d in after.items) == ["K102", "K102"]
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_a_document_too_large_to_analyse_as_you_type_is_analysed_on_open_and_save(tmp_path):
    """Over TYPE_MAX_CHARS (1,000,000 characters) a keystroke does not re-analyse the whole
    document (a 4.9 MB file cost 15 s and 1.9 GB per analysis): the open and each save do,
    and the user is told once."""
    from keras_migrate.server.server import TYPE_MAX_CHARS
    filler = "# " + "x" * 98 + "\n"
    big = SRC + filler * (TYPE_MAX_CHARS // len(filler) + 10)
    client = await start(tmp_path)
    try:
        uri = (tmp_path / "big.py").as_uri()
        open_doc(client, uri, big)
        await wait_for_diagnostics(client, uri, lambda d: len(d) == 1, version=1, timeout=60)
        change(client, uri, 2, (0, 0), (0, 0), "n = tf.keras.Model()\n")
        await asyncio.sleep(1.0)   # debounce 20 ms: an as-you-type server would have published version 2
        assert all(p.version != 2 for p in client.published.get(uri, []))
        assert any("analysed when opened and saved" in m.message for m in client.messages)
        client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))
        await wait_for_diagnostics(client, uri, lambda d: len(d) == 2, version=2, timeout=60)
        change(client, uri, 3, (0, 0), (0, 0), "# more\n")   # after the save: deferred again, not told again
        await asyncio.sleep(0.5)
        assert sum("analysed when opened and saved" in m.message for m in client.messages) == 1
        # a small document in the same session is still analysed as you type
        small = (tmp_path / "small.py").as_uri()
        open_doc(client, small, SRC)
        await wait_for_diagnostics(client, small, lambda d: len(d) == 1, version=1)
        change(client, small, 2, (0, 0), (0, 0), "n = tf.keras.Model()\n")
        await wait_for_diagnostics(client, small, lambda d: len(d) == 2, version=2)
    finally:
        await client.shutdown_session()
        await client.stop()
