"""The scikit-learn estimators on Dask (``pip install fastmlp[dask]``), on a LocalCluster of 2
worker processes: dask-ml's ParallelPostFit (predict/predict_proba over chunked dask arrays),
GridSearchCV under joblib's dask backend, and dask-ml's Incremental with partial_fit. Each
result is checked against the same estimator run in this process."""
import warnings

import numpy as np
import pytest

pytest.importorskip("dask.array", reason="dask is not installed (pip install 'fastmlp[dask]')")
pytest.importorskip("distributed", reason="distributed is not installed")
pytest.importorskip("dask_ml", reason="dask-ml is not installed")
pytest.importorskip("sklearn")

import dask.array as da  # noqa: E402
import joblib  # noqa: E402
from dask_ml.wrappers import Incremental, ParallelPostFit  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from fastmlp.sklearn import MLPClassifier  # noqa: E402

from conftest import make_data  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the cluster's start-up chatter is not ours
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, env={"OMP_NUM_THREADS": "1"})
        c = Client(cluster)
    yield c
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c.close()
        cluster.close()


def _clf(**kw):
    return MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0, **kw)


def _fit_quietly(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # ConvergenceWarning of the short fits
        return est.fit(*args, **kw)


def test_parallel_post_fit_predicts_chunks(client):
    X, y = make_data(n=301, d=5, k=3)
    ppf = _fit_quietly(ParallelPostFit(_clf()), X, y)
    Xd = da.from_array(X, chunks=(64, 5))
    labels = ppf.predict(Xd)
    proba = ppf.predict_proba(Xd)
    assert isinstance(labels, da.Array) and labels.numblocks == (5,)
    local = ppf.estimator
    np.testing.assert_array_equal(labels.compute(), local.predict(X))
    np.testing.assert_allclose(proba.compute(), local.predict_proba(X), rtol=1e-6, atol=1e-7)


def test_grid_search_on_the_dask_backend(client):
    X, y = make_data(n=200, d=4, k=3)
    grid = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(4,), (16,)]}
    with joblib.parallel_backend("dask"):
        on_dask = _fit_quietly(GridSearchCV(_clf(), grid, cv=2), X, y)
    here = _fit_quietly(GridSearchCV(_clf(), grid, cv=2, n_jobs=1), X, y)
    assert on_dask.best_params_ == here.best_params_
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"],
                               here.cv_results_["mean_test_score"])


def test_incremental_partial_fit_over_blocks(client):
    X, y = make_data(n=240, d=4, k=3)
    Xd, yd = da.from_array(X, chunks=60), da.from_array(y, chunks=60)
    inc = Incremental(_clf(), shuffle_blocks=False)
    inc.fit(Xd, yd, classes=[0, 1, 2])
    local = _clf()
    for start in range(0, 240, 60):
        local.partial_fit(X[start:start + 60], y[start:start + 60], classes=[0, 1, 2])
    for a, b in zip(inc.estimator_.coefs_, local.coefs_):
        np.testing.assert_array_equal(a, b)
    assert inc.score(Xd, yd) == pytest.approx(local.score(X, y))


def test_unaligned_arrays_are_accepted():
    # What Dask's pickle-5 buffers can hand over: C-contiguous float64 at an odd address.
    X, y = make_data(n=40, d=4, k=3)
    raw = np.zeros(X.nbytes + 1, np.uint8)
    Xu = raw[1:].view(np.float64).reshape(X.shape)
    Xu[...] = X
    assert not Xu.flags.aligned
    clf = _fit_quietly(_clf(), Xu, y)
    np.testing.assert_array_equal(clf.predict(Xu), clf.predict(X))
