"""Which configuration and which linter a file gets: the editor settings and the nearest
``[tool.keras-migrate]``, combined as ``configurationPreference`` says (ruff's setting of the
same name and meaning): ``editorFirst`` (the default) -- what the editor sets wins, the rest
comes from pyproject.toml; ``filesystemFirst`` -- pyproject.toml wins; ``editorOnly`` --
pyproject.toml is not read.  One ``Linter`` per configuration, one workspace index per
workspace folder.  Thread-safe (the analysis runs in a worker thread); knows no protocol.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Optional

from keras_migrate.config import Config, ConfigError, ConfigResolver
from keras_migrate.service import Linter, registry

log = logging.getLogger("keras_migrate.server")

try:  # the cross-file workspace index (jedi); the server works without it
    from keras_migrate.engine.workspace import WorkspaceIndex  # type: ignore
except Exception:  # pragma: no cover - depends on the tree
    WorkspaceIndex = None  # type: ignore


class Configurations:
    def __init__(self, roots: Callable[[], list[Path]], report: Callable[[str], None]) -> None:
        self.workspace_roots = roots      # the workspace folders, now
        self.show_once = report           # tell the user about a broken pyproject.toml, once
        self.base = Config()              # from the editor settings alone
        self.editor_table: dict = {}      # the keys the editor sets (on top, for editorFirst)
        self.preference = "editorFirst"
        self._lock = threading.RLock()
        # the CLI's configuration model: the nearest [tool.keras-migrate] per file, on top of
        # the editor settings here (the pyproject wins, as ruff's configurationPreference default)
        self._resolver = ConfigResolver(base=self.base)
        self._fallback: dict[str, Config] = {}
        self._linters: dict[tuple, Linter] = {}
        self._indexes: dict[str, Any] = {}

    def set_base(self, base: Config, editor_table: Optional[dict] = None,
                 preference: str = "filesystemFirst") -> None:
        self.base = base
        self.editor_table = dict(editor_table or {})
        self.preference = preference
        self.clear()

    def _new_resolver(self) -> ConfigResolver:
        if self.preference == "editorFirst":
            # the file over the editor settings, then the keys the editor sets on top again
            return ConfigResolver(base=self.base, overrides=self.editor_table, origin="editor settings")
        return ConfigResolver(base=self.base)

    def clear(self) -> None:
        with self._lock:
            self._resolver = self._new_resolver()
            self._fallback.clear()
            self._linters.clear()

    def folder_for(self, path: Optional[Path]) -> Optional[Path]:
        if path is None:
            return None
        roots = self.workspace_roots()
        best = None
        for r in roots:
            try:
                path.relative_to(r)
            except ValueError:
                continue
            if best is None or len(r.parts) > len(best.parts):
                best = r
        return best

    def config_for(self, path: Optional[Path]) -> Config:
        """Editor settings, then the nearest ``[tool.keras-migrate]`` on top (it wins)."""
        base = self.base
        if path is None:
            return base
        root = self.folder_for(path) or path.parent
        if self.preference == "editorOnly":
            return replace(base, root=str(root))
        resolver = self._resolver
        try:
            return resolver.for_path(path, default_root=root)
        except ConfigError as exc:
            pp = resolver.pyproject_for(path.parent)
            key = str(pp)
            with self._lock:
                cfg = self._fallback.get(key)
            if cfg is None:
                self.show_once(f"{exc}; using the editor settings and defaults")
                cfg = replace(base, root=str(pp.parent if pp else root))
                with self._lock:
                    self._fallback[key] = cfg
            return cfg

    def workspace_index(self, path: Optional[Path]):
        if WorkspaceIndex is None:
            return None
        root = self.folder_for(path)
        if root is None:
            return None
        with self._lock:
            idx = self._indexes.get(str(root))
            if idx is None:
                try:
                    idx = WorkspaceIndex(str(root))
                except Exception as exc:
                    log.warning("workspace index for %s unavailable: %s", root, exc)
                    idx = False
                self._indexes[str(root)] = idx
        return idx or None

    def linter_for(self, cfg: Config, path: Optional[Path]) -> Linter:
        index = self.workspace_index(path)
        key = (cfg, id(index))
        with self._lock:
            lin = self._linters.get(key)
            if lin is None:
                lin = self._linters[key] = Linter(cfg, rules=registry(), workspace=index)
        return lin

    def invalidate_index(self, path: Optional[Path]) -> None:
        if WorkspaceIndex is None or path is None:
            return
        idx = self.workspace_index(path)
        if idx is not None and hasattr(idx, "invalidate"):
            try:
                idx.invalidate(str(path))
            except Exception as exc:
                log.debug("index invalidate failed: %s", exc)
