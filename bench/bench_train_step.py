"""Training-step benchmarks (pytest-benchmark group "train"): one epoch of 784-256-128-10
ReLU/Adam at batch 64 and 1024 with fastmlp's engine and with a plain PyTorch loop
(torch.set_num_threads(2), when torch is installed), tiny 20-64-64-1 nets, and predicting one
sample (including the Python call). Samples/s are printed and stored in extra_info.

    PYTHONPATH=build/dev-NAME/pkg python -m pytest bench/bench_train_step.py \
        --benchmark-enable -q -s
"""
import numpy as np
import pytest

from fastmlp import _core

N = 4096
THREADS = 2


def _layers(sizes):
    out = []
    for i, u in enumerate(sizes[1:]):
        out.append({"kind": "dense", "units": u, "use_bias": True,
                    "activation": "relu" if i < len(sizes) - 2 else "linear"})
    return out


def _net(sizes, loss="cross_entropy", seed=0):
    net = _core.Network(_layers(sizes), sizes[0], "float32", seed)
    rng = np.random.default_rng(seed)
    for p in net.params():
        p[...] = rng.normal(size=p.shape) * np.sqrt(2.0 / p.shape[0])
    net.compile(loss, {"name": "adam", "lr": 1e-3}, 0.0, 0.0)
    return net


def _data(d, k, loss="cross_entropy"):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N, d)).astype(np.float32)
    if loss == "cross_entropy":
        return X, rng.integers(0, k, N).astype(np.int32)
    return X, rng.normal(size=(N, k)).astype(np.float32)


def _report(benchmark, samples):
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        rate = samples / stats.stats.min
        benchmark.extra_info["samples/s"] = round(rate)
        print(f"\n{benchmark.name}: {rate:,.0f} samples/s")


def _torch_epoch(torch, sizes, X, y, bs, loss="cross_entropy"):
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y).long() if loss == "cross_entropy" else torch.from_numpy(y)
    functional = torch.nn.functional
    lossf = functional.cross_entropy if loss == "cross_entropy" else functional.mse_loss

    def epoch():
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), bs):
            idx = perm[i:i + bs]
            opt.zero_grad()
            lossf(model(Xt[idx]), yt[idx]).backward()
            opt.step()

    return epoch


CASES = {"mnist_b64": ([784, 256, 128, 10], 64, "cross_entropy"),
         "mnist_b1024": ([784, 256, 128, 10], 1024, "cross_entropy"),
         "tiny_b32": ([20, 64, 64, 1], 32, "mse")}


@pytest.fixture(autouse=True)
def _threads():
    old = _core.get_num_threads()
    _core.set_num_threads(THREADS)
    yield
    _core.set_num_threads(old)


@pytest.mark.benchmark(group="train")
@pytest.mark.parametrize("case", list(CASES))
def test_fastmlp_epoch(benchmark, case):
    sizes, bs, loss = CASES[case]
    X, y = _data(sizes[0], sizes[-1], loss)
    net = _net(sizes, loss)
    epoch = iter(range(10**9))
    benchmark(lambda: net.fit_epoch(X, y, bs, True, next(epoch)))
    _report(benchmark, N)


@pytest.mark.benchmark(group="train")
@pytest.mark.parametrize("case", list(CASES))
def test_torch_epoch(benchmark, case):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(THREADS)
    sizes, bs, loss = CASES[case]
    X, y = _data(sizes[0], sizes[-1], loss)
    benchmark(_torch_epoch(torch, sizes, X, y, bs, loss))
    _report(benchmark, N)


@pytest.mark.benchmark(group="train")
def test_fastmlp_predict_one(benchmark):
    net = _net([784, 256, 128, 10])
    x = np.random.default_rng(2).normal(size=(1, 784)).astype(np.float32)
    benchmark(net.predict, x)


@pytest.mark.benchmark(group="train")
def test_torch_predict_one(benchmark):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(THREADS)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    x = torch.from_numpy(np.random.default_rng(2).normal(size=(1, 784)).astype(np.float32))

    def run():
        with torch.no_grad():
            return torch.softmax(model(x), 1).numpy()

    benchmark(run)
