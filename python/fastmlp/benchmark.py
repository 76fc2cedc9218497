"""fastmlp against the peers that are installed (PyTorch, scikit-learn; Keras 3 on its JAX and
PyTorch backends through ``fastmlp.benchmark_keras``), as ratios.

Used by ``fastmlp bench`` (quick by default) and ``bench/compare.py`` (full by default). Every
library sees the same synthetic MNIST-shaped data (float32, 784 features, 10 classes), the same
architecture, Adam at lr 1e-3, the same batch size and the same number of threads, and
reshuffles every epoch. Throughput is training samples per second over whole epochs after a
short warm-up; a ratio above 1 means fastmlp is faster.
"""
from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fastmlp.benchmark_keras import BACKENDS, keras_comparison
from fastmlp.runtime import cpu_model, cpus_available, peer_versions

PEERS = ("fastmlp", "torch", "sklearn")


@dataclass
class Net:
    """An MLP shape: input width, hidden widths, outputs (1 = binary, sigmoid)."""

    inputs: int
    hidden: tuple
    outputs: int
    bn_dropout: bool = False  # Dense -> BatchNorm -> ReLU -> Dropout(0.2) for every hidden layer

    @property
    def params(self) -> int:
        sizes = (self.inputs, *self.hidden, self.outputs)
        dense = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        return dense + (2 * sum(self.hidden) if self.bn_dropout else 0)

    @property
    def train_flops(self) -> int:
        """FLOPs per training sample in the matrix products: 2 per weight forward, 2 for the
        weight gradient, 2 for the input gradient except in the first layer (no library
        computes the gradient of the data). The usual "6 x params" over-counts that layer."""
        sizes = (self.inputs, *self.hidden, self.outputs)
        weights = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
        return 6 * sum(weights) - 2 * weights[0]

    def name(self) -> str:
        text = "-".join(str(s) for s in (self.inputs, *self.hidden, self.outputs))
        return text + (" BN+Dropout" if self.bn_dropout else "")


@dataclass
class Row:
    case: str
    unit: str  # "samples/s" or "us"
    values: dict = field(default_factory=dict)  # peer -> number or error text
    note: str = ""


# --------------------------------------------------------------------------- memory


def _rss_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class PeakRSS:
    """Peak resident memory reached inside a ``with`` block, above what was resident before.

    Linux lets a process reset its high-water mark (``/proc/self/clear_refs``), so each fit is
    measured on its own; elsewhere the figure is unavailable (None).
    """

    def __enter__(self):
        self.mib = None
        self.before = _rss_kib("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")
            self.ok = self.before is not None
        except OSError:
            self.ok = False
        return self

    def __exit__(self, *exc):
        peak = _rss_kib("VmHWM") if self.ok else None
        if peak is not None:
            self.mib = max(0, peak - self.before) / 1024.0
        return False


# --------------------------------------------------------------------------- data


def make_data(n: int, inputs: int, classes: int, seed: int = 0):
    """Pixels in [0, 1) and labels from a random linear teacher: learnable, MNIST-shaped."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, inputs), dtype=np.float32)
    teacher = rng.standard_normal((inputs, max(classes, 2))).astype(np.float32)
    scores = (X - 0.5) @ teacher
    y = (scores[:, 0] > scores[:, 1]).astype(np.int64) if classes == 1 else \
        np.argmax(scores, axis=1).astype(np.int64)
    return X, y


# --------------------------------------------------------------------------- peers


class FastMLP:
    name = "fastmlp"

    def __init__(self, threads: int, dtype: str = "float32"):
        import fastmlp as fm

        self.fm = fm
        self.dtype = dtype  # "mixed_bfloat16" for the bf16 rows
        fm.set_num_threads(threads)

    def build(self, net: Net):
        fm = self.fm
        layers = []
        for h in net.hidden:
            if net.bn_dropout:
                layers += [fm.Dense(h, init="he_uniform"), fm.BatchNorm(), fm.ReLU(),
                           fm.Dropout(0.2)]
            else:
                layers.append(fm.Dense(h, activation="relu", init="he_uniform"))
        layers.append(fm.Dense(net.outputs))
        model = fm.Sequential(layers, input_dim=net.inputs, dtype=self.dtype, seed=0)
        loss = "binary_cross_entropy" if net.outputs == 1 else "cross_entropy"
        model.compile(loss=loss, optimizer=fm.Adam(lr=1e-3))
        return model

    def fit(self, model, X, y, batch: int, epochs: int) -> None:
        model.fit(X, y, epochs=epochs, batch_size=batch, shuffle=True, verbose=0)

    def predict_fn(self, model) -> Callable:
        return model.predict


class Torch:
    name = "torch"

    def __init__(self, threads: int, autocast: bool = False):
        import torch

        self.torch = torch
        self.autocast = autocast  # torch.autocast("cpu", dtype=torch.bfloat16) for the bf16 rows
        torch.set_num_threads(threads)
        torch.manual_seed(0)

    def _autocast(self):
        if not self.autocast:
            return contextlib.nullcontext()
        return self.torch.autocast("cpu", dtype=self.torch.bfloat16)

    def build(self, net: Net):
        nn = self.torch.nn
        layers, width = [], net.inputs
        for h in net.hidden:
            layers.append(nn.Linear(width, h))
            if net.bn_dropout:
                layers += [nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(0.2)]
            else:
                layers.append(nn.ReLU())
            width = h
        layers.append(nn.Linear(width, net.outputs))
        return _TorchModel(nn.Sequential(*layers), self.torch, binary=net.outputs == 1)

    def fit(self, model, X, y, batch: int, epochs: int) -> None:
        # The plain loop people write: a permutation per epoch, index slicing, no DataLoader.
        torch, net = self.torch, model.net
        Xt = torch.from_numpy(X)
        yt = torch.from_numpy(y.astype(np.float32).reshape(-1, 1)) if model.binary else \
            torch.from_numpy(y)
        net.train()
        opt, loss_fn, n = model.opt, model.loss_fn, len(X)
        for _ in range(epochs):
            perm = torch.randperm(n)
            for start in range(0, n, batch):
                idx = perm[start:start + batch]
                opt.zero_grad(set_to_none=True)
                with self._autocast():  # forward and loss; backward outside, as documented
                    loss = loss_fn(net(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()

    def predict_fn(self, model) -> Callable:
        torch, net = self.torch, model.net
        net.eval()
        squash = torch.sigmoid if model.binary else (lambda z: torch.softmax(z, dim=1))

        def predict(X):
            with torch.inference_mode(), self._autocast():
                return squash(net(torch.from_numpy(X))).float().numpy()

        return predict


class _TorchModel:
    """A torch network with its optimizer and loss (kept off the nn.Module on purpose)."""

    def __init__(self, net, torch, binary: bool):
        self.net = net
        self.binary = binary
        self.opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        self.loss_fn = torch.nn.BCEWithLogitsLoss() if binary else torch.nn.CrossEntropyLoss()


class Sklearn:
    name = "sklearn"

    def __init__(self, threads: int):
        from sklearn.neural_network import MLPClassifier

        self.cls = MLPClassifier
        try:  # scikit-learn computes with NumPy's BLAS: give it the same thread count, once
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(limits=threads)
        except ImportError:
            self._limits = None

    def build(self, net: Net):
        if net.bn_dropout:
            return None  # scikit-learn has neither BatchNorm nor dropout
        return {"hidden_layer_sizes": net.hidden}

    def fit(self, model, X, y, batch: int, epochs: int):
        from sklearn.exceptions import ConvergenceWarning

        clf = self.cls(hidden_layer_sizes=model["hidden_layer_sizes"], activation="relu",
                       solver="adam", alpha=0.0, batch_size=batch, learning_rate_init=1e-3,
                       max_iter=epochs, tol=0.0, n_iter_no_change=10**9, shuffle=True,
                       random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        model["fitted"] = clf

    def predict_fn(self, model) -> Callable:
        return model["fitted"].predict_proba


PEER_CLASSES = {"fastmlp": FastMLP, "torch": Torch, "sklearn": Sklearn}


# --------------------------------------------------------------------------- measuring


@dataclass
class Config:
    quick: bool = True
    threads: int = 2
    n_big: int = 60_000
    n_tiny: int = 60_000
    epochs: int = 1
    fit_repeats: int = 3
    latency_repeats: int = 2000
    throughput_repeats: int = 3

    @classmethod
    def make(cls, quick: bool, threads: int) -> Config:
        if quick:
            return cls(quick=True, threads=threads, n_big=6_000, n_tiny=12_000, fit_repeats=1,
                       latency_repeats=300, throughput_repeats=2)
        return cls(quick=False, threads=threads)


def _time_fit(peer, net: Net, X, y, batch: int, epochs: int, repeats: int = 1):
    """Build, warm up and train; return (model, samples/s, peak MiB added).

    The speed is the best of ``repeats`` timed fits: on a shared machine the other processes
    only ever slow a run down, so the fastest run is the best estimate of the library's own
    speed.
    """
    with PeakRSS() as mem:  # memory: from building the model to the end of training
        model = peer.build(net)
        if model is None:
            return None, None, None
        # Warm-up on a few batches: first-call costs (allocation, thread start) are not
        # throughput.
        warm = min(len(X), 4 * batch)
        peer.fit(model, X[:warm], y[:warm], batch, 1)
        best = float("inf")
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            peer.fit(model, X, y, batch, epochs)
            best = min(best, time.perf_counter() - t0)
    return model, len(X) * epochs / best, mem.mib


def _median_latency_us(fn, x, repeats: int) -> float:
    for _ in range(max(10, repeats // 10)):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn(x)
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1000.0


def _throughput(fn, X, repeats: int) -> float:
    fn(X[:1000])
    best = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(X)
        best.append(time.perf_counter() - t0)
    return len(X) / statistics.median(best)


def _short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:120]


class Runner:
    def __init__(self, cfg: Config, log=print, only: tuple = PEERS, keras=None):
        self.cfg = cfg
        # The Keras 3 rows (subprocesses, minutes): with every peer, unless told otherwise.
        self.with_keras = (tuple(only) == PEERS) if keras is None else bool(keras)
        self.keras_rows = None
        self.log = log
        self.peers = {}
        self.missing = {name: "not requested" for name in PEERS if name not in only}
        for name in PEERS:
            if name not in only:
                continue
            try:
                self.peers[name] = PEER_CLASSES[name](cfg.threads)
            except ImportError as exc:
                self.missing[name] = str(exc).splitlines()[0]
        self.errors = []
        self.rows: list = []
        self.memory: list = []  # (case, {peer: MiB})
        self.fitted = {}

    def _absent(self, peer: str) -> str:
        return "skipped" if self.missing.get(peer) == "not requested" else "not installed"

    def _guard(self, row: Row, peer: str, fn):
        if peer not in self.peers:
            row.values[peer] = self._absent(peer)
            return None
        try:
            return fn(self.peers[peer])
        except Exception as exc:  # one peer failing must not hide the others' numbers
            row.values[peer] = "error"
            self.errors.append(f"{row.case} [{peer}]: {_short_error(exc)}")
            return None

    def train_case(self, label: str, net: Net, X, y, batch: int, keep: bool = False) -> Row:
        row = Row(f"train {net.name()}, batch {batch}{label}", "samples/s")
        mem = {}
        for name in PEERS:
            def run(peer, name=name):
                model, sps, mib = _time_fit(peer, net, X, y, batch, self.cfg.epochs,
                                            self.cfg.fit_repeats)
                if model is None:
                    row.values[name] = "n/a"
                    return None
                row.values[name] = sps
                mem[name] = mib
                if keep:
                    self.fitted[name] = (peer, model)
                return sps

            self._guard(row, name, run)
        self.rows.append(row)
        self.memory.append((row.case, mem))
        self.log(f"  done: {row.case}")
        return row

    def _warm_libraries(self) -> None:
        # Library start-up (lazy init, thread pools) is neither throughput nor model memory.
        Xw, yw = make_data(256, 784, 10, seed=2)
        for peer in self.peers.values():
            try:
                _time_fit(peer, Net(784, (16,), 10), Xw, yw, 64, 1)
            except Exception:
                pass  # reported where it matters, in the timed cases

    def run(self) -> None:
        cfg = self.cfg
        self._warm_libraries()
        big = Net(784, (256, 128), 10)
        X, y = make_data(cfg.n_big, 784, 10)
        self.train_case("", big, X, y, 64, keep=True)
        row = self.train_case("", big, X, y, 1024)
        # The FP32 peak of this machine, now: a loop of independent FMAs on the active ISA's
        # vectors, on the same threads (a constant went stale when the VM moved to a CPU
        # with full-width AVX-512).
        from fastmlp import _core

        self.fp32_peak = _core.fp32_peak_gflops(cfg.threads, 0.3)
        peak = self.fp32_peak * 1e9
        shares = [f"{n} {100 * row.values[n] * big.train_flops / peak:.0f}%"
                  for n in PEERS if isinstance(row.values.get(n), float)]
        if shares:
            row.note = "of FP32 peak: " + ", ".join(shares)
        self.train_case("", Net(784, (256, 128), 10, bn_dropout=True), X, y, 64)

        latency = Row(f"predict 1 sample, {big.name()}", "us")
        throughput = Row(f"predict {len(X):,} rows, {big.name()}", "samples/s")
        for name in PEERS:
            if name not in self.fitted:
                latency.values[name] = throughput.values[name] = \
                    self._absent(name) if name in self.missing else "n/a"
                continue
            peer, model = self.fitted[name]
            self._guard(latency, name, lambda p, m=model: latency.values.__setitem__(
                p.name, _median_latency_us(p.predict_fn(m), X[:1], cfg.latency_repeats)))
            self._guard(throughput, name, lambda p, m=model: throughput.values.__setitem__(
                p.name, _throughput(p.predict_fn(m), X, cfg.throughput_repeats)))
        self.rows += [latency, throughput]
        self.log("  done: predict")

        self._bf16_cases(big, X, y, f32_rows=self.rows[:2] + [throughput, latency])
        self._int8_cases(X)

        Xs, ys = make_data(cfg.n_tiny, 20, 1, seed=1)
        self.train_case(" (binary)", Net(20, (64, 64), 1), Xs, ys, 64)
        self.thread_rows = self._threads_scaling(big, X, y)
        if self.with_keras and "fastmlp" in self.peers:
            try:
                self.keras_rows = keras_comparison(cfg.n_big, cfg.threads)
            except Exception as exc:   # the Keras rows must not hide the others
                self.errors.append(f"keras: {_short_error(exc)}")
            if self.keras_rows is not None:
                self.log("  done: keras")

    def _bf16_cases(self, net: Net, X, y, f32_rows) -> None:
        """fastmlp's mixed_bfloat16 policy against torch.autocast(bfloat16): training at batch
        64 and 1024, and predicting every row and one row with the batch-1024 model; each row's
        note compares fastmlp bf16 with fastmlp float32 (f32_rows: the same cases in float32;
        above 1: bf16 is faster)."""
        makers = {"fastmlp": lambda: FastMLP(self.cfg.threads, dtype="mixed_bfloat16"),
                  "torch": lambda: Torch(self.cfg.threads, autocast=True)}
        peers = {name: make() for name, make in makers.items() if name in self.peers}
        fitted = {}
        cases = [(f"train {net.name()}, batch {b}, bf16", b) for b in (64, 1024)]
        cases.append((f"predict {len(X):,} rows, {net.name()}, bf16", None))
        cases.append((f"predict 1 sample, {net.name()}, bf16", 1))
        for (case, batch), base in zip(cases, f32_rows):
            row = Row(case, "us" if batch == 1 else "samples/s")
            for name in PEERS:
                peer = peers.get(name)
                if peer is None or (batch in (None, 1) and name not in fitted):
                    row.values[name] = "n/a" if name in self.peers else self._absent(name)
                    continue
                try:
                    if batch == 1:
                        row.values[name] = _median_latency_us(peer.predict_fn(fitted[name]),
                                                              X[:1], self.cfg.latency_repeats)
                    elif batch is None:
                        row.values[name] = _throughput(peer.predict_fn(fitted[name]), X,
                                                       self.cfg.throughput_repeats)
                    else:
                        model, sps, _ = _time_fit(peer, net, X, y, batch, self.cfg.epochs,
                                                  self.cfg.fit_repeats)
                        row.values[name] = sps
                        if batch == 1024:
                            fitted[name] = model
                except Exception as exc:  # one peer failing must not hide the others
                    row.values[name] = "error"
                    self.errors.append(f"{case} [{name}]: {_short_error(exc)}")
            a, b = row.values.get("fastmlp"), base.values.get("fastmlp")
            if isinstance(a, float) and isinstance(b, float) and a > 0 and b > 0:
                row.note = f"{(b / a if row.unit == 'us' else a / b):.2f}x fastmlp float32"
            self.rows.append(row)
            self.log(f"  done: {case}")
        if "fastmlp" in self.peers:
            self.peers["fastmlp"].fm.set_num_threads(self.cfg.threads)
            from fastmlp.benchmark_peak import bf16_gemm_fraction_of_peak

            try:
                self.bf16_gemm = bf16_gemm_fraction_of_peak(threads=self.cfg.threads)
            except Exception as exc:  # the line must not hide the rows
                self.errors.append(f"bf16 GEMM: {_short_error(exc)}")

    def _int8_cases(self, X) -> None:
        """The batch-1024 float model quantized to int8, against itself in float32 and ONNX
        Runtime's quantize_dynamic (fastmlp.benchmark_int8)."""
        if "fastmlp" not in self.fitted:
            return
        from fastmlp import benchmark_int8

        try:
            model = self.fitted["fastmlp"][1]
            self.int8 = (benchmark_int8.predict_comparison(model, X, self.cfg.threads),
                         benchmark_int8.gemm_fraction_of_peak(threads=self.cfg.threads), len(X))
            self.log("  done: int8")
        except Exception as exc:   # the int8 rows must not hide the others
            self.errors.append(f"int8: {_short_error(exc)}")

    def _threads_scaling(self, net: Net, X, y):
        """fastmlp alone at 1 and at cfg.threads threads."""
        if "fastmlp" not in self.peers:
            return []
        peer = self.peers["fastmlp"]
        rows = []
        counts = sorted({1, self.cfg.threads})
        for batch in (64, 1024):
            speeds = {}
            for t in counts:
                try:
                    peer.fm.set_num_threads(t)
                    speeds[t] = _time_fit(peer, net, X, y, batch, self.cfg.epochs,
                                          self.cfg.fit_repeats)[1]
                except Exception as exc:
                    self.errors.append(f"threads {t}, batch {batch}: {_short_error(exc)}")
            rows.append((batch, speeds))
        peer.fm.set_num_threads(self.cfg.threads)
        self.log("  done: threads")
        return rows


# --------------------------------------------------------------------------- reporting


def _cell(value, unit: str) -> str:
    if isinstance(value, float):
        return f"{value:,.1f} us" if unit == "us" else f"{value:,.0f}"
    return value or "-"


def _ratio(row: Row, other: str) -> str:
    a, b = row.values.get("fastmlp"), row.values.get(other)
    if not (isinstance(a, float) and isinstance(b, float)) or a <= 0 or b <= 0:
        return "-"
    # Latency: lower is better, so the ratio is other/fastmlp; throughput: fastmlp/other.
    return f"{(b / a if row.unit == 'us' else a / b):.2f}x"


def _table(header: list, rows: list, markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda r: "  ".join(  # noqa: E731
        str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *[fmt(r) for r in rows]])


def machine_line(threads: int) -> str:
    parts = [f"CPU: {cpu_model()} ({cpus_available()} CPUs available, {threads} "
             f"thread{'s' * (threads != 1)} used)"]
    try:
        import fastmlp as fm

        info = fm.build_info()
        parts.append(f"fastmlp {info.get('version')} isa={info.get('isa')} "
                     f"compiler={info.get('compiler')}")
    except Exception as exc:
        parts.append(f"fastmlp: {_short_error(exc)}")
    versions = peer_versions()
    parts.append(f"torch {versions['torch']}, scikit-learn {versions['scikit-learn']}, "
                 f"numpy {versions['numpy']}, Python {platform.python_version()}")
    return "; ".join(parts)


def report(runner: Runner, markdown: bool) -> str:
    cfg = runner.cfg
    out = []
    head = ["case", "fastmlp", "torch", "sklearn", "fastmlp/torch", "fastmlp/sklearn", "note"]
    body = [[r.case + (" (latency)" if r.unit == "us" else ""),
             *(_cell(r.values.get(p), r.unit) for p in PEERS),
             _ratio(r, "torch"), _ratio(r, "sklearn"), r.note] for r in runner.rows]
    out.append("Throughput in samples/s (latency in microseconds, median); ratios > 1 mean "
               "fastmlp is faster.")
    out.append(_table(head, body, markdown))
    if runner.memory:
        mem_rows = [[case, *(f"{m[p]:.0f}" if m.get(p) is not None else "-" for p in PEERS)]
                    for case, m in runner.memory]
        out += ["", "Peak resident memory added while building and training (MiB):",
                _table(["case", *PEERS], mem_rows, markdown)]
    if getattr(runner, "thread_rows", None):
        counts = sorted({1, cfg.threads})
        trows = []
        for batch, speeds in runner.thread_rows:
            cells = [f"{speeds[t]:,.0f}" if t in speeds else "error" for t in counts]
            scale = (f"{speeds[counts[-1]] / speeds[1]:.2f}x"
                     if len(counts) > 1 and all(t in speeds for t in counts) else "-")
            trows.append([f"fastmlp train 784-256-128-10, batch {batch}", *cells, scale])
        out += ["", "fastmlp thread scaling (samples/s):",
                _table(["case", *(f"{t} thread{'s' * (t > 1)}" for t in counts), "speed-up"],
                       trows, markdown)]
    if getattr(runner, "bf16_gemm", None):
        g, peak, frac = runner.bf16_gemm
        out += ["", f"bf16 GEMM 1024x256x784 ({cfg.threads} threads): {g:,.0f} GFLOP/s, "
                    f"vdpbf16ps peak {peak:,.0f} GFLOP/s ({100 * frac:.0f}% of peak)" if peak else
                f"bf16 GEMM 1024x256x784: {g:,.0f} GFLOP/s (no AVX512_BF16: emulated path)"]
    if getattr(runner, "int8", None):
        from fastmlp.benchmark_int8 import report_lines

        out += ["", *report_lines(*runner.int8)]
    if getattr(runner, "keras_rows", None):
        names = ["fastmlp.keras", *(f"keras-{b}" for b in BACKENDS)]
        krows = []
        for batch, values in runner.keras_rows.items():
            fast = values.get("fastmlp.keras")
            ratios = [f"{fast / values[n]:.2f}x" if isinstance(values.get(n), float) and fast
                      else "-" for n in names[1:]]
            krows.append([f"train 784-256-128-10, batch {batch}",
                          *(_cell(values.get(n), "samples/s") for n in names), *ratios])
        out += ["", "Keras 3: the same Keras script through fastmlp.keras and through Keras "
                    "(samples/s; ratios > 1 mean fastmlp.keras is faster):",
                _table(["case", *names, *(f"fastmlp.keras/{n}" for n in names[1:])], krows,
                       markdown)]
    out += ["", f"Data: synthetic MNIST-shaped (784 features, 10 classes, float32), "
                f"{cfg.n_big:,} rows; tiny net {cfg.n_tiny:,} rows x 20; best of "
                f"{cfg.fit_repeats} timed {cfg.epochs}-epoch fit(s) after a warm-up; Adam lr 1e-3. "
                f"% of peak: against {getattr(runner, 'fp32_peak', 0.0):.0f} GFLOP/s, a float32 "
                f"FMA loop on {cfg.threads} thread(s) measured in this run, and 6 FLOPs per "
                f"weight and sample "
                f"(4 in the first layer, whose input gradient nobody computes).",
            machine_line(cfg.threads)]
    if runner.missing:
        out.append("Skipped: " + ", ".join(f"{name} ({why})" if why == "not requested" else
                                             f"{name} (not installed)"
                                             for name, why in sorted(runner.missing.items())))
    if runner.errors:
        out += ["Errors:"] + [f"  {e}" for e in runner.errors]
    return "\n".join(out)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(quick: bool = True, markdown: bool = False, threads: int = 2) -> int:
    cfg = Config.make(quick, threads)
    _log(f"fastmlp bench ({'quick' if quick else 'full'}, {threads} threads): "
        f"fastmlp vs {', '.join(p for p in PEERS[1:])} ...")
    t0 = time.perf_counter()
    runner = Runner(cfg, log=_log)
    if "fastmlp" not in runner.peers:
        print(f"fastmlp bench: error: cannot import fastmlp: {runner.missing.get('fastmlp')}",
              file=sys.stderr)
        return 1
    runner.run()
    print(report(runner, markdown))
    _log(f"(benchmark took {time.perf_counter() - t0:.1f} s)")
    return 0


def main(argv=None, *, quick_default: bool = False) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=quick_default,
                        help="fewer samples (about half a minute)")
    parser.add_argument("--markdown", action="store_true", help="Markdown tables")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    return run(quick=args.quick, markdown=args.markdown, threads=args.threads)


if __name__ == "__main__":
    sys.exit(main())
