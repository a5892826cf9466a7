"""Running ``check`` (and ``report``) over many files: a process pool, a content cache,
progress, and results streamed in a stable order.

* **Pool.** Files go to a ``ProcessPoolExecutor`` (``forkserver`` on Linux, ``spawn``
  elsewhere; never ``fork``, the parent may hold threads) in chunks.  Each worker imports the
  rules once (the forkserver preloads them), keeps one ``Linter`` and one workspace index per
  configuration, and returns plain data: every finding is copied without its lazy fix
  (the fix's edits, when a format needs them, are computed in the worker).
* **Order.** Results are handed on in the order of the files, each file as soon as it and
  every file before it are done, so ``concise`` output starts at once and reads the same as a
  serial run (``Report.items`` is a list that fills itself while a writer iterates it).
* **Cache.** ``.keras_migrate_cache/`` in the project root (the folder of the
  ``pyproject.toml`` that configures the file, else the working directory), like
  ``.ruff_cache``: one JSON file per tool build, an entry per (file, effective configuration,
  rule set) holding the file's results, valid while the file's bytes hash the same and every
  other workspace file its analysis read (the cross-file index: base classes, factories) has
  the same (mtime, size).  A file whose (mtime, ctime, size, inode) match the entry, and whose
  mtime is older than the entry, is not even read (git's index does the same).  Analyses
  that hit the index's deadline, or that asked about a workspace module that was not found
  (a file created later could answer it), are cached with the layout of the run's files.
  JSON, never pickle: a planted cache file can at worst give wrong findings, not run code.
  ``--no-cache`` bypasses it; ``--cache-dir`` or ``KERAS_MIGRATE_CACHE_DIR`` moves it.
* **Progress.** On stderr, only when it is a terminal and the run has lasted a second: a
  line rewritten in place (cleared before anything is printed on stdout).
"""
from __future__ import annotations

import argparse
import dataclasses
from collections import abc
import hashlib
import json
import os
import stat
import sys
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

# concurrent.futures, multiprocessing, signal, tempfile and logging are imported where a run
# needs them (a pool, a cache to write): a run answered from the cache does without them

from .version import __version__
from .config import Config
from .engine.model import Applicability, Finding, Position, Range, Severity
from .formats import Item, Problem, Report

CACHE_DIR_NAME = ".keras_migrate_cache"
CACHE_ENV = "KERAS_MIGRATE_CACHE_DIR"
_CACHEDIR_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                 "# This file is a cache directory tag created by keras-migrate.\n"
                 "# For information about cache directory tags see https://bford.info/cachedir/\n")
_MAX_CACHED_BYTES = 5_000_000      # larger files are analysed (or refused) as before, never cached
_PRUNE_AFTER_S = 30 * 24 * 3600    # entries not seen for 30 days are dropped
_RACY_S = 2.0                      # a file changed this close to its entry is re-hashed


# -- options ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Options:
    jobs: int = 0                       # 0: every core
    cache: bool = True
    cache_dir: Optional[str] = None
    progress: Optional[bool] = None     # None: when stderr is a terminal

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(jobs=int(getattr(args, "jobs", 0) or 0), cache=not getattr(args, "no_cache", False),
                   cache_dir=getattr(args, "cache_dir", None) or os.environ.get(CACHE_ENV) or None)

    def workers(self) -> int:
        if self.jobs > 0:
            return self.jobs
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):
            return max(1, os.cpu_count() or 1)


def add_arguments(p: argparse.ArgumentParser, cache: bool = True) -> None:
    p.add_argument("--jobs", "-j", type=int, default=0, metavar="N",
                   help="analyse on N processes (default: every core; 1: in this process)")
    if cache:
        p.add_argument("--no-cache", action="store_true",
                       help="neither read nor write the results cache (.keras_migrate_cache/)")
        p.add_argument("--cache-dir", metavar="DIR",
                       help=f"where the results cache lives (default: .keras_migrate_cache in the project "
                            f"root; also ${CACHE_ENV})")


class LazyRules(abc.Sequence):
    """The rule registry (``service.registry()``), imported when first looked at: a run
    answered from the cache never pays for importing the rules (~0.2 s)."""

    def __init__(self):
        self._rules: Optional[tuple] = None

    @property
    def loaded(self) -> bool:
        return self._rules is not None

    def _get(self) -> tuple:
        if self._rules is None:
            from .service import registry
            self._rules = tuple(registry())
        return self._rules

    def __getitem__(self, i):
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self):
        return iter(self._get())


# -- plain data for findings ------------------------------------------------------------------------
def _stored_fix():
    """The fix of a finding that crossed a process or came from the cache: its title and
    applicability are kept (the formats print them), its edits were computed already."""
    return None


def plain_finding(f: Finding) -> Finding:
    """A copy that pickles: no lazy fix (a closure over the analysis) behind it."""
    return Finding(f.code, f.name, f.message, f.severity, f.start, f.end, f.range, f.fix_title,
                   f.fix_applicability, _stored_fix if f.has_fix else None, tuple(f.tags), f.url)


_SEVERITY = {s.value: s for s in Severity}
_APPLICABILITY = {a.value: a for a in Applicability}
_new = object.__new__
_SCALARS = (str, int, float, bool, type(None))
_TUPLE = "\0t"
_FLAT_TUPLE = "\0T"   # a tuple of plain values (the common case: read back in one call)
_RANGE = "\0r"        # an engine Range (a finding's related locations carry them)
# every field of the dataclasses, in order: a field added later travels with the rest (and
# the tool fingerprint changes with the code, so an older cache file is never read with them)
_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(Item) if f.name not in ("path", "finding"))
_FINDING_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))
_PROBLEM_FIELDS = tuple(f.name for f in dataclasses.fields(Problem) if f.name != "path")


def _enc(v):
    if type(v) in _SCALARS:
        return v
    if isinstance(v, tuple):
        if all(type(x) in _SCALARS for x in v):
            return {_FLAT_TUPLE: list(v)}
        return {_TUPLE: [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _enc(x) for k, x in v.items()}
    if isinstance(v, Range):
        return {_RANGE: [v.start.line, v.start.col, v.end.line, v.end.col]}
    raise TypeError(f"not cacheable: {type(v).__name__}")


def _dec(v):
    t = type(v)
    if t is dict:
        flat = v.get(_FLAT_TUPLE)
        if flat is not None:
            return tuple(flat)
        if _TUPLE in v:
            return tuple(_dec(x) for x in v[_TUPLE])
        r = v.get(_RANGE)
        if r is not None:
            return _range(r)
        return {k: _dec(x) for k, x in v.items()}
    if t is list:
        return [_dec(x) for x in v]
    return v


def _finding_to_json(f: Finding) -> list:
    out = []
    for name in _FINDING_FIELDS:
        v = getattr(f, name)
        if name == "severity":
            v = v.value
        elif name == "fix_applicability":
            v = v.value if v is not None else None
        elif name == "range":
            v = [v.start.line, v.start.col, v.end.line, v.end.col]
        elif name == "fix_factory":
            v = f.has_fix
        elif name in ("_fix_cache", "_fix_done"):
            v = None
        else:
            v = _enc(v)
        out.append(v)
    return out


def _range(r: list) -> Range:
    """An engine Range from ``[start line, start col, end line, end col]`` (frozen: built as
    ``_position`` builds its Positions)."""
    rng = _new(Range)
    rng.__dict__.update(start=_position(r[0], r[1]), end=_position(r[2], r[3]))
    return rng


def _position(line: int, col: int) -> Position:
    p = _new(Position)
    p.__dict__.update(line=line, col=col)   # frozen: __setattr__ refuses, the dict does not
    return p


_FINDING_SPECIAL = ("severity", "fix_applicability", "range", "fix_factory", "_fix_cache", "_fix_done")
_FINDING_PLAIN = tuple(n for n in _FINDING_FIELDS if n not in _FINDING_SPECIAL)


def _finding_from_json(d: list) -> Finding:
    # thousands per warm run: the dataclasses' fields set directly (their __init__ does the
    # same, slower; a test compares every field with a fresh analysis)
    vals = dict(zip(_FINDING_FIELDS, d))
    vals["severity"] = _SEVERITY[vals["severity"]]
    fa = vals["fix_applicability"]
    vals["fix_applicability"] = _APPLICABILITY[fa] if fa else None
    vals["range"] = _range(vals["range"])
    vals["fix_factory"] = _stored_fix if vals["fix_factory"] else None
    vals["_fix_cache"] = None
    vals["_fix_done"] = False
    for name in _FINDING_PLAIN:
        v = vals[name]
        if type(v) not in _SCALARS:
            vals[name] = _dec(v)
    f = _new(Finding)
    f.__dict__.update(vals)
    return f


def _item_to_json(it: Item) -> list:
    return [_finding_to_json(it.finding)] + [_enc(getattr(it, n)) for n in _ITEM_FIELDS]


def _item_from_json(d: list, display: str) -> Item:
    vals = dict(zip(_ITEM_FIELDS, d[1:]))
    for name, v in vals.items():
        if type(v) not in _SCALARS:
            vals[name] = _dec(v)
    vals["path"] = display
    vals["finding"] = _finding_from_json(d[0])
    it = _new(Item)
    it.__dict__.update(vals)
    return it


def _problem_to_json(u) -> Optional[list]:
    if not isinstance(u, Problem):
        return None
    return [_enc(getattr(u, n)) for n in _PROBLEM_FIELDS]


def _problem_from_json(d: list, display: str) -> Problem:
    vals = {"path": display}
    for name, v in zip(_PROBLEM_FIELDS, d):
        vals[name] = _dec(v)
    u = _new(Problem)
    u.__dict__.update(vals)
    return u


# -- one file's results ----------------------------------------------------------------------------
_REPORT_FIELDS = tuple(f.name for f in dataclasses.fields(Report))


def _new_part(want_edits: bool) -> Report:
    return Report(want_edits=want_edits)


def merge_part(report: Report, part: Report) -> None:
    """Add one file's results to the run's (every list field appended, counters added), so a
    field the CLI gains later travels with the rest."""
    for name in _REPORT_FIELDS:
        if name in ("items", "want_edits"):
            continue
        value = getattr(part, name)
        if isinstance(value, list):
            getattr(report, name).extend(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            setattr(report, name, getattr(report, name) + value)


def _cacheable(part: Report) -> bool:
    """Only results the cache can hold exactly: findings, problems with a position, the
    file's own count.  I/O errors (and anything the CLI may add later) are never cached."""
    for name in _REPORT_FIELDS:
        if name in ("items", "unparsable", "files", "checked_paths", "want_edits"):
            continue
        v = getattr(part, name)
        if v:   # errors, or a field unknown here
            return False
    return all(isinstance(u, Problem) for u in part.unparsable) and part.files == 1


def _part_to_json(part: Report) -> dict:
    return {"items": [_item_to_json(it) for it in part.items],
            "unparsable": [_problem_to_json(u) for u in part.unparsable]}


def _part_from_json(d: dict, display: str, want_edits: bool) -> Report:
    part = Report(want_edits=want_edits, files=1, checked_paths=[display])
    for it in d["items"]:
        item = _item_from_json(it, display)
        if not want_edits:
            item.edits = item.noqa_row = None
        part.items.append(item)
    for u in d["unparsable"]:
        part.unparsable.append(_problem_from_json(u, display))
    return part


# -- fingerprints ----------------------------------------------------------------------------------
_TOOL_FP: Optional[str] = None


def tool_fingerprint() -> str:
    """The version and the (path, mtime, size) of every file of the package and its rules: a
    development checkout that changes a rule gets a fresh cache without a version bump."""
    global _TOOL_FP
    if _TOOL_FP is None:
        import importlib.util
        h = hashlib.blake2b(__version__.encode(), digest_size=12)
        dirs = [os.path.dirname(os.path.abspath(__file__))]
        spec = importlib.util.find_spec("keras_migrate.rules")
        if spec is not None and spec.submodule_search_locations:
            dirs += [os.path.abspath(p) for p in spec.submodule_search_locations]
        for top in sorted(set(dirs)):
            for base, subdirs, files in os.walk(top):
                subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
                for name in sorted(files):
                    if name.endswith((".pyc", ".pyo")):
                        continue
                    p = os.path.join(base, name)
                    try:
                        st = os.stat(p)
                    except OSError:
                        continue
                    h.update(f"{p}\0{st.st_mtime_ns}\0{st.st_size}\n".encode("utf-8", "surrogateescape"))
        _TOOL_FP = h.hexdigest()
    return _TOOL_FP


def config_key(cfg: Config, rules) -> str:
    """The effective configuration and the rule set: the registry's is part of the tool's
    fingerprint (its files), so it is named, not listed (and not imported for it)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(repr(cfg).encode("utf-8", "surrogateescape"))
    if rules is None or isinstance(rules, LazyRules):
        h.update(b"\0registry")
    else:
        h.update(",".join(sorted(r.code for r in rules)).encode())
    return h.hexdigest()


def _hash_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _regular_stat(path) -> Optional[os.stat_result]:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _stamp(path: str) -> Optional[list]:
    st = _regular_stat(path)
    return None if st is None else [st.st_mtime, st.st_size]


# -- the cache --------------------------------------------------------------------------------------
class Cache:
    """The results of one project root, in ``<dir>/<version>/results-<fp>.json``."""

    def __init__(self, directory: Path, root: Path):
        self.directory = directory
        self.root = root
        self._prefix = os.path.join(os.path.abspath(root), "")
        self.file = directory / __version__ / f"results-{tool_fingerprint()}-3.json"   # -N: entry format
        self.entries: dict[str, dict] = {}
        self.dirty = False
        self._stamps: dict[str, Optional[list]] = {}
        try:
            with open(self.file, "rb") as fh:
                data = json.loads(fh.read())
            if isinstance(data, dict) and data.get("version") == __version__ and isinstance(data.get("entries"), dict):
                self.entries = data["entries"]
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            self.entries = {}

    def key(self, path: Path, ckey: str) -> str:
        ap = os.path.abspath(path)
        rel = ap[len(self._prefix):] if ap.startswith(self._prefix) else ap
        if os.sep != "/":
            rel = rel.replace(os.sep, "/")
        return rel + "\0" + ckey

    def _dep_stamp(self, path: str) -> Optional[list]:
        if path not in self._stamps:
            self._stamps[path] = _stamp(path)
        return self._stamps[path]

    def lookup(self, key: str, path: Path, want_edits: bool, layout: str) -> tuple[Optional[dict], Optional[str]]:
        """(the stored results or None, the file's hash when it had to be read)."""
        e = self.entries.get(key)
        st = _regular_stat(path)
        if st is None or st.st_size > _MAX_CACHED_BYTES:
            return None, None
        digest = None
        if e is None or e.get("st") != [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino] \
                or st.st_mtime >= e.get("t", 0) - _RACY_S:
            try:
                with open(path, "rb") as fh:
                    digest = _hash_bytes(fh.read(_MAX_CACHED_BYTES + 1))
            except OSError:
                return None, None
            if e is None or e.get("h") != digest:
                return None, digest
        if want_edits and not e.get("e"):
            return None, digest
        if e.get("l") is not None and e["l"] != layout:
            return None, digest
        for dep, stamp in (e.get("d") or {}).items():
            if self._dep_stamp(dep) != stamp:
                return None, digest
        if digest is not None:   # the same bytes under a new stamp: remember the stamp
            e["st"] = [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]
            self.dirty = True
        if time.time() - e.get("seen", 0) > 24 * 3600:
            e["seen"] = int(time.time())
            self.dirty = True
        return e["r"], digest

    def store(self, key: str, path: Path, digest: str, part: Report, meta: dict, layout: str) -> None:
        st = _regular_stat(path)
        if st is None or meta.get("hash") != digest or not _cacheable(part) or meta.get("tainted"):
            return   # changed while being analysed, or not cacheable
        now = time.time()
        self.entries[key] = {"h": digest, "st": [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino], "t": now,
                             "seen": int(now), "e": part.want_edits, "d": meta.get("deps") or {},
                             "l": layout if meta.get("unresolved") else None, "r": _part_to_json(part)}
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        now = time.time()
        entries = {k: v for k, v in self.entries.items() if now - v.get("seen", now) < _PRUNE_AFTER_S}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for name, text in ((".gitignore", "# Automatically created by keras-migrate.\n*\n"),
                               ("CACHEDIR.TAG", _CACHEDIR_TAG)):
                p = self.directory / name
                if not p.exists():
                    p.write_text(text, encoding="utf-8")
            self.file.parent.mkdir(parents=True, exist_ok=True)
            import tempfile
            fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=str(self.file.parent))
            try:
                text = json.dumps({"version": __version__, "entries": entries}, separators=(",", ":"))
                with os.fdopen(fd, "w", encoding="utf-8") as fh:   # dumps: the C encoder, 10x dump's
                    fh.write(text)
                os.replace(tmp, self.file)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            pass   # a read-only tree: no cache, same results
        self.dirty = False


def cache_root(cfg: Config) -> Path:
    """The project root a file's results are cached under: its pyproject's folder, else the
    working directory (as ruff)."""
    if cfg.source:
        return Path(os.path.dirname(os.path.abspath(cfg.source)))
    return Path(os.getcwd())


# -- the worker --------------------------------------------------------------------------------------
class _Analyser:
    """Linters per configuration with the cross-file index the CLI uses, in any process."""

    def __init__(self, rules: Optional[Sequence[type]] = None, linter_for=None):
        self.rules = rules if rules is not None else LazyRules()
        self._linter_for = linter_for
        self._linters: dict = {}
        self._indexes: dict = {}

    def linter(self, cfg: Config):
        if self._linter_for is not None:
            return self._linter_for(cfg)
        from .service import project_linter
        return project_linter(self._linters, self._indexes, cfg, self.rules)

    def check(self, path: Path, cfg: Config, want_edits: bool, plain: bool) -> tuple[Report, dict]:
        from .checking import check_file
        linter = self.linter(cfg)
        part = _new_part(want_edits)
        index = getattr(linter, "workspace", None)
        rec = index.recording() if index is not None and hasattr(index, "recording") else None
        if rec is not None:
            with rec as sink:
                check_file(linter, path, part)
            meta = {"deps": sink.deps, "unresolved": sink.unresolved, "tainted": sink.tainted}
        else:
            check_file(linter, path, part)
            meta = {"deps": {}, "unresolved": False, "tainted": False}
        try:   # the bytes analysed are the bytes hashed before, or the entry is not stored
            with open(path, "rb") as fh:
                meta["hash"] = _hash_bytes(fh.read(_MAX_CACHED_BYTES + 1))
        except OSError:
            meta["hash"] = None
        if plain:
            for it in part.items:
                it.finding = plain_finding(it.finding)
        return part, meta


_WORKER: Optional[_Analyser] = None


def _init_worker(cwd: str) -> None:
    global _WORKER
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    try:
        os.chdir(cwd)
    except OSError:
        pass
    _WORKER = _Analyser()


def _work(chunk: Sequence[tuple[str, Config, bool]]) -> list[tuple[Report, dict]]:
    assert _WORKER is not None
    return [_WORKER.check(Path(p), cfg, want, plain=True) for p, cfg, want in chunk]


def _record_work(record: Callable, chunk: Sequence[tuple[str, str, Config]]) -> list[dict]:
    """The migration report's per-file records: ``record`` is the report's own function
    (``keras_migrate.report.safe_record``, pickled by name), so this pool knows no report."""
    assert _WORKER is not None
    return [record(_WORKER.linter, cfg, Path(p), rel) for p, rel, cfg in chunk]


def warm() -> None:
    """The rules imported and their data loaded (one small analysis), best effort: run in the
    forkserver before it forks the workers (``batch_preload``), so every worker starts with
    them, shared copy-on-write."""
    try:
        from . import checking  # noqa: F401  (check_file, the formats)
        from .service import Linter
        Linter().check_source("import tensorflow as tf\nm = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n"
                              "m.compile(optimizer=tf.keras.optimizers.Adam(lr=0.1))\nm.save('d')\n")
    except Exception:
        pass


def make_pool(workers: int) -> "ProcessPoolExecutor":
    """The process pool (``keras_migrate.batch_pool``, imported only when a run needs one)."""
    from .batch_pool import make_pool as make
    return make(workers, _init_worker)


def _chunks(seq: Sequence, workers: int) -> list[list]:
    n = len(seq)
    size = max(1, min(16, n // (workers * 8) or 1))
    return [list(seq[i:i + size]) for i in range(0, n, size)]


# -- progress ---------------------------------------------------------------------------------------
class Progress:
    def __init__(self, total: int, err, enabled: Optional[bool]):
        self.total = total
        self.err = err
        if enabled is None:
            try:
                enabled = bool(err.isatty())
            except (AttributeError, ValueError):
                enabled = False
        self.enabled = enabled and total > 1
        self.start = time.monotonic()
        self.shown = False
        self._last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < 1.0 or now - self._last < 0.1:
            return
        self._last = now
        self.err.write(f"\r\x1b[Kkeras-migrate: {done}/{self.total} files")
        self.err.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.shown = False


# -- running ``check`` --------------------------------------------------------------------------------
STREAMING_FORMATS = ("concise", "text", "full", "json-lines", "github")


class StreamingItems(list):
    """``Report.items`` that fills itself from the run while a writer iterates it: each file's
    items as soon as that file and all before it are done.  Everything but iteration (``len``,
    indexing, truth) first waits for the whole run, so writers that count first still see all.
    Only for writers that read nothing else of the report before their first item."""

    def __init__(self, parts: Iterator[Report], report: Report):
        super().__init__()
        self._parts = parts
        self._report = report
        self._done = False

    def _next_part(self) -> None:
        try:
            part = next(self._parts)
        except StopIteration:
            self._done = True
            return
        merge_part(self._report, part)
        list.extend(self, part.items)

    def drain(self) -> "StreamingItems":
        while not self._done:
            self._next_part()
        return self

    def __iter__(self):
        if self._done:
            return list.__iter__(self)
        return self._iter()

    def _iter(self):
        i = 0
        while True:
            while i < list.__len__(self):
                yield list.__getitem__(self, i)
                i += 1
            if self._done:
                return
            self._next_part()

    def __len__(self):
        return list.__len__(self.drain())

    def __bool__(self):
        return list.__len__(self.drain()) > 0

    def __getitem__(self, i):
        return list.__getitem__(self.drain(), i)

    def __contains__(self, x):
        return list.__contains__(self.drain(), x)

    def __reversed__(self):
        return list.__reversed__(self.drain())

    def __eq__(self, other):
        return list.__eq__(self.drain(), other)

    __hash__ = None  # type: ignore[assignment]

    def copy(self):
        return list(list.__iter__(self.drain()))

    def count(self, x):
        return list.count(self.drain(), x)

    def index(self, *a):
        return list.index(self.drain(), *a)

    def append(self, x):
        list.append(self.drain(), x)

    def extend(self, xs):
        list.extend(self.drain(), xs)

    def sort(self, *a, **k):
        list.sort(self.drain(), *a, **k)


def run_checks(session, jobs: Sequence[tuple[Path, Config]], report: Report, out=None, err=None,
               options: Optional[Options] = None, stream: bool = False) -> None:
    """Analyse every (file, configuration) into ``report``: cached results first, the rest on a
    process pool (or here, for a few files or ``--jobs 1``), in the order of ``jobs``.  With
    ``stream`` the results arrive while ``report.items`` is iterated (by a writer of
    ``STREAMING_FORMATS``); else ``report`` is complete on return."""
    options = options or getattr(session, "batch_options", None) or Options()
    err = err if err is not None else sys.stderr
    items = StreamingItems(_run(session, list(jobs), report.want_edits, out, err, options), report)
    list.extend(items, report.items)   # anything already there stays first (without waiting)
    report.items = items if stream else items.drain()


def _run(session, jobs: list[tuple[Path, Config]], want_edits: bool, out, err, options: Options
         ) -> Iterator[Report]:
    rules = getattr(session, "rules", None)
    analyser = _Analyser(rules, linter_for=session.linter)
    caches: dict[Path, Cache] = {}
    keys: list[Optional[tuple[Cache, str, Optional[str]]]] = [None] * len(jobs)
    ready: dict[int, Report] = {}
    layout = ""
    if options.cache:
        from .engine.gchold import GC_HOLD
        # thousands of findings read back, none of them garbage: the cyclic collector would
        # walk them again and again while they are built (a third of a warm run)
        with GC_HOLD:
            layout = hashlib.blake2b("\n".join(sorted(os.path.abspath(p) for p, _ in jobs)).encode(
                "utf-8", "surrogateescape"), digest_size=12).hexdigest()
            ckeys: dict[Config, str] = {}
            roots: dict[Optional[str], Path] = {}
            fixed = Path(options.cache_dir).resolve() if options.cache_dir else None
            for i, (path, cfg) in enumerate(jobs):
                root = fixed
                if root is None:
                    root = roots.get(cfg.source)
                    if root is None:
                        root = roots[cfg.source] = cache_root(cfg)
                cache = caches.get(root)
                if cache is None:
                    directory = root if options.cache_dir else root / CACHE_DIR_NAME
                    cache = caches[root] = Cache(directory, Path(os.getcwd()) if options.cache_dir else root)
                ck = ckeys.get(cfg)
                if ck is None:
                    ck = ckeys[cfg] = config_key(cfg, rules)
                key = cache.key(path, ck)
                stored, digest = cache.lookup(key, path, want_edits, layout)
                if stored is not None:
                    ready[i] = _part_from_json(stored, str(path), want_edits)
                elif digest is not None:
                    keys[i] = (cache, key, digest)
        if ready:
            # and after: what was read back lives to the end of the run, so the collections
            # that follow leave it out (else the first ones walk all of it, ~0.4 s)
            import gc
            gc.freeze()
    misses = [i for i in range(len(jobs)) if i not in ready]
    if misses:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool
    progress = Progress(len(jobs), err, options.progress)
    workers = min(options.workers(), len(misses))
    pool = None
    futures: dict[int, tuple[Future, int]] = {}
    stolen: dict[int, tuple[Report, dict]] = {}
    finished = [len(ready)]

    def count(f: Future, n: int) -> None:
        if not f.cancelled():
            finished[0] += n

    pending: "deque[list[int]]" = deque()   # chunks not given to the pool yet
    own: set[int] = set()

    def flush() -> None:
        if out is not None:
            try:
                out.flush()   # what is known so far is on the screen while we wait or work
            except (OSError, ValueError):
                pass

    def here(chunk: list[int]) -> None:
        flush()
        for j in chunk:
            stolen[j] = analyser.check(jobs[j][0], jobs[j][1], want_edits, plain=False)
            finished[0] += 1
            progress.update(finished[0])

    def top_up() -> None:
        """Keep two chunks per worker queued; the rest stays here, so this process can take
        from it (nothing is cancelled: a broken pool then fails only what it holds)."""
        nonlocal pool
        while pool is not None and pending and sum(not f.done() for f in inflight) < 2 * workers:
            chunk = pending.popleft()
            try:
                fut = pool.submit(_work, [(str(jobs[j][0]), jobs[j][1], want_edits) for j in chunk])
            except (BrokenProcessPool, RuntimeError):
                pending.appendleft(chunk)
                return
            fut.add_done_callback(lambda f, n=len(chunk): count(f, n))
            inflight.append(fut)
            for pos, j in enumerate(chunk):
                futures[j] = (fut, pos)
        inflight[:] = [f for f in inflight if not f.done()]

    inflight: list[Future] = []
    try:
        if workers > 1 and len(misses) >= 4:
            try:
                pool = make_pool(workers)
                chunks = _chunks(misses, workers)
                own.update(chunks[0])   # this process's: done while the pool starts, the head of the output
                pending.extend(chunks[1:])
                top_up()
            except (OSError, RuntimeError, BrokenProcessPool, ImportError):
                # no pool here (no semaphores in a sandbox, workers that cannot start): this process
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
                pool = None
                futures.clear()
                pending.clear()
                own.clear()
        for i, (path, cfg) in enumerate(jobs):
            if i not in ready:
                got = None
                top_up()
                if i not in stolen and i not in futures and pending and i in pending[0]:
                    here(pending.popleft())       # next in line and no worker has it: do it here
                if i not in stolen and i in futures:
                    fut, pos = futures[i]
                    while not fut.done():
                        top_up()
                        if pending:
                            here(pending.pop())   # wait by working: the last chunk nobody has
                        else:
                            flush()
                            wait([fut], timeout=0.1, return_when=FIRST_COMPLETED)
                        progress.update(finished[0])
                    try:
                        got = fut.result()[pos]
                    except BrokenProcessPool:
                        # a worker died (killed for memory, a crash in C): the rest runs here,
                        # as a serial run would
                        futures.clear()
                        pending.clear()
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool = None
                if i in stolen:
                    got = stolen.pop(i)
                if got is None:   # no pool, or it broke
                    got = analyser.check(path, cfg, want_edits, plain=False)
                    finished[0] += 1
                    progress.update(finished[0])
                part, meta = got
                _store(keys[i], path, part, meta, layout)
                ready[i] = part
            progress.clear()
            yield ready.pop(i)
    finally:
        progress.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for cache in caches.values():
            cache.save()


def _store(k, path: Path, part: Report, meta: dict, layout: str) -> None:
    if k is not None:
        cache, key, digest = k
        try:
            cache.store(key, path, digest, part, meta, layout)
        except (TypeError, ValueError, OSError) as exc:   # the cache is best effort: the results stand
            import logging
            logging.getLogger(__name__).debug("not cached: %s: %s", path, exc)


# -- the migration report ----------------------------------------------------------------------------
def report_records(items: Sequence[tuple[Path, str, Config]], linter_for, record: Callable,
                   options: Optional[Options] = None,
                   progress=lambda done, total, name: None, cancelled=lambda: False) -> list[dict]:
    """``record(linter, cfg, path, rel)`` (the report's per-file record, a module-level function)
    for every (path, display name, configuration), in order: on the pool when there are enough
    files, else here with ``linter_for``.  Stops (returning what is done) once ``cancelled()``."""
    from concurrent.futures import wait
    from concurrent.futures.process import BrokenProcessPool

    options = options or Options()
    if linter_for is None:
        linter_for = _Analyser().linter
    total = len(items)
    workers = min(options.workers(), total)
    out: list[dict] = []
    pool = None
    futs: list[tuple[Optional[Future], list]] = []
    broken = False
    try:
        if workers > 1 and total >= 8:
            try:
                pool = make_pool(workers)
                futs = [(pool.submit(_record_work, record, [(str(p), rel, cfg) for p, rel, cfg in chunk]), chunk)
                        for chunk in _chunks(list(items), workers)]
            except (OSError, RuntimeError, BrokenProcessPool, ImportError):
                broken = True   # no pool: everything here
        if not futs:
            futs = [(None, [it]) for it in items]
        broken = False
        for fut, chunk in futs:
            if cancelled():
                return out
            progress(len(out), total, chunk[0][1])
            got = None
            if fut is not None and not broken:
                while not fut.done():
                    wait([fut], timeout=0.1)
                    if cancelled():
                        return out
                try:
                    got = fut.result()
                except BrokenProcessPool:   # the rest here, as without a pool
                    broken = True
            if got is None:
                got = []
                for path, rel, cfg in chunk:
                    if cancelled():
                        out.extend(got)
                        return out
                    got.append(record(linter_for, cfg, path, rel))
            out.extend(got)
        progress(total, total, "done")
        return out
    finally:
        if pool is not None:
            pool.shutdown(wait=not (broken or cancelled()), cancel_futures=True)


__all__ = ["Options", "add_arguments", "run_checks", "report_records", "Cache", "StreamingItems",
           "plain_finding", "CACHE_DIR_NAME"]
