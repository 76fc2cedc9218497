"""fastmlp.sklearn: scikit-learn's estimator contract, its MLP semantics, and interop."""
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastmlp as fm  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

quiet_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _fit_quietly(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


# ------------------------------------------------------------------ the estimator contract

# The instances scikit-learn checks its own MLPs with (max_iter=100). No check is declared
# as an expected failure.
@quiet_convergence
@parametrize_with_checks(
    [MLPClassifier(max_iter=100, random_state=0), MLPRegressor(max_iter=100, random_state=0)]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ parameters and errors


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_defaults_match_sklearn(cls):
    ours = cls().get_params()
    theirs = getattr(sk_nn, cls.__name__)().get_params()
    for name, value in theirs.items():
        assert ours[name] == value, name
    assert ours["dropout"] == 0.0 and ours["batch_norm"] is False and ours["n_threads"] is None


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_lbfgs_has_no_partial_fit(cls):
    # as scikit-learn's: partial_fit is for the stochastic solvers only
    assert not hasattr(cls(solver="lbfgs"), "partial_fit")


def test_bad_parameters_name_the_argument():
    X, y = make_classification(n_samples=20, random_state=0)
    with pytest.raises(ValueError, match="dropout"):
        MLPClassifier(dropout=1.0).fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=(5, 0)).fit(X, y)
    with pytest.raises(ValueError, match="activation"):
        MLPClassifier(activation="nope").fit(X, y)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(np.zeros((2, 3)))


# ------------------------------------------------------------------ scikit-learn's semantics


def _first_epoch_loss(cls_ours, cls_theirs, X, y, **kw):
    kw = dict(random_state=0, max_iter=1, shuffle=False, hidden_layer_sizes=(7,),
              batch_size=X.shape[0], **kw)
    ours = _fit_quietly(cls_ours(**kw), X, y)
    theirs = _fit_quietly(cls_theirs(**kw), X, y)
    return ours, theirs


@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("alpha", [1e-4, 3.0])
def test_objective_matches_sklearn_classifier(target, alpha):
    # Same initial weights (scikit-learn's init from random_state), full batch: the first
    # epoch's loss is scikit-learn's objective, penalty included.
    X, y = make_classification(n_samples=60, n_features=5, n_informative=3, n_classes=3,
                               random_state=1)
    if target == "binary":
        y = y % 2
    elif target == "multilabel":
        y = np.c_[y == 0, y == 1, y == 2, y != 1].astype(int)
    ours, theirs = _first_epoch_loss(MLPClassifier, sk_nn.MLPClassifier, X, y, alpha=alpha)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.shape == b.shape
    np.testing.assert_allclose(ours.loss_curve_[0], theirs.loss_curve_[0], rtol=1e-6)
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_outputs_ == theirs.n_outputs_ and ours.n_layers_ == theirs.n_layers_


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("alpha", [1e-4, 3.0])
def test_objective_matches_sklearn_regressor(n_outputs, alpha):
    X, y = make_regression(n_samples=50, n_features=4, n_targets=n_outputs, random_state=0)
    y = y / np.std(y)
    ours, theirs = _first_epoch_loss(MLPRegressor, sk_nn.MLPRegressor, X, y, alpha=alpha)
    np.testing.assert_allclose(ours.loss_curve_[0], theirs.loss_curve_[0], rtol=1e-6)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_training_tracks_sklearn(solver):
    # Same init, no shuffling: the optimizers are scikit-learn's up to torch's Adam epsilon
    # placement, so the loss curves stay close.
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    kw = dict(random_state=0, max_iter=10, shuffle=False, hidden_layer_sizes=(12,),
              solver=solver, batch_size=50, learning_rate_init=0.01)
    ours = _fit_quietly(MLPClassifier(**kw), X, y)
    theirs = _fit_quietly(sk_nn.MLPClassifier(**kw), X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=2e-2)


def test_digits_accuracy_similar_to_sklearn(digits):
    X_train, X_test, y_train, y_test = digits
    kw = dict(hidden_layer_sizes=(64,), max_iter=40, random_state=0)
    ours = _fit_quietly(MLPClassifier(**kw), X_train, y_train)
    theirs = _fit_quietly(sk_nn.MLPClassifier(**kw), X_train, y_train)
    acc_ours, acc_theirs = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    assert acc_ours > 0.93
    assert acc_ours >= acc_theirs - 0.03


def test_fitted_attributes(digits):
    X_train, _, y_train, _ = digits
    clf = _fit_quietly(MLPClassifier(hidden_layer_sizes=(20, 10), max_iter=5, random_state=0),
                       X_train, y_train)
    assert [c.shape for c in clf.coefs_] == [(64, 20), (20, 10), (10, 10)]
    assert [b.shape for b in clf.intercepts_] == [(20,), (10,), (10,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 10 and clf.out_activation_ == "softmax"
    assert clf.n_iter_ == 5 == len(clf.loss_curve_)
    assert clf.t_ == 5 * len(X_train)
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.n_features_in_ == 64
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert clf.coefs_[0].dtype == np.float64


def test_convergence_warning_and_tol_stopping():
    X, y = make_classification(n_samples=100, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier(max_iter=3, random_state=0).fit(X, y)
    kw = dict(max_iter=500, tol=1.0, n_iter_no_change=2, random_state=0)
    clf = MLPClassifier(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    # the first epoch improves on inf; then n_iter_no_change + 1 epochs without improvement
    assert clf.n_iter_ == 4 == sk_nn.MLPClassifier(**kw).fit(X, y).n_iter_


def test_early_stopping_restores_best_weights():
    X, y = make_classification(n_samples=300, n_features=10, random_state=0)
    clf = _fit_quietly(MLPClassifier(early_stopping=True, max_iter=40, n_iter_no_change=3,
                                     random_state=0, learning_rate_init=0.05), X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert 0.5 < clf.best_validation_score_ <= 1.0
    # The restored weights are the best epoch's: re-scoring the same split gives its score.
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.1, stratify=y,
                                          random_state=_rs_after_init(clf))
    assert clf.score(X_val, y_val) == clf.best_validation_score_


def _rs_after_init(clf):
    """random_state as the estimator's split saw it: after the init draws and the seed."""
    rs = np.random.RandomState(clf.random_state)
    for W, b in zip(clf.coefs_, clf.intercepts_):
        rs.uniform(size=W.shape)
        rs.uniform(size=b.shape)
    rs.randint(0, np.iinfo(np.int32).max)
    return rs


def test_early_stopping_not_in_partial_fit():
    X, y = make_classification(n_samples=30, random_state=0)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])


def test_string_labels_and_proba():
    X, y = make_classification(n_samples=120, n_classes=3, n_informative=4, random_state=0)
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = _fit_quietly(MLPClassifier(max_iter=50, random_state=0), X, labels)
    pred = clf.predict(X)
    assert pred.dtype.kind == "U" and set(pred) <= set(labels)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


def test_binary_has_one_logistic_output():
    X, y = make_classification(n_samples=80, random_state=0)
    clf = _fit_quietly(MLPClassifier(max_iter=20, random_state=0), X, np.where(y, "yes", "no"))
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert clf.coefs_[-1].shape[1] == 1
    proba = clf.predict_proba(X)
    assert proba.shape == (80, 2)
    np.testing.assert_array_equal(clf.predict(X), np.where(proba[:, 1] > 0.5, "yes", "no"))


def test_multilabel():
    X, y = make_classification(n_samples=150, n_classes=3, n_informative=4, random_state=0)
    Y = np.c_[y == 0, y == 1, y >= 1].astype(int)
    clf = _fit_quietly(MLPClassifier(max_iter=200, random_state=0), X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    pred = clf.predict(X)
    assert pred.shape == (150, 3) and set(np.unique(pred)) <= {0, 1}
    assert (pred == Y).mean() > 0.8
    assert clf.predict_proba(X).shape == (150, 3)


def test_regressor_multi_output_and_float32():
    X, y = make_regression(n_samples=200, n_features=6, n_targets=2, noise=0.1, random_state=0)
    X = X.astype(np.float32)
    reg = _fit_quietly(MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0,
                                    learning_rate_init=0.01), X, y / y.std())
    assert reg.predict(X).shape == (200, 2)
    assert reg.coefs_[0].dtype == np.float32  # the model follows X's float dtype
    assert reg.score(X, y / y.std()) > 0.9


def test_partial_fit_classifier_needs_classes_first():
    X, y = make_classification(n_samples=60, random_state=0)
    clf = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:30], y[:30], classes=[0, 1])
    clf.partial_fit(X[30:], y[30:])
    theirs = sk_nn.MLPClassifier(random_state=0).partial_fit(X[:30], y[:30], classes=[0, 1])
    theirs.partial_fit(X[30:], y[30:])
    assert clf.n_iter_ == theirs.n_iter_ == 1 and clf.t_ == theirs.t_ == 60
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y + 5)


def test_partial_fit_regressor_equals_fit_epochs():
    X, y = make_regression(n_samples=64, n_features=5, random_state=0)
    kw = dict(random_state=0, hidden_layer_sizes=(8,), shuffle=False, batch_size=16)
    a = MLPRegressor(**kw)
    for _ in range(3):
        a.partial_fit(X, y)
    b = _fit_quietly(MLPRegressor(max_iter=3, **kw), X, y)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-10, atol=1e-10)


def test_warm_start_keeps_weights_and_optimizer_state():
    X, y = make_classification(n_samples=100, random_state=0)
    clf = _fit_quietly(MLPClassifier(max_iter=3, warm_start=True, random_state=0), X, y)
    steps = clf._model.get_optimizer_state()["step"]
    coef = clf.coefs_[0].copy()
    _fit_quietly(clf, X, y)
    assert clf._model.get_optimizer_state()["step"] == 2 * steps
    assert not np.array_equal(coef, clf.coefs_[0])
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        clf.set_params(hidden_layer_sizes=(5,)).fit(X, y)
    # without warm_start, a second fit starts over: same result as the first
    cold = MLPClassifier(max_iter=3, random_state=0)
    p1 = _fit_quietly(cold, X, y).predict_proba(X)
    p2 = _fit_quietly(cold, X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)


def test_sample_weight_integer_equals_repetition():
    X, y = make_classification(n_samples=40, random_state=0)
    sw = np.random.RandomState(0).randint(0, 4, size=40)
    kw = dict(random_state=0, max_iter=5, shuffle=False)  # one full batch: order-free
    a = _fit_quietly(MLPClassifier(**kw), X, y, sample_weight=sw)
    b = _fit_quietly(MLPClassifier(**kw), np.repeat(X, sw, axis=0), np.repeat(y, sw))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-9)
    with pytest.raises(ValueError, match="non-negative"):
        MLPClassifier().fit(X, y, sample_weight=np.linspace(-0.1, 1, 40))
    with pytest.raises(ValueError, match="non-zero"):
        MLPClassifier().fit(X, y, sample_weight=np.zeros(40))


@pytest.mark.parametrize("batch_size", [60, 16])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("task", ["multiclass", "multioutput_regression"])
def test_fractional_sample_weight_follows_sklearn(solver, task, batch_size):
    # No shuffling: every update is scikit-learn's (each batch divided by its weight sum, the
    # last one of 12 rows too), so the weights after ten iterations agree (SGD to rounding;
    # Adam amplifies rounding where v is ~0).
    rng = np.random.RandomState(1)
    kw = dict(random_state=0, max_iter=10, shuffle=False, hidden_layer_sizes=(7,), alpha=0.5,
              solver=solver, learning_rate_init=0.01, batch_size=batch_size)
    if task == "multiclass":
        X, y = make_classification(n_samples=60, n_features=6, n_informative=4, n_classes=3,
                                   random_state=0)
        ours, theirs = MLPClassifier(**kw), sk_nn.MLPClassifier(**kw)
    else:
        X, y = make_regression(n_samples=60, n_features=5, n_targets=2, random_state=0)
        y = y / y.std()
        ours, theirs = MLPRegressor(**kw), sk_nn.MLPRegressor(**kw)
    sw = rng.uniform(0, 3, len(X))
    sw[:5] = 0.0
    _fit_quietly(ours, X, y, sample_weight=sw)
    _fit_quietly(theirs, X, y, sample_weight=sw)
    tol = 1e-12 if solver == "sgd" else 1e-5
    if task == "multiclass" or batch_size == len(X):  # multi-output: reported approximately
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=tol)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, atol=tol)


def test_large_integer_weights_use_the_weighted_loss_not_repetition():
    # 10x the rows would be repeated: the engine's weighted loss is used instead, which for
    # one full batch is the same objective as the repeated rows.
    X, y = make_classification(n_samples=40, n_features=5, random_state=0)
    sw = np.where(np.arange(40) % 2 == 0, 1, 19)
    kw = dict(random_state=0, max_iter=5, shuffle=False, solver="sgd", alpha=0.1)
    a = _fit_quietly(MLPClassifier(**kw, batch_size=40), X, y, sample_weight=sw)
    b = _fit_quietly(MLPClassifier(**kw, batch_size=int(sw.sum())), np.repeat(X, sw, axis=0),
                     np.repeat(y, sw))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-9)
    assert a.t_ == 5 * 40 and b.t_ == 5 * 400   # a trained on the 40 rows themselves


def test_weighted_minibatch_training_matches_sklearn_accuracy():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    w = np.where(y == 3, 5.0, 0.7)
    ours = _fit_quietly(MLPClassifier(random_state=0, max_iter=40), X[:1200], y[:1200],
                        sample_weight=w[:1200])
    theirs = _fit_quietly(sk_nn.MLPClassifier(random_state=0, max_iter=40), X[:1200],
                          y[:1200], sample_weight=w[:1200])
    a = ours.score(X[1200:], y[1200:], sample_weight=w[1200:])
    b = theirs.score(X[1200:], y[1200:], sample_weight=w[1200:])
    assert a > 0.88 and abs(a - b) < 0.03
    assert ours.loss_curve_[-1] == pytest.approx(theirs.loss_curve_[-1], rel=0.3)


def test_dropout_batch_norm_threads():
    X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    clf = _fit_quietly(MLPClassifier(hidden_layer_sizes=(16, 8), dropout=0.1, batch_norm=True,
                                     n_threads=1, max_iter=60, random_state=0,
                                     learning_rate_init=0.01), X, y)
    assert [c.shape for c in clf.coefs_] == [(10, 16), (16, 8), (8, 1)]
    assert clf.score(X, y) > 0.8
    before = fm.get_num_threads()
    clf.predict(X)
    assert fm.get_num_threads() == before


@pytest.mark.parametrize("solver", ["sgd", "rmsprop"])
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_solvers_learn(solver, learning_rate):
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    clf = _fit_quietly(MLPClassifier(solver=solver, learning_rate=learning_rate,
                                     learning_rate_init=0.05 if solver == "sgd" else 0.005,
                                     max_iter=60, random_state=0), X, y)
    assert clf.score(X, y) > 0.8


def test_sparse_input():
    sp = pytest.importorskip("scipy.sparse")
    X, y = make_classification(n_samples=60, random_state=0)
    dense = _fit_quietly(MLPClassifier(max_iter=5, random_state=0), X, y)
    sparse = _fit_quietly(MLPClassifier(max_iter=5, random_state=0), sp.csr_matrix(X), y)
    np.testing.assert_allclose(dense.predict_proba(X), sparse.predict_proba(sp.csr_matrix(X)))


# ------------------------------------------------------------------ interop


def test_clone_pipeline_gridsearch():
    X, y = make_classification(n_samples=150, n_features=6, random_state=0)
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0,
                        learning_rate_init=0.01)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "coefs_")
    pipe = make_pipeline(StandardScaler(), est)
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2],
                                 "mlpclassifier__hidden_layer_sizes": [(4,), (8,)]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_score_ > 0.7
    assert search.predict(X).shape == (150,)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_pickle_and_joblib_round_trip(cls, tmp_path):
    joblib = pytest.importorskip("joblib")
    X, y = make_classification(n_samples=80, random_state=0)
    est = _fit_quietly(cls(hidden_layer_sizes=(8,), max_iter=10, random_state=0), X, y)
    ref = est.predict(X)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), ref)
    path = tmp_path / "est.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X), ref)
    # the unpickled estimator keeps training where it stopped
    t = loaded.t_
    loaded.set_params(warm_start=True, max_iter=2)
    _fit_quietly(loaded, X, y)
    assert loaded.n_iter_ == 2 and loaded.t_ == t + 2 * len(X)


def test_uniform_fractional_weights_rescale_the_penalty_as_sklearn():
    X, y = make_classification(n_samples=40, n_features=5, random_state=0)
    sw = np.full(40, 0.25)
    kw = dict(random_state=0, max_iter=1, shuffle=False, hidden_layer_sizes=(7,), alpha=2.0)
    ours = _fit_quietly(MLPClassifier(**kw), X, y, sample_weight=sw)
    theirs = _fit_quietly(sk_nn.MLPClassifier(**kw), X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.loss_curve_[0], theirs.loss_curve_[0], rtol=1e-6)


def test_adaptive_learning_rate_divides_by_five_instead_of_stopping():
    X, y = make_classification(n_samples=100, random_state=0)
    kw = dict(solver="sgd", learning_rate="adaptive", tol=10.0, n_iter_no_change=1,
              max_iter=8, random_state=0)
    clf = _fit_quietly(MLPClassifier(**kw), X, y)
    theirs = _fit_quietly(sk_nn.MLPClassifier(**kw), X, y)
    # no epoch improves by tol=10: the rate is divided by 5 each time, training goes on
    assert clf.n_iter_ == theirs.n_iter_ == 8
    assert clf._lr == pytest.approx(theirs._optimizer.learning_rate)
    assert clf._lr == pytest.approx(clf.learning_rate_init / 5**3)


def test_verbose_prints_sklearn_lines(capsys):
    X, y = make_classification(n_samples=40, random_state=0)
    _fit_quietly(MLPClassifier(max_iter=2, verbose=True, random_state=0), X, y)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Iteration 1, loss = ") and out[1].startswith("Iteration 2, loss")


def test_early_stopping_with_sample_weight_and_regressor():
    X, y = make_regression(n_samples=120, n_features=5, noise=0.1, random_state=0)
    sw = np.random.RandomState(0).randint(1, 3, size=120)
    reg = _fit_quietly(MLPRegressor(early_stopping=True, max_iter=30, random_state=0,
                                    learning_rate_init=0.01), X, y / y.std(), sample_weight=sw)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
