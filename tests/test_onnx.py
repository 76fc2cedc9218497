"""fastmlp.onnx: exported graphs compute what model.predict computes (ONNX Runtime)."""
import numpy as np
import pytest

import fastmlp as fm

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax", "elu",
               "gelu", "silu"]


def _run(model, X, tmp_path):
    path = tmp_path / "model.onnx"
    model.to_onnx(path)
    onnx.checker.check_model(str(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input"]
    return sess.run(["output"], {"input": X})[0]


def _randomize_bn_and_standardize(model, rng):
    """Non-trivial running statistics, gammas and betas, so folding is really tested."""
    weights = model.get_weights()
    names = [n.split("/")[-1] for n in model._param_names()]
    for k, name in enumerate(names):
        if name in ("gamma", "std", "running_var"):
            weights[k] = rng.uniform(0.5, 2.0, weights[k].shape)
        elif name in ("beta", "mean", "running_mean"):
            weights[k] = rng.normal(0.0, 0.5, weights[k].shape)
        elif name == "b":
            weights[k] = rng.normal(0.0, 0.1, weights[k].shape)
    model.set_weights(weights)


def _act(z, name, alpha):
    from scipy.special import erf, expit, softmax

    return {
        "linear": lambda: z,
        "sigmoid": lambda: expit(z),
        "tanh": lambda: np.tanh(z),
        "relu": lambda: np.maximum(z, 0),
        "leaky_relu": lambda: np.where(z > 0, z, alpha * z),
        "softplus": lambda: np.logaddexp(0, z),
        "softmax": lambda: softmax(z, axis=1),
        "elu": lambda: np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0))),
        "gelu": lambda: 0.5 * z * (1 + erf(z / np.sqrt(2))),
        "silu": lambda: z * expit(z),
    }[name]()


def _numpy_forward(model, X):
    """An independent float64 oracle: the inference forward pass from config and weights."""
    from scipy.special import expit, softmax

    weights = [w.astype(np.float64) for w in model.get_weights()]
    h, k = X.astype(np.float64), 0
    for layer in model.layers:
        if isinstance(layer, fm.Dense):
            h = h @ weights[k]
            k += 1
            if layer.use_bias:
                h = h + weights[k]
                k += 1
            h = _act(h, layer._act, layer._alpha)
        elif isinstance(layer, fm.BatchNorm):
            g, b, m, v = weights[k : k + 4]
            k += 4
            h = (h - m) / np.sqrt(v + layer.eps) * g + b
        elif isinstance(layer, fm.Standardize):
            h = (h - weights[k]) / weights[k + 1]
            k += 2
        elif isinstance(layer, fm.Activation):
            h = _act(h, layer._act, layer._alpha)
    loss = model.loss
    if loss == "cross_entropy":
        h = softmax(h, axis=1)
    elif loss == "binary_cross_entropy":
        h = expit(h)
    return h


def _check(model, tmp_path, dtype, rtol=1e-5, atol=1e-5, n=37):
    rng = np.random.default_rng(0)
    _randomize_bn_and_standardize(model, rng)
    X = rng.normal(size=(n, model.input_dim)).astype(dtype)
    got = _run(model, X, tmp_path)
    assert got.dtype == np.dtype(dtype)
    # the export against an independent NumPy forward pass ...
    # float64 GELU evaluates erf in float32 (ONNX Runtime has no double Erf): ~1e-7 error
    has_gelu = any(getattr(layer, "_act", None) == "gelu" for layer in model.layers)
    tol = 1e-4 if dtype == "float32" else (1e-6 if has_gelu else 1e-9)
    np.testing.assert_allclose(got, _numpy_forward(model, X), rtol=tol, atol=tol)
    # ... and against the engine itself
    want = model.predict(X)
    assert want.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_every_activation_as_layer_and_fused(act, dtype, tmp_path):
    model = fm.Sequential(
        [fm.Dense(11, activation=act), fm.Dense(6), fm.Activation(act), fm.Dense(3)],
        input_dim=7, dtype=dtype, seed=1,
    )
    _check(model, tmp_path, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shortcut", [fm.ReLU(), fm.LeakyReLU(alpha=0.3), fm.ELU(alpha=0.7),
                                      fm.GELU(), fm.SiLU(), fm.Softplus(), fm.Sigmoid(),
                                      fm.Tanh()], ids=lambda s: type(s).__name__)
def test_shortcut_layers(shortcut, dtype, tmp_path):
    model = fm.Sequential([fm.Dense(8), shortcut, fm.Dense(2)], input_dim=5, dtype=dtype,
                          seed=2)
    _check(model, tmp_path, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy", "mse"])
def test_batchnorm_standardize_dropout_noise_and_output_link(loss, dtype, tmp_path):
    model = fm.Sequential(
        [
            fm.Standardize(),
            fm.Dense(16),                       # BN right after a linear Dense: folded
            fm.BatchNorm(eps=1e-3),
            fm.Activation("relu"),
            fm.Dropout(0.3),
            fm.Dense(8, activation="tanh"),     # BN after an activation: Mul/Add
            fm.BatchNorm(),
            fm.GaussianNoise(0.5),
            fm.Dense(4, use_bias=False),        # no bias: MatMul
            fm.BatchNorm(),
            fm.Dense(3),
        ],
        input_dim=6, dtype=dtype, seed=3,
    )
    model.compile(loss=loss, optimizer=fm.SGD(lr=0.01))
    _check(model, tmp_path, dtype)


def test_trained_classifier_matches(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 10)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    model = fm.Sequential([fm.Standardize(), fm.Dense(32, activation="gelu"), fm.BatchNorm(),
                           fm.Dense(3)], input_dim=10, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-2))
    model.fit(X * 5 + 2, y, epochs=3, batch_size=32, verbose=0)
    got = _run(model, X, tmp_path)
    np.testing.assert_allclose(got, model.predict(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)


def test_unbuilt_model_is_a_value_error(tmp_path):
    model = fm.Sequential([fm.Dense(3)])
    with pytest.raises(ValueError, match="built"):
        model.to_onnx(tmp_path / "m.onnx")


def test_missing_onnx_gives_install_hint(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("No module named 'onnx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    model = fm.Sequential([fm.Dense(3)], input_dim=2)
    with pytest.raises(ImportError, match="pip install"):
        model.to_onnx(tmp_path / "m.onnx")


def test_mixed_bfloat16_exports_a_float32_graph_recording_the_policy(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 6)).astype(np.float32)
    model = fm.Sequential([fm.Dense(16, activation="relu"), fm.Dense(3)], input_dim=6,
                          dtype="mixed_bfloat16", seed=0)
    model.build()
    got = _run(model, X, tmp_path)
    model.dtype_policy = "float32"  # the graph is the float32 model
    np.testing.assert_allclose(got, model.predict(X), rtol=1e-5, atol=1e-6)
    model.dtype_policy = "mixed_bfloat16"
    path = tmp_path / "bf16.onnx"
    model.to_onnx(path)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["fastmlp.dtype_policy"] == "mixed_bfloat16"
