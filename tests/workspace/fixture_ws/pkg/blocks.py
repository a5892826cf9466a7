import tensorflow as tf

from .base import BaseLayer, Helper


class Block(BaseLayer):
    def build(self, input_shape):
        self.w = tf.Variable(tf.zeros([input_shape[-1], 2]))

    def call(self, x):
        return x


class NotALayer(Helper):
    def setup(self):
        self.v = tf.Variable(1.0)
