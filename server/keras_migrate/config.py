"""Configuration: ``[tool.keras-migrate]`` in pyproject.toml, editor settings, CLI flags.

One dataclass, validated in one place; errors name the key.  Which rules run is decided
here (``enabled_rules``), from the registry the caller passes in.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

import pathspec

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore

from .engine.catalog import closest_code as _closest_code
from .engine.model import Group

if TYPE_CHECKING:
    from .engine.context import Settings

LATEST_KERAS = "3.15.1"
BACKENDS = ("tensorflow", "jax", "torch")
_SELECTOR = re.compile(r"^K\d*$")

# key as written in pyproject (kebab) -> attribute; editor settings use camelCase of the same
_KEYS = {
    "select": "select",
    "extend-select": "extend_select",
    "ignore": "ignore",
    "per-file-ignores": "per_file_ignores",
    "exclude": "exclude",
    "target-backends": "target_backends",
    "keras-version": "keras_version",
    "unsafe-fixes": "unsafe_fixes",
}


def _camel(kebab: str) -> str:
    head, *rest = kebab.split("-")
    return head + "".join(p.capitalize() for p in rest)


_CAMEL = {_camel(k): k for k in _KEYS}


class ConfigError(ValueError):
    def __init__(self, key: str, message: str, origin: str = ""):
        self.key = key
        self.origin = origin
        where = f"{origin}: " if origin else ""
        super().__init__(f"{where}invalid `{key}`: {message}")


@dataclass(frozen=True)
class Config:
    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    target_backends: tuple[str, ...] = ("tensorflow",)
    keras_version: str = LATEST_KERAS
    unsafe_fixes: bool = False
    root: Optional[str] = None          # directory the globs are relative to
    source: Optional[str] = None        # the pyproject.toml it came from

    @property
    def settings(self) -> Settings:
        from .engine.context import Settings   # the engine's; not imported to read a configuration
        return Settings(self.target_backends, self.keras_version, self.unsafe_fixes)

    # -- merging -------------------------------------------------------------------------
    def merged(self, table: Mapping[str, Any], origin: str = "") -> "Config":
        """A copy with the keys of ``table`` (kebab-case or camelCase) validated and applied."""
        changes: dict[str, Any] = {}
        for raw_key, value in table.items():
            key = _CAMEL.get(raw_key, raw_key)
            if key not in _KEYS:
                raise ConfigError(raw_key, f"unknown key (known: {', '.join(_KEYS)})", origin)
            changes[_KEYS[key]] = _validate(key, value, origin)
        return replace(self, **changes)


def _strings(key: str, value: Any, origin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, f"expected a list of strings, got {value!r}", origin)
    return tuple(value)


@lru_cache(maxsize=1)
def known_codes() -> tuple[str, ...]:
    """Every rule code there is (the registry's), to tell a typo from a selector."""
    try:
        from keras_migrate.rules import all_rules
    except ImportError:  # pragma: no cover - a build without rules validates syntax only
        return ()
    return tuple(r.code for r in all_rules())


def closest_code(selector: str, known: Sequence[str] = ()) -> Optional[str]:
    """The known code or prefix nearest to a mistyped selector (difflib), if any is close."""
    known = tuple(known) or known_codes()
    return _closest_code(selector, known) if known else None


def unknown_selector_message(sel: str) -> str:
    near = closest_code(sel)
    return f"unknown rule selector `{sel}`" + (f" (did you mean `{near}`?)" if near else "") + \
        " - see `keras-migrate rules`"


def _selectors(key: str, value: Any, origin: str) -> tuple[str, ...]:
    out = []
    known = known_codes()
    for v in _strings(key, value, origin):
        v = v.strip().upper()
        if v == "ALL":
            v = "K"
        if not _SELECTOR.match(v):
            raise ConfigError(key, f"{v!r} is not a rule code or prefix such as K101 or K5", origin)
        if known and not any(c.startswith(v) for c in known):
            # ruff: "Unknown rule selector"; silently selecting nothing would pass every check
            raise ConfigError(key, unknown_selector_message(v), origin)
        out.append(v)
    return tuple(out)


def _validate(key: str, value: Any, origin: str) -> Any:
    if key in ("select", "ignore", "extend-select"):
        return _selectors(key, value, origin)
    if key == "exclude":
        return _strings(key, value, origin)
    if key == "per-file-ignores":
        if not isinstance(value, Mapping):
            raise ConfigError(key, "expected a table of glob = [codes]", origin)
        return tuple((str(g), _selectors(f"{key}.{g}", codes, origin)) for g, codes in value.items())
    if key == "target-backends":
        backends = tuple(v.strip().lower() for v in _strings(key, value, origin))
        bad = [b for b in backends if b not in BACKENDS]
        if bad or not backends:
            raise ConfigError(key, f"{bad or backends!r}: choose from {', '.join(BACKENDS)}", origin)
        return backends
    if key == "keras-version":
        if not isinstance(value, str) or not re.match(r"^3(\.\d+){0,2}$", value.strip()):
            raise ConfigError(key, f"{value!r} is not a Keras 3 release such as \"3.15.1\"", origin)
        return value.strip()
    if key == "unsafe-fixes":
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}", origin)
        return value
    raise ConfigError(key, "unknown key", origin)  # pragma: no cover


# -- pyproject -----------------------------------------------------------------------------------
def find_pyproject(start: Path) -> Optional[Path]:
    """Closest pyproject.toml at or above ``start`` that has a [tool.keras-migrate] table."""
    start = start if start.is_dir() else start.parent
    for d in [start, *start.parents]:
        p = d / "pyproject.toml"
        if p.is_file():
            try:
                data = tomllib.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return p  # report the broken file rather than silently using another
            if "keras-migrate" in data.get("tool", {}):
                return p
    return None


def load_pyproject(path: Path, base: Optional[Config] = None) -> Config:
    base = base or Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("pyproject.toml", f"does not parse: {exc}", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("pyproject.toml", f"cannot be read: {exc}", str(path)) from None
    table = data.get("tool", {}).get("keras-migrate", {})
    if not isinstance(table, Mapping):
        raise ConfigError("tool.keras-migrate", "must be a table", str(path))
    cfg = base.merged(table, f"{path} [tool.keras-migrate]")
    return replace(cfg, root=str(path.parent), source=str(path))


def config_for(path: Path, overrides: Optional[Mapping[str, Any]] = None) -> Config:
    """Config for files under ``path``: the nearest pyproject table, then ``overrides``."""
    p = find_pyproject(path.resolve())
    cfg = load_pyproject(p) if p else Config(root=str(path.resolve() if path.is_dir() else path.resolve().parent))
    if overrides:
        cfg = cfg.merged(overrides, "command line")
    return cfg


class ConfigResolver:
    """The configuration model every adapter shares: each file gets the nearest
    ``pyproject.toml`` above it that has a ``[tool.keras-migrate]`` table (as ruff), or the
    ``config_file`` for every file when one is given (``--config``), with ``base`` under it
    and ``overrides`` (command-line flags) on top.  Without any table, the settings are
    ``base`` rooted at ``default_root`` (the folder the user pointed at).  Cached per
    folder; thread-safe.  ``ConfigError`` propagates: a broken table is the caller's to report.
    """

    def __init__(self, overrides: Optional[Mapping[str, Any]] = None, config_file: Optional[Path] = None,
                 base: Optional[Config] = None, origin: str = "command line") -> None:
        self.overrides = dict(overrides or {})
        self.config_file = Path(config_file) if config_file else None
        self.base = base or Config()
        self.origin = origin
        self._lock = threading.RLock()
        self._pyproject_at: dict[str, Optional[Path]] = {}
        self._configs: dict[tuple, Config] = {}

    def pyproject_for(self, directory: Path) -> Optional[Path]:
        if self.config_file is not None:
            return self.config_file
        key = os.path.abspath(directory)
        with self._lock:
            if key in self._pyproject_at:
                return self._pyproject_at[key]
        # find_pyproject, one folder at a time: the folder's own file, else its parent's answer
        # (cached too: a walk asks for every folder, and each used to climb to / again)
        try:
            parent = os.path.dirname(key)
            p = Path(key) / "pyproject.toml"
            if p.is_file():
                found = find_pyproject(Path(key))
                if found is None or found.parent != Path(key):
                    found = self.pyproject_for(Path(parent)) if parent != key else None
            else:
                found = self.pyproject_for(Path(parent)) if parent != key else None
        except OSError:
            found = None
        with self._lock:
            self._pyproject_at[key] = found
        return found

    def for_path(self, path: Path, default_root: Optional[Path] = None) -> Config:
        p = Path(path)
        directory = p if p.is_dir() else p.parent
        pp = self.pyproject_for(directory)
        root = os.path.abspath(default_root if default_root is not None else directory)
        key = (str(pp) if pp else None, None if pp else root)
        with self._lock:
            cfg = self._configs.get(key)
        if cfg is None:
            cfg = load_pyproject(pp, self.base) if pp else replace(self.base, root=root)
            if self.overrides:
                cfg = cfg.merged(self.overrides, self.origin)
            with self._lock:
                self._configs[key] = cfg
        return cfg

    __call__ = for_path


# -- rule selection ------------------------------------------------------------------------------
def _longest(code: str, selectors: Iterable[str]) -> int:
    return max((len(s) for s in selectors if code.startswith(s)), default=-1)


def version_in_range(version: str, rng) -> bool:
    if rng is None:
        return True
    from .engine.context import parse_version
    first, last = rng
    v = parse_version(version)
    return parse_version(first) <= v and (last is None or v < parse_version(last))


def rule_enabled(rule, cfg: Config, extra_ignores: Sequence[str] = ()) -> bool:
    select = (cfg.select if cfg.select is not None else ("K",)) + tuple(cfg.extend_select)
    s = _longest(rule.code, select)
    i = _longest(rule.code, tuple(cfg.ignore) + tuple(extra_ignores))
    if s < 0 or i >= s:
        return False
    if rule.code in select:
        return True  # named explicitly: on, whatever its defaults
    if rule.group == Group.PORTABILITY and not cfg.settings.portability:
        return False
    if rule.keras_versions is not None:
        return version_in_range(cfg.keras_version, rule.keras_versions)
    return rule.default_enabled


@lru_cache(maxsize=256)
def _spec(patterns: tuple[str, ...]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _relative(cfg: Config, path: Path) -> Optional[str]:
    """``path`` relative to the configuration's root, ``/``-separated; None outside it."""
    for norm in (os.path.abspath, os.path.realpath):   # as given first, then through symlinks
        root = norm(cfg.root or ".")
        p = norm(path)
        if p == root:
            return ""
        if p.startswith(root.rstrip(os.sep) + os.sep):
            return Path(os.path.relpath(p, root)).as_posix()
    return None


def _matches(patterns: tuple[str, ...], cfg: Config, path: Path, is_dir: Optional[bool] = None) -> bool:
    """gitignore semantics (git's wildmatch, as ruff's globs and .gitignore): a pattern
    without ``/`` matches a name at any depth (``legacy``, ``*.gen.py``), one with ``/`` is
    relative to the configuration's root (``legacy/*``, ``**/test_*.py`` - which matches a
    top-level ``test_top.py`` too), a pattern matching a folder covers what is inside it."""
    rel = _relative(cfg, path)
    if rel is None:  # outside the root: match the name alone
        rel = Path(path).name
    if not rel:
        return False
    if is_dir is None:
        is_dir = os.path.isdir(path)
    return _spec(patterns).match_file(rel + ("/" if is_dir else ""))


def file_ignores(cfg: Config, path: Path) -> tuple[str, ...]:
    if not cfg.per_file_ignores:
        return ()
    out: list[str] = []
    for glob, codes in cfg.per_file_ignores:
        if _matches((glob,), cfg, path, False):
            out.extend(codes)
    return tuple(out)


def is_excluded(cfg: Config, path: Path) -> bool:
    if not cfg.exclude:
        return False
    return _matches(tuple(cfg.exclude), cfg, path)


def exclusion(config_for) -> "Callable[[Path], bool]":
    """The walker's ``is_excluded`` for a configuration model: an entry (file or folder) is
    judged by the configuration of the folder that holds it (CLI, report and editor alike)."""
    return lambda p: is_excluded(config_for(Path(p).parent), Path(p))


def enabled_rules(all_rules: Sequence[type], cfg: Config, path: Optional[Path] = None) -> list:
    extra = file_ignores(cfg, path) if path is not None else ()
    return [r() for r in all_rules if rule_enabled(r, cfg, extra)]
