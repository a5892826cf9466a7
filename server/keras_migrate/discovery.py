"""Which files a path argument means, for the CLI, the editor's report and the workspace
index alike: walk directories, skip what git ignores (nested ``.gitignore`` files, those of
the parent directories up to the repository's top, ``.git/info/exclude`` and the global
``core.excludesFile``, with git's last-match-wins and ``!negation``), virtualenvs,
site-packages, build and cache folders and what the configuration excludes; keep ``.py``,
``.pyi`` and ``.ipynb``.

Files named explicitly are always checked (as ruff does), unless ``force_exclude`` is set:
then the configuration's ``exclude`` and the default skipped folders apply to them too (what
a pre-commit hook wants, since pre-commit passes every staged file by name).
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import pathspec

SKIP_DIRS = {
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".env", "env", "site-packages", "dist-packages",
    "build", "dist", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
    "node_modules", ".ipynb_checkpoints", ".eggs", ".hypothesis", ".cache", "__pypackages__",
    ".direnv", ".pytype", ".pants.d", "buck-out", "_build",
}
EXTENSIONS = (".py", ".pyi", ".ipynb")

# (directory the patterns are relative to, compiled patterns), in git's order of precedence:
# the global excludes file, .git/info/exclude, then .gitignore files from the top down
Specs = list[tuple[Path, pathspec.PathSpec]]


def _is_venv(d: Path) -> bool:
    try:
        return (d / "pyvenv.cfg").is_file() or (d / "conda-meta").is_dir()
    except OSError:  # an unreadable folder: the walk reports it when it tries to list it
        return False


def skipped_dir_name(name: str) -> bool:
    return name in SKIP_DIRS or name.endswith(".egg-info")


def _read_small(f: Path) -> str:
    """A small text file (an ignore file, a git config) read safely: a FIFO named
    ``.gitignore`` or a link to ``/dev/zero`` must not hang the walk (OSError then)."""
    from .fsio import read_file
    return read_file(f, 1_000_000).data.decode("utf-8", "replace")


def _spec_from_file(f: Path) -> Optional[pathspec.PathSpec]:
    try:
        lines = _read_small(f).splitlines()
    except OSError:
        return None
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception:  # a broken ignore file must not stop the walk
        return None


def _gitignore(d: Path) -> Optional[pathspec.PathSpec]:
    return _spec_from_file(d / ".gitignore")


def git_top(start: Path) -> Optional[Path]:
    """The work tree containing ``start`` (a folder with ``.git``, a directory or a file as
    in worktrees and submodules), or None outside git."""
    for d in [start, *start.parents]:
        try:
            if (d / ".git").exists():
                return d
        except OSError:
            continue
    return None


def _git_dir(top: Path) -> Optional[Path]:
    g = top / ".git"
    if g.is_dir():
        return g
    try:  # ``gitdir: <path>`` in worktrees and submodules
        m = re.match(r"gitdir:\s*(.+)", _read_small(g).strip())
    except OSError:
        return None
    if not m:
        return None
    p = Path(m.group(1))
    return p if p.is_absolute() else (top / p)


def _config_excludes_file(cfg: Path) -> Optional[str]:
    """``core.excludesFile`` from a git config file (the one key we need; no includes)."""
    try:
        text = _read_small(cfg)
    except OSError:
        return None
    section = ""
    found = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = re.match(r"\[\s*([A-Za-z0-9.-]+)(?:\s+\"[^\"]*\")?\s*\]", line)
        if m:
            section = m.group(1).lower()
            continue
        if section == "core":
            k, _, v = line.partition("=")
            if k.strip().lower() == "excludesfile" and v.strip():
                found = v.strip().strip('"')
    return found


def _global_excludes(home: str, xdg: str, git_config_global: str) -> Optional[pathspec.PathSpec]:
    """git's global excludes: ``core.excludesFile`` from the user's git config, else
    ``$XDG_CONFIG_HOME/git/ignore`` (``~/.config/git/ignore``)."""
    xdg_dir = Path(xdg) if xdg else Path(home) / ".config"
    configs = [Path(git_config_global)] if git_config_global else [xdg_dir / "git" / "config", Path(home) / ".gitconfig"]
    value = None
    for c in configs:  # ~/.gitconfig is read after the XDG file, so it wins
        v = _config_excludes_file(c)
        if v is not None:
            value = v
    path = Path(os.path.expanduser(value)) if value else xdg_dir / "git" / "ignore"
    return _spec_from_file(path)


def global_excludes() -> Optional[pathspec.PathSpec]:
    return _global_excludes(os.path.expanduser("~"), os.environ.get("XDG_CONFIG_HOME", ""),
                            os.environ.get("GIT_CONFIG_GLOBAL", ""))


def ignore_specs_for(d: Path) -> Specs:
    """The ignore files that apply in directory ``d`` (its own .gitignore included)."""
    d = Path(os.path.abspath(d))
    top = git_top(d)
    specs: Specs = []
    dirs = [d]
    if top is not None:
        g = global_excludes()
        if g is not None:
            specs.append((top, g))
        gd = _git_dir(top)
        if gd is not None:
            info = _spec_from_file(gd / "info" / "exclude")
            if info is not None:
                specs.append((top, info))
        dirs = [p for p in [d, *d.parents] if p == top or top in p.parents]
    for p in reversed(dirs):
        s = _gitignore(p)
        if s is not None:
            specs.append((p, s))
    return specs


def git_ignored(path: Path, is_dir: bool, specs: Specs) -> bool:
    """git's answer: the last matching pattern decides, ``!pattern`` re-includes."""
    verdict = None
    for base, spec in specs:
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            continue
        res = spec.check_file(rel + ("/" if is_dir else ""))
        if res.include is not None:
            verdict = res.include
    return bool(verdict)


def in_skipped_dir(path: Path, root: Optional[Path] = None) -> bool:
    """Whether a folder on the way to ``path`` (below ``root``, if given) is one the walk
    skips: a virtualenv, site-packages, build or cache folder."""
    p = Path(os.path.abspath(path))
    stop = Path(os.path.abspath(root)) if root is not None else None
    for d in p.parents:
        if stop is not None and (d == stop or stop not in d.parents):
            break
        if skipped_dir_name(d.name) or _is_venv(d):
            return True
    return False


# ``on_skip(path, reason, named)``: a path that is not read, and why ("not a regular file",
# "cannot be read: Permission denied"); ``named`` when the user gave that path, not the walk
OnSkip = Callable[[Path, str, bool], None]


def _ignore_skip(path: Path, reason: str, named: bool) -> None:
    pass


def _kind(p: Path) -> Optional[str]:
    """None for a regular file or a folder, else why the path is not read."""
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return None
    return "not a regular file"


def iter_files(paths: Sequence[Path], is_excluded: Optional[Callable[[Path], bool]] = None, *,
               force_exclude: bool = False, on_skip: OnSkip = _ignore_skip) -> Iterator[Path]:
    """Files to check, in a stable order, each once.  ``is_excluded(path)`` is the
    configuration's verdict (the nearest ``[tool.keras-migrate]`` of the path).  Only regular
    files are yielded; anything else named or met is passed to ``on_skip`` with the reason."""
    seen: set[str] = set()
    for p in paths:
        why = _kind(p)
        if why is not None:
            on_skip(p, why, True)
            continue
        if p.is_file():
            if force_exclude and (in_skipped_dir(p, Path.cwd() if not p.is_absolute() else None)
                                  or (is_excluded and is_excluded(p))):
                continue
            key = os.path.realpath(p)
            if key not in seen:
                seen.add(key)
                yield p
            continue
        if not p.is_dir():
            continue
        if force_exclude and is_excluded and is_excluded(p):
            continue
        yield from _walk(p, seen, is_excluded, on_skip)


def _inside(real: str, boundary: str) -> bool:
    return real == boundary or real.startswith(boundary.rstrip(os.sep) + os.sep)


def _walk(root: Path, seen: set[str], is_excluded, on_skip: OnSkip = _ignore_skip) -> Iterator[Path]:
    """A directory's files.  A symlink (to a file or a folder) is followed only when its target
    lies inside the directory being walked: a link out of it (to ``/``, ``$HOME`` or another
    project) is never read, and never rewritten by ``fix``."""
    try:
        boundary = os.path.realpath(root)
    except OSError:
        return
    stack = [(root, ignore_specs_for(root))]   # what applies in a folder, its own .gitignore included
    visited_dirs: set[str] = set()
    while stack:
        d, active = stack.pop()
        try:
            real = os.path.realpath(d)
        except OSError:
            continue
        if real in visited_dirs:  # symlink loops
            continue
        visited_dirs.add(real)
        abs_d = Path(os.path.abspath(d))
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            on_skip(d, f"cannot be read: {exc.strerror or exc}", d is root)
            continue
        subdirs = []
        for e in entries:
            path = Path(e.path)
            try:
                is_dir = e.is_dir()
                out_link = e.is_symlink() and not _inside(os.path.realpath(path), boundary)
            except OSError:
                continue
            if is_dir and (skipped_dir_name(e.name) or (not out_link and _is_venv(path))):
                continue
            if not is_dir and not e.name.endswith(EXTENSIONS):
                continue
            if active and git_ignored(abs_d / e.name, is_dir, active):
                continue
            if out_link:   # never read, never rewritten; said once so nothing vanishes silently
                on_skip(path, "a symlink out of the folder: not followed", False)
                continue
            if is_excluded and is_excluded(path):
                continue
            if is_dir:
                spec = _gitignore(abs_d / e.name)
                subdirs.append((path, active + [(abs_d / e.name, spec)] if spec else active))
            else:
                try:
                    if not e.is_file():
                        why = _kind(path)
                        on_skip(path, "a broken symlink" if why == "no such file or directory" else
                                (why or "not a regular file"), False)
                        continue
                except OSError as exc:
                    on_skip(path, f"cannot be read: {exc.strerror or exc}", False)
                    continue
                # a plain file's real path is its real folder's and its name (no lstat per part)
                key = os.path.realpath(path) if e.is_symlink() else os.path.join(real, e.name)
                if key not in seen:
                    seen.add(key)
                    yield path
        stack.extend(reversed(subdirs))
