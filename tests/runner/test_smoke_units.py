"""The smoke run's capping rules, on a stand-in Model class (no Keras, no numpy here).

``smoke.py`` wraps the methods of whatever class it is given, so a plain class with Keras'
signatures shows what reaches the real ``fit``: the epochs, the cut arrays, the steps. The
same code on real Keras 2 and 3 models is in ``test_smoke_keras.py``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from keras_migrate.runner import BOOTSTRAP
from keras_migrate.runner.process import SMOKE, child_environment, Device
from keras_migrate.runner.session import expand_backends


def load_smoke():
    """A fresh copy of smoke.py (its tallies are module state)."""
    spec = importlib.util.spec_from_file_location("_smoke_under_test", SMOKE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Arr:
    """Just enough of an array: a shape and slicing by rows."""

    def __init__(self, n, width=3):
        self.shape = (n, width)

    def __getitem__(self, item):
        assert isinstance(item, slice) and item.start is None
        return Arr(min(self.shape[0], item.stop), self.shape[1])


class Gen:
    """A generator-like input with no shape."""

    def __iter__(self):
        return self

    def __next__(self):
        return (Arr(8), Arr(8))


class Seq:
    """A PyDataset / Sequence: len() batches."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return Arr(8), Arr(8)


class FakeModel:
    calls: list

    def __init__(self):
        self.calls = []

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        self.calls.append(("fit", dict(x=x, y=y, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                       validation_data=validation_data,
                                       validation_steps=validation_steps,
                                       initial_epoch=initial_epoch, sample_weight=sample_weight)))
        if validation_data is not None:  # as Keras does: fit's own evaluate
            self.evaluate(validation_data, steps=validation_steps)
        return f"history{len(self.calls)}"

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        self.calls.append(("evaluate", dict(x=x, steps=steps)))
        return 0.5

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self.calls.append(("train_on_batch", {}))
        return len(self.calls)


@pytest.fixture
def smoke():
    module = load_smoke()
    module.patch_model_class(FakeModel)
    yield module
    for name in ("fit", "evaluate", "train_on_batch"):  # undo: the class is shared
        wrapped = getattr(FakeModel, name)
        setattr(FakeModel, name, wrapped.__wrapped__)


def test_arrays_are_cut_to_a_couple_of_batches_and_one_epoch(smoke):
    m = FakeModel()
    m.fit(Arr(60000), Arr(60000, 1), batch_size=128, epochs=100, sample_weight=Arr(60000, 1))
    kind, got = m.calls[0]
    assert got["epochs"] == 1
    assert got["x"].shape == (256, 3) and got["y"].shape == (256, 1)
    assert got["sample_weight"].shape == (256, 1)
    # Lists and dicts of arrays (several inputs) are cut alike.
    m.fit([Arr(1000), Arr(1000, 5)], {"out": Arr(1000, 1)}, epochs=3)
    got = m.calls[1][1]
    assert [a.shape for a in got["x"]] == [(64, 3), (64, 5)] and got["y"]["out"].shape == (64, 1)
    assert smoke.summary_lines() == [
        "fit: 2 calls: 2 each capped to 1 epoch of at most 2 steps "
        "(asked for up to 100 epochs, 60000 samples)"
    ]


def test_initial_epoch_is_kept_and_small_calls_run_as_is(smoke):
    m = FakeModel()
    m.fit(Arr(10), Arr(10), epochs=10, initial_epoch=4)
    assert m.calls[0][1]["epochs"] == 5 and m.calls[0][1]["initial_epoch"] == 4
    m.fit(Arr(10), Arr(10))  # one epoch of one batch: nothing to cap
    assert m.calls[1][1]["x"].shape == (10, 3) and m.calls[1][1]["epochs"] == 1
    assert smoke.summary_lines()[0].endswith("1 already within 1 epoch of at most 2 steps, run as is")


def test_generators_datasets_and_validation_get_step_caps(smoke):
    m = FakeModel()
    m.fit(Gen(), epochs=50, steps_per_epoch=1000, validation_data=Gen(), validation_steps=300)
    fit = m.calls[0][1]
    assert (fit["epochs"], fit["steps_per_epoch"], fit["validation_steps"]) == (1, 2, 2)
    # fit's own evaluate runs inside fit: as fit asked it, not capped a second time, not counted.
    assert m.calls[1] == ("evaluate", {"x": fit["validation_data"], "steps": 2})
    m.fit(Seq(1), epochs=5)  # a PyDataset with one batch: one step, not two
    assert m.calls[2][1]["steps_per_epoch"] == 1
    m.evaluate(Seq(40))
    assert m.calls[3][1]["steps"] == 2
    lines = smoke.summary_lines()
    assert lines[0] == ("fit: 2 calls: 2 each capped to 1 epoch of at most 2 steps (asked for up "
                        "to 50 epochs, 1000 steps, 300 validation steps)")
    assert lines[1] == "evaluate: 1 call: 1 capped to at most 2 steps (asked for up to 40 steps)"


def test_validation_arrays_are_cut_too(smoke):
    m = FakeModel()
    m.fit(Arr(500), Arr(500), validation_data=(Arr(400), Arr(400)), epochs=2)
    val = m.calls[0][1]["validation_data"]
    assert isinstance(val, tuple) and [v.shape[0] for v in val] == [64, 64]


def test_on_batch_loops_run_a_few_times_then_answer_from_the_last_result(smoke):
    m, other = FakeModel(), FakeModel()
    results = [m.train_on_batch(Arr(16), Arr(16)) for _ in range(1000)]
    assert len([c for c in m.calls if c[0] == "train_on_batch"]) == smoke.REAL_CALLS
    assert results[-1] == results[smoke.REAL_CALLS - 1]
    other.train_on_batch(Arr(16), Arr(16))  # another model runs for real
    m.train_on_batch(Arr(8), Arr(8))  # other shapes (the last batch) run for real
    assert len(other.calls) == 1 and len(m.calls) == smoke.REAL_CALLS + 1
    assert smoke.summary_lines() == [
        "train_on_batch: 1002 calls: 5 run; 997 answered with the result of an earlier call "
        "(at most 3 real calls per model and input shapes)"
    ]


def test_a_call_the_real_method_would_refuse_reaches_it_unchanged(smoke):
    m = FakeModel()
    with pytest.raises(TypeError, match="no_such"):
        m.fit(Arr(10), no_such=1)


def test_environment_of_smoke_and_keras2_runs():
    base = {"TF_USE_LEGACY_KERAS": "1", "KERAS_MIGRATE_SMOKE": "1", "PATH": "/bin"}
    env = child_environment("jax", Device.cpu(), base)
    # A Keras 3 run never inherits the legacy switch (tf.keras would be Keras 2) nor a smoke flag.
    assert "TF_USE_LEGACY_KERAS" not in env and "KERAS_MIGRATE_SMOKE" not in env
    env = child_environment("keras2", Device.cpu(), {"PATH": "/bin"}, smoke=True)
    assert env["TF_USE_LEGACY_KERAS"] == "1" and env["KERAS_MIGRATE_KERAS2"] == "1"
    assert env["KERAS_BACKEND"] == "tensorflow" and env["KERAS_MIGRATE_SMOKE"] == "1"
    assert expand_backends("all", keras2=True) == ("keras2", "jax", "torch", "tensorflow")
    assert expand_backends(None, keras2=True) == ("keras2",)
    with pytest.raises(ValueError):
        expand_backends(None)


@pytest.mark.parametrize("safepath", [None, "1"])
def test_bootstrap_drops_the_smoke_frames_from_a_traceback(tmp_path, safepath):
    """An error raised through a smoke wrapper is shown as the program's own: no smoke.py
    frame between the program's line and the library's. With ``PYTHONSAFEPATH`` set (by the
    user, or leaked by a process pool) the user's PYTHONPATH is kept: the bootstrap once
    overwrote sys.path[0], which is then PYTHONPATH's first entry, not its own folder."""
    site = tmp_path / "site"
    (site / "keras").mkdir(parents=True)
    (site / "keras" / "__init__.py").write_text(
        "__version__ = '3.15.1'\n"
        "class _B:\n    @staticmethod\n    def backend(): return 'jax'\n"
        "    @staticmethod\n    def image_data_format(): return 'channels_last'\n"
        "backend = _B()\n"
        "class Model:\n"
        "    def fit(self, x=None, y=None, epochs=1, steps_per_epoch=None):\n"
        "        raise ValueError('bad shape in fit, epochs=%s' % epochs)\n"
    )
    prog = tmp_path / "train.py"
    prog.write_text("import keras\n\nkeras.Model().fit(epochs=100)  # ERROR-LINE\n")
    env = dict(os.environ, PYTHONPATH=str(site), KERAS_MIGRATE_SMOKE="1")
    env.pop("PYTHONSAFEPATH", None)
    if safepath:
        env["PYTHONSAFEPATH"] = safepath
    proc = subprocess.run([sys.executable, BOOTSTRAP, str(prog)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "ValueError: bad shape in fit, epochs=1" in proc.stderr  # capped, then raised
    assert f'File "{prog}", line 3' in proc.stderr
    assert "smoke.py" not in proc.stderr and "bootstrap.py" not in proc.stderr
    assert proc.stderr.rstrip().endswith(
        "keras-migrate smoke: fit: 1 call: 1 capped to 1 epoch of at most 2 steps "
        "(asked for up to 100 epochs)")
