"""mixed_bfloat16 against float32 and torch.autocast(bfloat16), interleaved in one process:
training at batch 1024 (and 64), predicting 6,000 rows and one-row predict latency, each peer
measured in turn every round (the order rotating), the ratios taken per round and summarised
by their median and range (the host is shared: only same-round ratios mean anything).

    PYTHONPATH=build/dev-NAME/pkg python bench/bench_bf16_policy.py [--rounds 7] [--threads 2]
"""
import argparse
import json
import statistics
import time

from fastmlp.benchmark import FastMLP, Net, Torch, _median_latency_us, make_data


def _fit_sps(peer, model, X, y, batch):
    t0 = time.perf_counter()
    peer.fit(model, X, y, batch, 1)
    return len(X) / (time.perf_counter() - t0)


def _predict_sps(fn, X):
    t0 = time.perf_counter()
    fn(X)
    return len(X) / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=6000)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    net = Net(784, (256, 128), 10)
    X, y = make_data(args.rows, 784, 10)
    peers = {"bf16": FastMLP(args.threads, dtype="mixed_bfloat16"),
             "f32": FastMLP(args.threads)}
    if not args.no_torch:
        peers["autocast"] = Torch(args.threads, autocast=True)
    models = {}
    for name, peer in peers.items():
        models[name] = peer.build(net)
        peer.fit(models[name], X[:4096], y[:4096], 1024, 1)  # warm-up
    runs = {}
    names = list(peers)
    for rnd in range(args.rounds):
        # The order rotates every round: whoever runs right after PyTorch shares the CPU with
        # its OpenMP threads still spinning.
        for name in names[rnd % len(names):] + names[:rnd % len(names)]:
            peer = peers[name]
            peer.fm.set_num_threads(args.threads) if hasattr(peer, "fm") else \
                peer.torch.set_num_threads(args.threads)
            m = models[name]
            r = runs.setdefault(name, {"train1024": [], "train64": [], "predict": [],
                                       "one_row_us": []})
            r["train1024"].append(_fit_sps(peer, m, X, y, 1024))
            r["train64"].append(_fit_sps(peer, m, X[:2048], y[:2048], 64))
            fn = peer.predict_fn(m)
            fn(X[:1000])
            r["predict"].append(_predict_sps(fn, X))
            r["one_row_us"].append(_median_latency_us(fn, X[:1], 300))
    out = {"medians": {n: {k: statistics.median(v) for k, v in r.items()}
                       for n, r in runs.items()}, "ratios": {}}
    print(f"{args.rounds} rounds, {args.threads} threads, {args.rows} rows; per-round ratio: "
          "median [min, max]")

    def ratio(a, b, key, inverse=False):
        """Per-round ratios (median, range) and the ratio of each peer's best round (the
        least disturbed one, as compare.py takes the fastest fit)."""
        xs, ys = runs[a][key], runs[b][key]
        rs = [(y / x if inverse else x / y) for x, y in zip(xs, ys)]
        best = min(ys) / min(xs) if inverse else max(xs) / max(ys)
        return {"median": statistics.median(rs), "min": min(rs), "max": max(rs), "best": best}

    for key in ("train1024", "train64", "predict"):
        out["ratios"][f"{key} bf16/f32"] = ratio("bf16", "f32", key)
        if "autocast" in runs:
            out["ratios"][f"{key} bf16/autocast"] = ratio("bf16", "autocast", key)
    out["ratios"]["one_row f32_us/bf16_us"] = ratio("bf16", "f32", "one_row_us", inverse=True)
    for name, r in out["medians"].items():
        print(name, {k: round(v, 1) for k, v in r.items()})
    for k, v in out["ratios"].items():
        print(f"{k:32s} {v['median']:.2f}x  [{v['min']:.2f}, {v['max']:.2f}]  "
              f"best/best {v['best']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": runs, **out}, f, indent=1)


if __name__ == "__main__":
    main()
