"""Quick fixes (lazy resolve), noqa suppression, per-rule fix-all, source.fixAll, hover."""
from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import apply_text_edits, change, edits_for, open_doc, wait_for_diagnostics

pytestmark = pytest.mark.asyncio

SRC = """import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
x = tf.constant(1)
"""


async def actions_at(client, uri, diag, only=None):
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=types.CodeActionContext(diagnostics=[diag], only=only)))


async def test_quick_fix_resolves_to_minimal_edit(client: LanguageClient, tmp_path):
    uri = (tmp_path / "a.py").as_uri()
    open_doc(client, uri, SRC)
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 2)
    actions = await actions_at(client, uri, diags[0])
    fix = next(a for a in actions if a.kind == types.CodeActionKind.QuickFix and a.title.startswith("K102: "))
    assert fix.is_preferred is True and fix.edit is None  # edits come with resolve
    assert "(unsafe)" not in fix.title
    resolved = await client.code_action_resolve_async(fix)
    edits = edits_for(resolved.edit, uri)
    # minimal: the replacement and the import, never a whole-file replace
    assert all(e.range.end.line - e.range.start.line <= 1 for e in edits)
    assert sum(len(e.new_text) for e in edits) < 40
    new = apply_text_edits(SRC, edits)
    assert new == ("import tensorflow as tf\nimport keras\n\n"
                   "model = keras.Sequential([tf.keras.layers.Dense(1)])\nx = tf.constant(1)\n")
    # per-rule fix-all is offered (two K102 in the file), and noqa suppression
    titles = [a.title for a in actions]
    assert "Fix all K102 in this file (2)" in titles
    assert "Suppress with # noqa: K102" in titles


async def test_noqa_action_suppresses(client: LanguageClient, tmp_path):
    uri = (tmp_path / "n.py").as_uri()
    text = "import tensorflow as tf\nm = tf.keras.Sequential()\n"
    open_doc(client, uri, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    actions = await actions_at(client, uri, diags[0])
    noqa = next(a for a in actions if a.title == "Suppress with # noqa: K102")
    new = apply_text_edits(text, edits_for(noqa.edit, uri))
    assert new == "import tensorflow as tf\nm = tf.keras.Sequential()  # noqa: K102\n"
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=new)]))
    await wait_for_diagnostics(client, uri, lambda d: d == [], version=2)


async def test_fix_all_source_action_and_per_rule(client: LanguageClient, tmp_path):
    uri = (tmp_path / "f.py").as_uri()
    open_doc(client, uri, SRC)
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 2)
    # source.fixAll.keras-migrate as an editor asks for it on save
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll])))
    assert [a.kind for a in actions] == ["source.fixAll.keras-migrate"]
    resolved = await client.code_action_resolve_async(actions[0])
    new = apply_text_edits(SRC, edits_for(resolved.edit, uri))
    assert new == ("import keras\nimport tensorflow as tf\n\n"
                   "model = keras.Sequential([keras.layers.Dense(1)])\nx = tf.constant(1)\n") or \
        new == ("import tensorflow as tf\nimport keras\n\n"
                "model = keras.Sequential([keras.layers.Dense(1)])\nx = tf.constant(1)\n")
    # per-rule action gives the same here (only K102 in the file)
    per_rule = next(a for a in await actions_at(client, uri, diags[1]) if a.title.startswith("Fix all K102"))
    resolved = await client.code_action_resolve_async(per_rule)
    assert apply_text_edits(SRC, edits_for(resolved.edit, uri)) == new
    # apply it: diagnostics go away
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=new)]))
    await wait_for_diagnostics(client, uri, lambda d: d == [], version=2)


async def test_fix_all_command_applies_edit(client: LanguageClient, tmp_path):
    uri = (tmp_path / "c.py").as_uri()
    text = "import tensorflow as tf\nm = tf.keras.Sequential()\n"
    open_doc(client, uri, text)
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="keras-migrate.fixAll", arguments=[uri]))
    assert result["applied"] >= 1
    assert apply_text_edits(text, edits_for(client.applied_edits[-1], uri)) == "import keras\nm = keras.Sequential()\n"


async def test_hover_shows_rule_doc(client: LanguageClient, tmp_path):
    uri = (tmp_path / "h.py").as_uri()
    open_doc(client, uri, "import tensorflow as tf\nm = tf.keras.Sequential()\n")
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    pos = types.Position(1, diags[0].range.start.character + 3)
    hov = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos))
    assert hov.contents.kind == types.MarkupKind.Markdown
    text = hov.contents.value
    # what / why / fix in a few lines with the rule's link, as ruff's hover: not the whole
    # rule page, and not the diagnostic's message again (it is on screen already)
    for part in ("**K102** `tf-keras-attribute` · safe fix", "**What:** Flags `tf.keras.X.Y`",
                 "**Why:** Under Keras 3", "**Fix:** ", "[K102 documentation](https://"):
        assert part in text
    assert diags[0].message not in text
    assert len(text) <= 700 and len(text.splitlines()) <= 6
    # nothing to say away from a diagnostic
    assert await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 1))) is None


async def test_actions_on_stale_range_after_edit(client: LanguageClient, tmp_path):
    """Lightbulb right after typing: actions come from the current text, not the old one."""
    uri = (tmp_path / "s.py").as_uri()
    text = "import tensorflow as tf\nm = tf.keras.Sequential()\n"
    open_doc(client, uri, text)
    await wait_for_diagnostics(client, uri, lambda d: len(d) == 1)
    change(client, uri, 2, (0, 0), (0, 0), "# header\n")
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) == 1 and d[0].range.start.line == 2, version=2)
    actions = await actions_at(client, uri, diags[0])
    fix = next(a for a in actions if a.title.startswith("K102: "))
    resolved = await client.code_action_resolve_async(fix)
    assert apply_text_edits("# header\n" + text, edits_for(resolved.edit, uri)) == \
        "# header\nimport keras\nm = keras.Sequential()\n"


async def test_unsafe_fix_is_labelled_and_not_preferred(client: LanguageClient, tmp_path):
    uri = (tmp_path / "unsafe.py").as_uri()
    text = "from tensorflow.keras import backend as K\ny = K.mean([1.0, 2.0])\n"
    open_doc(client, uri, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: "K101" in [x.code for x in d])
    k101 = next(d for d in diags if d.code == "K101")
    assert k101.data["fix"] == "unsafe"
    actions = await actions_at(client, uri, k101)
    fix = next(a for a in actions if a.title.startswith("K101: "))
    assert fix.title.endswith("(unsafe)") and not fix.is_preferred
    # source.fixAll applies safe fixes only (unsafeFixes is off): K501's safe fix makes the
    # old import unused, so it goes; the unsafe K101 rewrite is never applied on its own
    fix_all = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=["source.fixAll.keras-migrate"])))
    resolved = await client.code_action_resolve_async(fix_all[0])
    new = apply_text_edits(text, edits_for(resolved.edit, uri))
    assert new == "import keras\ny = keras.ops.mean([1.0, 2.0])\n"


async def test_unsafe_fixes_setting_extends_fix_all(client: LanguageClient, tmp_path):
    uri = (tmp_path / "u2.py").as_uri()
    text = "from tensorflow.keras import backend as K\nK.clear_session()\ny = K.mean([1.0, 2.0])\n"
    open_doc(client, uri, text)
    await wait_for_diagnostics(client, uri, lambda d: "K101" in [x.code for x in d])
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"keras-migrate": {"unsafeFixes": True, "debounceMs": 20}}))
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=["source.fixAll"]))
    # the server handles messages in order: the new setting applies to this request
    actions = await client.text_document_code_action_async(params)
    assert actions[0].title == "Fix all keras-migrate issues (including unsafe fixes)"
    resolved = await client.code_action_resolve_async(actions[0])
    new = apply_text_edits(text, edits_for(resolved.edit, uri))
    assert new.startswith("from keras import backend as K\n") or new.startswith("import keras\n"), new


async def test_files_deleted_while_open(client: LanguageClient, tmp_path):
    """A file deleted on disk while its editor is open keeps being analysed and fixed from
    the buffer; a module it imports deleted while open stops counting as a Keras base class
    at the next analysis; the workspace report and the other documents carry on."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text("import keras\n\n\nclass BaseLayer(keras.layers.Layer):\n    pass\n")
    layer_src = ("import tensorflow as tf\nfrom pkg.base import BaseLayer\n\n\n"
                 "class Block(BaseLayer):\n    def build(self, input_shape):\n"
                 "        self.w = tf.Variable(tf.zeros([2]))\n")
    blocks = pkg / "blocks.py"
    blocks.write_text(layer_src)
    a = tmp_path / "a.py"
    a.write_text(SRC)
    a_uri, b_uri = a.as_uri(), blocks.as_uri()
    open_doc(client, a_uri, SRC)
    open_doc(client, b_uri, layer_src)
    await wait_for_diagnostics(client, a_uri, lambda d: len(d) == 2)
    # K301 in Block: a layer only through pkg/base.py
    await wait_for_diagnostics(client, b_uri, lambda d: [x.code for x in d] == ["K301"])

    # the edited file goes away on disk; the buffer is still the user's
    a.unlink()
    change(client, a_uri, 2, (4, 0), (4, 0), "y = tf.keras.layers.Dense(2)\n")
    diags = await wait_for_diagnostics(client, a_uri, lambda d: len(d) == 3, version=2)
    fix = next(x for x in await actions_at(client, a_uri, diags[0])
               if x.kind == types.CodeActionKind.QuickFix and x.title.startswith("K102: "))
    resolved = await client.code_action_resolve_async(fix)
    assert edits_for(resolved.edit, a_uri)  # fixed from the buffer, not from the missing file
    assert not a.exists()                   # and nothing was written to disk by the server

    # the base class's module goes away: at the next analysis Block is not known to be a
    # layer any more, so K301 (a layer rule) no longer fires — never a stale cross-file answer
    (pkg / "base.py").unlink()
    change(client, b_uri, 2, (7, 0), (7, 0), "# edited\n")
    await wait_for_diagnostics(client, b_uri, lambda d: d == [], version=2)

    report = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="keras-migrate.report", arguments=[]))
    assert "a.py" not in report["data"]["perFile"]          # gone from disk: not in the scan
    info = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="keras-migrate.serverInfo"))
    assert info["name"] == "keras-migrate"
    assert not [m for m in client.messages if m.type == types.MessageType.Error]
