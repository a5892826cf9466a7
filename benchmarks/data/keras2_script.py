"""A Keras 2 (tf.keras) training script, as found in the wild: the benchmark input.

Not meant to run; it exercises the analysis the way a real file does.
"""
import os
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers, backend as K
from tensorflow.keras.layers import Dense, Dropout, Conv2D, MaxPooling2D, Flatten
from tensorflow.keras.models import Model, Sequential, load_model
from tensorflow.keras.callbacks import ModelCheckpoint, EarlyStopping, TensorBoard

BATCH_SIZE = 64
EPOCHS = 10


class ResidualBlock0(tf.keras.layers.Layer):
    """Residual block number 0."""

    def __init__(self, units, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.dense_a = tf.keras.layers.Dense(units, activation="relu")
        self.dense_b = layers.Dense(units)
        self.norm = tf.keras.layers.BatchNormalization()
        self.drop = Dropout(rate)
        self.scale = tf.Variable(1.0, trainable=True)

    def call(self, inputs, training=None):
        x = self.dense_a(inputs)
        x = self.drop(x, training=training)
        x = self.dense_b(x)
        x = self.norm(x, training=training)
        return tf.nn.relu(inputs + self.scale * x)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.dense_a.units})
        return config


def build_model_0(input_dim, classes=10):
    inputs = keras.Input(shape=(input_dim,))
    x = tf.keras.layers.Dense(128, activation="relu")(inputs)
    x = ResidualBlock0(128)(x)
    x = tf.keras.layers.Dropout(0.2)(x)
    outputs = Dense(classes, activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs, name="model_0")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    return model


def train_0(model, x, y):
    callbacks = [
        ModelCheckpoint("ckpt_0.h5", save_best_only=True),
        EarlyStopping(patience=3),
        tf.keras.callbacks.ReduceLROnPlateau(factor=0.5),
    ]
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_split=0.1,
                        callbacks=callbacks, verbose=2)
    eps = K.epsilon()
    return history.history["loss"][-1] + eps


class ResidualBlock1(tf.keras.layers.Layer):
    """Residual block number 1."""

    def __init__(self, units, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.dense_a = tf.keras.layers.Dense(units, activation="relu")
        self.dense_b = layers.Dense(units)
        self.norm = tf.keras.layers.BatchNormalization()
        self.drop = Dropout(rate)
        self.scale = tf.Variable(1.0, trainable=True)

    def call(self, inputs, training=None):
        x = self.dense_a(inputs)
        x = self.drop(x, training=training)
        x = self.dense_b(x)
        x = self.norm(x, training=training)
        return tf.nn.relu(inputs + self.scale * x)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.dense_a.units})
        return config


def build_model_1(input_dim, classes=10):
    inputs = keras.Input(shape=(input_dim,))
    x = tf.keras.layers.Dense(128, activation="relu")(inputs)
    x = ResidualBlock1(128)(x)
    x = tf.keras.layers.Dropout(0.2)(x)
    outputs = Dense(classes, activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs, name="model_1")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    return model


def train_1(model, x, y):
    callbacks = [
        ModelCheckpoint("ckpt_1.h5", save_best_only=True),
        EarlyStopping(patience=3),
        tf.keras.callbacks.ReduceLROnPlateau(factor=0.5),
    ]
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_split=0.1,
                        callbacks=callbacks, verbose=2)
    eps = K.epsilon()
    return history.history["loss"][-1] + eps


class ResidualBlock2(tf.keras.layers.Layer):
    """Residual block number 2."""

    def __init__(self, units, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.dense_a = tf.keras.layers.Dense(units, activation="relu")
        self.dense_b = layers.Dense(units)
        self.norm = tf.keras.layers.BatchNormalization()
        self.drop = Dropout(rate)
        self.scale = tf.Variable(1.0, trainable=True)

    def call(self, inputs, training=None):
        x = self.dense_a(inputs)
        x = self.drop(x, training=training)
        x = self.dense_b(x)
        x = self.norm(x, training=training)
        return tf.nn.relu(inputs + self.scale * x)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.dense_a.units})
        return config


def build_model_2(input_dim, classes=10):
    inputs = keras.Input(shape=(input_dim,))
    x = tf.keras.layers.Dense(128, activation="relu")(inputs)
    x = ResidualBlock2(128)(x)
    x = tf.keras.layers.Dropout(0.2)(x)
    outputs = Dense(classes, activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs, name="model_2")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    return model


def train_2(model, x, y):
    callbacks = [
        ModelCheckpoint("ckpt_2.h5", save_best_only=True),
        EarlyStopping(patience=3),
        tf.keras.callbacks.ReduceLROnPlateau(factor=0.5),
    ]
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_split=0.1,
                        callbacks=callbacks, verbose=2)
    eps = K.epsilon()
    return history.history["loss"][-1] + eps


class ResidualBlock3(tf.keras.layers.Layer):
    """Residual block number 3."""

    def __init__(self, units, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.dense_a = tf.keras.layers.Dense(units, activation="relu")
        self.dense_b = layers.Dense(units)
        self.norm = tf.keras.layers.BatchNormalization()
        self.drop = Dropout(rate)
        self.scale = tf.Variable(1.0, trainable=True)

    def call(self, inputs, training=None):
        x = self.dense_a(inputs)
        x = self.drop(x, training=training)
        x = self.dense_b(x)
        x = self.norm(x, training=training)
        return tf.nn.relu(inputs + self.scale * x)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.dense_a.units})
        return config


def build_model_3(input_dim, classes=10):
    inputs = keras.Input(shape=(input_dim,))
    x = tf.keras.layers.Dense(128, activation="relu")(inputs)
    x = ResidualBlock3(128)(x)
    x = tf.keras.layers.Dropout(0.2)(x)
    outputs = Dense(classes, activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs, name="model_3")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    return model


def train_3(model, x, y):
    callbacks = [
        ModelCheckpoint("ckpt_3.h5", save_best_only=True),
        EarlyStopping(patience=3),
        tf.keras.callbacks.ReduceLROnPlateau(factor=0.5),
    ]
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_split=0.1,
                        callbacks=callbacks, verbose=2)
    eps = K.epsilon()
    return history.history["loss"][-1] + eps


class ResidualBlock4(tf.keras.layers.Layer):
    """Residual block number 4."""

    def __init__(self, units, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.dense_a = tf.keras.layers.Dense(units, activation="relu")
        self.dense_b = layers.Dense(units)
        self.norm = tf.keras.layers.BatchNormalization()
        self.drop = Dropout(rate)
        self.scale = tf.Variable(1.0, trainable=True)

    def call(self, inputs, training=None):
        x = self.dense_a(inputs)
        x = self.drop(x, training=training)
        x = self.dense_b(x)
        x = self.norm(x, training=training)
        return tf.nn.relu(inputs + self.scale * x)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.dense_a.units})
        return config


def build_model_4(input_dim, classes=10):
    inputs = keras.Input(shape=(input_dim,))
    x = tf.keras.layers.Dense(128, activation="relu")(inputs)
    x = ResidualBlock4(128)(x)
    x = tf.keras.layers.Dropout(0.2)(x)
    outputs = Dense(classes, activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs, name="model_4")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    return model


def train_4(model, x, y):
    callbacks = [
        ModelCheckpoint("ckpt_4.h5", save_best_only=True),
        EarlyStopping(patience=3),
        tf.keras.callbacks.ReduceLROnPlateau(factor=0.5),
    ]
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_split=0.1,
                        callbacks=callbacks, verbose=2)
    eps = K.epsilon()
    return history.history["loss"][-1] + eps


def make_dataset(x, y, training=True):
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(1024)
    ds = ds.batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)
    return ds


def augment(images):
    aug = tf.keras.Sequential([
        tf.keras.layers.RandomFlip("horizontal"),
        tf.keras.layers.RandomRotation(0.1),
    ])
    return aug(images)


def main():
    x = np.random.rand(1024, 32).astype("float32")
    y = np.random.randint(0, 10, size=(1024,))
    model = build_model_0(32)
    loss = train_0(model, x, y)
    model.save("model.h5")
    restored = load_model("model.h5", custom_objects={"ResidualBlock0": ResidualBlock0})
    print(loss, restored.summary())


if __name__ == "__main__":
    main()
