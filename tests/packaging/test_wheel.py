"""The built wheel installs into a fresh virtualenv and its CLI works there; nothing generic
(`server`, `rules`) lands at the top of site-packages."""
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_runs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("keras_migrate-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    top = {p.name for p in site.iterdir()}
    assert "keras_migrate" in top
    assert not {"server", "rules", "engine", "tests"} & top
    assert (site / "keras_migrate" / "rules" / "imports").is_dir()
    assert (site / "keras_migrate" / "server").is_dir()
    sample = tmp_path / "s.py"
    sample.write_text("import tensorflow as tf\nm = tf.keras.Sequential()\n")
    cli = env_dir / "bin" / "keras-migrate"
    out = subprocess.run([str(cli), "check", str(sample)], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    assert "K102" in out.stdout
    rules = subprocess.run([str(cli), "rules"], capture_output=True, text=True, check=True).stdout
    assert "K101" in rules and "K501" in rules
    version = subprocess.run([str(py), "-m", "keras_migrate", "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("keras-migrate ")
