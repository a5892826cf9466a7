import tensorflow as tf

from models import build_model, not_a_model
from pkg.deep import Deeper


class Head(Deeper):
    def build(self, input_shape):
        self.scale = tf.Variable(1.0)


model = build_model()
model.save("saved_dir")
config = not_a_model()
