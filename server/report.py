"""The workspace migration report (``keras-migrate.report``): counts per rule and per file,
and which files are ready for each target backend.

A file is *ready* for a backend when, analysed with that backend as the only target, it has
no enabled finding.  Files on disk are decoded as Python does (``decode_source``); files that
cannot be decoded or parsed are listed, never skipped silently.  Runs in a worker thread;
progress goes through the ``progress`` callback.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

from keras_migrate.config import BACKENDS, Config, is_excluded
from keras_migrate.engine.source import DecodeError, decode_source
from keras_migrate.service import Linter

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv", ".tox", ".nox",
             ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", "build", "dist", ".eggs"}
MAX_BYTES = 5_000_000


def _gitignore(root: Path):
    try:
        import pathspec
        lines = (root / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
        return pathspec.PathSpec.from_lines("gitwildmatch", lines)
    except (OSError, ImportError):
        return None


def workspace_files(roots: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        spec = _gitignore(root)
        boundary = os.path.realpath(root).rstrip(os.sep) + os.sep
        for dirpath, dirnames, filenames in os.walk(root):  # os.walk does not enter linked folders
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                                 and not d.endswith(".egg-info"))
            for name in sorted(filenames):
                if not name.endswith((".py", ".ipynb")):
                    continue
                p = Path(dirpath) / name
                if not os.path.realpath(p).startswith(boundary):
                    continue  # a symlink out of the workspace: never read
                if spec is not None:
                    try:
                        if spec.match_file(p.relative_to(root).as_posix()):
                            continue
                    except ValueError:
                        pass
                out.append(p)
    return out


def scan(roots: list[Path], config_for: Callable[[Path], Config], workspace_for: Callable[[Path], object],
         progress: Callable[[int, int, str], None], cancelled: Callable[[], bool] = lambda: False) -> dict:
    files = workspace_files(roots)
    total = len(files)
    per_rule: dict[str, int] = {}
    per_file: dict[str, dict[str, int]] = {}
    ready: dict[str, list[str]] = {b: [] for b in BACKENDS}
    targets: set[str] = set()
    problems: list[dict] = []
    linters: dict = {}

    def linter(cfg: Config, path: Path) -> Linter:
        key = (cfg, id(workspace_for(path)))
        if key not in linters:
            linters[key] = Linter(cfg, workspace=workspace_for(path))
        return linters[key]

    def findings(cfg: Config, path: Path, text: str, notebook: bool):
        lin = linter(cfg, path)
        if notebook:
            res = lin.check_notebook(text, path)
            if res.error:
                return None, res.error
            if res.result is not None and res.result.error is not None:
                e = res.result.error
                return None, f"{e.message}"
            return (res.result.findings if res.result else []), None
        res = lin.check_source(text, path)
        if res.error is not None:
            return None, f"{res.error.message} (line {res.error.line + 1})"
        return res.findings, None

    scanned = 0
    for i, path in enumerate(files):
        if cancelled():
            break
        rel = _rel(path, roots)
        progress(i, total, rel)
        try:
            cfg = config_for(path)
        except Exception as exc:  # a broken pyproject: reported by the caller; use defaults
            cfg = Config(root=str(path.parent))
            problems.append({"file": rel, "problem": f"configuration: {exc}"})
        if is_excluded(cfg, path):
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append({"file": rel, "problem": f"cannot be read: {exc.strerror or exc}"})
            continue
        if len(data) > MAX_BYTES:
            problems.append({"file": rel, "problem": f"skipped: larger than {MAX_BYTES // 1_000_000} MB"})
            continue
        notebook = path.suffix == ".ipynb"
        try:
            text = data.decode("utf-8") if notebook else decode_source(data)
        except (DecodeError, UnicodeDecodeError) as exc:
            msg = str(exc) if isinstance(exc, DecodeError) else f"not valid UTF-8 JSON: {exc.reason} at byte {exc.start}"
            problems.append({"file": rel, "problem": f"cannot be decoded: {msg}"})
            continue
        scanned += 1
        found, err = findings(cfg, path, text, notebook)
        if err is not None:
            problems.append({"file": rel, "problem": err})
            continue
        targets.update(cfg.target_backends)
        counts: dict[str, int] = {}
        for f in found:
            counts[f.code] = counts.get(f.code, 0) + 1
            per_rule[f.code] = per_rule.get(f.code, 0) + 1
        if counts:
            per_file[rel] = dict(sorted(counts.items()))
        for backend in BACKENDS:
            bcfg = replace(cfg, target_backends=(backend,))
            bfound, berr = findings(bcfg, path, text, notebook) if bcfg != cfg else (found, None)
            if berr is None and not bfound:
                ready[backend].append(rel)
    progress(total, total, "done")
    data = {
        "files": total,
        "scanned": scanned,
        "perRule": dict(sorted(per_rule.items())),
        "perFile": dict(sorted(per_file.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))),
        "ready": ready,
        "targetBackends": sorted(targets) or ["tensorflow"],
        "problems": problems,
    }
    return {"markdown": markdown(data), "data": data}


def _rel(path: Path, roots: list[Path]) -> str:
    for r in roots:
        try:
            return path.relative_to(r).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def markdown(d: dict) -> str:
    from .diagnostics import rule_class, rule_href
    lines = ["# Keras migration report", ""]
    findings = sum(d["perRule"].values())
    lines.append(f"{d['scanned']} of {d['files']} files analysed, {findings} findings "
                 f"in {len(d['perFile'])} files.")
    lines += ["", "## Ready per backend", "", "| Backend | Ready files | Of |", "|---|---|---|"]
    for b, files in d["ready"].items():
        mark = " (target)" if b in d["targetBackends"] else ""
        lines.append(f"| {b}{mark} | {len(files)} | {d['scanned']} |")
    if d["perRule"]:
        lines += ["", "## Findings per rule", "", "| Rule | Name | Count |", "|---|---|---|"]
        for code, n in d["perRule"].items():
            rule = rule_class(code)
            name = rule.name if rule else ""
            lines.append(f"| [{code}]({rule_href(code)}) | {name} | {n} |")
    if d["perFile"]:
        lines += ["", "## Findings per file", "", "| File | Findings | Rules |", "|---|---|---|"]
        for f, counts in d["perFile"].items():
            rules = ", ".join(f"{c}×{n}" for c, n in counts.items())
            lines.append(f"| `{f}` | {sum(counts.values())} | {rules} |")
    if d["problems"]:
        lines += ["", "## Files not analysed", ""]
        for p in d["problems"]:
            lines.append(f"- `{p['file']}`: {p['problem']}")
    return "\n".join(lines) + "\n"
