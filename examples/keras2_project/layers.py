import tensorflow as tf


class ScaledDense(tf.keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        dim = input_shape.as_list()[-1]
        self.kernel = self.add_weight("kernel", shape=(dim, self.units))
        self.scale = tf.Variable(1.0, trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel) * self.scale
