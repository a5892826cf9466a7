"""``keras-migrate run --smoke`` on real Keras 2 (tf-keras) and Keras 3, CPU only.

A script asking for 100 epochs over full MNIST (which is not downloaded: there is no
network here) runs unchanged on Keras 2 and on the three Keras 3 backends, capped; the
inputs that are not arrays (tf.data, generators, PyDataset / Sequence, fit_generator,
train_on_batch loops) are capped too; the files on disk are not touched.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, quiet_env

pytestmark = pytest.mark.conformance
CLI = [sys.executable, "-m", "keras_migrate.runner.cli"]
SMOKE_FIXTURES = FIXTURES / "smoke"


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def smoke_run(file: Path, keras_python: str, tmp_path: Path, *backend: str):
    proc = subprocess.run([*CLI, str(file), "--smoke", "--keras2", "--cpu", "--python",
                           keras_python, *backend],
                          capture_output=True, text=True, env=quiet_env(tmp_path),
                          cwd=file.parent, timeout=900, stdin=subprocess.DEVNULL)
    return proc


def sections(stdout: str) -> dict[str, str]:
    """backend -> the program's stdout under its ``==> backend`` header."""
    out: dict[str, str] = {}
    current = None
    for line in stdout.splitlines():
        if line.startswith("==> "):
            current = line.split()[1]
            out[current] = ""
        elif line.startswith("<== "):
            current = None
        elif current:
            out[current] += line + "\n"
    return out


def test_100_epochs_of_mnist_in_one_capped_epoch_on_keras2_and_every_backend(keras_python, tmp_path):
    folder = tmp_path / "prog"
    shutil.copytree(SMOKE_FIXTURES, folder)
    before = snapshot(folder)
    proc = smoke_run(folder / "mnist_100_epochs.py", keras_python, tmp_path, "--backend", "all")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    runs = sections(proc.stdout)
    assert list(runs) == ["keras2", "jax", "torch", "tensorflow"]
    for backend, text in runs.items():
        # Synthetic MNIST with the real shapes, dtypes, label range and sample count.
        assert "data: (60000, 28, 28) uint8 uint8 0 9 (10000, 28, 28)" in text, (backend, text)
        assert "fit ran: 1 epoch(s), 2 batch(es)" in text, (backend, text)
        assert "evaluate: 2 values" in text and "predict: (10000, 10)" in text, (backend, text)
    # One summary line per kind and run, on stderr.
    err = proc.stderr
    assert err.count("keras-migrate smoke: keras.datasets.mnist.load_data: 1 call answered with "
                     "synthetic data, nothing downloaded") == 4
    assert err.count("keras-migrate smoke: fit: 1 call: 1 capped to 1 epoch of at most 2 steps "
                     "(asked for up to 100 epochs, 60000 samples, 10000 validation samples)") == 4
    assert err.count("keras-migrate smoke: evaluate: 1 call: 1 capped to at most 2 steps") == 4
    assert err.count("keras-migrate smoke: predict: 1 call: 1 capped to at most 2 steps") == 4
    assert "Keras 2.21" in proc.stdout and proc.stdout.count("Keras 3.15") == 3
    assert snapshot(folder) == before, "a smoke run changes no file and writes none beside it"


def test_datasets_generators_pydataset_and_on_batch_loops_are_capped(keras_python, tmp_path):
    folder = tmp_path / "prog"
    shutil.copytree(SMOKE_FIXTURES, folder)
    before = snapshot(folder)
    proc = smoke_run(folder / "data_inputs.py", keras_python, tmp_path, "--backend", "jax")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    runs = sections(proc.stdout)
    assert list(runs) == ["keras2", "jax"]
    # fit: dataset, generator, PyDataset, and on Keras 2 fit_generator too: 2 batches each.
    assert "batches trained by fit: 8" in runs["keras2"], runs["keras2"]
    assert "batches trained by fit: 6" in runs["jax"], runs["jax"]
    for text in runs.values():
        assert "evaluate: True" in text and "predict: 1" in text and "pulled: True True" in text
    err = proc.stderr
    assert err.count("keras-migrate smoke: train_on_batch: 3000 calls: 3 run; 2997 answered "
                     "with the result of an earlier call") == 2
    assert "keras-migrate smoke: fit_generator: 1 call: 1 capped to 1 epoch of at most 2 steps" in err
    assert err.count("(asked for up to 40 epochs, 500 steps, 100 validation steps)") == 2
    assert err.count("keras-migrate smoke: evaluate: 1 call: 1 capped to at most 2 steps "
                     "(asked for up to 1000 steps)") == 2
    assert snapshot(folder) == before
