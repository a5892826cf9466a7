"""Small notebooks built in the tests (never copied from a real one)."""
from __future__ import annotations

import json
from typing import Optional


def notebook(*cells, indent=1, ids: bool = False, as_list: bool = True, **dump) -> str:
    """A notebook's raw text: each cell a code source (str) or ("markdown", text)."""
    out = []
    for i, c in enumerate(cells):
        kind, text = ("code", c) if isinstance(c, str) else c
        src = text.splitlines(keepends=True) if as_list else text
        cell = {"cell_type": kind, "metadata": {}, "source": src}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        if ids:
            cell["id"] = f"id-{i}"
        out.append(cell)
    nb = {"cells": out, "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=indent, **dump) + "\n"


def sources(raw: str) -> list[Optional[str]]:
    nb = json.loads(raw)
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"]]
