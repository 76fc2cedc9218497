"""solver="lbfgs", loss="poisson", sparse input and divergence under early stopping in
fastmlp.sklearn, against scikit-learn's own estimators; fm.fit_lbfgs for Sequential."""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
sp = pytest.importorskip("scipy.sparse")

from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import LabelBinarizer  # noqa: E402

import fastmlp as fm  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def _quiet(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=4, return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _sklearn_backprop(ours, X, Y, sw):
    """scikit-learn's own loss and gradients at our estimator's weights."""
    cls = sk_nn.MLPClassifier if hasattr(ours, "classes_") else sk_nn.MLPRegressor
    sk = cls(alpha=ours.alpha, activation=ours.activation)
    if cls is sk_nn.MLPRegressor:
        sk.loss = ours.loss
    sk.coefs_ = [c.copy() for c in ours.coefs_]
    sk.intercepts_ = [b.copy() for b in ours.intercepts_]
    sk.n_layers_, sk.out_activation_ = ours.n_layers_, ours.out_activation_
    L = ours.n_layers_
    acts = [X] + [None] * (L - 1)
    loss, cg, ig = sk._backprop(X, Y, sw, acts, [None] * (L - 1),
                                [np.empty_like(c) for c in sk.coefs_],
                                [np.empty_like(b) for b in sk.intercepts_])
    return loss, np.sort(np.concatenate([g.ravel() for g in cg + ig]))


def _our_objective(est, X, Y, sw):
    """Our estimator's lbfgs objective and gradient (sorted) at its current weights."""
    net = est._model._net
    loss, g = net.loss_and_gradient(net.flat_params(), X, est._engine_targets(Y), sw)
    return loss / est._loss_scale, np.sort(g / est._loss_scale)


CASES = {
    "multiclass": (MLPClassifier, "logistic"),
    "binary": (MLPClassifier, "tanh"),
    "multilabel": (MLPClassifier, "relu"),
    "regression": (MLPRegressor, "relu"),
    "poisson": (MLPRegressor, "tanh"),
}


def _case(name, digits):
    X, y = digits
    rng = np.random.default_rng(0)
    if name == "binary":
        return X, (y % 2), None
    if name == "multilabel":
        return X, np.stack([y % 2, y > 1, y == 3], axis=1).astype(int), None
    if name == "regression":
        return X, X[:, 20:22] * 3 + rng.normal(size=(len(X), 2)), None
    if name == "poisson":
        return X, rng.poisson(np.exp(X[:, 30])), None
    return X, y, rng.uniform(0.2, 2.0, len(X))


@pytest.mark.parametrize("name", list(CASES))
def test_objective_and_gradient_are_sklearns(name, digits):
    cls, act = CASES[name]
    X, y, sw = _case(name, digits)
    kw = {"loss": "poisson"} if name == "poisson" else {}
    est = _quiet(cls(hidden_layer_sizes=(7, 5), activation=act, solver="lbfgs", alpha=0.3,
                     max_iter=2, random_state=0, **kw), X, y, sample_weight=sw)
    Y = LabelBinarizer().fit_transform(y).astype(float) if cls is MLPClassifier \
        and name != "multilabel" else np.asarray(y, dtype=float).reshape(len(X), -1)
    ref_loss, ref_grad = _sklearn_backprop(est, X, Y, sw)
    loss, grad = _our_objective(est, X, Y, sw)
    if name == "regression":   # scikit-learn's value is a mean over the outputs
        ref_loss = None
    elif name == "poisson":    # the engine's NLL leaves out the y-only terms
        loss += est._offset
    if ref_loss is not None:
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-9)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_lbfgs_scores_like_sklearn(cls, digits):
    X, y = digits
    if cls is MLPRegressor:
        X, y = make_regression(n_samples=300, n_features=10, noise=5.0, random_state=0)
        y = y / y.std()
    kw = dict(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=150, random_state=1)
    ours, theirs = _quiet(cls(**kw), X, y), _quiet(getattr(sk_nn, cls.__name__)(**kw), X, y)
    assert ours.score(X, y) >= theirs.score(X, y) - 0.01
    assert 1 <= ours.n_iter_ <= 150 and np.isfinite(ours.loss_)
    assert not hasattr(ours, "loss_curve_") and ours.t_ == 0
    # scikit-learn's stopping: max_iter reached -> its ConvergenceWarning
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        cls(**{**kw, "max_iter": 3}).fit(X, y)


def test_lbfgs_loss_is_sklearns_at_the_end(digits):
    X, y = digits
    Y = np.stack([X[:, 5], X[:, 6] * 2], axis=1)
    est = _quiet(MLPRegressor(hidden_layer_sizes=(6,), solver="lbfgs", alpha=0.5, max_iter=20,
                              random_state=0), X, Y)
    ref, _ = _sklearn_backprop(est, X, Y, None)
    np.testing.assert_allclose(est.loss_, ref, rtol=1e-9)


def test_lbfgs_sparse_warm_start_and_weights(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=30, random_state=0)
    dense = _quiet(MLPClassifier(**kw), X, y)
    for container in (sp.csr_matrix, sp.csc_array):
        sparse = _quiet(MLPClassifier(**kw), container(X), y)
        for a, b in zip(dense.coefs_, sparse.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    # integer weights = repeated rows
    w = np.arange(len(X)) % 3
    weighted = _quiet(MLPClassifier(**kw), X, y, sample_weight=w)
    repeated = _quiet(MLPClassifier(**kw), np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-6)
    # warm start continues from the fitted weights
    est = _quiet(MLPClassifier(**{**kw, "warm_start": True}), X, y)
    first = est.loss_
    _quiet(est, X, y)
    assert est.loss_ <= first


def test_sparse_stochastic_trains_on_row_blocks(digits, monkeypatch):
    from fastmlp import sparse_rows
    X, y = digits
    monkeypatch.setattr(sparse_rows, "BLOCK_ELEMENTS", 64 * 50)   # predict: 50 rows a block
    est = _quiet(MLPClassifier(hidden_layer_sizes=(16,), max_iter=40, random_state=0),
                 sp.csr_matrix(X), y)
    np.testing.assert_array_equal(est.predict(sp.csc_matrix(X)), est.predict(X))
    assert est.score(sp.csr_array(X), y) > 0.8
    w = np.random.default_rng(0).uniform(0.5, 1.5, len(X))
    _quiet(MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, early_stopping=True,
                         random_state=0), sp.csr_matrix(X), y, sample_weight=w)


def test_poisson_regressor_vs_sklearn():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 3))
    y = rng.poisson(np.exp(X @ np.array([0.5, -0.8, 0.2]) + 1))
    kw = dict(loss="poisson", hidden_layer_sizes=(8,), random_state=0)
    ours = _quiet(MLPRegressor(solver="lbfgs", max_iter=200, **kw), X, y)
    theirs = _quiet(sk_nn.MLPRegressor(solver="lbfgs", max_iter=200, **kw), X, y)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=0.02)
    assert np.all(ours.predict(X) > 0)
    adam = _quiet(MLPRegressor(max_iter=50, **kw), X, y)
    sk_adam = _quiet(sk_nn.MLPRegressor(max_iter=50, **kw), X, y)
    np.testing.assert_allclose(adam.loss_curve_[-1], sk_adam.loss_curve_[-1], rtol=0.05)
    with pytest.raises(ValueError, match="y >= 0"):
        MLPRegressor(loss="poisson").fit(X, -y)


def test_divergence_under_early_stopping_keeps_best_weights():
    X, y = make_regression(n_samples=150, n_features=4, random_state=0)
    est = MLPRegressor(hidden_layer_sizes=100, activation="identity", solver="sgd",
                       learning_rate_init=1, max_iter=20, early_stopping=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X, y)
    assert np.isnan(est.validation_scores_[-1])
    assert all(np.isfinite(c).all() for c in est.coefs_)
    with pytest.raises(ValueError, match="non-finite"):
        MLPRegressor(hidden_layer_sizes=100, activation="identity", solver="sgd",
                     learning_rate_init=1, max_iter=20, random_state=0).fit(X, y)


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = make_regression(n_samples=60, n_features=3, random_state=0)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est = _quiet(MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), df, y)
    assert list(est.feature_names_in_) == ["a", "b", "c"]
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(X)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df[["c", "b", "a"]])


def test_fit_lbfgs_on_sequential():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(np.int32)
    m = fm.Sequential([fm.Dense(16, activation="tanh"), fm.Dense(2)], input_dim=5,
                      dtype="float64", seed=0)
    m.compile(loss="cross_entropy", optimizer="adam", l2=1e-3)
    before = m.evaluate(X, y)["loss"]
    res = fm.fit_lbfgs(m, X, y, max_iter=100)
    after = m.evaluate(X, y)
    assert after["loss"] < before and after["accuracy"] > 0.95
    np.testing.assert_allclose(after["loss"], res.fun, rtol=1e-9)
    assert res.nit <= 100
    m.compile(loss="cross_entropy", l1=0.1)
    with pytest.raises(ValueError, match="l1"):
        fm.fit_lbfgs(m, X, y)
    bn = fm.Sequential([fm.Dense(4), fm.BatchNorm(), fm.Dense(2)], input_dim=5)
    bn.compile(loss="cross_entropy")
    with pytest.raises(ValueError, match="BatchNorm"):
        fm.fit_lbfgs(bn, X, y)
    with pytest.raises(ValueError, match="batch_norm"):
        MLPClassifier(solver="lbfgs", batch_norm=True).fit(X, y)
