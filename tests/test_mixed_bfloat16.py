"""The "mixed_bfloat16" dtype policy: float32 weights, optimizer state and outputs, Dense GEMMs
on bf16 operands; accuracy against float32, thread-count independence, switching the policy
of a trained model, and every way a model is saved."""
import pickle

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.datasets import load_digits

NOISE_MNIST_SHAPED = 7.0


def mlp(policy, seed=0, d=64, k=10, hidden=(64,), batchnorm=False):
    layers = []
    for h in hidden:
        layers.append(fm.Dense(h, activation="relu"))
        if batchnorm:
            layers.append(fm.BatchNorm())
    m = fm.Sequential([*layers, fm.Dense(k)], input_dim=d, dtype=policy, seed=seed)
    m.compile("cross_entropy", fm.Adam(lr=1e-3), metrics=["accuracy"])
    return m


def digits_split():
    X, y = load_digits()
    Xtr, _, Xte, ytr, _, yte = fm.train_dev_test_split(X / 16.0, y, sizes=(0.75, 0.0, 0.25),
                                                       stratify=True, seed=0)
    return Xtr, ytr, Xte, yte


def test_policy_keeps_float32_everywhere_but_the_gemms():
    m = mlp("mixed_bfloat16", batchnorm=True)
    assert m.dtype == "float32" and m.dtype_policy == "mixed_bfloat16"
    Xtr, ytr, _, _ = digits_split()
    m.fit(Xtr[:256], ytr[:256], epochs=1, batch_size=64, verbose=0)
    assert all(w.dtype == np.float32 for w in m.get_weights())
    assert all(a.dtype == np.float32 for a in m.get_optimizer_state()["arrays"])
    assert m.predict(Xtr[:5]).dtype == np.float32
    assert isinstance(m.evaluate(Xtr[:64], ytr[:64])["loss"], float)
    assert "mixed_bfloat16" in repr(m)


def test_bf16_changes_the_numbers_by_bf16_rounding_only():
    Xtr, ytr, _, _ = digits_split()
    a, b = mlp("float32"), mlp("mixed_bfloat16")
    b.set_weights(a.get_weights())
    pa, pb = a.predict(Xtr[:200]), b.predict(Xtr[:200])
    assert not np.array_equal(pa, pb)
    np.testing.assert_allclose(pa, pb, atol=2e-2)
    # the bf16 forward equals the float32 forward of the rounded weights and inputs to rounding
    from test_gemm_bf16 import round_bf16
    W, bias, W2, b2 = a.get_weights()
    h = np.maximum(round_bf16(Xtr[:200].astype(np.float32)).astype(np.float64)
                   @ round_bf16(W) + bias, 0)
    logits = round_bf16(h.astype(np.float32)).astype(np.float64) @ round_bf16(W2) + b2
    p = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(pb, p / p.sum(1, keepdims=True), atol=1e-4)


def test_digits_accuracy_within_half_a_point_of_float32():
    Xtr, ytr, Xte, yte = digits_split()
    acc = {}
    for policy in ("float32", "mixed_bfloat16"):
        runs = []
        for seed in range(3):
            m = mlp(policy, seed=seed)
            m.fit(Xtr, ytr, epochs=15, batch_size=32, verbose=0)
            runs.append(m.evaluate(Xte, yte)["accuracy"])
        acc[policy] = float(np.mean(runs))
    print(acc)
    assert acc["mixed_bfloat16"] >= acc["float32"] - 0.005
    assert acc["float32"] > 0.93


def test_mnist_shaped_accuracy_within_half_a_point_of_float32():
    from fastmlp.datasets import make_classification

    # 784 features, 10 overlapping classes: hard enough that float32 stays below 100%.
    X, y = make_classification(5000, 784, 10, noise=NOISE_MNIST_SHAPED, seed=0)
    acc = {}
    for policy in ("float32", "mixed_bfloat16"):
        runs = []
        for seed in range(3):
            m = mlp(policy, seed=seed, d=784, hidden=(128,))
            m.fit(X[:4000], y[:4000], epochs=3, batch_size=64, verbose=0)
            runs.append(m.evaluate(X[4000:], y[4000:])["accuracy"])
        acc[policy] = float(np.mean(runs))
    print(acc)
    assert acc["mixed_bfloat16"] >= acc["float32"] - 0.005
    assert 0.6 < acc["float32"] < 0.995


@pytest.mark.parametrize("batch", [64, 1024])
def test_bf16_training_bitwise_independent_of_threads(batch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2048, 100)).astype(np.float32)
    y = rng.integers(0, 10, 2048)
    out = []
    before = fm.get_num_threads()
    try:
        for threads in (1, 2, 3):
            fm.set_num_threads(threads)
            m = mlp("mixed_bfloat16", d=100, hidden=(256, 128), batchnorm=True)
            m.fit(X, y, epochs=2, batch_size=batch, verbose=0)
            out.append((m.get_weights(), m.predict(X[:300]), m.predict(X[:3])))
    finally:
        fm.set_num_threads(before)
    for other in out[1:]:
        for w0, w1 in zip(out[0][0], other[0]):
            np.testing.assert_array_equal(w0, w1)
        np.testing.assert_array_equal(out[0][1], other[1])
        np.testing.assert_array_equal(out[0][2], other[2])


def test_switch_trained_float32_model_to_bf16_inference_and_back():
    Xtr, ytr, Xte, yte = digits_split()
    m = mlp("float32")
    m.fit(Xtr, ytr, epochs=5, batch_size=32, verbose=0)
    p32 = m.predict(Xte)
    m.dtype_policy = "mixed_bfloat16"
    assert m.dtype_policy == "mixed_bfloat16" and m.dtype == "float32"
    pbf = m.predict(Xte)
    assert not np.array_equal(p32, pbf)
    assert np.mean(p32.argmax(1) == pbf.argmax(1)) > 0.97
    m.dtype_policy = "float32"
    np.testing.assert_array_equal(m.predict(Xte), p32)
    m.dtype_policy = "mixed_bfloat16"  # set before build too
    fresh = mlp("float32")
    fresh.dtype_policy = "mixed_bfloat16"
    fresh.set_weights(m.get_weights())
    np.testing.assert_array_equal(fresh.predict(Xte), pbf)


def test_policy_round_trips_config_save_load_pickle(tmp_path):
    Xtr, ytr, Xte, _ = digits_split()
    m = mlp("mixed_bfloat16")
    m.fit(Xtr[:300], ytr[:300], epochs=1, batch_size=64, verbose=0)
    want = m.predict(Xte)
    cfg = m.get_config()
    assert cfg["dtype"] == "float32" and cfg["dtype_policy"] == "mixed_bfloat16"
    assert fm.Sequential.from_config(cfg).dtype_policy == "mixed_bfloat16"
    assert "dtype_policy" not in mlp("float32").get_config()
    path = tmp_path / "m.fmlp"
    m.save(path)
    for other in (fm.load(path), pickle.loads(pickle.dumps(m)),
                  fm.Sequential.from_bytes(m.to_bytes())):
        assert other.dtype_policy == "mixed_bfloat16"
        np.testing.assert_array_equal(other.predict(Xte), want)
    # training goes on identically after a round trip
    twin = pickle.loads(pickle.dumps(m))
    m.fit(Xtr[:300], ytr[:300], epochs=1, batch_size=64, verbose=0, shuffle=False)
    twin.fit(Xtr[:300], ytr[:300], epochs=1, batch_size=64, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", ["bfloat16", "mixed_float16", "float16", "int32", True, 3])
def test_bad_policy_is_a_value_error_naming_dtype(bad):
    with pytest.raises(ValueError, match="'dtype'"):
        fm.Sequential([fm.Dense(2)], input_dim=3, dtype=bad)
    m = fm.Sequential([fm.Dense(2)], input_dim=3)
    with pytest.raises(ValueError, match="dtype_policy"):
        m.dtype_policy = bad
    assert m.dtype_policy == "float32"


def test_policy_cannot_change_the_weights_dtype():
    m = fm.Sequential([fm.Dense(2)], input_dim=3, dtype="float64")
    with pytest.raises(ValueError, match="dtype_policy"):
        m.dtype_policy = "mixed_bfloat16"
    m32 = fm.Sequential([fm.Dense(2)], input_dim=3, dtype="mixed_bfloat16")
    with pytest.raises(ValueError, match="dtype_policy"):
        m32.dtype_policy = "float64"
    m32.dtype_policy = np.float32
    assert m32.dtype_policy == "float32"


def test_engine_refuses_bf16_on_float64_network():
    m = fm.Sequential([fm.Dense(2)], input_dim=3, dtype="float64")
    m.build()
    with pytest.raises(ValueError, match="float32"):
        m._net.bf16 = True


def test_bad_policy_in_a_config_is_refused():
    cfg = mlp("mixed_bfloat16").get_config()
    with pytest.raises(ValueError, match="'dtype'"):
        fm.Sequential.from_config({**cfg, "dtype_policy": "mixed_bfloat17"})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_estimators_take_the_policy():
    from fastmlp.sklearn import MLPClassifier, MLPRegressor

    Xtr, ytr, Xte, yte = digits_split()
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=15, random_state=0,
                        dtype_policy="mixed_bfloat16").fit(Xtr, ytr)
    assert clf._model.dtype_policy == "mixed_bfloat16"
    assert clf.coefs_[0].dtype == np.float32
    ref = MLPClassifier(hidden_layer_sizes=(64,), max_iter=15, random_state=0).fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= ref.score(Xte, yte) - 0.02
    clf.set_params(dtype_policy=None, warm_start=True, max_iter=1)
    clf.fit(Xtr, ytr)
    assert clf._model.dtype_policy == "float32"
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                       dtype_policy="mixed_bfloat16").fit(Xtr[:100], Xtr[:100, 0])
    assert reg._model.dtype_policy == "mixed_bfloat16"
    with pytest.raises(ValueError, match="dtype_policy"):
        MLPClassifier(dtype_policy="bfloat16").fit(Xtr[:20], ytr[:20])


def test_bf16_predict_rows_do_not_depend_on_the_batch():
    Xtr, ytr, Xte, _ = digits_split()
    m = mlp("mixed_bfloat16", hidden=(64, 32))
    m.fit(Xtr[:300], ytr[:300], epochs=1, batch_size=64, verbose=0)
    full = m.predict(Xte)
    for i, k in [(0, 1), (3, 2), (10, 7), (17, 9), (40, 300)]:
        np.testing.assert_array_equal(m.predict(Xte[i:i + k]), full[i:i + k])


_EMULATED_SCRIPT = """
import numpy as np, fastmlp as fm
assert fm.build_info()["bf16"] == "emulated", fm.build_info()
from test_mixed_bfloat16 import digits_split, mlp
Xtr, ytr, Xte, yte = digits_split()
out = []
for threads in (1, 2):
    fm.set_num_threads(threads)
    m = mlp("mixed_bfloat16", batchnorm=True)
    m.fit(Xtr, ytr, epochs=3, batch_size=64, verbose=0)
    out.append((m.get_weights(), m.predict(Xte)))
for a, b in zip(out[0][0], out[1][0]):
    np.testing.assert_array_equal(a, b)
np.testing.assert_array_equal(out[0][1], out[1][1])
print("accuracy", m.evaluate(Xte, yte)["accuracy"])
"""


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_policy_trains_through_the_emulated_path(isa):
    import os
    import subprocess
    import sys

    from conftest import lower_isas

    if isa not in lower_isas():
        pytest.skip(f"{isa} is not below this host's best ISA")
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, FASTMLP_ISA=isa)
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    res = subprocess.run([sys.executable, "-c", _EMULATED_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert float(res.stdout.split()[-1]) > 0.8


@pytest.mark.parametrize("link, loss", [("softmax", "cross_entropy"),
                                        ("sigmoid", "binary_cross_entropy")])
def test_policy_survives_compile_fusing_the_output_link(link, loss):
    # compile fuses a final softmax/sigmoid into the loss and rebuilds the engine network
    # around the same weights: the rebuilt network must keep the bf16 policy.
    X = np.random.default_rng(0).standard_normal((40, 64)).astype(np.float32)
    preds = {}
    for policy in ("float32", "mixed_bfloat16"):
        m = fm.Sequential([fm.Dense(32, activation="relu"), fm.Dense(3, activation=link)],
                          input_dim=64, dtype=policy, seed=0)
        before = m.predict(X)
        m.compile(loss, "adam")
        assert m._net.bf16 == (policy == "mixed_bfloat16")
        np.testing.assert_array_equal(m.predict(X), before)  # same function after the fusing
        preds[policy] = before
    diff = np.abs(preds["mixed_bfloat16"] - preds["float32"]).max()
    assert 0 < diff < 0.05  # bf16 operands: rounding-size differences, not float32's numbers
