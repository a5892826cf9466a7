#!/usr/bin/env python3
"""Check and fix real notebooks the way a user would, and say what was lost.

    python scripts/notebook_corpus_check.py FOLDER... [--json OUT.json] [--quiet]

For every ``*.ipynb`` under the folders (``.ipynb_checkpoints`` left out): the notebook is
checked, then a copy in a temporary directory is fixed with ``keras-migrate fix
--unsafe-fixes`` (the real CLI, in this process) and fixed a second time.  Printed per
notebook: code cells, cells not analysed (and why), findings, cells that parsed before the
fix and no longer parse after it, whether the second fix changed anything; then totals.
The originals are never written.  Exit status 1 when a notebook was skipped as a whole, a
fix broke a cell or a second fix changed something.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

from keras_migrate import cli
from keras_migrate.engine import notebook as nbmod
from keras_migrate.engine.source import SourceText
from keras_migrate.service import Linter


def _parses(src: str) -> bool:
    masked = nbmod.mask_magics(src)
    try:
        ast.parse(masked)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _code_sources(raw: str) -> dict[int, str]:
    return dict(nbmod.code_cells(nbmod.load_notebook(raw)))


def _not_analysed(nr) -> tuple[bool, list[tuple[object, str]]]:
    """(whole notebook skipped, [(cell number or '-', why)])."""
    if nr.error:
        return True, [("-", nr.error)]
    res = nr.result
    errors = getattr(res, "errors", None)
    if errors is not None:  # error-resilient engine: one entry per cell that was left out
        out = []
        for e in errors:
            cell, line, _ = nr.vsource.line_in_cell(SourceText(nr.vsource.text).offset(e.line, 0))
            out.append((cell.key + 1, f"line {line + 1}: {e.message}"))
        return False, out
    if res.error is not None:  # the engine before issue 12: one error skips the notebook
        cell, line, _ = nr.vsource.line_in_cell(SourceText(nr.vsource.text).offset(res.error.line, 0))
        return True, [(cell.key + 1, f"line {line + 1}: {res.error.message}")]
    return False, []


def _fix(path: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        cli.main(["fix", "--unsafe-fixes", str(path)])
    return err.getvalue()


def check_notebook(path: Path, tmp: Path, linter: Linter) -> dict:
    raw = path.read_text(encoding="utf-8")
    row = {"path": str(path), "cells": 0, "not_analysed": [], "skipped": False, "findings": 0,
           "changed_cells": 0, "broken": [], "idempotent": True, "fix_problems": []}
    try:
        before = _code_sources(raw)
    except nbmod.NotebookError as exc:
        row["skipped"], row["not_analysed"] = True, [("-", str(exc))]
        return row
    row["cells"] = len(before)
    nr = linter.check_notebook(raw, path)
    row["skipped"], row["not_analysed"] = _not_analysed(nr)
    row["findings"] = len(nr.result.findings) if nr.result is not None else 0
    copy = tmp / path.name
    shutil.copyfile(path, copy)
    problems = _fix(copy)
    row["fix_problems"] = [p for p in problems.splitlines() if p.strip()]
    first = copy.read_text(encoding="utf-8")
    after = _code_sources(first)
    for idx, src in before.items():
        new = after.get(idx, src)
        if new != src:
            row["changed_cells"] += 1
        if _parses(src) and not _parses(new):
            row["broken"].append(idx + 1)
    _fix(copy)
    row["idempotent"] = copy.read_text(encoding="utf-8") == first
    copy.unlink()
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--json", type=Path, help="write every row as JSON here")
    ap.add_argument("--quiet", action="store_true", help="only the per-folder totals")
    args = ap.parse_args(argv)
    linter = Linter()
    rows = []
    bad = False
    with tempfile.TemporaryDirectory(prefix="km-nbcorpus-") as t:
        tmp = Path(t)
        for folder in args.folders:
            paths = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            tot = dict(notebooks=0, cells=0, not_analysed=0, skipped=0, findings=0, changed_cells=0,
                       broken=0, non_idempotent=0)
            for p in paths:
                r = check_notebook(p, tmp, linter)
                r["folder"] = str(folder)
                rows.append(r)
                tot["notebooks"] += 1
                tot["cells"] += r["cells"]
                tot["not_analysed"] += r["cells"] if r["skipped"] else len(r["not_analysed"])
                tot["skipped"] += r["skipped"]
                tot["findings"] += r["findings"]
                tot["changed_cells"] += r["changed_cells"]
                tot["broken"] += len(r["broken"])
                tot["non_idempotent"] += not r["idempotent"]
                if not args.quiet:
                    rel = p.relative_to(folder)
                    print(f"{rel}: cells={r['cells']} findings={r['findings']} changed={r['changed_cells']}"
                          f"{' SKIPPED' if r['skipped'] else ''}"
                          f"{' broken=' + ','.join(map(str, r['broken'])) if r['broken'] else ''}"
                          f"{' NOT-IDEMPOTENT' if not r['idempotent'] else ''}")
                    for cell, why in r["not_analysed"]:
                        print(f"    not analysed: cell {cell}: {why}")
            bad |= bool(tot["skipped"] or tot["broken"] or tot["non_idempotent"])
            print(f"== {folder}: " + ", ".join(f"{k}={v}" for k, v in tot.items()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
