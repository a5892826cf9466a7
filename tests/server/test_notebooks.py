"""Notebook document sync: cells analysed together, diagnostics and fixes per cell."""
from __future__ import annotations

import re

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import apply_text_edits, edits_for, wait_for_diagnostics

pytestmark = pytest.mark.asyncio

CELLS = ["import tensorflow as tf\n", "model = tf.keras.Sequential()\n", "%matplotlib inline\nlayer = tf.keras.layers.Dense(1)\n"]


def open_notebook(client, tmp_path, cells=CELLS):
    nb_uri = (tmp_path / "nb.ipynb").as_uri()
    cell_uris = [f"vscode-notebook-cell:{tmp_path / 'nb.ipynb'}#cell{i}" for i in range(len(cells))]
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(
            uri=nb_uri, notebook_type="jupyter-notebook", version=1,
            cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=u) for u in cell_uris]),
        cell_text_documents=[types.TextDocumentItem(uri=u, language_id="python", version=1, text=t)
                             for u, t in zip(cell_uris, cells)]))
    return nb_uri, cell_uris


def edit_cell(client, nb_uri, nb_version, cell_uri, cell_version, new_text, old_text):
    lines = old_text.split("\n")
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri=nb_uri, version=nb_version),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
            types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=cell_uri, version=cell_version),
                changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 0), types.Position(len(lines) - 1, len(lines[-1]))),
                    text=new_text)])]))))


async def test_import_in_cell_1_finding_in_cell_2(client: LanguageClient, tmp_path):
    nb_uri, cells = open_notebook(client, tmp_path)
    d2 = await wait_for_diagnostics(client, cells[1], lambda d: len(d) == 1)
    assert d2[0].code == "K102" and d2[0].range.start.line == 0 and d2[0].range.start.character == 8
    d3 = await wait_for_diagnostics(client, cells[2], lambda d: len(d) == 1)
    assert d3[0].range.start.line == 1  # after the masked magic line, in cell coordinates
    assert await wait_for_diagnostics(client, cells[0]) == []

    # quick fix in cell 2: the import goes to cell 1, the replacement to cell 2
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=cells[1]), range=d2[0].range,
        context=types.CodeActionContext(diagnostics=d2)))
    fix = next(a for a in actions if a.title.startswith("K102: "))
    resolved = await client.code_action_resolve_async(fix)
    assert apply_text_edits(CELLS[0], edits_for(resolved.edit, cells[0])) == "import tensorflow as tf\nimport keras\n"
    assert apply_text_edits(CELLS[1], edits_for(resolved.edit, cells[1])) == "model = keras.Sequential()\n"
    assert edits_for(resolved.edit, cells[2]) == []

    # editing cell 1 so that tf is no longer TensorFlow clears cell 2 and 3
    edit_cell(client, nb_uri, 2, cells[0], 2, "tf = object()\n", CELLS[0])
    await wait_for_diagnostics(client, cells[1], lambda d: d == [])
    await wait_for_diagnostics(client, cells[2], lambda d: d == [])


async def test_fix_all_once_per_notebook(client: LanguageClient, tmp_path):
    nb_uri, cells = open_notebook(client, tmp_path)
    await wait_for_diagnostics(client, cells[2], lambda d: len(d) == 1)
    edits = []
    for cell in cells[1:]:  # an editor asking for source.fixAll on each cell
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=cell),
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll])))
        assert [a.kind for a in actions] == ["source.fixAll.keras-migrate"]
        edits.append((await client.code_action_resolve_async(actions[0])).edit)
    new = []
    for i, text in enumerate(CELLS):
        for e in edits:
            text = apply_text_edits(text, edits_for(e, cells[i]))
        new.append(text)
    full = "".join(new)
    assert full.count("import keras") == 1, new
    assert new[1] == "model = keras.Sequential()\n"
    assert new[2] == "%matplotlib inline\nlayer = keras.layers.Dense(1)\n"
    # the notebook-level kind (VS Code's notebook.codeActionsOnSave) is offered too
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=cells[1]),
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=["notebook.source.fixAll"])))
    assert [a.kind for a in actions] == ["notebook.source.fixAll.keras-migrate"]


async def test_cells_added_and_removed(client: LanguageClient, tmp_path):
    nb_uri, cells = open_notebook(client, tmp_path)
    await wait_for_diagnostics(client, cells[2], lambda d: len(d) == 1)
    new_uri = f"vscode-notebook-cell:{tmp_path / 'nb.ipynb'}#new"
    # insert a cell after the first one, and remove the last one
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri=nb_uri, version=2),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            structure=types.NotebookDocumentCellChangeStructure(
                array=types.NotebookCellArrayChange(start=1, delete_count=0, cells=[
                    types.NotebookCell(kind=types.NotebookCellKind.Code, document=new_uri)]),
                did_open=[types.TextDocumentItem(uri=new_uri, language_id="python", version=1,
                                                 text="x = 1\nopt = tf.keras.optimizers.Adam()\n")])))))
    d = await wait_for_diagnostics(client, new_uri, lambda d: len(d) == 1)
    assert d[0].range.start.line == 1
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri=nb_uri, version=3),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            structure=types.NotebookDocumentCellChangeStructure(
                array=types.NotebookCellArrayChange(start=3, delete_count=1),
                did_close=[types.TextDocumentIdentifier(uri=cells[2])])))))
    await wait_for_diagnostics(client, cells[2], lambda d: d == [])
    # closing the notebook clears every cell
    client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
        notebook_document=types.NotebookDocumentIdentifier(uri=nb_uri),
        cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u in (cells[0], new_uri, cells[1])]))
    await wait_for_diagnostics(client, cells[1], lambda d: d == [])
    await wait_for_diagnostics(client, new_uri, lambda d: d == [])


async def test_a_cell_that_stops_parsing_leaves_the_others_fresh(client: LanguageClient, tmp_path):
    """Issue 12: while one cell does not parse, the other cells are analysed afresh (not the
    last good diagnostics): a finding typed into another cell shows up at once."""
    cells = ["import tensorflow as tf\nm = tf.keras.Sequential()\n", "x = 1\n", "y = 2\n"]
    nb_uri, uris = open_notebook(client, tmp_path, cells)
    await wait_for_diagnostics(client, uris[0], lambda d: len(d) == 1)
    # cell 2 half-typed: an open call
    edit_cell(client, nb_uri, 2, uris[1], 2, "x = foo(\n", cells[1])
    # cell 3 gets a new finding while cell 2 is broken
    edit_cell(client, nb_uri, 3, uris[2], 2, "layer = tf.keras.layers.Dense(1)\n", cells[2])
    d3 = await wait_for_diagnostics(client, uris[2], lambda d: len(d) == 1)
    assert d3[0].code == "K102" and d3[0].range.start.line == 0 and d3[0].range.start.character == 8
    assert len(await wait_for_diagnostics(client, uris[0], lambda d: len(d) == 1)) == 1
    assert await wait_for_diagnostics(client, uris[1]) == []
    # fix all in the notebook: cell 2 is left as it is, the others fixed
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uris[2]), range=d3[0].range,
        context=types.CodeActionContext(diagnostics=d3)))
    fix = next(a for a in actions if a.title.startswith("K102: "))
    resolved = await client.code_action_resolve_async(fix) if fix.edit is None else fix
    assert edits_for(resolved.edit, uris[1]) == []
    assert apply_text_edits("layer = tf.keras.layers.Dense(1)\n", edits_for(resolved.edit, uris[2])) == \
        "layer = keras.layers.Dense(1)\n"


@pytest.mark.parametrize("brk", ["\r", "\r\n", "\x0c\n", "\u2028\n"], ids=["cr", "crlf", "formfeed", "u2028"])
async def test_cell_positions_use_lsp_line_breaks(client: LanguageClient, tmp_path, brk):
    """A cell's diagnostics are on the lines LSP counts (breaks at \\r\\n, \\r, \\n only): a
    lone \\r starts a line, a form feed or U+2028 does not (``line_in_cell`` counted \\n alone)."""
    text = f"import tensorflow as tf  # \u00e9{brk}m = tf.keras.Sequential()  # {brk}"
    _, cells = open_notebook(client, tmp_path, cells=[text])
    d = await wait_for_diagnostics(client, cells[0], lambda d: len(d) == 1)
    lines = re.split(r"\r\n|\r|\n", text)
    line = next(i for i, ln in enumerate(lines) if "tf.keras" in ln)
    assert (d[0].code, d[0].range.start.line) == ("K102", line) and line == 1
    assert lines[line][d[0].range.start.character:].startswith("tf.keras.Sequential")
