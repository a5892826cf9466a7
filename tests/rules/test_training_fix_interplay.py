"""K2xx/K4xx fixes applied together: they converge, and the result is what Keras 3 wants."""
import textwrap

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import Settings
from keras_migrate.engine.fixer import fix_text
from keras_migrate.rules.saving.load_savedmodel import LoadSavedmodel
from keras_migrate.rules.saving.save_savedmodel import SaveSavedmodel
from keras_migrate.rules.saving.save_weights_filename import SaveWeightsFilename
from keras_migrate.rules.training.generator_methods import GeneratorMethods
from keras_migrate.rules.training.multiprocessing_fit_args import MultiprocessingFitArgs

RULES = [SaveSavedmodel(), LoadSavedmodel(), SaveWeightsFilename(), GeneratorMethods(), MultiprocessingFitArgs()]


def _fix(code: str, unsafe=True) -> str:
    eng = Engine(RULES, Settings(target_backends=("tensorflow",)))
    code = textwrap.dedent(code).lstrip("\n")
    out = fix_text(code, lambda t: eng.analyze(t, "x.py"), unsafe=unsafe)
    assert not out.failed, out.failed
    again = fix_text(out.text, lambda t: eng.analyze(t, "x.py"), unsafe=unsafe)
    assert again.text == out.text
    return out.text


def test_generator_method_and_worker_args_converge():
    got = _fix("""
        import keras
        model = keras.Sequential([keras.layers.Dense(1)])
        model.fit_generator(gen, 10, 2, workers=4, use_multiprocessing=True)
    """)
    assert "model.fit(gen, steps_per_epoch=10, epochs=2)" in got


def test_save_and_load_of_one_path_are_renamed_together():
    got = _fix("""
        import keras
        model = keras.Sequential([keras.layers.Dense(1)])
        model.save("exported")
        again = keras.models.load_model("exported")
        model.save_weights("w.h5")
        model.load_weights("w.h5")
    """)
    assert 'model.save("exported.keras")' in got
    assert 'keras.models.load_model("exported.keras")' in got
    assert "TFSMLayer" not in got
    assert got.count('"w.weights.h5"') == 2


def test_one_diagnostic_per_call_and_no_fix_without_unsafe():
    code = textwrap.dedent("""
        import keras
        model = keras.Sequential([keras.layers.Dense(1)])
        model.save("exported", save_format="tf")
    """).lstrip("\n")
    res = Engine(RULES).analyze(code)
    assert [f.code for f in res.findings] == ["K201"]
    assert _fix(code, unsafe=False) == code
    assert 'model.export("exported")' in _fix(code)
