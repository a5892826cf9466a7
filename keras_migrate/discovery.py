"""Which files a path argument means: walk directories, skip what .gitignore ignores and
virtualenvs, site-packages, build and cache folders; keep ``.py`` and ``.ipynb``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

import pathspec

SKIP_DIRS = {
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "site-packages", "dist-packages",
    "build", "dist", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
    "node_modules", ".ipynb_checkpoints", ".eggs", ".hypothesis", ".cache",
}
EXTENSIONS = (".py", ".pyi", ".ipynb")


def _is_venv(d: Path) -> bool:
    return (d / "pyvenv.cfg").is_file() or (d / "conda-meta").is_dir()


def _gitignore(d: Path) -> Optional[pathspec.PathSpec]:
    f = d / ".gitignore"
    try:
        lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception:  # a broken .gitignore must not stop the walk
        return None


def iter_files(paths: list[Path], is_excluded=None) -> Iterator[Path]:
    """Files to check, in a stable order; explicit file arguments are always included."""
    seen: set[str] = set()
    for p in paths:
        if p.is_file():
            key = str(p.resolve())
            if key not in seen:
                seen.add(key)
                yield p
            continue
        if not p.is_dir():
            continue
        yield from _walk(p, [], seen, is_excluded)


def _inside(real: str, boundary: str) -> bool:
    return real == boundary or real.startswith(boundary.rstrip(os.sep) + os.sep)


def _walk(root: Path, specs: list[tuple[Path, pathspec.PathSpec]], seen: set[str], is_excluded) -> Iterator[Path]:
    """A directory's files.  A symlink (to a file or a folder) is followed only when its target
    lies inside the directory being walked: a link out of it (to ``/``, ``$HOME`` or another
    project) is never read, and never rewritten by ``fix``."""
    try:
        boundary = os.path.realpath(root)
    except OSError:
        return
    stack = [(root, specs)]
    visited_dirs: set[str] = set()
    while stack:
        d, inherited = stack.pop()
        try:
            real = os.path.realpath(d)
        except OSError:
            continue
        if real in visited_dirs:  # symlink loops
            continue
        visited_dirs.add(real)
        spec = _gitignore(d)
        active = inherited + ([(d, spec)] if spec else [])
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for e in entries:
            path = Path(e.path)
            try:
                is_dir = e.is_dir()
                if e.is_symlink() and not _inside(os.path.realpath(path), boundary):
                    continue
            except OSError:
                continue
            if _ignored(path, is_dir, active) or (is_excluded and is_excluded(path)):
                continue
            if is_dir:
                if e.name in SKIP_DIRS or e.name.endswith(".egg-info") or _is_venv(path):
                    continue
                subdirs.append((path, active))
            elif e.name.endswith(EXTENSIONS):
                try:
                    if not e.is_file():
                        continue
                except OSError:
                    continue
                key = os.path.realpath(path)
                if key not in seen:
                    seen.add(key)
                    yield path
        stack.extend(reversed(subdirs))


def _ignored(path: Path, is_dir: bool, specs) -> bool:
    for base, spec in specs:
        rel = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        if spec.match_file(rel):
            return True
    return False
