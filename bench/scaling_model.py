"""The cost model of docs/scaling.md: predicted data-parallel efficiency for N ranks.

    python bench/scaling_model.py [--gflops 100] [--markdown]

Per step and rank: compute t_c = flops(b) / G (forward + the two backward GEMMs of each Dense
layer, the first layer without dX), then a ring allreduce of the gradient arena,
t_a = 2 (N-1)/N * bytes / bandwidth + 2 (N-1) * latency, not overlapped with compute (fastmlp
reduces after backward). Efficiency at a fixed per-rank batch (weak scaling):
E = t_c / (t_c + t_a). The smallest per-rank batch with E >= 0.8 solves t_c(b) = 4 t_a.
"""
from __future__ import annotations

import argparse

NETWORKS = {"784-256-128-10": (784, 256, 128, 10), "784-4096-4096-10": (784, 4096, 4096, 10)}
LINKS = {"10 Gbit/s": (10e9 / 8, 20e-6), "100 Gbit/s": (100e9 / 8, 5e-6)}  # bytes/s, latency
RANKS = (2, 8, 64, 512)


def flops_per_row(widths) -> float:
    return sum(2 * i * o * (2 if k == 0 else 3)
               for k, (i, o) in enumerate(zip(widths[:-1], widths[1:])))


def grad_bytes(widths, itemsize=4) -> int:
    return itemsize * sum(i * o + o for i, o in zip(widths[:-1], widths[1:]))


def allreduce_s(n_ranks, nbytes, bandwidth, latency) -> float:
    return 2 * (n_ranks - 1) / n_ranks * nbytes / bandwidth + 2 * (n_ranks - 1) * latency


def efficiency(widths, batch, n_ranks, gflops, bandwidth, latency) -> float:
    tc = batch * flops_per_row(widths) / (gflops * 1e9)
    return tc / (tc + allreduce_s(n_ranks, grad_bytes(widths), bandwidth, latency))


def batch_for(widths, target, n_ranks, gflops, bandwidth, latency) -> int:
    ta = allreduce_s(n_ranks, grad_bytes(widths), bandwidth, latency)
    tc_needed = ta * target / (1 - target)
    return int(-(-tc_needed * gflops * 1e9 // flops_per_row(widths)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gflops", type=float, default=100.0,
                   help="compute speed of one rank (bench/distributed_scaling.py measures it)")
    p.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    args = p.parse_args()
    for name, widths in NETWORKS.items():
        print(f"\n{name}: {grad_bytes(widths) / 1e6:.2f} MB of float32 gradients, "
              f"{flops_per_row(widths) / 1e6:.2f} MFLOP a row, "
              f"{args.gflops:g} GFLOP/s a rank")
        print("| link | per-rank batch | " + " | ".join(f"{n} ranks" for n in RANKS)
              + " | batch for E >= 0.8 (8 / 64 / 512) |")
        print("|---|---|" + "---|" * len(RANKS) + "---|")
        for link, (bw, lat) in LINKS.items():
            need = " / ".join(str(batch_for(widths, 0.8, n, args.gflops, bw, lat))
                              for n in (8, 64, 512))
            for b in args.batches:
                effs = " | ".join(f"{efficiency(widths, b, n, args.gflops, bw, lat):.2f}"
                                  for n in RANKS)
                print(f"| {link} | {b} | {effs} | {need} |")


if __name__ == "__main__":
    main()
