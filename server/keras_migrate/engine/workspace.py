"""The cross-file workspace index: what a name imported from another module of the user's
workspace *is* (a Keras Layer/Model subclass, a function returning a model, ...).

``Knowledge`` asks it two questions about names it sees imported from non-Keras modules:

    class_kinds(module, name, level, from_path) -> frozenset of kinds (``{"layer"}``, ...)
    value_kind(module, name, level, from_path)  -> kind of ``name(...)`` for a function or
                                                   class, of the object for a module-level
                                                   value; None when unknown

How an answer is found:

1. **Is it the workspace's at all?** Relative imports always are; an absolute import only
   when its top-level package is a ``.py`` file or folder in one of the search roots (the
   importing file's folder, the workspace root, ``root/src``). Everything else (numpy,
   typing, site-packages) is answered empty at the cost of a dictionary lookup.
2. **Where is it defined?** jedi resolves the import (``goto(follow_imports=True)``: through
   packages, ``__init__`` re-exports and ``as`` aliases) with a project whose ``sys_path`` is
   only the search roots, in ``jedi.InterpreterEnvironment()`` (no subprocess, and no
   environment probing that imports TensorFlow), on a synthetic one-line script whose path
   is a non-existent file beside the importer (a real path would poison jedi's parser
   cache with the synthetic text). Only definitions in ``.py`` files under the root are
   accepted. When jedi is missing or finds nothing, the module's file is found by path.
3. **What is it?** The definition file is analysed with our own engine pieces (``ast`` +
   ``Resolver`` + ``Knowledge`` with this index as its workspace), so a base class imported
   from a third module is asked of the index again: chains of bases across several modules
   work, cycles end empty.

Costs and guarantees: nothing is imported or executed (jedi only parses; the test suite
checks ``sys.modules`` gains no tensorflow/keras/torch). jedi runs on one daemon worker
thread; each top-level query has a deadline (``timeout_s``): past it the query answers empty
and caches nothing, while jedi's answer, when it comes, is kept for the next call. Parsed
files are cached by (path, mtime, size); answers are cached with the (path, mtime) of every
file they read and re-validated by ``stat`` on use; ``invalidate(path)`` drops what depends
on that file (``invalidate()`` everything). All public methods are thread-safe (one re-entrant lock per index).
"""
from __future__ import annotations

import ast
import logging
import os
import queue
import stat
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as _FutureTimeout
from dataclasses import dataclass, field
from typing import Callable, Optional

from .astutil import parse_quietly
from .knowledge import LAYER, MODEL, Knowledge
from .resolve import Resolver

log = logging.getLogger("keras_migrate.workspace")

_MAX_DEPTH = 24           # modules followed in one chain of bases/returns (each costs ~10 frames)
# parsed modules kept (least recently used evicted): a tree costs ~100x its source in memory, and
# a workspace report over thousands of files reaches many; an evicted module is parsed again when
# a later query reads it (answers are cached separately, validated by mtime)
MAX_PARSED_FILES = 256
_QUERY_FILE = "__keras_migrate_query__.py"   # never written; jedi only needs a path for `from .`
_DEFS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class _File:
    stamp: tuple[float, int]        # (mtime, size)
    tree: ast.Module
    resolver: Resolver
    module_name: str


@dataclass
class _Frame:
    """One query in progress on this thread: what it read and whether it ran out of time."""

    deps: dict[str, tuple[float, int]] = field(default_factory=dict)
    tainted: bool = False


@dataclass(frozen=True)
class Definition:
    """Where an imported name is defined: a workspace file and the name there."""

    path: str
    name: str
    line: Optional[int] = None


class _Timeout(Exception):
    pass


@dataclass
class Recording:
    """What the queries of one analysis depended on (for a results cache): every workspace
    file read, with its (mtime, size); whether a query ran out of time (its answer may
    differ next time) or asked about a workspace module it did not find (a file created
    later could answer it)."""

    deps: dict[str, tuple[float, int]] = field(default_factory=dict)
    tainted: bool = False
    unresolved: bool = False


class _Recorder:
    def __init__(self, index: "WorkspaceIndex"):
        self.index = index
        self.rec = Recording()
        self.prev = None

    def __enter__(self) -> Recording:
        self.prev = getattr(self.index._local, "sink", None)
        self.index._local.sink = self.rec
        return self.rec

    def __exit__(self, *exc) -> None:
        self.index._local.sink = self.prev


class WorkspaceIndex:
    def __init__(self, root: str, timeout_s: float = 2.0, max_parsed: int = MAX_PARSED_FILES):
        self.root = os.path.realpath(root)
        self.timeout_s = timeout_s
        self.max_parsed = max(1, max_parsed)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._files: "OrderedDict[str, _File]" = OrderedDict()
        self._results: dict[tuple, tuple[object, dict[str, tuple[float, int]]]] = {}
        self._tops: dict[tuple[str, str], bool] = {}
        # jedi answers: key -> Definition | None; written by the worker thread too
        self._resolved: dict[tuple, Optional[Definition]] = {}
        self._pending: dict[tuple, Future] = {}
        self._jedi_lock = threading.Lock()
        self._jobs: "queue.Queue[tuple[tuple, Future]]" = queue.Queue()
        self._worker: Optional[threading.Thread] = None
        self._jedi = None            # (module, environment) once loaded; False if unavailable
        self._projects: dict[tuple[str, ...], object] = {}
        self.stats = {"queries": 0, "jedi_calls": 0, "timeouts": 0, "parsed": 0}

    # -- public API -------------------------------------------------------------------------
    def class_kinds(self, module: str, name: str, level: int = 0, from_path: Optional[str] = None) -> frozenset:
        """Kinds of the class ``name`` imported ``from <level dots><module>`` in ``from_path``."""
        got = self._query("class", module, name, level, from_path)
        return got if isinstance(got, frozenset) else frozenset()

    def value_kind(self, module: str, name: str, level: int = 0, from_path: Optional[str] = None) -> Optional[str]:
        """Kind of what ``name(...)`` returns (a function's return value, a class's instance),
        or of the object itself for a module-level value; None when unknown."""
        got = self._query("value", module, name, level, from_path)
        return got if isinstance(got, str) else None

    def invalidate(self, path: Optional[str] = None) -> None:
        """A file changed, appeared or went away (None: anything may have changed).

        Targeted and cheap, since the server calls it on every edit: drops the file's parse,
        the answers that read it, negative "not in the workspace" answers and jedi's answers
        that pointed into it or found nothing. (Answers are also re-validated by mtime on use,
        so a saved change is seen even without a call.)"""
        with self._lock:
            if path is None:
                self._files.clear()
                self._results.clear()
                self._tops.clear()
                with self._jedi_lock:
                    self._resolved.clear()
                    self._projects.clear()
                return
            rp = os.path.realpath(path)
            self._files.pop(rp, None)
            for key in [k for k, (_, deps) in self._results.items() if rp in deps]:
                del self._results[key]
            for key in [k for k, v in list(self._tops.items()) if not v]:   # read lock-free elsewhere
                self._tops.pop(key, None)
            with self._jedi_lock:
                for key in [k for k, d in self._resolved.items() if d is None or d.path == rp]:
                    del self._resolved[key]

    def recording(self) -> _Recorder:
        """``with index.recording() as rec:`` collects, for the queries made inside on this
        thread, what their answers depended on (``Recording``)."""
        return _Recorder(self)

    def warm_up(self) -> None:
        """Load jedi on the worker thread now (non-blocking), so the first cross-file question
        does not pay its import and grammar generation (~0.4 s here). For the language
        server's ``initialized``."""
        with self._jedi_lock:
            self._start_worker()
            self._jobs.put((None, Future()))

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="keras-migrate-jedi", daemon=True)
            self._worker.start()

    def resolve(self, module: str, name: str, level: int = 0,
                from_path: Optional[str] = None) -> Optional[Definition]:
        """Where an imported name is defined in the workspace (None: not a workspace name)."""
        with self._lock:
            try:
                return self._run_top(lambda: self._locate(module, name, level, from_path))
            except _Timeout:
                return None

    # -- query machinery --------------------------------------------------------------------
    def _stack(self) -> list[_Frame]:
        st = getattr(self._local, "stack", None)
        if st is None:
            st = self._local.stack = []
        return st

    def _run_top(self, fn: Callable[[], object]):
        """Run fn as a query: top-level ones get a deadline and a fresh set of analyses."""
        loc = self._local
        top = not self._stack()
        if top:
            loc.deadline = time.monotonic() + self.timeout_s
            loc.knowledge = {}
            loc.active = set()
        try:
            return fn()
        finally:
            if top:
                loc.knowledge = {}
                loc.active = set()

    def _query(self, what: str, module: str, name: str, level: int, from_path: Optional[str]):
        if not name or name == "*":
            return None
        # cheap exit, no lock: an absolute import of something that is not the workspace's
        if not level and not self._is_workspace_module(module, from_path):
            return None
        with self._lock:
            self.stats["queries"] += 1
            try:
                return self._run_top(lambda: self._answer(what, module, name, level, from_path))
            except RecursionError:     # a pathological chain: answer empty, cache nothing
                self._local.stack = []
                return None

    def _answer(self, what, module, name, level, from_path):
        loc = self._local
        stack = self._stack()
        if stack and time.monotonic() > loc.deadline:
            self._taint()
            return None
        if len(stack) >= _MAX_DEPTH:   # too deep to follow now: empty, and nothing cached on the way
            for f in stack:
                f.tainted = True
            return None
        sink = getattr(loc, "sink", None) if not stack else None
        try:
            d = self._locate(module, name, level, from_path)
        except _Timeout:
            return None
        if d is None:
            if sink is not None:
                sink.unresolved = True
            return None
        key = (what, d.path, d.name)
        cached = self._results.get(key)
        if cached is not None and self._deps_fresh(cached[1]):
            for f in stack:
                f.deps.update(cached[1])
            if sink is not None:
                sink.deps.update(cached[1])
            return cached[0]
        if key in loc.active:          # a cycle of imports/bases: nothing to learn from it
            return None
        loc.active.add(key)
        frame = _Frame()
        stack.append(frame)
        try:
            value = self._analyse(what, d)
        finally:
            stack.pop()
            loc.active.discard(key)
        for f in stack:
            f.deps.update(frame.deps)
            f.tainted = f.tainted or frame.tainted
        if sink is not None:
            sink.deps.update(frame.deps)
            sink.tainted = sink.tainted or frame.tainted
        if not frame.tainted:
            self._results[key] = (value, dict(frame.deps))
        return value

    def _taint(self) -> None:
        self.stats["timeouts"] += 1
        sink = getattr(self._local, "sink", None)
        if sink is not None:
            sink.tainted = True
        for f in self._stack():
            f.tainted = True

    def _deps_fresh(self, deps: dict[str, tuple[float, int]]) -> bool:
        for path, stamp in deps.items():
            if _stamp(path) != stamp:
                return False
        return True

    # -- what a definition is ---------------------------------------------------------------
    def _analyse(self, what: str, d: Definition):
        entry = self._file(d.path)
        if entry is None:
            return None
        kn = self._knowledge(d.path, entry)
        stmt = _top_binding(entry.tree, d.name, d.line)
        ref = ast.Name(id=d.name, ctx=ast.Load())
        if what == "class":
            if isinstance(stmt, ast.ClassDef):
                return kn.class_kinds(stmt)
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None \
                    and entry.resolver.qualname(ref) is None:
                return kn.base_kinds(stmt.value)          # Base = OtherBase
            return kn.base_kinds(ref)                     # imported (Keras or workspace) or local
        # value
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return kn.function_return_kind(stmt)
        if isinstance(stmt, ast.ClassDef):
            kinds = kn.class_kinds(stmt)
            return MODEL if MODEL in kinds else (sorted(kinds)[0] if kinds else None)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and entry.resolver.qualname(ref) is None:
            return kn.value_kind(ref)                     # a module-level object
        return kn.value_kind(ast.Call(func=ref, args=[], keywords=[]))   # imported callable

    def _knowledge(self, path: str, entry: _File) -> Knowledge:
        cache = self._local.knowledge
        kn = cache.get(path)
        if kn is None:
            kn = cache[path] = Knowledge(entry.tree, entry.resolver, self, entry.module_name, path)
        return kn

    def _file(self, path: str) -> Optional[_File]:
        # never read outside the workspace, also not through a symlink inside it
        if not _under(os.path.realpath(path), self.root):
            return None
        stamp = _stamp(path)
        if stamp is None:
            return None
        for f in self._stack():
            f.deps[path] = stamp
        with self._lock:
            entry = self._files.get(path)
            if entry is not None and entry.stamp == stamp:
                self._files.move_to_end(path)
                return entry
        try:
            # a regular file within the size limit only (a FIFO swapped in after the stat above,
            # or a huge generated module, must not hang or exhaust the index)
            from keras_migrate.fsio import read_file
            tree = parse_quietly(read_file(path).data, filename=path)
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        self.stats["parsed"] += 1
        entry = _File(stamp, tree, Resolver(tree), self._module_name(path))
        with self._lock:
            self._files[path] = entry
            self._files.move_to_end(path)
            while len(self._files) > self.max_parsed:
                self._files.popitem(last=False)
        return entry

    def _module_name(self, path: str) -> str:
        rel = os.path.relpath(path, self.root)
        for r in self._roots(None)[1:]:
            if _under(path, r):
                rel = os.path.relpath(path, r)
        parts = rel[:-3].split(os.sep) if rel.endswith(".py") else rel.split(os.sep)
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)

    # -- where a name is defined ----------------------------------------------------------------
    def _roots(self, from_path: Optional[str]) -> tuple[str, ...]:
        roots = []
        if from_path:
            d = os.path.dirname(os.path.realpath(from_path))
            if _under(d, self.root):
                roots.append(d)
        roots.append(self.root)
        src = os.path.join(self.root, "src")
        if os.path.isdir(src):
            roots.append(src)
        out = []
        for r in roots:
            if r not in out:
                out.append(r)
        return tuple(out)

    def _is_workspace_module(self, module: str, from_path: Optional[str]) -> bool:
        top = (module or "").split(".")[0]
        if not top:
            return False
        fdir = os.path.dirname(from_path) if from_path else ""
        key = (fdir, top)
        got = self._tops.get(key)
        if got is None:
            got = any(os.path.isfile(os.path.join(r, top + ".py")) or os.path.isdir(os.path.join(r, top))
                      for r in self._roots(from_path))
            self._tops[key] = got
        return got

    def _locate(self, module: str, name: str, level: int, from_path: Optional[str]) -> Optional[Definition]:
        if level and not (from_path and _under(os.path.realpath(from_path), self.root)):
            return None
        roots = self._roots(from_path)
        base_dir = os.path.dirname(os.path.realpath(from_path)) if from_path else self.root
        key = (roots, base_dir, module, name, level)
        d = self._jedi_goto(key)
        if d is None:   # jedi unavailable, or it found no workspace definition
            d = self._by_path(module, name, level, base_dir, roots)
        return d

    def _by_path(self, module, name, level, base_dir, roots) -> Optional[Definition]:
        """Fallback without jedi: the module's file, and the name looked up in it by us."""
        if level:
            d = base_dir
            for _ in range(level - 1):
                d = os.path.dirname(d)
            candidates = [d]
        else:
            candidates = list(roots)
        parts = [p for p in (module or "").split(".") if p]
        for c in candidates:
            base = os.path.join(c, *parts) if parts else c
            if parts:
                for f in (base + ".py", os.path.join(base, "__init__.py")):
                    if os.path.isfile(f) and _under(os.path.realpath(f), self.root):
                        return Definition(os.path.realpath(f), name)
            # from . import name / from pkg import submodule: a submodule is no class
            init = os.path.join(base, "__init__.py")
            if os.path.isfile(init) and _under(os.path.realpath(init), self.root):
                return Definition(os.path.realpath(init), name)
        return None

    def _jedi_goto(self, key: tuple) -> Optional[Definition]:
        """Ask jedi on the worker thread; wait until this query's deadline at most."""
        if self._jedi is False:
            return None
        with self._jedi_lock:
            if key in self._resolved:
                return self._resolved[key]
            fut = self._pending.get(key)
            if fut is None:
                fut = Future()
                self._pending[key] = fut
                self._jobs.put((key, fut))
                self._start_worker()
        remaining = self._local.deadline - time.monotonic()
        try:
            got = fut.result(timeout=max(remaining, 0.0))
        except _FutureTimeout:
            self._taint()
            raise _Timeout() from None
        return got

    def _work(self) -> None:
        while True:
            key, fut = self._jobs.get()
            if key is None:                     # warm_up(): load jedi and its grammars, answer nothing
                try:
                    self._load_jedi()
                    if self._jedi:
                        jedi, env = self._jedi
                        jedi.Script("pass\n", path=os.path.join(self.root, _QUERY_FILE), environment=env,
                                    project=jedi.Project(self.root, smart_sys_path=False,
                                                         load_unsafe_extensions=False, sys_path=[self.root]))
                except Exception as exc:  # best-effort
                    log.debug("jedi warm-up failed: %s", exc)
                fut.set_result(None)
                continue
            try:
                d = self._goto_now(key)
            except Exception as exc:  # jedi is best-effort; never let it take the server down
                log.debug("jedi failed on %r: %s", key, exc)
                d = None
            with self._jedi_lock:
                self._pending.pop(key, None)
                self._resolved[key] = d
            fut.set_result(d)

    def _load_jedi(self) -> None:
        if self._jedi is None:
            try:
                import jedi  # noqa: PLC0415 - loaded on the first cross-file question only
                self._jedi = (jedi, jedi.InterpreterEnvironment())
            except Exception:
                self._jedi = False

    def _goto_now(self, key: tuple):
        roots, base_dir, module, name, level = key
        self._load_jedi()
        if self._jedi is False:
            return None
        jedi, env = self._jedi
        self.stats["jedi_calls"] += 1
        with self._jedi_lock:
            project = self._projects.get(roots)
            if project is None:
                project = self._projects[roots] = jedi.Project(
                    self.root, smart_sys_path=False, load_unsafe_extensions=False, sys_path=list(roots))
        code = f"from {'.' * level}{module} import {name}"
        script = jedi.Script(code, path=os.path.join(base_dir, _QUERY_FILE), project=project, environment=env)
        names = script.goto(1, len(code) - 1, follow_imports=True)
        for n in names:
            mp = n.module_path
            if mp is None or n.type in ("module", "namespace"):
                continue
            p = os.path.realpath(str(mp))
            if p.endswith(".py") and _under(p, self.root) and os.path.basename(p) != _QUERY_FILE:
                return Definition(p, n.name, n.line)
        return None   # not found by jedi: the caller falls back to the path lookup


def _stamp(path: str) -> Optional[tuple[float, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
        return None
    return (st.st_mtime, st.st_size)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _top_binding(tree: ast.Module, name: str, line: Optional[int]) -> Optional[ast.AST]:
    """The module-level statement binding ``name`` (the one on ``line`` if given, else the last)."""
    found = None
    for stmt in tree.body:
        hit = False
        if isinstance(stmt, _DEFS):
            hit = stmt.name == name
        elif isinstance(stmt, ast.Assign):
            hit = any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)
        elif isinstance(stmt, ast.AnnAssign):
            hit = isinstance(stmt.target, ast.Name) and stmt.target.id == name
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            hit = any((a.asname or a.name.split(".")[0]) == name for a in stmt.names)
        if hit:
            found = stmt
            if line is not None and stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
                return stmt
    return found


__all__ = ["WorkspaceIndex", "Definition", "LAYER", "MODEL"]
