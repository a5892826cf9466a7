"""Neovim's built-in LSP client (Debian's ``neovim``), headless, against the real server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_helpers import server_env

HERE = Path(__file__).parent


@pytest.mark.e2e
def test_neovim_shows_diagnostics_hover_and_actions(tmp_path):
    nvim = shutil.which("nvim")
    # an e2e run must not pass silently without the editor: install it (apt-get install -y neovim)
    assert nvim, "neovim is not installed (apt-get install -y neovim); the e2e tests need it"
    src = tmp_path / "model.py"
    src.write_text("import tensorflow as tf\n\nmodel = tf.keras.Sequential()\n", encoding="utf-8")
    out = tmp_path / "nvim_result.json"
    env = server_env()
    env.update(KM_OUT=str(out), KM_SERVER_CMD=json.dumps([sys.executable, "-m", "keras_migrate", "server"]),
               HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_STATE_HOME=str(tmp_path / "state"))
    proc = subprocess.run([nvim, "--headless", "-u", str(HERE / "nvim_init.lua"), str(src)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert out.exists(), f"nvim wrote nothing (rc {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    result = json.loads(out.read_text())
    assert not result["errors"], result
    diags = result["diagnostics"]
    assert [(d["code"], d["lnum"], d["col"], d["source"]) for d in diags] == [("K102", 2, 8, "keras-migrate")]
    assert "tf.keras.Sequential" in diags[0]["message"]
    assert "What:" in (result.get("hover") or "")
    assert any(t.startswith("K102: ") for t in result.get("actions", [])), result.get("actions")
    assert any(t.startswith("Suppress with # noqa: K102") for t in result.get("actions", []))
