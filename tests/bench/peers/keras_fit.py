"""Keras 3 on its torch backend: the same network as Keras layers, model.fit(shuffle=True)."""
import os
import time

os.environ["KERAS_BACKEND"] = "torch"
import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from tests.bench.peers.common import load, parse, report  # noqa: E402

a = parse()
torch.set_num_threads(1)
keras.utils.set_random_seed(0)
xt, yt, xs, ys = load(a.data)
L = keras.layers
if a.model == "mlp":
    xt, xs = xt.reshape(len(xt), -1), xs.reshape(len(xs), -1)
    layers = [keras.Input((64,)), L.Dense(64, activation="relu"), L.Dense(10)]
else:  # channels-last, Keras' native layout
    xt, xs = np.transpose(xt, (0, 2, 3, 1)), np.transpose(xs, (0, 2, 3, 1))

    def block(c):
        return [L.Conv2D(c, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU()]
    layers = [keras.Input((8, 8, 1)), *block(32), *block(32), L.MaxPooling2D(2), *block(64), L.MaxPooling2D(2),
              L.Flatten(), L.Dropout(0.3), L.Dense(10)]
model = keras.Sequential(layers)
model.compile(optimizer=keras.optimizers.Adam(a.lr),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
t0 = time.perf_counter()
model.fit(xt, yt, batch_size=a.batch, epochs=a.epochs, shuffle=True, verbose=0)
seconds = time.perf_counter() - t0
acc = float((model.predict(xs, verbose=0).argmax(1) == ys).mean())
report("keras " + keras.__version__ + " (torch)", len(xt), a.epochs, seconds, acc)
