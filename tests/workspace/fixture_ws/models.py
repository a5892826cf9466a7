import keras

from pkg.base import BaseLayer


def build_model(units=2):
    model = keras.Sequential([keras.Input((3,)), BaseLayer(), keras.layers.Dense(units)])
    return model


def build_optimizer():
    return keras.optimizers.Adam(1e-3)


def not_a_model():
    return {"units": 2}


DEFAULT_MODEL = keras.Sequential([keras.layers.Dense(1)])
