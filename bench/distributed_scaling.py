"""Data-parallel scaling: ``mpiexec -n 2`` with 1 thread a rank against one process with 1
thread on the same total rows (784-256-128-10, float32, Adam), and the accuracy of 2 ranks
against one process on the bundled handwritten digits.

    python bench/distributed_scaling.py [--repeats 5] [--rows 16384] [--batches 256 64]

Runs are separate processes, interleaved (single, 2 ranks, single, ...; the order flips every
repeat) so that load on a shared machine hits both alike; every ratio is per repeat, then the
median and the range are reported. Efficiency = single-process time / (2 x 2-rank time) at
the same per-process batch (throughput per core), and against one process at the global
batch (2 x b: the same arithmetic as the 2 ranks). Also reported for the cost model of
docs/scaling.md: the single-thread GFLOP/s of a training step and the time of one allreduce
of the gradient arena between the 2 ranks.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HIDDEN = (256, 128)


def _model(fm, seed=0, inputs=784):
    m = fm.Sequential([fm.Dense(HIDDEN[0], activation="relu"),
                       fm.Dense(HIDDEN[1], activation="relu"), fm.Dense(10)], seed=seed)
    m.compile(optimizer="adam")
    m.build(inputs)
    return m


def _step_flops(batch, widths):
    """Forward + backward of the Dense layers: 2 GEMMs backward (dW, dX) and 1 forward, each
    2*b*in*out flops (the first layer skips dX)."""
    f = 0
    for k, (i, o) in enumerate(zip(widths[:-1], widths[1:])):
        f += 2 * batch * i * o * (2 if k == 0 else 3)
    return f


def worker(args):
    import fastmlp as fm
    from fastmlp.benchmark import make_data

    comm = fm.distributed.init(threads=1) if args.worker == "dist" else None
    fm.set_num_threads(1)
    in_reduce = [0.0, 0]
    if comm:
        # Time spent in the step's allreduce (waiting for the other rank included): fit's
        # reducer wrapped where the trainer looks it up.
        import fastmlp.trainers.trainer as trainer_module

        make = trainer_module.gradient_reducer

        def timed_reducer(*a):
            reduce = make(*a)

            def timed(grads, flags):
                t = time.perf_counter()
                reduce(grads, flags)
                in_reduce[0] += time.perf_counter() - t
                in_reduce[1] += 1
            return timed
        trainer_module.gradient_reducer = timed_reducer
    rank, size = (comm.rank, comm.size) if comm else (0, 1)
    out = {}
    if args.task == "speed":
        X, y = make_data(args.rows, 784, 10, seed=0)
        X, y = X[rank::size], y[rank::size]
        m = _model(fm)
        kw = dict(batch_size=args.batch, verbose=0, shuffle=True,
                  distributed=comm) if comm else dict(batch_size=args.batch, verbose=0)
        m.fit(X[: 4 * args.batch], y[: 4 * args.batch], epochs=1, **kw)  # warm-up, workspace
        in_reduce[:] = [0.0, 0]
        t0 = time.perf_counter()
        m.fit(X, y, epochs=args.epochs, **kw)
        t = time.perf_counter() - t0
        if comm:
            out["step_ms"] = 1e3 * t / in_reduce[1]
            out["in_reduce_ms"] = 1e3 * in_reduce[0] / in_reduce[1]
            t = float(comm.allreduce(np.array([t]), "max")[0])
            # The step's allreduce alone (fit's reducer on an arena of the same size).
            grads = np.ones(sum(int(np.prod(w.shape)) for w in m.get_weights()), np.float32)
            reduce = fm.distributed.gradient_reducer(comm, [])
            flags = np.array([args.batch, 0.0, 0.0])
            reduce(grads, flags.copy())
            comm.comm.Barrier()
            t1 = time.perf_counter()
            for _ in range(50):
                reduce(grads, flags.copy())
            out["allreduce_s"] = (time.perf_counter() - t1) / 50
            out["allreduce_bytes"] = grads.nbytes
        out["seconds"] = t
        steps = args.epochs * -(-len(X) // args.batch)
        out["gflops"] = steps * _step_flops(args.batch, (784, *HIDDEN, 10)) / t / 1e9
    else:
        from fastmlp.datasets import load_digits

        # The bundled handwritten digits (400 held out), and an MNIST-shaped synthetic set
        # (784 pixels, labels from a random linear teacher; 8,192 held out).
        Xd, yd = load_digits()
        order = np.random.default_rng(0).permutation(len(Xd))
        Xs, ys = make_data(32768 + 8192, 784, 10, seed=1)
        sets = {"digits": (Xd, yd, order[:400], order[400:], 30),
                "mnist_shaped": (Xs, ys, slice(32768, None), slice(0, 32768), 5)}
        for name, (X, y, test, train, epochs) in sets.items():
            Xtr, ytr = X[train][rank::size], y[train][rank::size]
            m = _model(fm, seed=1, inputs=X.shape[1])
            m.fit(Xtr, ytr, epochs=epochs, batch_size=args.batch, verbose=0, distributed=comm)
            out[name] = float((m.predict(X[test]).argmax(1) == y[test]).mean())
    if rank == 0:
        print(json.dumps(out), flush=True)


def _launch(kind, task, batch, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--task", task,
           "--batch", str(batch), "--rows", str(args.rows), "--epochs", str(args.epochs)]
    if kind == "dist":
        cmd = [shutil.which("mpiexec"), "-n", "2"] + cmd
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def driver(args):
    results = {}
    for b in args.batches:
        rows = []
        for r in range(args.repeats):
            order = ["single", "dist", "single2b"] if r % 2 == 0 else \
                ["single2b", "dist", "single"]
            got = {}
            for kind in order:
                batch = 2 * b if kind == "single2b" else b
                got[kind] = _launch("dist" if kind == "dist" else "single", "speed", batch, args)
            rows.append(got)
            eff = got["single"]["seconds"] / (2 * got["dist"]["seconds"])
            eff2 = got["single2b"]["seconds"] / (2 * got["dist"]["seconds"])
            print(f"batch {b} repeat {r}: single {got['single']['seconds']:.3f}s, single 2b "
                  f"{got['single2b']['seconds']:.3f}s, 2 ranks {got['dist']['seconds']:.3f}s: "
                  f"efficiency {eff:.3f} (vs 2b: {eff2:.3f}); allreduce "
                  f"{got['dist']['allreduce_s'] * 1e3:.3f} ms alone; 2-rank step "
                  f"{got['dist']['step_ms']:.3f} ms of which {got['dist']['in_reduce_ms']:.3f} "
                  f"ms in the allreduce", flush=True)
        eff = [g["single"]["seconds"] / (2 * g["dist"]["seconds"]) for g in rows]
        eff2 = [g["single2b"]["seconds"] / (2 * g["dist"]["seconds"]) for g in rows]
        results[b] = {
            "efficiency_median": float(np.median(eff)), "efficiency_range": [min(eff), max(eff)],
            "efficiency_vs_2b_median": float(np.median(eff2)),
            "single_gflops_median": float(np.median([g["single"]["gflops"] for g in rows])),
            "allreduce_ms_median": float(np.median([g["dist"]["allreduce_s"] for g in rows]))
            * 1e3,
            "allreduce_bytes": rows[0]["dist"]["allreduce_bytes"],
            "dist_step_ms_median": float(np.median([g["dist"]["step_ms"] for g in rows])),
            "dist_in_reduce_ms_median": float(np.median([g["dist"]["in_reduce_ms"]
                                                         for g in rows])),
            "single_step_ms_median": float(np.median([
                g["single"]["seconds"] / (args.epochs * -(-args.rows // b)) for g in rows])) * 1e3,
        }
        print(f"batch {b}: {json.dumps(results[b])}", flush=True)
    if args.accuracy:
        b = args.accuracy_batch
        single = _launch("single", "accuracy", 2 * b, args)
        single_b = _launch("single", "accuracy", b, args)
        dist = _launch("dist", "accuracy", b, args)
        for name in dist:
            print(f"{name} test accuracy: 2 ranks (batch {b} each) {dist[name]:.4f}, one "
                  f"process batch {2 * b} {single[name]:.4f}, one process batch {b} "
                  f"{single_b[name]:.4f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", choices=["single", "dist"])
    p.add_argument("--task", choices=["speed", "accuracy"], default="speed")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--batches", type=int, nargs="+", default=[256, 64])
    p.add_argument("--rows", type=int, default=32768)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--accuracy", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--accuracy-batch", type=int, default=32)
    args = p.parse_args()
    if args.worker:
        worker(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
