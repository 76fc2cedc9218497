"""fastmlp's scikit-learn estimator inside GridSearchCV and a Pipeline.

fastmlp.sklearn.MLPClassifier takes the same parameters as
sklearn.neural_network.MLPClassifier (plus dropout, batch_norm, n_threads), so a grid written
for scikit-learn runs unchanged. About ten seconds on the bundled digits.

    python examples/sklearn_gridsearch.py
"""
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp.datasets import load_digits
from fastmlp.sklearn import MLPClassifier


def main() -> None:
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    pipeline = make_pipeline(
        StandardScaler(),
        MLPClassifier(max_iter=30, batch_size=64, random_state=0),
    )
    grid = {
        "mlpclassifier__hidden_layer_sizes": [(64,), (128, 64)],
        "mlpclassifier__alpha": [1e-4, 1e-2],
        "mlpclassifier__dropout": [0.0, 0.2],
    }
    search = GridSearchCV(pipeline, grid, cv=3, n_jobs=1)
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # max_iter is deliberately short, as in a quick search
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    print(f"{len(search.cv_results_['params'])} settings x 3 folds in "
          f"{time.perf_counter() - t0:.1f} s")
    for params, score in zip(search.cv_results_["params"],
                             search.cv_results_["mean_test_score"]):
        short = {k.split("__")[1]: v for k, v in params.items()}
        print(f"  {score:.4f}  {short}")
    print(f"best: {search.best_params_}")
    print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
