"""Early stopping on a dev set, and what the learning curves say.

Splits the bundled digits 60/20/20 with fm.train_dev_test_split, trains a deliberately large
network for up to 200 epochs and lets fm.EarlyStopping stop when the dev loss has not improved
for 5 epochs (keeping the best weights). Prints the bias/variance diagnosis and, when matplotlib
is installed, writes the curves to early_stopping.png. A few seconds.

    python examples/early_stopping.py
"""
import fastmlp as fm
from fastmlp.datasets import load_digits


def main() -> None:
    X, y = load_digits()
    X_train, X_dev, X_test, y_train, y_dev, y_test = fm.train_dev_test_split(
        X, y, sizes=(0.6, 0.2, 0.2), stratify=True, seed=0)
    print(f"train {len(X_train)}, dev {len(X_dev)}, test {len(X_test)} rows")

    model = fm.Sequential(
        [fm.Standardize(), fm.Dense(512, activation="relu", init="he_normal"),
         fm.Dense(512, activation="relu", init="he_normal"), fm.Dense(10)],
        seed=0,
    )
    model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-3))
    stop = fm.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    history = model.fit(X_train, y_train, epochs=200, batch_size=32,
                        validation_data=(X_dev, y_dev), callbacks=[stop], verbose=0)

    dev_loss = history.history["val_loss"]
    best = min(range(len(dev_loss)), key=dev_loss.__getitem__)
    print(f"stopped after {len(dev_loss)} of 200 epochs; best dev loss {dev_loss[best]:.4f} "
          f"at epoch {best + 1} (those weights were restored)")
    print(f"test: {model.evaluate(X_test, y_test)}")
    print(history.diagnose(baseline_error=0.0))
    try:
        history.plot("early_stopping.png")
        print("learning curves written to early_stopping.png")
    except ImportError as exc:
        print(f"(no plot: {exc})")


if __name__ == "__main__":
    main()
