"""The editor settings have one source, server/keras_migrate/settings_schema.py: package.json's
``contributes.configuration`` and the client's key list are generated from it (stale files
fail here, as a stale docs/rules.md fails tests/cli/test_cli.py), and the server validates
every key with it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from keras_migrate import settings_schema as schema
from keras_migrate.config import Config
from keras_migrate.server.settings import ServerSettings, parse_settings

ROOT = Path(__file__).resolve().parents[2]

# a valid value other than the default, per server setting
EXAMPLES = {
    "runInterpreter": ("/opt/py/bin/python", "run_interpreter", "/opt/py/bin/python"),
    "select": (["K1"], "select", ("K1",)),
    "extendSelect": (["K6"], "extend_select", ("K6",)),
    "ignore": (["K5"], "ignore", ("K5",)),
    "perFileIgnores": ({"t/*": ["K1"]}, "per_file_ignores", (("t/*", ("K1",)),)),
    "exclude": (["build"], "exclude", ("build",)),
    "targetBackends": (["jax"], "target_backends", ("jax",)),
    "kerasVersion": ("3.6", "keras_version", "3.6"),
    "unsafeFixes": (True, "unsafe_fixes", True),
    "logLevel": ("DEBUG", "log_level", "debug"),
    "debounceMs": (80.4, "debounce_ms", 80),
    "configurationPreference": ("editorOnly", "configuration_preference", "editorOnly"),
    "lintRun": ("onSave", "lint_run", "onSave"),
    "disableRuleComment": (False, "disable_rule_comment", False),
}
SERVER = [s for s in schema.SETTINGS if s.reader == "server"]


def test_package_json_and_client_keys_are_generated_from_the_schema():
    for path, text in schema.generated(ROOT).items():
        assert path.read_text(encoding="utf-8") == text, \
            f"{path.relative_to(ROOT)} is stale: run `python scripts/generate_package_json.py`"


def test_the_generator_reports_and_fixes_a_stale_package_json(tmp_path):
    pkg = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    pkg["contributes"]["configuration"]["properties"]["keras-migrate.debounceMs"]["default"] = 7
    (tmp_path / "package.json").write_text(json.dumps(pkg, indent=2), encoding="utf-8")
    got = schema.generated(tmp_path)
    assert json.loads(got[tmp_path / "package.json"])["contributes"]["configuration"] == schema.package_configuration()
    assert json.loads(got[tmp_path / "package.json"])["name"] == pkg["name"]   # the rest is kept
    script = ROOT / "scripts" / "generate_package_json.py"
    rc = subprocess.run([sys.executable, str(script), "--check"], cwd=ROOT, capture_output=True, text=True)
    assert rc.returncode == 0, rc.stdout + rc.stderr


def test_every_server_setting_has_an_example_here():
    assert sorted(EXAMPLES) == sorted(s.key for s in SERVER)


@pytest.mark.parametrize("setting", SERVER, ids=[s.key for s in SERVER])
def test_the_server_reads_each_setting_under_each_of_its_names(setting):
    value, attr, expected = EXAMPLES[setting.key]
    for name in {setting.key, setting.name, *setting.aliases, *filter(None, [setting.config_key])}:
        s, problems = parse_settings({"settings": {name: value}})
        assert problems == [], (name, problems)
        got = getattr(s.base_config(), attr) if setting.config_key else getattr(s, attr)
        assert got == expected, name


@pytest.mark.parametrize("setting", SERVER, ids=[s.key for s in SERVER])
def test_a_bad_value_is_reported_by_name_and_falls_back_to_the_default(setting):
    bad = {"array": 3, "object": ["x"], "string": 3, "boolean": "yes", "number": "soon"}[setting.schema["type"]]
    s, problems = parse_settings({"settings": {setting.key: bad}})
    assert len(problems) == 1 and "default" in problems[0], problems
    assert (setting.config_key or setting.name) in problems[0] or setting.key in problems[0], problems
    assert s == ServerSettings() and s.base_config() == Config()


def test_the_package_json_defaults_are_the_servers():
    """What VS Code sends for settings the user left alone changes nothing on the server."""
    defaults = {s.key: s.default for s in schema.SETTINGS if s.contributed}
    s, problems = parse_settings({"settings": defaults})
    assert problems == []
    assert s == ServerSettings(rules=s.rules) and s.base_config() == Config()
    for setting in SERVER:
        if setting.field is not None:
            assert getattr(ServerSettings(), setting.field) == setting.default, setting.name


def test_nested_tables_as_vscode_sends_its_raw_section():
    s, problems = parse_settings({"keras-migrate": {"lint": {"run": "onSave"}, "trace": {"server": "verbose"},
                                                    "codeAction": {"disableRuleComment": {"enable": False}},
                                                    "run": {"smoke": True}, "interpreter": "/x"}})
    assert problems == []
    assert s.lint_run == "onSave" and s.disable_rule_comment is False
    s, problems = parse_settings({"lint": {"run": "sometimes"}, "colour": "red"})
    assert len(problems) == 2 and "lint.run" in problems[0] and "colour" in problems[1]


def test_every_pyproject_key_is_an_editor_setting():
    """The rule settings are the ``[tool.keras-migrate]`` keys, each once."""
    from keras_migrate.config import _KEYS
    keys = [s.config_key for s in schema.SETTINGS if s.config_key]
    assert sorted(keys) == sorted(_KEYS) and len(set(keys)) == len(keys)


def test_blank_list_items_from_a_settings_ui_are_dropped():
    s, problems = parse_settings({"select": ["K1", " ", ""], "ignore": [""], "exclude": ["build", ""]})
    assert problems == []
    cfg = s.base_config()
    assert cfg.select == ("K1",) and cfg.ignore == () and cfg.exclude == ("build",)
