"""The editor settings, declared once.

Each :class:`Setting` is one ``keras-migrate.*`` key of the VS Code extension: its JSON type,
default, scope and description (what ``package.json``'s ``contributes.configuration`` says
about it), which side reads it (the server, or the client alone), and, for the rule keys, the
``[tool.keras-migrate]`` key it stands for.  Three readers, no copies:

* ``package.json``'s ``contributes.configuration`` is generated from :data:`SETTINGS`
  (``python scripts/generate_package_json.py``; ``tests/server/test_settings_schema.py``
  fails when it is stale, as ``tests/cli/test_cli.py`` checks ``docs/rules.md``);
* the server validates what a client sends with :func:`parse_value` (the rule keys through
  :meth:`keras_migrate.config.Config.merged`, the code that validates ``pyproject.toml``);
* ``client-vscode/src/config.ts`` forwards the server's keys without checking them, from the
  key list generated with package.json (``client-vscode/src/settingsKeys.ts``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from .config import BACKENDS, Config, ConfigError

TITLE = "Keras Migrate"
SECTION = "keras-migrate"


class SettingError(ValueError):
    """A value that does not fit its setting (the message says why; the key falls back)."""


@dataclass(frozen=True)
class Setting:
    name: str                          # below ``keras-migrate.``, dotted as in package.json
    schema: dict                       # JSON schema of the value (type, items, enum, ...)
    default: Any
    description: str                   # package.json's markdownDescription
    scope: str = "resource"
    reader: str = "server"             # "server": sent to and read by the server; "client": the extension alone
    wire: Optional[str] = None         # the key the client sends, when not ``name`` (``lint.run`` -> ``lintRun``)
    aliases: tuple[str, ...] = ()      # other keys the server accepts for it (kebab-case, ...)
    config_key: Optional[str] = None   # the ``[tool.keras-migrate]`` key of a rule setting
    field: Optional[str] = None        # the ServerSettings attribute of a server setting
    also: tuple = ()                   # values the server accepts beyond the schema's enum
    contributed: bool = True           # written into package.json
    restart: bool = False              # the client restarts the server when it changes
    convert: Optional[Callable[[Any], Any]] = None   # the value as the server keeps it

    @property
    def key(self) -> str:
        """What the client sends."""
        return self.wire or self.name

    def package_json(self) -> dict:
        out = dict(self.schema)
        out["default"] = self.default
        out["scope"] = self.scope
        out["markdownDescription"] = self.description
        return out


def _interpreter(value: str) -> str:
    return value.strip()


def _level(value: str) -> str:
    value = value.strip().lower()
    return "warning" if value == "warn" else value


SETTINGS: tuple[Setting, ...] = (
    Setting("importStrategy", {"type": "string", "enum": ["useBundled", "fromEnvironment"], "enumDescriptions": [
        "Run the keras-migrate server shipped with the extension (with all its libraries), in any Python "
        "3.10-3.13. Nothing is installed into your environment.",
        "Run the keras-migrate installed in the interpreter's environment (`python -m keras_migrate server`); "
        "it must be installed there."]},
        default="useBundled", reader="client", restart=True,
        description="Where the keras-migrate server comes from. `useBundled` (default): the copy shipped in the "
        "extension, started with `keras-migrate.interpreter` (else the Python extension's interpreter, else "
        "`python3`) in isolated mode (`python -I`), so the project environment is never touched. "
        "`fromEnvironment`: the version installed in that interpreter. Changing it restarts the server. Ignored "
        "at workspace level in an untrusted workspace."),
    Setting("interpreter", {"type": "string"}, default="", reader="client", restart=True,
            description="Python interpreter (3.10 or newer) that runs the keras-migrate server and, unless "
            "`keras-migrate.runInterpreter` is set, your code for *Run File on Backend*. Empty: the interpreter "
            "selected in the Python extension for the workspace folder, else `python3`. With `importStrategy: "
            "useBundled` any Python 3.10-3.13 works: the server and its libraries ship in the extension. "
            "`${workspaceFolder}` and `~` are expanded. In a multi-root workspace each folder can name its own. "
            "Changing it restarts the server. Ignored at workspace level in an untrusted workspace."),
    Setting("runInterpreter", {"type": "string"}, default="", field="run_interpreter",
            aliases=("run-interpreter",), convert=_interpreter,
            description="Python interpreter that *Run File on Backend* and *Debug File on Backend* run your file "
            "in (it needs Keras 3 and the backend packages). Empty: `keras-migrate.interpreter`, else the Python "
            "extension's interpreter, else `python3`. `${workspaceFolder}` and `~` are expanded. Never used in an "
            "untrusted workspace."),
    Setting("select", {"type": "array", "items": {"type": "string"}}, default=[], config_key="select",
            description="Rule codes or prefixes to enable (e.g. `K1`, `K101`). Empty: the default rule set. Same "
            "as `select` in `[tool.keras-migrate]`; which of the two wins is `keras-migrate.configurationPreference`."),
    Setting("extendSelect", {"type": "array", "items": {"type": "string"}}, default=[],
            config_key="extend-select", contributed=False,
            description="Rule codes or prefixes to enable on top of `select`. Same as `extend-select` in "
            "`[tool.keras-migrate]`."),
    Setting("ignore", {"type": "array", "items": {"type": "string"}}, default=[], config_key="ignore",
            description="Rule codes or prefixes to disable. Same as `ignore` in `[tool.keras-migrate]`; which of "
            "the two wins is `keras-migrate.configurationPreference`."),
    Setting("perFileIgnores", {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            default={}, config_key="per-file-ignores",
            description="Map of glob pattern to rule codes ignored in matching files, e.g. `{\"tests/**\": "
            "[\"K3\"]}`. Same as `per-file-ignores` in `[tool.keras-migrate]`."),
    Setting("exclude", {"type": "array", "items": {"type": "string"}}, default=[], config_key="exclude",
            description="Glob patterns of files the server does not analyse (in addition to `.gitignore`d ones). "
            "Same as `exclude` in `[tool.keras-migrate]`."),
    Setting("targetBackends", {"type": "array", "items": {"type": "string", "enum": list(BACKENDS), "enumDescriptions": [
        "TensorFlow backend (KERAS_BACKEND=tensorflow)", "JAX backend (KERAS_BACKEND=jax)",
        "PyTorch backend (KERAS_BACKEND=torch)"]}, "uniqueItems": True},
        default=["tensorflow"], config_key="target-backends",
        description="Keras 3 backends the code must run on. Portability rules (raw `tf.*` calls and the like) "
        "report only when a non-TensorFlow backend is listed. Shown in the status bar."),
    Setting("kerasVersion", {"type": "string"}, default="", config_key="keras-version",
            description="Keras 3 version the code targets (e.g. `3.6`). Empty: the newest version the rules know."),
    Setting("unsafeFixes", {"type": "boolean"}, default=False, config_key="unsafe-fixes",
            description="Offer fixes that may change behaviour as quick fixes (never applied by fix-all on save). "
            "For fix-all on save use `\"editor.codeActionsOnSave\": {\"source.fixAll.keras-migrate\": \"explicit\"}`."),
    Setting("logLevel", {"type": "string", "enum": ["error", "warning", "info", "debug"]}, default="warning",
            scope="window", field="log_level", aliases=("log-level",), restart=True, also=("warn", "off"), convert=_level,
            description="Server log level (shown in the *Keras Migrate* output channel). Changing it restarts "
            "the server."),
    Setting("debounceMs", {"type": "number", "minimum": 0, "maximum": 10000}, default=150, scope="window",
            field="debounce_ms", aliases=("debounce-ms",), convert=lambda v: int(round(v)),
            description="Milliseconds the server waits after the last edit before it analyses the document again."),
    Setting("trace.server", {"type": "string", "enum": ["off", "messages", "verbose"]}, default="off",
            scope="window", reader="client",
            description="How much of the LSP message trace between VS Code and the keras-migrate server to log: "
            "`messages` or `verbose`. The trace is written while the *Keras Migrate* output channel's log level is "
            "**Trace** (Output view → gear icon, or *Developer: Set Log Level...*); `off` then logs messages only."),
    Setting("configurationPreference", {"type": "string", "enum": ["editorFirst", "filesystemFirst", "editorOnly"],
                                        "enumDescriptions": [
        "Settings made in the editor win over `[tool.keras-migrate]` in pyproject.toml; what the editor leaves "
        "unset comes from the file.",
        "`[tool.keras-migrate]` in pyproject.toml wins over the editor settings.",
        "Only the editor settings; pyproject.toml is not read."]},
        default="editorFirst", field="configuration_preference",
        description="How the editor settings and `[tool.keras-migrate]` in `pyproject.toml` combine (as ruff's "
        "`configurationPreference`)."),
    Setting("lint.run", {"type": "string", "enum": ["onType", "onSave"], "enumDescriptions": [
        "Analyse as you type (after `keras-migrate.debounceMs`).", "Analyse when the file is opened and saved."]},
        default="onType", wire="lintRun", field="lint_run", description="When diagnostics are computed."),
    Setting("codeAction.disableRuleComment.enable", {"type": "boolean"}, default=True, wire="disableRuleComment",
            field="disable_rule_comment",
            description="Offer a quick fix that adds `# noqa: Kxxx` to silence a finding on its line."),
    Setting("run.smoke", {"type": "boolean"}, default=False, reader="client",
            description="*Run File on Backend* and *Compare Backends* run in smoke mode by default (`keras-migrate "
            "run --smoke`: training and data loops cut short, to check that the code runs on a backend quickly). The "
            "run commands also ask each time through the *smoke run* choice."),
)

BY_KEY: dict[str, Setting] = {}
for _s in SETTINGS:
    for _k in {_s.name, _s.key, *_s.aliases, *((_s.config_key,) if _s.config_key else ())}:
        BY_KEY[_k] = _s
# keys some clients send that are no setting of ours: accepted, ignored
# (and the heads of the client's dotted keys when they come as something else than a table)
IGNORED = frozenset({"trusted", "path", "showNotifications", "trace", "run"})


def server_keys() -> list[str]:
    """The keys the client sends to the server, in order."""
    return [s.key for s in SETTINGS if s.reader == "server" and s.contributed]


def rule_keys() -> list[str]:
    """The server keys that are ``[tool.keras-migrate]`` keys (sent only when the user set them)."""
    return [s.key for s in SETTINGS if s.config_key and s.contributed]


def flatten(table: Mapping[str, Any]) -> dict[str, Any]:
    """``{"lint": {"run": "onSave"}}`` (VS Code's raw section) -> ``{"lint.run": "onSave"}``:
    a nested table is opened where a dotted setting starts with its key."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        prefix = f"{key}."
        if isinstance(value, Mapping) and key not in BY_KEY and any(n.startswith(prefix) for n in BY_KEY):
            for sub, v in flatten({f"{prefix}{k}": v for k, v in value.items()}).items():
                out[sub] = v
        else:
            out[key] = value
    return out


def _type_problem(schema: dict, value: Any) -> Optional[str]:
    kind = schema.get("type")
    if kind == "string" and not isinstance(value, str):
        return "is not a string"
    if kind == "boolean" and not isinstance(value, bool):
        return "is not true or false"
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "is not a number"
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return f"is not a number between {lo} and {hi}"
    return None


def parse_value(setting: Setting, value: Any) -> Any:
    """The value of a server setting as the server keeps it; ``SettingError`` says why not.
    A rule setting is validated as ``[tool.keras-migrate]`` is (its value stays as sent); the
    others by their JSON schema (type, enum, minimum and maximum) plus ``also``."""
    if setting.config_key is not None:
        try:
            Config().merged({setting.config_key: value}, "editor settings")
        except ConfigError as exc:
            raise SettingError(f"{exc}; using the default") from None
        return value
    if value is None:   # null: unset, as for the rule keys
        return setting.default
    why = _type_problem(setting.schema, value)
    enum = setting.schema.get("enum")
    if why is None and enum is not None:
        probe = setting.convert(value) if setting.convert is not None else value
        if probe not in enum and probe not in setting.also:
            why = f"is not one of {', '.join(enum)}"
    if why is not None:
        raise SettingError(f"invalid `{setting.name}`: {value!r} {why}; using the default ({setting.default!r})")
    return setting.convert(value) if setting.convert is not None else value


# -- package.json ---------------------------------------------------------------------------------
def package_configuration() -> dict:
    """package.json's ``contributes.configuration``."""
    return {"title": TITLE,
            "properties": {f"{SECTION}.{s.name}": s.package_json() for s in SETTINGS if s.contributed}}


def render_package_json(text: str) -> str:
    """``text`` (package.json) with its ``contributes.configuration`` generated."""
    data = json.loads(text)
    data.setdefault("contributes", {})["configuration"] = package_configuration()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# -- the client's key list ------------------------------------------------------------------------
TS_MODULE = "client-vscode/src/settingsKeys.ts"


def render_ts() -> str:
    """The client's module of keys (``client-vscode/src/settingsKeys.ts``): what it forwards
    to the server under which name, and which of them are rule keys."""
    pairs = ",\n".join(f"  {json.dumps(s.name)}: {json.dumps(s.key)}"
                       for s in SETTINGS if s.reader == "server" and s.contributed)
    restart = [s.name for s in SETTINGS if s.restart]
    return (
        "// Generated from server/keras_migrate/settings_schema.py by scripts/generate_package_json.py: do not edit.\n"
        "// The server validates every value (the schema's checks); the client only forwards them.\n\n"
        "/** package.json key below `keras-migrate.` -> the key the server reads. */\n"
        f"export const SERVER_KEYS = {{\n{pairs},\n}} as const;\n\n"
        "/** The `[tool.keras-migrate]` keys among them: sent only when the user set them. */\n"
        f"export const RULE_KEYS = {json.dumps(rule_keys())} as const;\n\n"
        "/** Settings that only take effect when the server process restarts. */\n"
        f"export const RESTART_KEYS = {json.dumps(restart)} as const;\n\n"
        "/** `keras-migrate.targetBackends` when unset. */\n"
        f"export const DEFAULT_TARGET_BACKENDS = {json.dumps(BY_KEY['targetBackends'].default)};\n"
    )


def generated(root: Path) -> dict[Path, str]:
    """What the generator writes under the repository ``root``: path -> text."""
    pkg = Path(root) / "package.json"
    return {pkg: render_package_json(pkg.read_text(encoding="utf-8")), Path(root) / TS_MODULE: render_ts()}
