"""A dense network with BatchNorm and Dropout, trained like an MNIST classifier.

Runs on the handwritten digits bundled with fastmlp (8x8 images, 10 classes), or on synthetic
MNIST-shaped data (784 features) with --synthetic. A few seconds either way.

    python examples/mnist_style_dense.py
    python examples/mnist_style_dense.py --synthetic
"""
import argparse
import time

import numpy as np

import fastmlp as fm
from fastmlp.benchmark import make_data
from fastmlp.datasets import load_digits


def build(input_dim: int, classes: int) -> fm.Sequential:
    return fm.Sequential(
        [
            fm.Standardize(),                       # mean/std learned from the training data
            fm.Dense(256, init="he_normal"),
            fm.BatchNorm(),
            fm.ReLU(),
            fm.Dropout(0.2),
            fm.Dense(128, init="he_normal"),
            fm.BatchNorm(),
            fm.ReLU(),
            fm.Dropout(0.2),
            fm.Dense(classes),                      # logits: cross_entropy fuses the softmax
        ],
        input_dim=input_dim,
        seed=0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", action="store_true", help="20,000 x 784 synthetic rows")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()

    if args.synthetic:
        X, y = make_data(20_000, 784, 10)
    else:
        X, y = load_digits()
    X_train, X_dev, X_test, y_train, y_dev, y_test = fm.train_dev_test_split(
        X, y, sizes=(0.7, 0.1, 0.2), stratify=True, seed=0)

    model = build(X.shape[1], 10)
    model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-3), l2=1e-4)
    model.summary()

    t0 = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=args.epochs, batch_size=64,
                        validation_data=(X_dev, y_dev), verbose=2)
    seconds = time.perf_counter() - t0

    scores = model.evaluate(X_test, y_test)
    predicted = np.argmax(model.predict(X_test), axis=1)
    speed = len(X_train) * len(history.history["loss"]) / seconds
    print(f"test accuracy {scores['accuracy']:.4f} (argmax of predict: "
          f"{np.mean(predicted == y_test):.4f}), {speed:,.0f} samples/s")
    print(history.diagnose(baseline_error=0.0))


if __name__ == "__main__":
    main()
