"""model.quantize("int8"): accuracy against float32 on real data (digits, an MNIST-like set),
with and without BatchNorm; determinism; the folded network against NumPy; errors; saving,
loading (format versions 1 and 2) and pickling."""
import json
import os
import pickle

import numpy as np
import pytest

import fastmlp as fm
import fastmlp.io as fmio
from fastmlp.datasets import load_digits
from fastmlp.quantization import fold_stages, quantize_columns

HERE = os.path.dirname(os.path.abspath(__file__))


def digits_split():
    X, y = load_digits()
    X = (X / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    tr, te = idx[:1400], idx[1400:]
    return X[tr], y[tr].astype(np.int32), X[te], y[te].astype(np.int32)


def mnist_like(n, seed):
    """28 x 28 images in [0, 1] (784 features, 10 classes) as MNIST has: sklearn's 8 x 8 digits
    scaled up 3x, placed at a random offset on a 28 x 28 canvas, with pixel noise."""
    X8, y = load_digits()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(X8), n)
    imgs = np.zeros((n, 28, 28), np.float32)
    big = np.kron(X8[pick].reshape(n, 8, 8) / 16.0, np.ones((3, 3)))
    off = rng.integers(0, 5, (n, 2))
    for i in range(n):
        imgs[i, off[i, 0]:off[i, 0] + 24, off[i, 1]:off[i, 1] + 24] = big[i]
    imgs += rng.uniform(0, 0.1, imgs.shape).astype(np.float32)
    return np.clip(imgs, 0, 1).reshape(n, 784), y[pick].astype(np.int32)


def train(layers, d, X, y, epochs, seed=0):
    model = fm.Sequential(layers, input_dim=d, seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=2e-3))
    model.fit(X, y, epochs=epochs, batch_size=64, verbose=0)
    return model


def digits_layers(bn):
    if bn:
        return [fm.Dense(128), fm.BatchNorm(), fm.Activation("relu"), fm.Dropout(0.1),
                fm.Dense(64, activation="relu"), fm.BatchNorm(), fm.Dense(10, activation="softmax")]
    return [fm.Dense(128, activation="relu"), fm.Dense(64, activation="relu"),
            fm.Dense(10, activation="softmax")]


def check_against_float(model, Xte, yte):
    p32 = model.predict(Xte)
    acc32 = (p32.argmax(1) == yte).mean()
    float_eval = model.evaluate(Xte, yte)
    model.quantize("int8")
    assert model.quantized == "int8"
    p8 = model.predict(Xte)
    assert p8.dtype == np.float32 and p8.shape == p32.shape
    acc8 = (p8.argmax(1) == yte).mean()
    agree = (p8.argmax(1) == p32.argmax(1)).mean()
    print(f"float32 {acc32:.4f} int8 {acc8:.4f} top-1 agreement {agree:.4f}")
    assert abs(acc8 - acc32) <= 0.01
    assert agree >= 0.98
    q_eval = model.evaluate(Xte, yte)
    assert q_eval["accuracy"] == pytest.approx(acc8)
    assert q_eval["loss"] == pytest.approx(float_eval["loss"], rel=0.05, abs=0.01)
    return p8


@pytest.mark.parametrize("bn", [False, True])
def test_digits_int8_within_one_point_of_float32(bn):
    Xtr, ytr, Xte, yte = digits_split()
    model = train(digits_layers(bn), 64, Xtr, ytr, epochs=20)
    check_against_float(model, Xte, yte)


@pytest.mark.parametrize("bn", [False, True])
def test_mnist_like_int8_within_one_point_of_float32(bn):
    X, y = mnist_like(4000, seed=1)
    Xtr, ytr, Xte, yte = X[:3000], y[:3000], X[3000:], y[3000:]
    hidden = [fm.Dense(256), fm.BatchNorm(), fm.Activation("relu"), fm.Dense(128),
              fm.BatchNorm(), fm.Activation("relu")] if bn else \
        [fm.Dense(256, activation="relu"), fm.Dense(128, activation="relu")]
    model = train(hidden + [fm.Dense(10, activation="softmax")], 784, Xtr, ytr, epochs=5)
    check_against_float(model, Xte, yte)


def test_int8_output_is_deterministic_across_threads_and_batches():
    Xtr, ytr, Xte, yte = digits_split()
    model = train(digits_layers(True), 64, Xtr, ytr, epochs=2)
    model.quantize("int8")
    before = fm.get_num_threads()
    try:
        outs = []
        for t in (1, 2, 3):
            fm.set_num_threads(t)
            outs.append(model.predict(Xte))
    finally:
        fm.set_num_threads(before)
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    rows = np.concatenate([model.predict(Xte[i:i + 1]) for i in range(0, 40)])
    np.testing.assert_array_equal(rows, outs[0][:40])
    np.testing.assert_array_equal(model.predict(Xte, batch_size=7), outs[0])


def test_folding_matches_the_float_network():
    """The float64 folded chain (BatchNorm and Standardize folded, before int8) computes what
    the float model does; each int8 column is the rounded weight."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 9)).astype(np.float64) * 3 + 1
    y = rng.integers(0, 3, 200).astype(np.int32)
    layers = [fm.Standardize(), fm.BatchNorm(), fm.Dense(12), fm.BatchNorm(), fm.Activation("tanh"),
              fm.BatchNorm(), fm.Dense(7, activation="relu"), fm.Dense(3, activation="softmax")]
    model = fm.Sequential(layers, input_dim=9, dtype="float64", seed=0)
    model.compile(loss="cross_entropy", optimizer="adam")
    model.fit(X, y, epochs=3, batch_size=32, verbose=0)
    stages, link = fold_stages(model.layers, model.get_weights())
    assert link == "softmax" and [s[2] for s in stages] == ["tanh", "relu", "linear"]
    assert [s[4] is None for s in stages] == [False, False, True]
    h = X
    for W, b, act, _, pre in stages:
        if pre is not None:
            h = h * pre[0] + pre[1]
        h = h @ W + b
        h = np.tanh(h) if act == "tanh" else np.maximum(h, 0) if act == "relu" else h
    h = np.exp(h - h.max(1, keepdims=True))
    np.testing.assert_allclose(h / h.sum(1, keepdims=True), model.predict(X), rtol=1e-9,
                               atol=1e-12)
    Wq, scale = quantize_columns(stages[0][0])
    assert Wq.dtype == np.int8 and np.abs(Wq).max(0).tolist() == [127] * 12
    assert np.abs(Wq * scale.astype(np.float64) - stages[0][0]).max() <= scale.max() / 2 * 1.0001
    model.quantize("int8")
    p8 = model.predict(X)
    assert (p8.argmax(1) == model._net.predict(X, False, True, False).argmax(1)).mean() >= 0.95


def test_quantize_errors():
    with pytest.raises(ValueError, match="built"):
        fm.Sequential([fm.Dense(3)]).quantize("int8")
    model = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dense(2)], input_dim=3, seed=0)
    with pytest.raises(ValueError, match="'mode'.*int4"):
        model.quantize("int4")
    with pytest.raises(ValueError, match="'mode'"):
        model.quantize(8)
    model.compile(loss="mse", optimizer="sgd")
    model.quantize("int8")
    with pytest.raises(ValueError, match="already quantized"):
        model.quantize("int8")
    X = np.ones((4, 3), np.float32)
    y = np.ones((4, 2), np.float32)
    with pytest.raises(RuntimeError, match="cannot fit a quantized model"):
        model.fit(X, y, verbose=0)
    with pytest.raises(RuntimeError, match="cannot train_on_batch a quantized model"):
        model.train_on_batch(X, y)
    with pytest.raises(RuntimeError, match="quantized model"):
        model.gradients(X, y)
    with pytest.raises(ValueError, match="quantized model"):
        model.add(fm.Dense(2))
    with pytest.raises(ValueError, match="set the weights of a quantized"):
        model.set_weights(model.get_weights())
    with pytest.raises(ValueError, match="inference mode"):
        model.predict(X, training=True)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((2, 3), np.nan, np.float32))
    assert model.evaluate(X, y)["loss"] >= 0
    # A BatchNorm after the last activation has nothing to fold into.
    bad = fm.Sequential([fm.Dense(4, activation="relu"), fm.BatchNorm()], input_dim=3)
    with pytest.raises(ValueError, match="cannot quantize"):
        bad.quantize("int8")


def test_quantized_save_load_pickle_roundtrip(tmp_path):
    Xtr, ytr, Xte, yte = digits_split()
    model = train(digits_layers(True), 64, Xtr, ytr, epochs=1)
    model.quantize("int8")
    want = model.predict(Xte)
    path = tmp_path / "q.fastmlp"
    model.save(path)
    loaded = fmio.load(path)
    assert loaded.quantized == "int8"
    np.testing.assert_array_equal(loaded.predict(Xte), want)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(Xte), want)
    assert loaded.evaluate(Xte, yte) == model.evaluate(Xte, yte)
    with pytest.raises(RuntimeError, match="quantized"):
        loaded.fit(Xtr, ytr, verbose=0)
    # A damaged int8 array is refused with a ValueError, never loaded.
    data = model.to_bytes()
    assert fmio.FORMAT_VERSION == 2 and data[8] == 2
    cut = fm.Sequential.from_bytes
    with pytest.raises(ValueError):
        cut(data[:-10])


def test_format_version_1_file_still_loads():
    """A file written by the previous fastmlp (format version 1, before int8)."""
    model = fmio.load(os.path.join(HERE, "data", "model_format_v1.fastmlp"))
    ref = np.load(os.path.join(HERE, "data", "model_format_v1_expected.npz"))
    assert model.quantized is None
    # Written on the AVX-512 path: another ISA's float32 kernels round a few ulps differently.
    np.testing.assert_allclose(model.predict(ref["X"]), ref["pred"], rtol=1e-5, atol=1e-7)
    model.quantize("int8")
    assert (model.predict(ref["X"]).argmax(1) == ref["pred"].argmax(1)).all()


@pytest.mark.parametrize("acts", [("relu", "linear"), ("tanh", "softmax"), ("gelu", "sigmoid")])
def test_int8_onnx_export_matches_onnxruntime(tmp_path, acts):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 21)).astype(np.float32)
    y = rng.integers(0, 2, (300, 4)).astype(np.float32)
    loss = {"linear": "mse", "softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}
    model = fm.Sequential([fm.Dense(33, activation=acts[0]), fm.BatchNorm(),
                           fm.Dense(17, activation="leaky_relu"),
                           fm.Dense(4, activation=acts[1])], input_dim=21, seed=0)
    model.compile(loss=loss[acts[1]], optimizer="adam")
    model.fit(X, y.argmax(1).astype(np.int32) if acts[1] == "softmax" else y, epochs=2,
              verbose=0)
    model.quantize("int8")
    path = tmp_path / "q.onnx"
    model.to_onnx(path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": X})[0]
    want = model.predict(X)
    if acts == ("relu", "linear"):   # integer and IEEE float ops only: the same bits
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_estimators_quantize():
    from fastmlp.sklearn import MLPClassifier, MLPRegressor

    Xtr, ytr, Xte, yte = digits_split()
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=15, random_state=0).fit(Xtr, ytr)
    acc32 = clf.score(Xte, yte)
    proba32 = clf.predict_proba(Xte)
    assert clf.quantize("int8") is clf
    assert abs(clf.score(Xte, yte) - acc32) <= 0.01
    assert (clf.predict_proba(Xte).argmax(1) == proba32.argmax(1)).mean() >= 0.98
    assert (pickle.loads(pickle.dumps(clf)).predict(Xte) == clf.predict(Xte)).all()
    with pytest.raises(RuntimeError, match="quantized"):
        clf.partial_fit(Xtr, ytr)
    with pytest.raises(ValueError, match="'mode'"):
        MLPRegressor(max_iter=2).fit(Xtr, ytr.astype(float)).quantize("int4")


def test_cli_quantize(tmp_path):
    from test_cli import run_cli

    model, out = tmp_path / "digits.fmlp", tmp_path / "digits_int8.fmlp"
    assert run_cli("train", "--layers", "32", "--epochs", "3", "--out", model,
                   "-q").returncode == 0
    proc = run_cli("quantize", model, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "int8" in proc.stdout
    assert fmio.load(out).quantized == "int8"
    f32 = json.loads(run_cli("evaluate", model, "digits", "--json").stdout)
    q8 = json.loads(run_cli("evaluate", out, "digits", "--json").stdout)
    assert abs(f32["accuracy"] - q8["accuracy"]) <= 0.01
    proc = run_cli("predict", out, "digits")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1798
    proc = run_cli("quantize", out, "--out", tmp_path / "again.fmlp")
    assert proc.returncode == 2 and "already quantized" in proc.stderr


def test_standardize_stays_a_per_feature_map_and_keeps_accuracy():
    """Standardize on raw digits (constant and near-constant pixels): folded into the weights
    it would stretch their rows; as the input map of the quantizer it costs nothing."""
    Xtr, ytr, Xte, yte = digits_split()
    model = train([fm.Standardize(), fm.Dense(32, activation="relu"), fm.Dense(10)], 64,
                  Xtr * 16, ytr, epochs=3)
    p32 = model.predict(Xte * 16)
    model.quantize("int8")
    assert model.quantized_model.layers[0]["in_scale"] is not None
    p8 = model.predict(Xte * 16)
    assert (p8.argmax(1) == p32.argmax(1)).mean() >= 0.98
    np.testing.assert_allclose(p8.sum(1), 1, rtol=1e-5)   # cross_entropy's link applied


def test_benchmark_int8_rows_on_tiny_data():
    from fastmlp import benchmark_int8

    X, y = mnist_like(300, seed=2)
    model = train([fm.Dense(16, activation="relu"), fm.Dense(10)], 784, X, y, epochs=1)
    result = benchmark_int8.predict_comparison(model, X, threads=1, repeats=1, latency_calls=2)
    assert model.quantized is None          # the benchmark quantizes a copy
    assert result["throughput"]["fastmlp int8"] > 0
    assert result["agreement"]["fastmlp float32"] == 1.0
    gemm = benchmark_int8.gemm_fraction_of_peak(64, 32, 40, threads=1, repeats=1)
    lines = benchmark_int8.report_lines(result, gemm, len(X))
    assert "fastmlp int8" in "\n".join(lines) and "int8 GEMM" in lines[-1]
