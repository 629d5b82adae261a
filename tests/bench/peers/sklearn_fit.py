"""scikit-learn's MLPClassifier: one hidden layer of 64 ReLU units, Adam, every epoch run
(no early stop, no tolerance stop), no L2 penalty."""
import time
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier

from tests.bench.peers.common import load, parse, report

warnings.filterwarnings("ignore")
a = parse()
assert a.model == "mlp", "scikit-learn has no convolutional network"
xt, yt, xs, ys = load(a.data)
xt, xs = xt.reshape(len(xt), -1), xs.reshape(len(xs), -1)
clf = MLPClassifier(hidden_layer_sizes=(64,), solver="adam", alpha=0.0, batch_size=a.batch,
                    learning_rate_init=a.lr, max_iter=a.epochs, tol=0.0, n_iter_no_change=a.epochs + 1,
                    shuffle=True, random_state=0)
t0 = time.perf_counter()
clf.fit(xt, yt)
seconds = time.perf_counter() - t0
report("scikit-learn", len(xt), clf.n_iter_, seconds, clf.score(xs, ys))
