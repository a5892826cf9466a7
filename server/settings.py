"""Editor settings: the ``settings`` object of ``initializationOptions`` and of
``workspace/didChangeConfiguration``, parsed into one defaulted dataclass.

Keys are camelCase (``perFileIgnores``) or the kebab-case of ``[tool.keras-migrate]``
(``per-file-ignores``).  The rule keys are validated by :meth:`Config.merged`, the same code
that validates pyproject.toml, one key at a time: a bad value is reported (the caller shows it
once) and that key falls back to its default.  Nothing here raises on user input.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional

from keras_migrate.config import Config, ConfigError, _CAMEL, _KEYS

LOG_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "warn": logging.WARNING,
              "info": logging.INFO, "debug": logging.DEBUG, "off": logging.CRITICAL + 10}
DEFAULT_DEBOUNCE_MS = 150
LINT_RUN = ("onType", "onSave")
PREFERENCES = ("editorFirst", "filesystemFirst", "editorOnly")
# keys the editor client uses itself; accepted and ignored here
CLIENT_ONLY = {"interpreter", "trace", "trusted", "path", "importStrategy", "showNotifications", "run"}


@dataclass(frozen=True)
class ServerSettings:
    # rule configuration, kebab-case keys as in [tool.keras-migrate]; only keys the user set
    rules: tuple[tuple[str, Any], ...] = ()
    log_level: str = "warning"
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    run_interpreter: str = ""
    lint_run: str = "onType"
    """``onType``: analyse after each edit (debounced); ``onSave``: on open and save only."""
    disable_rule_comment: bool = True
    """Offer the ``# noqa: Kxxx`` quick fix."""
    configuration_preference: str = "editorFirst"
    """How the editor settings and ``[tool.keras-migrate]`` combine (as ruff's): see
    ``server/configuration.py``."""

    # -- views --------------------------------------------------------------------------
    @property
    def table(self) -> dict[str, Any]:
        return dict(self.rules)

    @property
    def unsafe_fixes(self) -> bool:
        return bool(self.table.get("unsafe-fixes", False))

    @property
    def runInterpreter(self) -> str:  # noqa: N802 - the name the runner bridge reads
        return self.run_interpreter

    @property
    def logging_level(self) -> int:
        return LOG_LEVELS.get(self.log_level, logging.WARNING)

    def base_config(self) -> Config:
        """Config from these settings alone (already validated, so this cannot raise)."""
        return Config().merged(self.table, "editor settings")


def _plain(value: Any) -> Any:
    """JSON-ish copy: lsprotocol may hand us attrs objects or tuples."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def unwrap(raw: Any) -> Optional[Mapping[str, Any]]:
    """The settings mapping inside what a client sends.

    Accepts ``{"settings": {...}}`` (initializationOptions, and what some clients send on
    didChangeConfiguration), ``{"keras-migrate": {...}}`` (VS Code's ``synchronize``
    section), ``{"settings": {"keras-migrate": {...}}}`` and a bare settings object.
    """
    if not isinstance(raw, Mapping):
        return None
    for wrapper in ("settings", "keras-migrate", "kerasMigrate", "keras_migrate"):
        inner = raw.get(wrapper)
        if isinstance(inner, Mapping):
            return unwrap(inner) or inner
    return raw


def parse_settings(raw: Any, base: Optional[ServerSettings] = None) -> tuple[ServerSettings, list[str]]:
    """(settings, problems).  Every problem names the key and says which default is used."""
    problems: list[str] = []
    settings = ServerSettings() if base is None else base
    if raw is None:
        return settings, problems
    table = unwrap(raw)
    if table is None:
        return settings, [f"settings must be an object, got {type(raw).__name__}; using the defaults"]
    table = _plain(table)
    rules: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        kebab = _CAMEL.get(key, key)
        if kebab in _KEYS:
            value = _normalise_rule_value(kebab, value)
            if value is None:
                continue  # "unset": the client's way of saying "default"
            try:
                Config().merged({kebab: value}, "editor settings")
            except ConfigError as exc:
                problems.append(f"{exc}; using the default")
                continue
            rules[kebab] = value
        elif key in ("logLevel", "log-level"):
            level = str(value).strip().lower() if isinstance(value, str) else None
            if level not in LOG_LEVELS:
                problems.append(f"invalid `logLevel`: {value!r} is not one of error, warning, info, "
                                f"debug; using the default")
            else:
                changes["log_level"] = "warning" if level == "warn" else level
        elif key in ("debounceMs", "debounce-ms"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value <= 10_000):
                problems.append(f"invalid `debounceMs`: {value!r} is not a number of milliseconds "
                                f"between 0 and 10000; using the default ({DEFAULT_DEBOUNCE_MS})")
            else:
                changes["debounce_ms"] = int(round(value))
        elif key in ("runInterpreter", "run-interpreter"):
            if value is None or value == "":
                changes["run_interpreter"] = ""
            elif not isinstance(value, str):
                problems.append(f"invalid `runInterpreter`: {value!r} is not a path; using the default")
            else:
                changes["run_interpreter"] = value.strip()
        elif key in ("lintRun", "lint"):
            value = value.get("run") if key == "lint" and isinstance(value, Mapping) else value
            if value not in LINT_RUN:
                problems.append(f"invalid `lint.run`: {value!r} is not onType or onSave; using onType")
            else:
                changes["lint_run"] = value
        elif key in ("disableRuleComment", "codeAction"):
            if key == "codeAction" and isinstance(value, Mapping):
                value = (value.get("disableRuleComment") or {}).get("enable", True) \
                    if isinstance(value.get("disableRuleComment"), Mapping) else True
            if not isinstance(value, bool):
                problems.append(f"invalid `codeAction.disableRuleComment.enable`: {value!r} is not true or "
                                f"false; using true")
            else:
                changes["disable_rule_comment"] = value
        elif key == "configurationPreference":
            if value not in PREFERENCES:
                problems.append(f"invalid `configurationPreference`: {value!r} is not one of "
                                f"{', '.join(PREFERENCES)}; using editorFirst")
            else:
                changes["configuration_preference"] = value
        elif key in CLIENT_ONLY:
            continue
        else:
            problems.append(f"unknown setting `{key}` ignored")
    return replace(settings, rules=tuple(sorted(rules.items())), **changes), problems


def _normalise_rule_value(kebab: str, value: Any) -> Any:
    """Editor defaults that mean "not set": empty select, empty keras-version."""
    if value is None:
        return None
    if kebab == "select" and isinstance(value, list) and not value:
        return None
    if kebab == "keras-version" and isinstance(value, str) and not value.strip():
        return None
    if kebab == "target-backends" and isinstance(value, list) and not value:
        return None
    if kebab in ("ignore", "exclude", "per-file-ignores") and isinstance(value, (list, dict)) and not value:
        return None  # an empty list sets nothing (so editorFirst does not clear the file's)
    return value
