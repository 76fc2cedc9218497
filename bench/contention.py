"""Speed on a busy machine: fastmlp and PyTorch with and without competition, as ratios.

    python bench/compare.py --contention [--quick] [--markdown] [--baseline PYTHONPATH]
    python bench/contention.py [--quick] [--markdown]          # the same

Rows (issue "never slower than one thread, whatever else runs"):
- training 784-256-128-10 ReLU, Adam, batch 64 and 1024: quiet and next to one busy neighbour
  process (``python -c "while True: pass"``), at 1 thread and at the default (fastmlp: all
  CPUs this process may use; PyTorch: 1 and 2 threads);
- GEMM 1024x256x784 (``fm.ops.gemm`` / ``torch.mm``) alone and interleaved in the same process
  with blocks of NumPy ``a @ b`` calls (OpenBLAS's own threads), timing only our blocks.
Each library runs in its own subprocess (PyTorch's OpenMP and fastmlp's pool never share a
process unless asked), one after the other, so the ratios come from one run. ``--baseline``
adds a fastmlp column from another build (its package directory on PYTHONPATH).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time

import numpy as np

SIZES = (784, 256, 128, 10)
BATCHES = (64, 1024)
GEMM = (1024, 256, 784)  # M, N, K: a batch of 1024 through the first layer
NEIGHBOUR = "while True: pass"


class Neighbour:
    """One busy process for the duration of a `with` block (None: no neighbour)."""

    def __init__(self, busy: bool):
        self.busy, self.proc = busy, None

    def __enter__(self):
        if self.busy:
            self.proc = subprocess.Popen([sys.executable, "-c", NEIGHBOUR])
            time.sleep(0.3)  # interpreter start-up: let it reach the loop
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            time.sleep(0.5)  # fastmlp's pool re-reads the machine's load every 0.1 s


def _data(n: int = 16384):
    rng = np.random.default_rng(0)
    X = rng.random((n, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], n).astype(np.int64)
    return X, y


def _rate(step, n_items: int, seconds: float) -> float:
    """Items per second of `step` (which processes n_items) over at least `seconds`."""
    step()  # warm-up: allocation, thread start
    done, t0 = 0, time.perf_counter()
    while True:
        step()
        done += n_items
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return done / dt


# --------------------------------------------------------------------------- child: fastmlp


def _train_cells(out: dict, key: str, step, n: int, seconds: float) -> None:
    """out[key/0] quiet, out[key/1] next to a busy neighbour: samples/s of step (n samples)."""
    for busy in (False, True):
        with Neighbour(busy):
            out[f"{key}/{int(busy)}"] = _rate(step, n, seconds)


def _fastmlp_cells(threads_list, seconds: float) -> dict:
    import fastmlp as fm

    X, y = _data()
    m, n_, k = GEMM
    a = np.random.default_rng(1).random((m, k), dtype=np.float32)
    b = np.random.default_rng(2).random((k, n_), dtype=np.float32)
    out = {}
    for threads in threads_list:
        fm.set_num_threads(threads)
        for batch in BATCHES:
            model = fm.Sequential(
                [fm.Dense(SIZES[1], activation="relu"), fm.Dense(SIZES[2], activation="relu"),
                 fm.Dense(SIZES[3])], input_dim=SIZES[0], seed=0)
            model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-3))
            n = max(16 * batch, 4096)
            fit = functools.partial(model.fit, X[:n], y[:n], epochs=1, batch_size=batch, verbose=0)
            _train_cells(out, f"train{batch}/{threads}", fit, n, seconds)
        out.update(_gemm_cells(functools.partial(fm.ops.gemm, a, b), a, b, threads, seconds))
    return out


# --------------------------------------------------------------------------- child: torch


def _torch_epoch(torch, net, opt, Xt, yt, n: int, batch: int) -> None:
    """The plain loop people write: a permutation per epoch, index slicing, no DataLoader."""
    loss_fn = torch.nn.functional.cross_entropy
    perm = torch.randperm(n)
    for s in range(0, n, batch):
        idx = perm[s : s + batch]
        opt.zero_grad(set_to_none=True)
        loss_fn(net(Xt[idx]), yt[idx]).backward()
        opt.step()


def _torch_cells(threads_list, seconds: float) -> dict:
    import torch

    X, y = _data()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    m, n_, k = GEMM
    a, b, c = torch.rand(m, k), torch.rand(k, n_), torch.empty(m, n_)
    nn = torch.nn
    out = {}
    for threads in threads_list:
        torch.set_num_threads(threads)
        for batch in BATCHES:
            torch.manual_seed(0)
            net = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(),
                                nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
                                nn.Linear(SIZES[2], SIZES[3]))
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            n = max(16 * batch, 4096)
            epoch = functools.partial(_torch_epoch, torch, net, opt, Xt, yt, n, batch)
            _train_cells(out, f"train{batch}/{threads}", epoch, n, seconds)
        mm = functools.partial(torch.mm, a, b, out=c)
        out.update(_gemm_cells(mm, a.numpy(), b.numpy(), threads, seconds))
    return out


def _gemm_cells(call, a, b, threads: int, seconds: float) -> dict:
    """GFLOP/s of `call` alone, then in blocks of 100 calls alternating with 100 NumPy a @ b."""
    flops = 2.0 * GEMM[0] * GEMM[1] * GEMM[2]
    block = 100
    out = {f"gemm/{threads}/alone": _rate(call, 1, seconds) * flops / 1e9}
    call()
    timed, calls = 0.0, 0
    while timed < seconds:
        for _ in range(block):
            a @ b  # NumPy (OpenBLAS, its own threads), as user code between our calls
        t0 = time.perf_counter()
        for _ in range(block):
            call()
        timed += time.perf_counter() - t0
        calls += block
    out[f"gemm/{threads}/numpy"] = calls * flops / timed / 1e9
    return out


# --------------------------------------------------------------------------- parent


def _child(lib: str, quick: bool, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cmd = [sys.executable, os.path.abspath(__file__), "--child", lib]
    cmd += ["--quick"] if quick else []
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"error": (res.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def _table(header, rows, markdown: bool) -> str:
    cells = [header] + rows
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in cells]
        lines.insert(1, "|" + "---|" * len(header))
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells)


def _fmt(v) -> str:
    return "-" if v is None else (f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.1f}")


def report(res: dict, markdown: bool) -> str:
    fm_cols = [k for k in res if k.startswith("fastmlp")]
    fmd = res["fastmlp"]
    tor = res.get("torch", {})
    default = max((int(k.split("/")[1]) for k in fmd if k.startswith("train")), default=1)
    lines = []
    header = ["training, samples/s", "fastmlp 1 thread", f"fastmlp {default} (default)",
              "default / own quiet 1-thread", "PyTorch 1 / 2", "fastmlp / PyTorch 2"]
    if "fastmlp-baseline" in res:
        header.append("default vs baseline build")
    rows = []
    for batch in BATCHES:
        for busy in (0, 1):
            cond = f"batch {batch}, " + ("one busy neighbour" if busy else "quiet")
            one, dflt = fmd.get(f"train{batch}/1/{busy}"), fmd.get(f"train{batch}/{default}/{busy}")
            quiet1 = fmd.get(f"train{batch}/1/0")
            t1, t2 = tor.get(f"train{batch}/1/{busy}"), tor.get(f"train{batch}/2/{busy}")
            row = [cond, _fmt(one), _fmt(dflt),
                   f"{dflt / quiet1:.2f}x" if dflt and quiet1 else "-",
                   f"{_fmt(t1)} / {_fmt(t2)}", f"{dflt / t2:.1f}x" if dflt and t2 else "-"]
            if "fastmlp-baseline" in res:
                base = res["fastmlp-baseline"].get(f"train{batch}/{default}/{busy}")
                row.append(f"{dflt / base:.2f}x" if dflt and base else "-")
            rows.append(row)
    lines.append(_table(header, rows, markdown))
    lines.append("")
    header = ["GEMM 1024x256x784, GFLOP/s", "alone", "interleaved with NumPy",
              "vs fastmlp 1 thread alone"]
    one_alone = fmd.get("gemm/1/alone")
    rows = []
    for col in fm_cols + (["torch"] if tor else []):
        d = res[col]
        for threads in sorted({int(k.split("/")[1]) for k in d if k.startswith("gemm")}):
            alone, mixed = d.get(f"gemm/{threads}/alone"), d.get(f"gemm/{threads}/numpy")
            name = {"fastmlp": "fastmlp", "fastmlp-baseline": "fastmlp (baseline build)",
                    "torch": "PyTorch"}[col]
            rows.append([f"{name}, {threads} thread{'s' * (threads > 1)}", _fmt(alone), _fmt(mixed),
                         f"{mixed / one_alone:.2f}x" if mixed and one_alone else "-"])
    lines.append(_table(header, rows, markdown))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="shorter windows (about a minute)")
    p.add_argument("--markdown", action="store_true", help="Markdown tables")
    p.add_argument("--baseline", metavar="PYTHONPATH",
                   help="also run fastmlp from this package path")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    p.add_argument("--child", choices=("fastmlp", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    seconds = 0.6 if args.quick else 2.0
    if args.child == "fastmlp":
        import fastmlp as fm

        print(json.dumps(_fastmlp_cells(sorted({1, fm.get_num_threads()}), seconds)))
        return 0
    if args.child == "torch":
        print(json.dumps(_torch_cells((1, 2), seconds)))
        return 0
    t0 = time.perf_counter()
    res = {"fastmlp": _child("fastmlp", args.quick, None)}
    if args.baseline:
        res["fastmlp-baseline"] = _child("fastmlp", args.quick, args.baseline)
    if not args.no_torch:
        res["torch"] = _child("torch", args.quick, None)
    errors = {k: v["error"] for k, v in res.items() if "error" in v}
    for k, msg in errors.items():
        print(f"{k}: {msg}", file=sys.stderr)
        if k == "fastmlp":
            return 1
        del res[k]
    print(f"{os.cpu_count()} CPUs; busy neighbour: python -c {NEIGHBOUR!r}")
    print(report(res, args.markdown))
    print(f"(took {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
