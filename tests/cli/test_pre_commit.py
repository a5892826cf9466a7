"""The pre-commit hooks (.pre-commit-hooks.yaml) run by the real `pre-commit` package against
a throwaway git repository, with this checkout as the hook repository (`pre-commit try-repo`:
it installs the package into the hook's own virtualenv with pip, as users' machines do)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KERAS2 = "import tensorflow as tf\nmodel = tf.keras.Sequential()\n"


def _pre_commit() -> list[str]:
    exe = Path(sys.executable).with_name("pre-commit")
    assert exe.exists(), "pre-commit is a test dependency (pip install -e '.[test]')"
    return [str(exe)]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """This checkout's package sources as a git repository (pre-commit clones it)."""
    src = tmp_path_factory.mktemp("hook-src")
    for name in ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("rules", "server"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(src, "init", "-q")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "hooks")
    return src


def test_pre_commit_hooks_check_and_fix(tmp_path, hook_repo):
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "pyproject.toml").write_text('[tool.keras-migrate]\nexclude = ["vendor/"]\n')
    (repo / "model.py").write_text(KERAS2)
    (repo / "vendor").mkdir()
    (repo / "vendor" / "lib.py").write_text(KERAS2)   # staged, but excluded by the project
    (repo / "notes.txt").write_text("tf.keras\n")
    git(repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    check = subprocess.run(_pre_commit() + ["try-repo", str(hook_repo), "keras-migrate-check", "--all-files",
                                            "--verbose"], cwd=repo, capture_output=True, text=True, env=env,
                           timeout=600)
    out = check.stdout + check.stderr
    assert check.returncode == 1, out
    assert "model.py:2:9: K102" in out
    assert "vendor" not in out.split("keras-migrate check")[-1], out   # --force-exclude
    fix = subprocess.run(_pre_commit() + ["try-repo", str(hook_repo), "keras-migrate-fix", "--all-files"],
                         cwd=repo, capture_output=True, text=True, env=env, timeout=600)
    assert fix.returncode == 1, fix.stdout + fix.stderr   # files were modified: pre-commit fails the commit
    assert (repo / "model.py").read_text() == "import keras\nmodel = keras.Sequential()\n"
    assert (repo / "vendor" / "lib.py").read_text() == KERAS2
    git(repo, "add", "-A")
    again = subprocess.run(_pre_commit() + ["try-repo", str(hook_repo), "keras-migrate-check", "--all-files"],
                           cwd=repo, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
