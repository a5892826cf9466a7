#!/usr/bin/env python
"""Fix safety on real code: `fix --unsafe-fixes` (in memory) over a corpus, then check that
every result parses, a second fix changes nothing, and only lines with findings (or import
lines) changed.

    .venv/bin/python scripts/corpus_check.py                 # tf_keras + keras sources + examples
    .venv/bin/python scripts/corpus_check.py DIR... [--limit N]

Nothing is written.  Prints counts and every failure; exits 1 if any.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:0] = [str(ROOT / "server"), str(ROOT / "rules")]   # the two source roots (pyproject)

from keras_migrate.config import Config  # noqa: E402
from keras_migrate.discovery import iter_files  # noqa: E402
from keras_migrate.engine.analyze import parse  # noqa: E402
from keras_migrate.engine.source import DecodeError, decode_source  # noqa: E402
from keras_migrate.service import Linter  # noqa: E402


def default_corpus() -> list[Path]:
    site = next((ROOT / ".venv-keras" / "lib").glob("python3*/site-packages"), None)
    out = [ROOT / "examples"]
    if site:
        out += [site / "tf_keras", site / "keras" / "src"]
    return [p for p in out if p.exists()]


def import_lines(text: str) -> set[int]:
    tree, _ = parse(text)
    lines = set()
    if tree is None:
        return lines
    for n in ast.walk(tree):
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            lines.update(range(n.lineno - 1, n.end_lineno))
    return lines


def check_file(linter: Linter, path: Path, text: str) -> tuple[bool, list[str]]:
    problems = []
    res = linter.check_source(text, path)
    if res.error is not None:
        return False, []
    out = linter.fix_source(text, path, unsafe=True)
    new = out.text
    if new == text:
        return False, []
    if parse(new)[0] is None:
        problems.append(f"{path}: fixed code does not parse")
        return True, problems
    again = linter.fix_source(new, path, unsafe=True)
    if again.text != new:
        diff = "".join(difflib.unified_diff(new.splitlines(True), again.text.splitlines(True), n=0))[:800]
        problems.append(f"{path}: a second fix changed the code again:\n{diff}")
    allowed = import_lines(text)
    for f in res.findings:
        allowed.update(range(f.range.start.line, f.range.end.line + 1))
    old_lines = text.splitlines(True)
    sm = difflib.SequenceMatcher(None, old_lines, new.splitlines(True), autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        touched = set(range(i1, i2)) if i2 > i1 else {i1, i1 - 1}
        if not touched & allowed or not set(range(i1, i2)) <= allowed:
            if i2 > i1 and not set(range(i1, i2)) <= allowed:
                problems.append(f"{path}: lines {i1 + 1}-{i2} changed without a finding there")
    return True, problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    linter = Linter(Config(target_backends=("tensorflow", "jax", "torch"), unsafe_fixes=True))
    files = list(iter_files(args.paths or default_corpus()))
    files = [f for f in files if f.suffix == ".py"]
    if args.limit:
        files = files[: args.limit]
    t0 = time.perf_counter()
    fixed = 0
    failures: list[str] = []
    skipped = 0
    for path in files:
        try:
            text = decode_source(path.read_bytes())
        except (OSError, DecodeError):
            skipped += 1
            continue
        changed, problems = check_file(linter, path, text)
        fixed += changed
        failures.extend(problems)
    for p in failures:
        print(p)
    print(f"corpus: {len(files)} files, {fixed} changed by fixes, {len(failures)} failures, "
          f"{skipped} unreadable, {time.perf_counter() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
