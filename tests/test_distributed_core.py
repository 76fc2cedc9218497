"""The engine's data-parallel hooks (fit_epoch's sync/steps/across), driven from this process
with one "rank": no MPI needed, so this also runs under the sanitizers."""
import numpy as np
import pytest

import fastmlp as fm

from conftest import make_data


def _model(layers=None, opt=None, dtype="float64"):
    m = fm.Sequential(layers or [fm.Dense(7, activation="tanh"), fm.Dense(3)], dtype=dtype,
                      seed=2)
    m.compile(optimizer=opt or fm.SGD(lr=0.1, momentum=0.9))
    m.build(4)
    return m


def _epoch(m, X, y, **kw):
    return m._net.fit_epoch(X, y.astype(np.int32), 8, True, 0, **kw)


def test_one_rank_sync_is_the_plain_epoch():
    X, y = make_data(n=61, d=4, k=3)
    X = X.astype(np.float64)
    a, b = _model(), _model()
    seen = []

    def sync(grads, flags):
        seen.append(flags.tolist())
        assert grads.dtype == np.float64 and grads.flags.writeable

    r = _epoch(a, X, y, sync=sync, steps=8)
    _epoch(b, X, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert [f[0] for f in seen] == [8.0] * 7 + [5.0]     # rows per step
    assert all(f[1] == 0 and f[2] == 0 for f in seen)
    assert r.totals.count == 61 and not r.interrupted and not r.nonfinite


def test_steps_past_the_rows_send_zero_gradients():
    X, y = make_data(n=20, d=4, k=3)
    X = X.astype(np.float64)
    a, b = _model(opt=fm.SGD(lr=0.1)), _model(opt=fm.SGD(lr=0.1))
    rows = []

    def sync(grads, flags):
        rows.append(flags[0])
        if flags[0] == 0:
            assert not grads.any()

    _epoch(a, X, y, sync=sync, steps=5)
    _epoch(b, X, y)
    assert rows == [8, 8, 4, 0, 0]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)    # plain SGD: a zero gradient changes nothing


def test_sync_flags_decide_for_every_rank():
    X, y = make_data(n=40, d=4, k=3)
    X = X.astype(np.float64)
    m = _model()
    before = m.get_weights()

    def not_finite_elsewhere(grads, flags):
        flags[1] = 1.0                   # another rank's loss was not finite
    r = _epoch(m, X, y, sync=not_finite_elsewhere, steps=5)
    assert r.nonfinite
    for w0, w1 in zip(before, m.get_weights()):
        np.testing.assert_array_equal(w0, w1)    # rolled back

    calls = []

    def stop_elsewhere(grads, flags):
        calls.append(1)
        flags[2] = 1.0 if len(calls) == 2 else 0.0
    r = _epoch(m, X, y, sync=stop_elsewhere, steps=5)
    assert r.interrupted and r.totals.count == 16 and len(calls) == 2


def test_sync_error_is_raised_after_the_epoch():
    X, y = make_data(n=40, d=4, k=3)
    m = _model()

    def broken(grads, flags):
        raise RuntimeError("allreduce failed")
    with pytest.raises(RuntimeError, match="allreduce failed"):
        _epoch(m, X.astype(np.float64), y, sync=broken, steps=5)


def test_synchronized_batchnorm_on_one_rank_is_batchnorm():
    X, y = make_data(n=50, d=4, k=3)
    X = X.astype(np.float64) * 3 + 1

    def layers(sync):
        return [fm.Dense(6), fm.BatchNorm(synchronized=sync, momentum=0.3), fm.ReLU(),
                fm.Dense(3)]
    a, b = _model(layers(True), fm.SGD(lr=0.1)), _model(layers(False), fm.SGD(lr=0.1))
    sums = []

    def across(values, flags):
        sums.append(len(values))
    _epoch(a, X, y, sync=lambda g, f: None, steps=8, across=across)
    _epoch(b, X, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-12)
    # per step: mean (6 + count), squared deviations (6), backward sums (12); a rank past its
    # rows makes the same calls
    assert sums == [7, 6, 12] * 8


def test_synchronized_in_config_only_when_set():
    assert "synchronized" not in fm.BatchNorm().get_config()
    layer = fm.BatchNorm(synchronized=True)
    assert layer.get_config()["synchronized"] is True
    assert fm.BatchNorm.from_config(layer.get_config()).synchronized
    m = fm.Sequential([fm.Dense(4), layer, fm.Dense(2)], input_dim=3)
    m.compile()
    assert fm.Sequential.from_bytes(m.to_bytes()).layers[1].synchronized
    with pytest.raises(fm.InvalidParameterError, match="synchronized"):
        fm.BatchNorm(synchronized="yes")
