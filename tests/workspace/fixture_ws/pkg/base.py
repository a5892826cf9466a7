import keras


class BaseLayer(keras.layers.Layer):
    """The project's own base layer."""

    def describe(self):
        return type(self).__name__


class Helper:
    """Not a layer."""


def make_layer():
    return BaseLayer()
