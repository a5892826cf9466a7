"""Editor settings: the ``settings`` object of ``initializationOptions`` and of
``workspace/didChangeConfiguration``, parsed into one defaulted dataclass.

The keys, their defaults and their checks are the settings schema's
(``keras_migrate.settings_schema``, which package.json's configuration is generated from):
camelCase (``perFileIgnores``), the kebab-case of ``[tool.keras-migrate]`` (``per-file-ignores``)
or VS Code's nested tables (``{"lint": {"run": ...}}``).  The rule keys are validated by
:meth:`Config.merged`, the same code that validates pyproject.toml, one key at a time: a bad
value is reported (the caller shows it once) and that key falls back to its default.  Nothing
here raises on user input.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional

from keras_migrate import settings_schema as schema
from keras_migrate.config import Config

LOG_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "warn": logging.WARNING,
              "info": logging.INFO, "debug": logging.DEBUG, "off": logging.CRITICAL + 10}
DEFAULT_DEBOUNCE_MS = schema.BY_KEY["debounceMs"].default


def _default(key: str) -> Any:
    return schema.BY_KEY[key].default


@dataclass(frozen=True)
class ServerSettings:
    # rule configuration, kebab-case keys as in [tool.keras-migrate]; only keys the user set
    rules: tuple[tuple[str, Any], ...] = ()
    log_level: str = _default("logLevel")
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    run_interpreter: str = _default("runInterpreter")
    lint_run: str = _default("lint.run")
    """``onType``: analyse after each edit (debounced); ``onSave``: on open and save only."""
    disable_rule_comment: bool = _default("codeAction.disableRuleComment.enable")
    """Offer the ``# noqa: Kxxx`` quick fix."""
    configuration_preference: str = _default("configurationPreference")
    """How the editor settings and ``[tool.keras-migrate]`` combine (as ruff's): see
    ``server/keras_migrate/server/configuration.py``."""

    # -- views --------------------------------------------------------------------------
    @property
    def table(self) -> dict[str, Any]:
        return dict(self.rules)

    @property
    def unsafe_fixes(self) -> bool:
        return bool(self.table.get("unsafe-fixes", False))

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
    """(settings, problems).  Every problem names the key and says which default is used.
    Each key is looked up in the settings schema (``keras_migrate.settings_schema``) and its
    value validated there; the client's own keys are accepted and ignored."""
    problems: list[str] = []
    settings = ServerSettings() if base is None else base
    if raw is None:
        return settings, problems
    table = unwrap(raw)
    if table is None:
        return settings, [f"settings must be an object, got {type(raw).__name__}; using the defaults"]
    rules: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for key, value in schema.flatten(_plain(table)).items():
        setting = schema.BY_KEY.get(key)
        if setting is None:
            if key not in schema.IGNORED:
                problems.append(f"unknown setting `{key}` ignored")
            continue
        if setting.reader != "server":
            continue
        if setting.config_key is not None:
            value = _normalise_rule_value(setting.config_key, value)
            if value is None:
                continue  # "unset": the client's way of saying "default"
        try:
            value = schema.parse_value(setting, value)
        except schema.SettingError as exc:
            problems.append(str(exc))
            continue
        if setting.config_key is not None:
            rules[setting.config_key] = value
        else:
            changes[setting.field] = value
    return replace(settings, rules=tuple(sorted(rules.items())), **changes), problems


def _normalise_rule_value(kebab: str, value: Any) -> Any:
    """Editor defaults that mean "not set": empty select, empty keras-version.  A settings UI's
    blank list items are dropped (the client used to drop them; the server now sees raw values)."""
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = [v for v in value if v.strip()]
    if kebab == "select" and isinstance(value, list) and not value:
        return None
    if kebab == "keras-version" and isinstance(value, str) and not value.strip():
        return None
    if kebab == "target-backends" and isinstance(value, list) and not value:
        return None
    if kebab in ("ignore", "exclude", "per-file-ignores") and isinstance(value, (list, dict)) and not value:
        return None  # an empty list sets nothing (so editorFirst does not clear the file's)
    return value
