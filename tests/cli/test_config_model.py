"""One discovery and one configuration model (issue 15): unknown selectors are errors, each
file gets its nearest [tool.keras-migrate], git's ignore files all count, excludes and
per-file-ignores use gitignore patterns, --force-exclude, --files-from and --shard."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from keras_migrate.cli import main

KERAS2 = ('import tensorflow as tf\nfrom tensorflow import keras\nmodel = tf.keras.Sequential()\n'
          'layer = keras.layers.Dense(1)\n')   # K101 on line 2, K102 on line 3


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def write(root: Path, files: dict) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def checked(capsys, *argv) -> dict:
    """{file name relative to cwd: [codes]} of a JSON check run, and its files_checked."""
    rc, out, err = run(capsys, "check", "--output-format", "json", *argv)
    assert rc in (0, 1), err
    data = json.loads(out)
    found: dict = {}
    for f in data["findings"]:
        found.setdefault(Path(f["path"]).as_posix(), []).append(f["code"])
    return found


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path, monkeypatch):
    """A HOME of our own, so the developer's global git excludes never leak into a test."""
    home = tmp_path / "_home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    return home


# -- 1. selectors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag,value", [("--select", "K999"), ("--select", "K7"), ("--ignore", "K1020"),
                                        ("--extend-select", "K6100")])
def test_unknown_selector_on_the_command_line_is_an_error(capsys, tmp_path, flag, value):
    (tmp_path / "a.py").write_text(KERAS2)
    rc, out, err = run(capsys, "check", flag, value, str(tmp_path))
    key = flag[2:]
    assert rc == 2, out
    assert f"invalid `{key}`" in err and f"unknown rule selector `{value}`" in err
    assert "All checks passed" not in out and "Traceback" not in err


def test_unknown_selector_names_the_closest_code(capsys, tmp_path):
    (tmp_path / "a.py").write_text(KERAS2)
    rc, _, err = run(capsys, "check", "--select", "K1020", str(tmp_path))
    assert "did you mean `K102`?" in err
    rc, _, err = run(capsys, "check", "--ignore", "K6O1".replace("O", "0") + "9", str(tmp_path))
    assert rc == 2 and "did you mean `K601`?" in err


@pytest.mark.parametrize("table,key", [
    ('select = ["K102", "K998"]', "select"),
    ('ignore = ["K7"]', "ignore"),
    ('extend-select = ["K6666"]', "extend-select"),
    ('per-file-ignores = {"legacy/*" = ["K109"]}', "per-file-ignores.legacy/*"),
])
def test_unknown_selector_in_pyproject_is_an_error(capsys, tmp_path, table, key):
    (tmp_path / "pyproject.toml").write_text(f"[tool.keras-migrate]\n{table}\n")
    (tmp_path / "a.py").write_text(KERAS2)
    rc, out, err = run(capsys, "check", str(tmp_path))
    assert rc == 2 and f"invalid `{key}`" in err and "unknown rule selector" in err
    assert str(tmp_path / "pyproject.toml") in err


def test_known_prefixes_and_all_are_fine(capsys, tmp_path):
    (tmp_path / "a.py").write_text(KERAS2)
    for sel in ("K1", "K10", "K102", "ALL", "k102"):
        rc, out, err = run(capsys, "check", "--select", sel, str(tmp_path))
        assert rc == 1 and "K102" in out, (sel, err)


def test_extend_select_adds_to_the_defaults(capsys, tmp_path):
    (tmp_path / "a.py").write_text(KERAS2)
    rc, out, _ = run(capsys, "check", "--select", "K102", str(tmp_path))
    codes = {line.split()[1] for line in out.splitlines() if ": K" in line}
    rc, out2, _ = run(capsys, "check", "--select", "K102", "--extend-select", "K101", str(tmp_path))
    codes2 = {line.split()[1] for line in out2.splitlines() if ": K" in line}
    assert codes == {"K102"} and codes2 == {"K101", "K102"}


# -- 2. nearest configuration per file -----------------------------------------------------------------
def test_each_file_uses_its_nearest_table(capsys, tmp_path, monkeypatch):
    write(tmp_path, {
        "pyproject.toml": '[tool.keras-migrate]\nignore = ["K101"]\n',
        "a.py": KERAS2,
        "sub/pyproject.toml": '[tool.keras-migrate]\nignore = ["K102"]\n',
        "sub/a.py": KERAS2,
        "other/pyproject.toml": '[project]\nname = "x"\n',  # no table: the parent's applies
        "other/a.py": KERAS2,
    })
    monkeypatch.chdir(tmp_path)
    found = checked(capsys, ".")
    assert sorted(found) == ["a.py", "other/a.py", "sub/a.py"]
    assert set(found["a.py"]) == {"K102"} and set(found["other/a.py"]) == {"K102"}   # the top table: no K101
    assert set(found["sub/a.py"]) == {"K101"}          # sub/ ignores K102, not K101
    # the same per-file answer whether the folder or the file is named
    assert set(checked(capsys, "sub/a.py")["sub/a.py"]) == {"K101"}
    # --config: one table for every file
    found = checked(capsys, "--config", "sub/pyproject.toml", ".")
    assert all(set(codes) == {"K101"} for codes in found.values()) and len(found) == 3


def test_missing_config_file_is_an_error(capsys, tmp_path):
    rc, _, err = run(capsys, "check", "--config", str(tmp_path / "nope.toml"), str(tmp_path))
    assert rc == 2 and "--config" in err


# -- 2. gitignore semantics everywhere -------------------------------------------------------------------
def test_git_ignore_sources(capsys, tmp_path, monkeypatch, _isolated_git):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    write(repo, {
        ".gitignore": "*.gen.py\nsub/generated/\n",
        "sub/.gitignore": "!keep.gen.py\nlocal_only.py\n",
        "x.gen.py": KERAS2, "sub/keep.gen.py": KERAS2, "sub/local_only.py": KERAS2,
        "sub/generated/g.py": KERAS2, "sub/ok.py": KERAS2, "ok.py": KERAS2,
        "info_excluded.py": KERAS2, "globally_ignored.py": KERAS2, "stub.pyi": KERAS2,
    })
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("info_excluded.py\n")
    (_isolated_git / "my-ignores").write_text("globally_ignored.py\n")
    (_isolated_git / ".gitconfig").write_text("[core]\n\texcludesFile = ~/my-ignores\n")
    # git itself agrees with each verdict
    tracked = subprocess.run(["git", "-C", str(repo), "ls-files", "--others", "--exclude-standard"],
                             capture_output=True, text=True, check=True, env={**os.environ}).stdout.split()
    expected = sorted(p for p in tracked if p.endswith((".py", ".pyi")))
    assert expected == ["ok.py", "stub.pyi", "sub/keep.gen.py", "sub/ok.py"]
    monkeypatch.chdir(repo)
    assert sorted(checked(capsys, ".")) == expected
    # the parent folders' ignore files apply when a sub-folder is checked
    monkeypatch.chdir(repo / "sub")
    assert sorted(checked(capsys, ".")) == ["keep.gen.py", "ok.py"]


def test_exclude_and_per_file_ignores_use_gitignore_patterns(capsys, tmp_path, monkeypatch):
    write(tmp_path, {
        "pyproject.toml": '[tool.keras-migrate]\nexclude = ["legacy", "/top_only.py"]\n'
                          'per-file-ignores = {"**/test_*.py" = ["K1"], "scripts/*.py" = ["K102"]}\n',
        "legacy/a.py": KERAS2, "pkg/legacy/b.py": KERAS2, "top_only.py": KERAS2, "pkg/top_only.py": KERAS2,
        "test_top.py": KERAS2, "pkg/test_deep.py": KERAS2, "scripts/s.py": KERAS2, "scripts/deeper/s.py": KERAS2,
    })
    monkeypatch.chdir(tmp_path)
    found = checked(capsys, ".")
    # `legacy` (no slash) is excluded at any depth, `/top_only.py` only at the root;
    # `**/test_*.py` covers the top-level file too; `scripts/*.py` is anchored and one level deep
    assert sorted(found) == ["pkg/top_only.py", "scripts/deeper/s.py", "scripts/s.py"]
    assert "K102" not in found["scripts/s.py"] and "K102" in found["scripts/deeper/s.py"]


def test_force_exclude_applies_excludes_to_named_files(capsys, tmp_path, monkeypatch):
    write(tmp_path, {"pyproject.toml": '[tool.keras-migrate]\nexclude = ["vendor/"]\n',
                     "vendor/v.py": KERAS2, "venv/lib/x.py": KERAS2, "venv/pyvenv.cfg": "", "mine.py": KERAS2})
    monkeypatch.chdir(tmp_path)
    assert sorted(checked(capsys, "vendor/v.py", "mine.py")) == ["mine.py", "vendor/v.py"]   # as ruff
    assert sorted(checked(capsys, "--force-exclude", "vendor/v.py", "venv/lib/x.py", "mine.py")) == ["mine.py"]


# -- 7. files-from and shards -----------------------------------------------------------------------------
def test_files_from_and_stdin(capsys, tmp_path, monkeypatch):
    write(tmp_path, {"a.py": KERAS2, "b.py": KERAS2, "c.py": KERAS2})
    (tmp_path / "list.txt").write_text("a.py\n\n# a comment\nc.py\n")
    monkeypatch.chdir(tmp_path)
    assert sorted(checked(capsys, "--files-from", "list.txt")) == ["a.py", "c.py"]
    p = subprocess.run([os.sys.executable, "-m", "keras_migrate", "check", "--files-from", "-"],
                       input="b.py\n", capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 1 and "b.py:3:9: K102" in p.stdout and "a.py" not in p.stdout


def test_shards_split_stably_and_cover_everything(capsys, tmp_path, monkeypatch):
    write(tmp_path, {f"pkg{i % 3}/m{i}.py": KERAS2 for i in range(30)})
    monkeypatch.chdir(tmp_path)
    every = set(checked(capsys, "."))
    shards = [set(checked(capsys, "--shard", f"{k}/4", ".")) for k in range(1, 5)]
    assert set().union(*shards) == every and sum(map(len, shards)) == len(every) == 30
    assert all(shards), "each shard gets some of 30 files"
    # stable: the same split when the files are named another way (a list, another order)
    (tmp_path / "list.txt").write_text("\n".join(sorted(every, reverse=True)) + "\n")
    assert set(checked(capsys, "--shard", "2/4", "--files-from", "list.txt")) == shards[1]
    rc, _, err = run(capsys, "check", "--shard", "5/4", ".")
    assert rc == 2 and "--shard" in err
