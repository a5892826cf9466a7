"""Probes for docs/research/keras-version-ranges.md: run against whatever `keras` is importable.

Usage (one keras release per run, unpacked with `pip install --no-deps --target DIR keras==3.X.Y`):
    PYTHONPATH=DIR[:older-jax-and-numpy-dirs] KERAS_BACKEND=jax python keras_version_probe.py [probe ...]
Prints one line `PROBE_JSON {...}`: per probe, ok + result, or the exception, and UserWarnings.
"""
import json, os, sys, warnings, traceback, io, contextlib, tempfile
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
from keras import layers

ONLY = set(sys.argv[1:])
PROBES = {}


def probe(fn):
    PROBES[fn.__name__] = fn
    return fn


@probe
def a_nested_dict_inputs():
    inputs = {
        "foo": keras.Input(shape=(1,), name="foo"),
        "bar": {"baz": keras.Input(shape=(1,), name="bar")},
    }
    outputs = inputs["foo"] + inputs["bar"]["baz"]
    m = keras.Model(inputs, outputs)
    y = m.predict({"foo": np.ones((2, 1)), "bar": {"baz": np.ones((2, 1))}}, verbose=0)
    return np.asarray(y).tolist()


@probe
def b_none_nested_call_arg():
    class CustomLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__()

        def call(self, inputs):
            foo = inputs["foo"]
            baz = inputs["bar"]["baz"]
            if baz is not None:
                return foo + baz
            return foo

    layer = CustomLayer()
    inputs = {"foo": keras.Input(shape=(1,), name="foo"), "bar": {"baz": None}}
    out = layer(inputs)
    return list(out.shape)


def _mo_model():
    inputs = layers.Input(shape=(10,))
    x1 = layers.Dense(5, activation="relu")(inputs)
    x2 = layers.Dense(5, activation="relu")(x1)
    output_1 = layers.Dense(5, activation="softmax", name="output_1")(x1)
    output_2 = layers.Dense(5, activation="softmax", name="output_2")(x2)
    model = keras.Model(inputs=inputs, outputs=[output_1, output_2])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


@probe
def c_multi_output_evaluate():
    x = np.random.uniform(size=[10, 10]); y = np.random.uniform(size=[10, 5])
    m = _mo_model()
    r = m.evaluate(x, [y, y], verbose=0)
    n = len(r) if isinstance(r, (list, tuple)) else "scalar"
    return {"evaluate(x,[y,y]) values": n, "metrics_names": list(m.metrics_names)}


@probe
def c2_multi_output_evaluate_single_y():
    # the guide's verbatim snippet: one y for a two-output model
    x = np.random.uniform(size=[10, 10]); y = np.random.uniform(size=[10, 5])
    m = _mo_model()
    r = m.evaluate(x, y, verbose=0)
    return len(r) if isinstance(r, (list, tuple)) else "scalar"


@probe
def d_positional_embedding_unbuilt():
    ops = keras.ops

    class PositionalEmbedding(keras.layers.Layer):
        def __init__(self, sequence_length, output_dim, **kwargs):
            super().__init__(**kwargs)
            self.position_embeddings = layers.Embedding(input_dim=sequence_length, output_dim=output_dim)
            self.sequence_length = sequence_length
            self.output_dim = output_dim

        def call(self, inputs):
            inputs = ops.cast(inputs, self.compute_dtype)
            length = ops.shape(inputs)[1]
            positions = ops.arange(start=0, stop=length, step=1)
            embedded_positions = self.position_embeddings(positions)
            return inputs + embedded_positions

    inp = keras.Input((None, 8))
    out = PositionalEmbedding(20, 8, name="frame_position_embedding")(inp)
    out = layers.GlobalAveragePooling1D()(out)
    model = keras.Model(inp, layers.Dense(1)(out))
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(4, 10, 8), np.random.rand(4, 1), verbose=0)
    return "fit ok"


@probe
def d2_positional_embedding_sequential():
    class PositionalEmbedding(keras.layers.Layer):
        def __init__(self, sequence_length, output_dim, **kwargs):
            super().__init__(**kwargs)
            self.position_embeddings = layers.Embedding(input_dim=sequence_length, output_dim=output_dim)

        def call(self, inputs):
            positions = keras.ops.arange(keras.ops.shape(inputs)[1])
            return inputs + self.position_embeddings(positions)

    model = keras.Sequential([PositionalEmbedding(20, 8, name="frame_position_embedding"),
                              layers.GlobalAveragePooling1D(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(4, 10, 8), np.random.rand(4, 1), verbose=0)
    return "fit ok"


def _pe_class():
    ops = keras.ops

    class PositionalEmbedding(keras.layers.Layer):
        def __init__(self, sequence_length, output_dim, **kwargs):
            super().__init__(**kwargs)
            self.position_embeddings = layers.Embedding(input_dim=sequence_length, output_dim=output_dim)
            self.sequence_length = sequence_length
            self.output_dim = output_dim

        def call(self, inputs):
            inputs = ops.cast(inputs, self.compute_dtype)
            length = ops.shape(inputs)[1]
            positions = ops.arange(start=0, stop=length, step=1)
            embedded_positions = self.position_embeddings(positions)
            return inputs + embedded_positions
    return PositionalEmbedding


@probe
def d3_positional_embedding_input_none_none():
    # the keras.io video-transformer usage: keras.Input(shape=(None, None))
    PositionalEmbedding = _pe_class()
    inp = keras.Input((None, None))
    x = PositionalEmbedding(20, 8, name="frame_position_embedding")(inp)
    x = layers.GlobalMaxPooling1D()(x)
    model = keras.Model(inp, layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(4, 10, 8), np.random.rand(4, 1), verbose=0)
    return "fit ok"


@probe
def d4_positional_embedding_seq_len_fixed():
    PositionalEmbedding = _pe_class()
    inp = keras.Input((10, 8))
    x = PositionalEmbedding(20, 8, name="frame_position_embedding")(inp)
    x = layers.GlobalMaxPooling1D()(x)
    model = keras.Model(inp, layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(4, 10, 8), np.random.rand(4, 1), verbose=0)
    return "fit ok"


@probe
def e_reduce_lr_epsilon():
    cb = keras.callbacks.ReduceLROnPlateau(epsilon=1e-3)
    return {"min_delta": cb.min_delta, "epsilon attr": getattr(cb, "epsilon", "<none>")}


@probe
def f_reduce_lr_history_key():
    m = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    h = m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
              callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0)])
    return sorted(h.history)


@probe
def g_metrics_names_compile_metrics():
    m = keras.Sequential([keras.Input((2,)), layers.Dense(2, activation="softmax")])
    m.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy", "acc"])
    m.evaluate(np.ones((4, 2)), np.eye(2)[[0, 1, 0, 1]], verbose=0)
    return list(m.metrics_names)


@probe
def h_embedding_input_length():
    e = layers.Embedding(10, 4, input_length=5)
    return "constructed"


@probe
def i_leaky_relu_alpha():
    l = layers.LeakyReLU(alpha=0.2)
    return float(np.asarray(l(np.array([-1.0], "float32")))[0])


@probe
def j_dense_input_shape():
    m = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
    return [list(map(lambda d: d, m.output_shape))] if hasattr(m, "output_shape") else "built"


@probe
def k_adam_decay():
    opt = keras.optimizers.Adam(learning_rate=0.1, decay=1e-2)
    return "constructed"


@probe
def l_summary_unbuilt():
    m = keras.Sequential([layers.Dense(2)])
    with contextlib.redirect_stdout(io.StringIO()):
        m.summary()
    return "printed"


@probe
def m_sequence_without_super_init():
    class S(keras.utils.Sequence):
        def __init__(self):
            self.x = np.ones((4, 2)); self.y = np.ones((4, 1))

        def __len__(self):
            return 2

        def __getitem__(self, i):
            return self.x[i * 2:(i + 1) * 2], self.y[i * 2:(i + 1) * 2]

    m = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    m.fit(S(), epochs=1, verbose=0)
    return "fit ok"


@probe
def n_evaluate_after_failed_evaluate():
    x = np.random.uniform(size=[10, 10]); y = np.random.uniform(size=[10, 5])
    m = _mo_model()
    try:
        m.evaluate(x, y, verbose=0)
        first = "first ok"
    except Exception as e:
        first = "first " + type(e).__name__
    r = m.evaluate(x, [y, y], verbose=0)
    return first


out = {"keras": keras.__version__, "backend": keras.backend.backend()}
for name, fn in PROBES.items():
    if ONLY and name not in ONLY:
        continue
    cwd = tempfile.mkdtemp()
    os.chdir(cwd)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                r = fn()
            rec = {"ok": True, "result": r}
        except Exception as e:
            msg = str(e).strip().splitlines()
            rec = {"ok": False, "error": f"{type(e).__name__}: {(msg[0] if msg else '')[:240]}"}
    wl = []
    for w in ws:
        t = f"{w.category.__name__}: {str(w.message).strip().splitlines()[0][:200] if str(w.message).strip() else ''}"
        if t not in wl and not t.startswith("DeprecationWarning") and "np." not in t:
            wl.append(t)
    rec["warnings"] = wl[:5]
    out[name] = rec
    try:
        keras.backend.clear_session()
    except Exception:
        pass
print("PROBE_JSON " + json.dumps(out, default=repr))
