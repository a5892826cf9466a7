"""A small Keras 2 (tf.keras) training script, as people wrote them before Keras 3."""
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

from layers import ScaledDense


def build_model():
    inputs = keras.Input(shape=(8,))
    x = ScaledDense(16)(inputs)
    x = layers.LeakyReLU(alpha=0.2)(x)
    x = tf.keras.layers.experimental.preprocessing.Rescaling(0.5)(x)
    outputs = layers.Dense(1, activation=tf.nn.relu)(x)
    return keras.Model(inputs, outputs)


def main():
    x = np.random.rand(64, 8).astype("float32")
    y = np.random.rand(64, 1).astype("float32")
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(lr=1e-3, decay=1e-4), loss="mse")
    history = model.fit(x, y, epochs=2, workers=2, use_multiprocessing=False, verbose=0)
    print(history.history["loss"])
    print(model.metrics_names)
    model.save("trained_model")
    model.save_weights("weights.h5")


if __name__ == "__main__":
    main()
