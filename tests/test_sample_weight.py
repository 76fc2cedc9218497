"""Per-sample loss weights (sample_weight, class_weight): gradients and loss against torch,
integer weights against repeated rows, all-ones weights against none, weighted evaluate against
NumPy, class_weight against the equivalent sample_weight (and sklearn's "balanced"), the
validation and augment paths, input validation, and a behavioural check on recall.

Semantics (Keras' sum_over_batch_size): a batch's loss is sum_i w_i*loss_i / n for
cross_entropy and sum_i w_i*sum_j loss_ij / (n*k) for binary_cross_entropy and mse, plus the
unweighted L1/L2 penalty; accuracy is sum(w*correct) / sum(w) (per element for bce)."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp.trainers.validation import split_validation

from conftest import make_data, make_mlp

LOSSES = ["ce_labels", "ce_probs", "bce", "mse"]
LOSS_NAME = {"ce_labels": "cross_entropy", "ce_probs": "cross_entropy",
             "bce": "binary_cross_entropy", "mse": "mse"}
TORCH_TOL = dict(rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- helpers

def _model(kind, k=3, d=5, dtype="float64", seed=0, l1=0.0, l2=0.0, optimizer=None,
           hidden=(9, 7)):
    """Dense(tanh) -> Dense(relu) -> Dense(k) with non-zero biases, compiled."""
    return make_mlp(hidden, k, d, ("tanh", "relu"), dtype, seed, LOSS_NAME[kind],
                    optimizer or fm.SGD(lr=0.05), bias_noise=0.2, l1=l1, l2=l2)


def _data(kind, n=37, d=5, k=3, seed=1):
    target = {"ce_labels": "labels", "ce_probs": "probs", "bce": "binary", "mse": "values"}
    return make_data(target[kind], n, d, k, seed)


def _fractional_weights(n, seed=2):
    """Non-uniform fractional weights, every fifth one zero."""
    w = np.random.default_rng(seed).uniform(0.1, 3.0, n)
    w[::5] = 0.0
    return w


def _twins(kind, **kw):
    return _model(kind, **kw), _model(kind, **kw)


def _assert_class_weight_is_sample_weight(a, b, X, y, cw, sw, batch_size):
    """Twins a (class_weight=cw) and b (sample_weight=sw) take bit-identical steps and fits."""
    assert a.train_on_batch(X, y, class_weight=cw) == b.train_on_batch(X, y, sample_weight=sw)
    _assert_weights_equal(a, b)
    ha = a.fit(X, y, epochs=2, batch_size=batch_size, verbose=0, class_weight=cw)
    hb = b.fit(X, y, epochs=2, batch_size=batch_size, verbose=0, sample_weight=sw)
    _assert_weights_equal(a, b)
    assert ha.history == hb.history


def _assert_weights_equal(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def _penalty_np(model, l1, l2):
    Ws = [w for w in model.get_weights() if w.ndim == 2]
    return sum(l1 * np.abs(W).sum() + 0.5 * l2 * (W * W).sum() for W in Ws)


def _torch_weighted(torch, kind, model, X, y, w, l1, l2):
    """torch's weighted loss (+ penalty) and the gradients in get_weights() order."""
    lins = []
    mods = []
    weights = model.get_weights()
    acts = [torch.nn.Tanh(), torch.nn.ReLU(), torch.nn.Identity()]
    for i, act in enumerate(acts):
        W, b = weights[2 * i], weights[2 * i + 1]
        lin = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        lins.append(lin)
        mods += [lin, act]
    out = torch.nn.Sequential(*mods)(torch.from_numpy(X))
    F = torch.nn.functional
    if kind == "ce_labels":
        per = F.cross_entropy(out, torch.from_numpy(y).long(), reduction="none")
    elif kind == "ce_probs":
        per = F.cross_entropy(out, torch.from_numpy(y), reduction="none")
    elif kind == "bce":
        per = F.binary_cross_entropy_with_logits(out, torch.from_numpy(y), reduction="none")
    else:
        per = F.mse_loss(out, torch.from_numpy(y), reduction="none")
    tw = torch.from_numpy(w)
    if per.ndim == 1:
        loss = (tw * per).sum() / len(X)
    else:
        loss = (tw[:, None] * per).sum() / per.numel()
    for lin in lins:
        loss = loss + l1 * lin.weight.abs().sum() + 0.5 * l2 * (lin.weight ** 2).sum()
    loss.backward()
    grads = []
    for lin in lins:
        grads += [lin.weight.grad.numpy().T, lin.bias.grad.numpy()]
    return float(loss.detach()), grads


def _hits(model, X, y, kind):
    """Correct predictions per row, from predict's probabilities (bce: elements per row)."""
    p = model.predict(X).astype(np.float64)
    if kind == "bce":
        return ((p >= 0.5) == (y >= 0.5)).sum(axis=1).astype(np.float64), p
    truth = y if y.ndim == 1 else y.argmax(axis=1)
    return (p.argmax(axis=1) == truth).astype(np.float64), p


# ---------------------------------------------------------------- 1. against torch

@pytest.mark.parametrize("kind", LOSSES)
def test_weighted_gradients_and_loss_match_torch(kind):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    l1, l2 = 0.01, 0.03
    m = _model(kind, l1=l1, l2=l2)
    X, y = _data(kind)
    w = _fractional_weights(len(X))
    t_loss, t_grads = _torch_weighted(torch, kind, m, X, y, w, l1, l2)
    grads = m.gradients(X, y, sample_weight=w)
    assert len(grads) == len(t_grads) == 6
    for g, tg in zip(grads, t_grads):
        np.testing.assert_allclose(g, tg, **TORCH_TOL)
    # no dropout/BatchNorm: evaluate's inference-mode loss is the training loss
    np.testing.assert_allclose(m.evaluate(X, y, sample_weight=w)["loss"], t_loss, **TORCH_TOL)
    # ... and the weights matter: unweighted is different
    assert abs(m.evaluate(X, y)["loss"] - t_loss) > 1e-3


@pytest.mark.parametrize("kind", LOSSES)
def test_train_on_batch_returns_weighted_loss_and_steps_along_gradient(kind):
    m, ref = _twins(kind, l1=0.01, l2=0.03)
    X, y = _data(kind)
    w = _fractional_weights(len(X))
    before = m.get_weights()
    grads = ref.gradients(X, y, sample_weight=w)
    loss = m.train_on_batch(X, y, sample_weight=w)
    np.testing.assert_allclose(loss, ref.evaluate(X, y, sample_weight=w)["loss"], rtol=1e-12)
    for b, a, g in zip(before, m.get_weights(), grads):      # plain SGD, lr 0.05
        np.testing.assert_allclose(a, b - 0.05 * g, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- 2. weights as row counts

@pytest.mark.parametrize("kind", LOSSES)
def test_integer_weights_equal_repeated_rows(kind):
    m = _model(kind)                 # no penalty: its gradient is not scaled by the weights
    X, y = _data(kind)
    w = np.random.default_rng(3).integers(0, 4, len(X)).astype(np.float64)
    scale = len(X) / w.sum()
    got = m.gradients(X, y, sample_weight=w)
    rep = np.repeat(np.arange(len(X)), w.astype(int))
    want = m.gradients(X[rep], y[rep])
    for g, r in zip(got, want):
        np.testing.assert_allclose(g * scale, r, rtol=1e-12, atol=1e-13)
    lw = m.evaluate(X, y, sample_weight=w)["loss"]
    np.testing.assert_allclose(lw * scale, m.evaluate(X[rep], y[rep])["loss"], rtol=1e-12)


@pytest.mark.parametrize("kind", LOSSES)
def test_zero_weights_equal_dropped_rows(kind):
    m = _model(kind)
    X, y = _data(kind)
    w = _fractional_weights(len(X))
    keep = np.flatnonzero(w > 0)
    scale = len(X) / len(keep)
    got = m.gradients(X, y, sample_weight=w)
    want = m.gradients(X[keep], y[keep], sample_weight=w[keep])
    for g, r in zip(got, want):
        np.testing.assert_allclose(g * scale, r, rtol=1e-12, atol=1e-13)


def test_zero_weight_row_with_huge_loss_is_dropped():
    # a zero weight drops the row exactly, whatever its loss
    m = _model("ce_labels")
    X, y = _data("ce_labels")
    X[0] = 1e6
    w = np.ones(len(X))
    w[0] = 0.0
    got = m.evaluate(X, y, sample_weight=w)["loss"]
    want = m.evaluate(X[1:], y[1:])["loss"]
    np.testing.assert_allclose(got * len(X) / (len(X) - 1), want, rtol=1e-12)


# ---------------------------------------------------------------- 3. all-ones == none

@pytest.mark.parametrize("kind", LOSSES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ones_weights_train_bit_identically_to_none(kind, dtype):
    a, b = _twins(kind, dtype=dtype, l2=0.01, optimizer=fm.Adam(lr=1e-2))
    X, y = _data(kind, n=75)
    ones = np.ones(len(X))
    for ga, gb in zip(a.gradients(X, y), a.gradients(X, y, sample_weight=ones)):
        np.testing.assert_array_equal(ga, gb)
    ha = a.fit(X, y, epochs=3, batch_size=16, verbose=0)
    hb = b.fit(X, y, epochs=3, batch_size=16, verbose=0, sample_weight=ones)
    _assert_weights_equal(a, b)
    assert set(ha.history) == set(hb.history)
    if kind.startswith("ce"):
        assert ha.history == hb.history
    else:
        # bce/mse: the unweighted kernel sums all n*k elements at once, the weighted path row
        # by row, so the reported loss may differ in the last bits (the steps do not)
        np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-7)
        assert ha.history.get("accuracy") == hb.history.get("accuracy")


# ---------------------------------------------------------------- 4. weighted evaluate

@pytest.mark.parametrize("kind", ["ce_labels", "ce_probs", "bce"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_weighted_evaluate_matches_numpy(kind, dtype):
    l1, l2 = 0.02, 0.05
    m = _model(kind, dtype=dtype, l1=l1, l2=l2)
    X, y = _data(kind, n=53)
    w = _fractional_weights(len(X)).astype(dtype).astype(np.float64)  # as the engine sees it
    hits, p = _hits(m, X, y, kind)
    if kind == "bce":
        per = -(y * np.log(p) + (1 - y) * np.log1p(-p)).sum(axis=1)
        k = y.shape[1]
        loss = (w * per).sum() / (len(X) * k)
        acc = (w * hits).sum() / (w.sum() * k)
    else:
        t = np.eye(3)[y] if y.ndim == 1 else y
        per = -(t * np.log(p)).sum(axis=1)
        loss = (w * per).sum() / len(X)
        acc = (w * hits).sum() / w.sum()
    loss += _penalty_np(m, l1, l2)
    tol = 1e-5 if dtype == "float32" else 1e-10
    got = m.evaluate(X, y, sample_weight=w)
    np.testing.assert_allclose(got["loss"], loss, rtol=tol)
    np.testing.assert_allclose(got["accuracy"], acc, rtol=1e-12)
    # blocked evaluation (batch_size) sums the same
    np.testing.assert_allclose(m.evaluate(X, y, batch_size=7, sample_weight=w)["loss"], loss,
                               rtol=tol)
    # the low-level Totals: loss, weighted correct, sum of weights, metric sums
    ev = m._net.evaluate(X.astype(dtype), m._targets(y, len(X)), 11, w.astype(dtype))
    lo, correct, weight = ev.loss, ev.correct, ev.weight
    np.testing.assert_allclose(correct, (w * hits).sum(), rtol=1e-12)
    np.testing.assert_allclose(weight, w.sum(), rtol=1e-12)
    np.testing.assert_allclose(lo, loss, rtol=tol)


def test_weighted_evaluate_mse_has_no_accuracy():
    m = _model("mse")
    X, y = _data("mse")
    w = _fractional_weights(len(X))
    got = m.evaluate(X, y, sample_weight=w)
    assert set(got) == {"loss"}
    want = (w[:, None] * (m.predict(X) - y) ** 2).sum() / y.size
    np.testing.assert_allclose(got["loss"], want, rtol=1e-12)
    ev = m._net.evaluate(X, y, 8, w)
    correct, weight = ev.correct, ev.weight
    assert correct == -1
    np.testing.assert_allclose(weight, w.sum(), rtol=1e-14)


# ---------------------------------------------------------------- 5. class_weight

@pytest.mark.parametrize("kind,k", [("ce_labels", 3), ("ce_probs", 3), ("bce", 1)])
def test_class_weight_dict_equals_sample_weight(kind, k):
    X, y = _data(kind, n=41, k=k)
    cls = y.argmax(axis=1) if kind == "ce_probs" else (y.reshape(-1) >= 0.5).astype(int) \
        if kind == "bce" else y
    cw = {0: 0.5, 1: 3.0}                      # class 2 (when present) keeps weight 1
    sw = np.array([cw.get(int(c), 1.0) for c in cls])
    a, b = _twins(kind, k=k, optimizer=fm.Adam(lr=1e-2))
    _assert_class_weight_is_sample_weight(a, b, X, y, cw, sw, batch_size=8)


def test_class_weight_balanced_matches_sklearn():
    cw_mod = pytest.importorskip("sklearn.utils.class_weight")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 5))
    y = rng.choice([0, 1, 3], size=60, p=[0.6, 0.3, 0.1])      # class 2 absent, 4 outputs
    classes = np.unique(y)
    table = cw_mod.compute_class_weight("balanced", classes=classes, y=y)
    sw = table[np.searchsorted(classes, y)]
    a, b = _twins("ce_labels", k=4)
    _assert_class_weight_is_sample_weight(a, b, X, y, "balanced", sw, batch_size=16)


def test_class_weight_balanced_binary_single_output():
    cw_mod = pytest.importorskip("sklearn.utils.class_weight")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 5))
    y = (rng.uniform(size=50) < 0.2).astype(np.float64)
    table = cw_mod.compute_class_weight("balanced", classes=np.array([0, 1]), y=y.astype(int))
    a, b = _twins("bce", k=1)
    assert a.train_on_batch(X, y, class_weight="balanced") == \
        b.train_on_batch(X, y, sample_weight=table[y.astype(int)])
    _assert_weights_equal(a, b)


def test_class_weight_multiplies_sample_weight():
    X, y = _data("ce_labels", n=40)
    sw = _fractional_weights(len(X))
    cw = {0: 2.0, 2: 0.25}
    combined = sw * np.array([cw.get(int(c), 1.0) for c in y])
    a, b = _twins("ce_labels")
    assert a.train_on_batch(X, y, sample_weight=sw, class_weight=cw) == \
        b.train_on_batch(X, y, sample_weight=combined)
    _assert_weights_equal(a, b)


@pytest.mark.parametrize("kind,k", [("mse", 1), ("mse", 3), ("bce", 3)])
def test_class_weight_needs_one_class_per_sample(kind, k):
    m = _model(kind, k=k)
    X, y = _data(kind, k=k)
    for cw in ({0: 2.0}, "balanced"):
        with pytest.raises(ValueError, match="class_weight"):
            m.fit(X, y, verbose=0, class_weight=cw)
        with pytest.raises(ValueError, match="class_weight"):
            m.train_on_batch(X, y, class_weight=cw)


# ---------------------------------------------------------------- 6. validation

def test_validation_data_triple_is_weighted():
    m = _model("ce_labels", optimizer=fm.Adam(lr=1e-2))
    X, y = _data("ce_labels", n=60)
    Xv, yv = _data("ce_labels", n=29, seed=7)
    swv = _fractional_weights(len(Xv), seed=8)
    h = m.fit(X, y, epochs=1, batch_size=16, verbose=0, validation_data=(Xv, yv, swv))
    got = m.evaluate(Xv, yv, sample_weight=swv)
    assert h.history["val_loss"] == [got["loss"]]
    assert h.history["val_accuracy"] == [got["accuracy"]]
    assert got["loss"] != m.evaluate(Xv, yv)["loss"]
    # a None third entry means unweighted
    m2 = _model("ce_labels", optimizer=fm.Adam(lr=1e-2))
    h2 = m2.fit(X, y, epochs=1, batch_size=16, verbose=0, validation_data=(Xv, yv, None))
    assert h2.history["val_loss"] == [m2.evaluate(Xv, yv)["loss"]]


@pytest.mark.parametrize("kind", ["ce_labels", "bce", "mse"])
def test_validation_split_splits_the_weights(kind):
    X, y = _data(kind, n=50)
    sw = _fractional_weights(len(X), seed=9)
    m, ref = _twins(kind)
    labels = y if kind == "ce_labels" else None
    tr, va = split_validation(len(X), 0.3, m.seed, labels)
    # one batch, no shuffle: the epoch's loss is the pre-step loss on the weighted train part
    before = ref.evaluate(X[tr], y[tr], sample_weight=sw[tr])
    h = m.fit(X, y, epochs=1, batch_size=len(X), shuffle=False, verbose=0,
              validation_split=0.3, sample_weight=sw)
    np.testing.assert_allclose(h.history["loss"][0], before["loss"], rtol=1e-12)
    after = m.evaluate(X[va], y[va], sample_weight=sw[va])
    assert h.history["val_loss"] == [after["loss"]]
    if "accuracy" in before:
        np.testing.assert_allclose(h.history["accuracy"][0], before["accuracy"], rtol=1e-12)
        assert h.history["val_accuracy"] == [after["accuracy"]]
    # the same step as train_on_batch on the weighted training rows
    ref.train_on_batch(X[tr], y[tr], sample_weight=sw[tr])
    _assert_weights_equal(m, ref)


def test_validation_split_with_all_zero_part_raises():
    m = _model("mse")
    X, y = _data("mse", n=50)
    tr, va = split_validation(len(X), 0.2, m.seed, None)
    sw = np.ones(len(X))
    sw[va] = 0.0
    with pytest.raises(ValueError, match="sample_weight is 0 on every validation"):
        m.fit(X, y, verbose=0, validation_split=0.2, sample_weight=sw)
    sw = np.zeros(len(X))
    sw[va] = 1.0
    with pytest.raises(ValueError, match="sample_weight is 0 on every training"):
        m.fit(X, y, verbose=0, validation_split=0.2, sample_weight=sw)


# ---------------------------------------------------------------- 7. augment path

@pytest.mark.parametrize("kind", ["ce_labels", "bce", "mse"])
def test_identity_augment_one_batch_matches_fit_epoch(kind):
    X, y = _data(kind, n=37)
    w = _fractional_weights(len(X))
    a, b = _twins(kind, optimizer=fm.Adam(lr=1e-2), l1=0.01)
    ha = a.fit(X, y, epochs=2, batch_size=len(X), shuffle=False, verbose=0, sample_weight=w)
    hb = b.fit(X, y, epochs=2, batch_size=len(X), shuffle=False, verbose=0, sample_weight=w,
               augment=lambda Xb, rng: Xb)
    _assert_weights_equal(a, b)
    assert set(ha.history) == set(hb.history)
    for key in ha.history:
        np.testing.assert_allclose(ha.history[key], hb.history[key], rtol=1e-14)


# ---------------------------------------------------------------- 8. input validation

def _call(method, m, X, y, **kw):
    if method == "fit":
        return m.fit(X, y, verbose=0, **kw)
    if method == "train_on_batch":
        return m.train_on_batch(X, y, **kw)
    if method == "evaluate":
        return m.evaluate(X, y, **kw)
    return m.gradients(X, y, **kw)


def _assert_refused(method, exc, argname, extra, **weights):
    """``method`` on 12 rows with these weights raises ``exc`` naming ``argname`` (and saying
    ``extra``), and leaves the model's weights as they were."""
    m = _model("ce_labels")
    X, y = _data("ce_labels", n=12)
    before = m.get_weights()
    with pytest.raises(exc, match=argname) as info:
        _call(method, m, X, y, **weights)
    assert info.match(extra)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


BAD_SAMPLE_WEIGHTS = {
    "negative": (lambda n: np.r_[-1.0, np.ones(n - 1)], ValueError, ">= 0"),
    "nan": (lambda n: np.r_[np.nan, np.ones(n - 1)], ValueError, "sample_weight"),
    "inf": (lambda n: np.r_[np.inf, np.ones(n - 1)], ValueError, "sample_weight"),
    "short": (lambda n: np.ones(n - 1), ValueError, r"shape \("),
    "long": (lambda n: np.ones(n + 1), ValueError, r"shape \("),
    "2-d": (lambda n: np.ones((n, 2)), ValueError, r"shape \("),
    "scalar": (lambda n: 1.0, ValueError, "sample_weight"),
    "all zero": (lambda n: np.zeros(n), ValueError, "sums to 0"),
    "strings": (lambda n: np.array(["a"] * n), TypeError, "sample_weight"),
    "objects": (lambda n: [None] * n, TypeError, "sample_weight"),
}


@pytest.mark.parametrize("method", ["fit", "train_on_batch", "evaluate", "gradients"])
@pytest.mark.parametrize("case", sorted(BAD_SAMPLE_WEIGHTS))
def test_bad_sample_weight_raises(method, case):
    make, exc, extra = BAD_SAMPLE_WEIGHTS[case]
    _assert_refused(method, exc, "sample_weight", extra, sample_weight=make(12))


def test_sample_weight_accepts_lists_column_vectors_and_ints():
    m = _model("ce_labels")
    X, y = _data("ce_labels", n=12)
    w = np.arange(12) % 3
    want = m.evaluate(X, y, sample_weight=w.astype(np.float64))
    assert m.evaluate(X, y, sample_weight=list(w)) == want
    assert m.evaluate(X, y, sample_weight=w.reshape(-1, 1)) == want


def test_bad_validation_weights_name_the_argument():
    m = _model("ce_labels")
    X, y = _data("ce_labels", n=20)
    for bad in (-np.ones(20), np.ones(19), np.zeros(20)):
        with pytest.raises(ValueError, match=r"validation_data\[2\]"):
            m.fit(X, y, verbose=0, validation_data=(X, y, bad))


BAD_CLASS_WEIGHTS = {
    "key too large": ({3: 1.0}, ValueError, "key 3"),
    "negative key": ({-1: 1.0}, ValueError, "key -1"),
    "string key": ({"a": 1.0}, ValueError, "key 'a'"),
    "float key": ({1.0: 1.0}, ValueError, "key 1.0"),
    "bool key": ({True: 1.0}, ValueError, "key True"),
    "negative value": ({0: -1.0}, ValueError, ">= 0"),
    "nan value": ({0: np.nan}, ValueError, "finite"),
    "inf value": ({0: np.inf}, ValueError, "finite"),
    "string value": ({0: "x"}, TypeError, "number"),
    "none value": ({0: None}, TypeError, "number"),
    "unknown string": ("balance", ValueError, "balanced"),
    "list": ([1.0, 2.0, 3.0], TypeError, "dict"),
    "all zero": ({0: 0.0, 1: 0.0, 2: 0.0}, ValueError, "sums to 0"),
}


@pytest.mark.parametrize("method", ["fit", "train_on_batch"])
@pytest.mark.parametrize("case", sorted(BAD_CLASS_WEIGHTS))
def test_bad_class_weight_raises(method, case):
    cw, exc, extra = BAD_CLASS_WEIGHTS[case]
    _assert_refused(method, exc, "class_weight", extra, class_weight=cw)


def test_class_weight_zero_for_a_class_is_allowed():
    # weight 0 for one class drops its rows (not an error while others remain)
    X, y = _data("ce_labels", n=30)
    a, b = _twins("ce_labels")
    keep = y != 1
    ga = a.gradients(X[keep], y[keep])
    a.train_on_batch(X, y, class_weight={1: 0.0})
    b.set_weights([w - 0.05 * g * keep.sum() / len(X) for w, g in zip(b.get_weights(), ga)])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", ["float32 weights on a float64 net", "2-d", "strided",
                                  "wrong length", "negative", "nan"])
@pytest.mark.parametrize("call", ["fit_epoch", "evaluate", "gradients", "train_batch"])
def test_low_level_sample_weight_checks(case, call):
    m = _model("ce_labels")
    X, y = _data("ce_labels", n=10)
    yt = m._targets(y, len(X))
    w = {"float32 weights on a float64 net": np.ones(10, np.float32),
         "2-d": np.ones((10, 1)), "strided": np.ones(20)[::2], "wrong length": np.ones(9),
         "negative": np.r_[-1.0, np.ones(9)], "nan": np.r_[np.nan, np.ones(9)]}[case]
    net = m._net
    with pytest.raises(ValueError, match="sample_weight"):
        if call == "fit_epoch":
            net.fit_epoch(X, yt, 4, True, 0, progress=None, sample_weight=w)
        elif call == "evaluate":
            net.evaluate(X, yt, 4, sample_weight=w)
        elif call == "gradients":
            net.gradients(X, yt, True, w)
        else:
            net.train_batch(X, yt, w)


def test_low_level_fit_epoch_reports_weight_sum():
    m = _model("ce_labels")
    X, y = _data("ce_labels", n=37)
    w = _fractional_weights(len(X))
    res = m._net.fit_epoch(X, m._targets(y, len(X)), 8, True, 0, progress=None, sample_weight=w)
    r = res.totals
    assert r.count == 37 and not res.nonfinite
    np.testing.assert_allclose(r.weight, w.sum(), rtol=1e-14)
    assert 0 <= r.correct <= r.weight
    r = m._net.fit_epoch(X, m._targets(y, len(X)), 8, True, 1).totals
    assert r.weight == 37


# ---------------------------------------------------------------- 9. behaviour

def test_class_weight_raises_minority_recall():
    rng = np.random.default_rng(11)
    n0, n1 = 300, 60
    X = np.r_[rng.normal(-0.5, 1.0, size=(n0, 2)), rng.normal(0.5, 1.0, size=(n1, 2))]
    y = np.r_[np.zeros(n0, int), np.ones(n1, int)]

    def recall_of_1(class_weight):
        m = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(2)], input_dim=2,
                          dtype="float64", seed=3)
        m.compile("cross_entropy", fm.Adam(lr=2e-2))
        m.fit(X, y, epochs=30, batch_size=32, verbose=0, class_weight=class_weight)
        pred = m.predict(X).argmax(axis=1)
        return (pred[y == 1] == 1).mean()

    plain, weighted = recall_of_1(None), recall_of_1({1: 5.0})
    assert weighted > plain + 0.3, (plain, weighted)


@pytest.mark.parametrize("value, match", [(1e-50, "sums to 0"), (1e39, "exceeds the largest")])
def test_weights_out_of_float32_range_are_value_errors(value, match):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    m = fm.Sequential([fm.Dense(2)], input_dim=3, dtype="float32", seed=0)
    m.compile("cross_entropy", "sgd")
    sw = np.full(20, value)
    for call in (lambda: m.evaluate(X, y, sample_weight=sw),
                 lambda: m.fit(X, y, sample_weight=sw, verbose=0),
                 lambda: m.gradients(X, y, sample_weight=sw)):
        with pytest.raises(ValueError, match=f"sample_weight.*{match}"):
            call()


def _engine_loss(m, X, y, w=None):
    """The engine's evaluate (Sequential.evaluate recombines batches itself)."""
    X, y = m._check_xy(X, y)
    return m._net.evaluate(X, y, 256, None if w is None else m._sample_weight(w, None, y)).loss


@pytest.mark.parametrize("kind", LOSSES)
def test_divide_by_weight_sum_is_sklearns_batch_objective(kind):
    # divide_by_weight_sum: a batch's loss is sum(w * loss) / sum(w) and its penalty is
    # divided by sum(w) too (scikit-learn's weighting), for gradients, training and evaluate.
    X, y = _data(kind)
    w = _fractional_weights(len(X))
    a, b = _model(kind, l2=0.3), _model(kind, l2=0.3 * len(X))
    b._net.divide_by_weight_sum = True
    scale = len(X) / w.sum()   # b's objective = a's * n / sum(w)
    ref = _engine_loss(a, X, y, w) * scale
    np.testing.assert_allclose(_engine_loss(b, X, y, w), ref, rtol=1e-12)
    for ga, gb in zip(a.gradients(X, y, sample_weight=w), b.gradients(X, y, sample_weight=w)):
        np.testing.assert_allclose(gb, ga * scale, rtol=1e-10, atol=1e-14)
    # unweighted: the penalty alone is divided, by the row count
    np.testing.assert_allclose(_engine_loss(b, X, y), _engine_loss(a, X, y), rtol=1e-12)
    assert b.train_on_batch(X, y, sample_weight=w) == pytest.approx(ref, rel=1e-12)
    # every weight 0: nothing to learn, a zero loss
    Xc, yc = b._check_xy(X, y)
    assert b._net.train_batch(Xc, yc, np.zeros(len(X))) == 0.0
