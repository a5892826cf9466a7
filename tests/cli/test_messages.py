"""CLI messages: every option has help text, a bad flag names the subcommand's usage, and
messages built from the API data do not say the same thing twice."""
import argparse
import re
from collections import Counter

import pytest

from keras_migrate.cli import main
from keras_migrate.entry import build_parser


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def test_every_option_has_help_text():
    parser = build_parser()
    missing = []
    for name, sub in {"": parser, **_subparsers(parser)}.items():
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if action.help == argparse.SUPPRESS:   # hidden on purpose (server --tcp: refused with a reason)
                continue
            if not (action.help or "").strip():
                missing.append(f"{name or 'keras-migrate'} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"options without help: {missing}"


@pytest.mark.parametrize("command", ["check", "fix", "report", "rules"])
def test_bad_flag_prints_the_subcommands_usage(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([command, "--no-such-flag"])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith(f"usage: keras-migrate {command} ")
    assert "unrecognized arguments: --no-such-flag" in err


def test_output_format_help_names_every_format(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = re.sub(r"-\s+", "-", capsys.readouterr().out)   # argparse wraps at hyphens
    for name in ("concise", "full", "json", "json-lines", "sarif", "github", "gitlab", "junit"):
        assert name in out


def _repeats(message: str) -> list[str]:
    words = re.findall(r"\S+", message.lower())
    grams = Counter(" ".join(words[i:i + 3]) for i in range(len(words) - 2))
    return [g for g, n in grams.items() if n > 1]


def test_k502_messages_do_not_repeat_themselves(capsys, tmp_path):
    # patterns seen in the public notebooks (handson-ml2, t81_558): the data's guidance
    # used to restate "Keras 3 rejects `lr=`" and "`alpha=` is deprecated"
    p = tmp_path / "k.py"
    p.write_text("import tensorflow as tf\n"
                 "opt = tf.keras.optimizers.Adam(lr=0.01)\n"
                 "act = tf.keras.layers.LeakyReLU(alpha=0.2)\n"
                 "bn = tf.keras.layers.BatchNormalization(fused=True)\n")
    main(["check", "--select", "K502", str(p)])
    lines = [line for line in capsys.readouterr().out.splitlines() if " K502 " in line]
    assert len(lines) == 3
    for line in lines:
        message = line.split(" K502 ", 1)[1]
        assert not _repeats(message), message
    assert any("Keras 3 rejects `lr=`: Use `learning_rate=` (ValueError" in line for line in lines)
    assert any(line.endswith("`alpha=` is deprecated in Keras 3: Use `negative_slope=` (same default 0.3).")
               for line in lines)
