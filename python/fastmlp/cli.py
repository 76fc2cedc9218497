"""The ``fastmlp`` command line (also ``python -m fastmlp``).

Subcommands: ``train [DATA]``, ``predict MODEL DATA``, ``evaluate MODEL DATA``, ``bench``,
``info``. Problems with the user's input (a missing file or column, non-numeric data, a bad
option) print one ``fastmlp: error: ...`` line and exit with status 2, never a traceback
(``--verbose`` shows it).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence

import numpy as np

from fastmlp.runtime import cpu_model, cpus_available, peer_versions

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
BUILTIN_DATASETS = ("digits",)
META_SUFFIX = ".meta.json"  # sidecar next to a saved model: task, classes, feature names
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


# --------------------------------------------------------------------------- argument parsing


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _layer_sizes(text: str) -> list:
    try:
        sizes = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 256,128, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"dropout rate must be in [0, 1), got {text}")
    return value


def _split(text: str) -> tuple:
    try:
        parts = tuple(float(t) for t in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or any(p <= 0 for p in parts) or abs(sum(parts) - 1.0) > 1e-6:
        raise argparse.ArgumentTypeError(
            f"expected three positive fractions summing to 1 (train,dev,test), got {text!r}")
    return parts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastmlp",
        description="Train and use multilayer perceptrons on the CPU.",
        epilog="Run 'fastmlp train' to train on the bundled handwritten digits.",
    )
    parser.add_argument("--version", action="version", version=f"fastmlp {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=_positive_int, help="threads for fastmlp's kernels")
    common.add_argument("-v", "--verbose", action="store_true",
                        help="more detail (model summary; tracebacks on errors)")

    train = sub.add_parser(
        "train", parents=[common], help="train a model on a CSV/NPZ file or a built-in data set",
        description="Train an MLP. DATA is a CSV file with a header (--target names the label "
                    "column; other columns must be numeric), an NPZ file with arrays X and y, or "
                    f"a built-in data set ({', '.join(BUILTIN_DATASETS)}; the default). The data "
                    "are split into train/dev/test; the dev set drives early stopping and the "
                    "val_ curves, the test set gives the final score.")
    train.add_argument("data", nargs="?", default="digits", metavar="DATA",
                       help="file.csv, file.npz or a built-in data set (default: digits)")
    train.add_argument("--target", help="label column of a CSV file")
    train.add_argument("--task", choices=("auto", "classification", "regression"),
                       default="auto", help="default: classification for class names or few "
                                            "integer labels, else regression")
    train.add_argument("--layers", type=_layer_sizes, default=[256, 128],
                       help="hidden layer sizes (default: 256,128)")
    train.add_argument("--activation", default="relu",
                       help="hidden activation: relu, tanh, sigmoid, gelu, silu, elu, "
                            "leaky_relu, softplus (default: relu)")
    train.add_argument("--epochs", type=_positive_int, default=20, help="default: 20")
    train.add_argument("--batch-size", type=_positive_int, default=64, help="default: 64")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default: adam")
    train.add_argument("--lr", type=float, help="learning rate (default: the optimizer's, "
                                                "as in torch.optim)")
    train.add_argument("--dropout", type=_rate, default=0.0,
                       help="dropout rate after each hidden layer (default: 0)")
    train.add_argument("--batch-norm", action="store_true",
                       help="BatchNorm after each hidden Dense layer")
    train.add_argument("--l2", type=float, default=0.0, help="L2 penalty on weights")
    train.add_argument("--class-weight", choices=("balanced",),
                       help="weight each class by n_samples / (n_classes * its count) in the "
                            "loss (imbalanced classification)")
    train.add_argument("--early-stopping", type=_positive_int, metavar="PATIENCE",
                       help="stop when the dev loss has not improved for PATIENCE epochs "
                            "(and keep the best weights)")
    train.add_argument("--split", type=_split, default=(0.7, 0.1, 0.2), metavar="TR,DEV,TEST",
                       help="fractions for train, dev and test (default: 0.7,0.1,0.2)")
    train.add_argument("--seed", type=int, default=0, help="seed for split and weights "
                                                           "(default: 0)")
    train.add_argument("--out", metavar="MODEL", help="save the trained model here "
                                                      "(e.g. model.fmlp)")
    train.add_argument("--plot", metavar="PNG", help="save learning curves here "
                                                     "(needs matplotlib)")
    train.add_argument("--dtype", choices=("float32", "float64", "mixed_bfloat16"),
                       default="float32", help="dtype policy (default: float32; "
                       "mixed_bfloat16: float32 weights, bf16 matrix products)")
    train.add_argument("-q", "--quiet", action="store_true", help="print only the result")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel training under mpiexec or srun (needs fastmlp[mpi]): "
                            "every rank reads DATA and keeps its rows of the train and dev "
                            "splits (row k to rank k mod N); gradients are averaged every step; "
                            "--batch-size is per rank; rank 0 prints, tests and writes files")

    predict = sub.add_parser("predict", parents=[common], help="predict with a saved model",
                             description="Write predictions (and class probabilities) as CSV.")
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA", help="file.csv or file.npz (X)")
    predict.add_argument("--target", help="CSV column to leave out (when the file has labels)")
    predict.add_argument("--out", metavar="FILE", help="write here (.csv or .npz) instead of "
                                                       "standard output")
    predict.add_argument("--dtype", choices=("float32", "mixed_bfloat16"),
                         help="run a float32 model's matrix products in this policy (default: "
                              "the one it was saved with)")

    evaluate = sub.add_parser("evaluate", parents=[common], help="score a saved model",
                              description="Print the loss and accuracy (or RMSE and R^2) of a "
                                          "saved model on labelled data.")
    evaluate.add_argument("model", metavar="MODEL")
    evaluate.add_argument("data", metavar="DATA", help="file.csv or file.npz (X and y)")
    evaluate.add_argument("--target", help="label column of a CSV file (default: the one the "
                                           "model was trained on)")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate.add_argument("--dtype", choices=("float32", "mixed_bfloat16"),
                          help="run a float32 model's matrix products in this policy (default: "
                               "the one it was saved with)")

    quantize = sub.add_parser("quantize", parents=[common], help="int8-quantize a saved model",
                              description="Quantize a saved model's Dense layers to int8 "
                                          "(model.quantize('int8')) and save the result; "
                                          "predict and evaluate take the quantized file.")
    quantize.add_argument("model", metavar="MODEL")
    quantize.add_argument("--out", metavar="FILE", required=True, help="where to save it")
    quantize.add_argument("--mode", choices=("int8",), default="int8",
                          help="quantization mode (default: int8)")

    bench = sub.add_parser("bench", help="time fastmlp against the installed peers",
                           description="Compare training and inference speed with PyTorch and "
                                       "scikit-learn (those installed), as ratios.")
    mode = bench.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="quick", action="store_true", default=True,
                      help="small data, about half a minute (default)")
    mode.add_argument("--full", dest="quick", action="store_false",
                      help="60,000 samples per case (a few minutes)")
    bench.add_argument("--markdown", action="store_true", help="print Markdown tables")
    bench.add_argument("--threads", type=_positive_int, default=2,
                       help="threads for every library (default: 2)")

    sub.add_parser("info", help="build, threads and library versions")
    return parser


# --------------------------------------------------------------------------- helpers


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("fastmlp")
    except Exception:  # not installed (dev tree): ask the extension
        try:
            import fastmlp

            return fastmlp.__version__
        except Exception:
            return "unknown"


def _say(args, *parts) -> None:
    if not getattr(args, "quiet", False):
        print(*parts, flush=True)


def _check_exists(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise UsageError(f"{what} not found: {path}")
    if os.path.isdir(path):
        raise UsageError(f"{what} is a directory, not a file: {path}")


def _check_writable(path: str, what: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {what} to {path}: folder {folder} does not exist")


def _apply_threads(args) -> None:
    if getattr(args, "threads", None):
        import fastmlp as fm

        fm.set_num_threads(args.threads)


def _load_data(path: str, target: str | None, *, need_target: bool, features=None):
    """Return a fastmlp.datasets.Table for a file or a built-in data set name."""
    from fastmlp import datasets

    if path in BUILTIN_DATASETS and not os.path.exists(path):
        X, y = datasets.load_digits()
        return datasets.Table(X, y, [f"pixel_{i}" for i in range(X.shape[1])], None)
    if not os.path.exists(path):
        if not os.path.splitext(path)[1]:
            raise UsageError(f"data file not found: {path} (built-in data sets: "
                             f"{', '.join(BUILTIN_DATASETS)})")
        raise UsageError(f"data file not found: {path}")
    if not path.lower().endswith((".csv", ".npz", ".txt", ".tsv")):
        raise UsageError(f"{path}: expected a .csv or .npz file")
    try:
        return datasets.load_table(path, target, require_target=need_target, features=features)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(str(exc)) from exc


def _decide_task(y: np.ndarray, requested: str) -> str:
    if y.dtype.kind in "USO":
        if requested == "regression":
            raise UsageError("--task regression needs a numeric target column")
        return "classification"
    if requested != "auto":
        return requested
    if y.ndim == 2:
        return "regression"
    integral = bool(np.all(np.mod(y, 1) == 0))
    n_unique = len(np.unique(y))
    if integral and n_unique <= 20 and n_unique <= max(2, len(y) // 2):
        return "classification"
    return "regression"


def _describe_size(n: int, d: int) -> str:
    return f"{n:,} rows x {d} features"


def _hidden_init(activation: str) -> str:
    # He initialization keeps ReLU-family activations from shrinking layer by layer.
    return "he_normal" if activation in ("relu", "leaky_relu", "elu", "gelu", "silu",
                                         "swish") else "glorot_uniform"


def _build_model(fm, args, n_features: int, n_outputs: int):
    layers = [fm.Standardize()]
    for units in args.layers:
        if args.batch_norm:
            # No bias before BatchNorm: BN subtracts the batch mean, which cancels it.
            layers += [fm.Dense(units, init=_hidden_init(args.activation), use_bias=False),
                       fm.BatchNorm(), fm.Activation(args.activation)]
        else:
            layers.append(fm.Dense(units, activation=args.activation,
                                   init=_hidden_init(args.activation)))
        if args.dropout > 0:
            layers.append(fm.Dropout(args.dropout))
    layers.append(fm.Dense(n_outputs))
    return fm.Sequential(layers, input_dim=n_features, dtype=args.dtype, seed=args.seed)


def _optimizer(fm, name: str, lr: float | None):
    cls = {"adam": fm.Adam, "sgd": fm.SGD, "rmsprop": fm.RMSprop, "adamw": fm.AdamW}[name]
    return cls() if lr is None else cls(lr=lr)


def _architecture(args, n_features: int, n_outputs: int) -> str:
    hidden = " -> ".join(
        f"{u}{' bn' if args.batch_norm else ''} {args.activation}"
        f"{f' drop {args.dropout:g}' if args.dropout else ''}" for u in args.layers)
    return f"{n_features} -> standardize -> {hidden + ' -> ' if hidden else ''}{n_outputs}"


def _count_params(model) -> int:
    if hasattr(model, "count_params"):
        return int(model.count_params())
    return int(sum(np.size(w) for w in model.get_weights()))


def _format_logs(logs: dict) -> str:
    parts = []
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in logs and logs[key] is not None:
            parts.append(f"{key} {float(logs[key]):.4f}")
    return "  ".join(parts)


def _progress_callback(fm, args, epochs: int):
    """One line per epoch, or a tqdm bar over epochs when drawing to a terminal."""
    use_bar = False
    if not args.quiet and not args.verbose and sys.stderr.isatty():
        try:
            from tqdm.auto import tqdm

            use_bar = True
        except ImportError:
            pass

    class Progress(fm.Callback):
        def __init__(self):
            super().__init__()
            self.start = time.perf_counter()
            self.last = self.start
            self.epoch = 0
            self.bar = tqdm(total=epochs, unit="epoch", desc="training") if use_bar else None

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.epoch += 1  # count ourselves: epoch numbering conventions differ
            logs = dict(logs or {})
            if self.bar is not None:
                self.bar.set_postfix_str(_format_logs(logs).replace("  ", ", "), refresh=False)
                self.bar.update(1)
            elif not args.quiet:
                width = len(str(epochs))
                took = now - self.last
                took = f"{took:.2f} s" if took >= 1 else f"{1000 * took:.1f} ms"
                print(f"epoch {self.epoch:>{width}}/{epochs}  {_format_logs(logs)}  ({took})",
                      flush=True)
            self.last = now
            return False

        def close(self):
            if self.bar is not None:
                self.bar.close()

    return Progress()


def _meta_path(model_path: str) -> str:
    return model_path + META_SUFFIX


def _write_meta(model_path: str, meta: dict) -> None:
    with open(_meta_path(model_path), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)


def _read_meta(model_path: str) -> dict:
    try:
        with open(_meta_path(model_path), encoding="utf-8") as f:
            meta = json.load(f)
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def _encode_labels(y: np.ndarray, classes: list) -> np.ndarray:
    """Map labels to 0..K-1 by their position in ``classes`` (strings compared as text)."""
    lookup = {str(c): i for i, c in enumerate(classes)}
    keys = [str(v) if y.dtype.kind in "USO" else str(_label_value(v)) for v in y]
    unknown = sorted({k for k in keys if k not in lookup})
    if unknown:
        raise UsageError(f"labels not seen in training: {unknown[:10]} "
                         f"(the model knows: {classes[:20]})")
    return np.array([lookup[k] for k in keys], dtype=np.int64)


def _label_value(v):
    # 3.0 and 3 are the same class; keep integers as int so they print without ".0".
    f = float(v)
    return int(f) if f.is_integer() else f


def _prepare_targets(y: np.ndarray, task: str):
    """Return (targets for fit, class list or None, number of outputs)."""
    if task == "classification":
        if y.ndim == 2:  # class probabilities, one column per class
            return np.asarray(y, dtype=np.float64), list(range(y.shape[1])), y.shape[1]
        values = np.unique(y)
        classes = [str(v) for v in values] if y.dtype.kind in "USO" else \
            [_label_value(v) for v in values]
        if len(classes) < 2:
            raise UsageError(f"only one class in the target ({classes[0]!r}): nothing to learn")
        return _encode_labels(y, classes), classes, len(classes)
    if y.dtype.kind not in "biuf":
        raise UsageError("regression needs a numeric target")
    y2 = np.asarray(y, dtype=np.float64)
    y2 = y2.reshape(-1, 1) if y2.ndim == 1 else y2
    return y2, None, y2.shape[1]


def _regression_scores(pred: np.ndarray, y: np.ndarray) -> dict:
    pred = np.asarray(pred, dtype=np.float64).reshape(y.shape)
    mse = float(np.mean((pred - y) ** 2))
    var = float(np.mean((y - y.mean(axis=0)) ** 2))
    return {"mse": mse, "rmse": mse ** 0.5, "r2": 1.0 - mse / var if var > 0 else float("nan")}


# --------------------------------------------------------------------------- commands


def cmd_train(args) -> int:
    if not args.distributed:
        return _train(args, None)
    import fastmlp as fm

    try:
        comm = fm.distributed.init()
    except ImportError as exc:
        raise UsageError(f"--distributed: {exc}") from exc
    if comm.rank != 0:
        args.quiet = True
    try:
        return _train(args, comm)
    except Exception as exc:    # one rank's error ends every rank (they would wait forever)
        fm.distributed.abort_on_error(comm, exc)
        raise


def _train(args, comm) -> int:
    if args.plot:
        from fastmlp.plotting import _import_matplotlib

        try:  # fail before training, not after
            _import_matplotlib()
        except ImportError as exc:
            raise UsageError(f"--plot: {exc}") from exc
        _check_writable(args.plot, "the plot")
    if args.out:
        _check_writable(args.out, "the model")
    t_start = time.perf_counter()
    table = _load_data(args.data, args.target, need_target=True)
    import fastmlp as fm

    _apply_threads(args)
    X, y = table.X, table.y
    if y is None or len(y) != len(X):
        raise UsageError("the data need one target per row")
    task = _decide_task(y, args.task)
    y_fit, classes, n_out = _prepare_targets(y, task)
    is_builtin = args.data in BUILTIN_DATASETS and not os.path.exists(args.data)
    source = "the bundled handwritten digits" if is_builtin else args.data
    info = fm.build_info()
    threads = fm.get_num_threads()
    _say(args, f"fastmlp {info.get('version', '?')} ({info.get('isa', '?')}, "
               f"{threads} thread{'s' if threads != 1 else ''}): training on {source}")
    what = f"{len(classes)} classes" if classes is not None else f"{n_out} target(s)"
    _say(args, f"data: {_describe_size(*X.shape)}, {task} ({what})")

    stratify = classes is not None and y_fit.ndim == 1 and \
        int(np.bincount(y_fit).min()) >= 5
    try:
        X_tr, X_dev, X_te, y_tr, y_dev, y_te = fm.train_dev_test_split(
            X, y_fit, sizes=args.split, stratify=stratify, seed=args.seed)
    except ValueError as exc:
        raise UsageError(f"cannot split {len(X)} rows into train/dev/test: {exc}") from exc
    _say(args, f"split: {len(X_tr):,} train / {len(X_dev):,} dev / {len(X_te):,} test "
               f"(seed {args.seed})")
    n_train = len(X_tr)
    if comm is not None:    # this rank's rows; every rank drew the same split
        X_tr, y_tr = X_tr[comm.rank::comm.size], y_tr[comm.rank::comm.size]
        X_dev, y_dev = X_dev[comm.rank::comm.size], y_dev[comm.rank::comm.size]
        _say(args, f"distributed: {comm.size} ranks, {len(X_tr):,} train rows on rank 0, "
                   f"{fm.get_num_threads()} thread(s) a rank")

    if args.class_weight and task != "classification":
        raise UsageError("--class-weight needs a classification task")
    model = _build_model(fm, args, X.shape[1], n_out)
    loss = "cross_entropy" if task == "classification" else "mse"
    model.compile(loss=loss, optimizer=_optimizer(fm, args.optimizer, args.lr), l2=args.l2)
    _say(args, f"model: {_architecture(args, X.shape[1], n_out)}  "
               f"({_count_params(model):,} parameters), {args.optimizer}"
               f"{f' lr {args.lr:g}' if args.lr is not None else ''}, "
               f"batch {args.batch_size}, {args.epochs} epochs"
               f"{', balanced class weights' if args.class_weight else ''}")
    if args.verbose:
        model.summary()
    progress = _progress_callback(fm, args, args.epochs)
    callbacks = [progress]
    if args.early_stopping:
        callbacks.append(fm.EarlyStopping(monitor="val_loss", patience=args.early_stopping,
                                          restore_best_weights=True))
    t_fit = time.perf_counter()
    try:
        history = model.fit(X_tr, y_tr, epochs=args.epochs, batch_size=args.batch_size,
                            validation_data=(X_dev, y_dev), shuffle=True, callbacks=callbacks,
                            verbose=0, class_weight=args.class_weight, distributed=comm)
    finally:
        progress.close()
    fit_s = time.perf_counter() - t_fit
    if comm is not None and comm.rank != 0:
        return 0    # the weights are rank 0's: it tests, prints and writes
    epochs_run = len(history.history.get("loss", [])) or progress.epoch
    if epochs_run < args.epochs:
        _say(args, f"stopped early after {epochs_run} epochs (best dev loss kept)")

    scores = model.evaluate(X_te, y_te)
    if task == "classification":
        acc = float(scores["accuracy"])
        print(f"test accuracy: {100 * acc:.2f}%  ({int(round(acc * len(X_te)))}/{len(X_te)}), "
              f"test loss {float(scores['loss']):.4f}")
    else:
        reg = _regression_scores(model.predict(X_te), y_te)
        print(f"test RMSE: {reg['rmse']:.4g}  R^2: {reg['r2']:.4f}  (MSE {reg['mse']:.4g})")
    total_s = time.perf_counter() - t_start
    n_seen = n_train * epochs_run
    print(f"time: {fit_s:.2f} s training ({n_seen / max(fit_s, 1e-9):,.0f} samples/s), "
          f"{total_s:.2f} s in all")

    if args.out:
        model.save(args.out)
        _write_meta(args.out, {
            "format": "fastmlp-cli-meta", "version": 1, "task": task, "classes": classes,
            "features": table.feature_names, "target": table.target_name,
        })
        _say(args, f"saved model to {args.out} (labels and column names in "
                   f"{os.path.basename(_meta_path(args.out))})")
    if args.plot:
        from fastmlp.plotting import plot_history

        plot_history(history, args.plot)
        _say(args, f"saved learning curves to {args.plot}")
    return 0


def _load_model(path: str, policy: str | None = None):
    _check_exists(path, "model file")
    import fastmlp as fm

    try:
        model = fm.load(path)
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot load model {path}: {exc}") from exc
    if policy is not None:
        try:
            model.dtype_policy = policy
        except ValueError as exc:
            raise UsageError(f"--dtype {policy}: {exc}") from exc
    return model


def _expected_features(model) -> int | None:
    weights = model.get_weights()
    if weights and np.ndim(weights[0]) >= 1:
        return int(np.shape(weights[0])[0])  # Standardize mean, Dense W or BatchNorm gamma
    return None


def _features_for(model, meta: dict, path: str, target: str | None, need_target: bool):
    names = meta.get("features") if isinstance(meta.get("features"), list) else None
    if target is None and need_target:
        target = meta.get("target")
    # Select training columns by name when the CSV has them all; otherwise use its columns.
    features = None
    if names and path.lower().endswith((".csv", ".txt", ".tsv")) and os.path.exists(path):
        from fastmlp.datasets import _sniff_delimiter

        with open(path, encoding="utf-8-sig") as f:
            head = f.readline().strip()
        header = [h.strip() for h in head.split(_sniff_delimiter(head))]
        if all(n in header for n in names):
            features = names
    table = _load_data(path, target, need_target=need_target, features=features)
    expected = _expected_features(model)
    if expected is not None and table.X.shape[1] != expected:
        hint = "" if target else " (if the file has a label column, name it with --target)"
        raise UsageError(f"the model expects {expected} features, {path} has "
                         f"{table.X.shape[1]}{hint}")
    return table


def _task_of(model, meta: dict) -> str:
    task = meta.get("task")
    if task in ("classification", "regression"):
        return task
    loss = str(getattr(model, "loss", "") or "")
    return "regression" if "mse" in loss else "classification"


def cmd_predict(args) -> int:
    model = _load_model(args.model, args.dtype)
    if args.out:
        _check_writable(args.out, "predictions")
    _apply_threads(args)
    meta = _read_meta(args.model)
    table = _features_for(model, meta, args.data, args.target, need_target=False)
    out = np.asarray(model.predict(table.X))
    task = _task_of(model, meta)
    if task == "classification":
        classes = meta.get("classes") or list(range(out.shape[1]))
        if out.ndim == 2 and out.shape[1] == 1:  # one sigmoid unit: P(class 1)
            out = np.hstack([1.0 - out, out])
        labels = [classes[i] for i in np.argmax(out, axis=1)]
        columns = {"prediction": labels}
        for j, c in enumerate(classes[: out.shape[1]]):
            columns[f"prob_{c}"] = out[:, j]
    else:
        out2 = out.reshape(len(out), -1)
        if out2.shape[1] == 1:
            columns = {"prediction": out2[:, 0]}
        else:
            columns = {f"prediction_{j}": out2[:, j] for j in range(out2.shape[1])}
    if args.out and args.out.lower().endswith(".npz"):
        np.savez(args.out, predictions=np.asarray(columns[next(iter(columns))]), output=out)
    else:
        _write_csv(columns, args.out)
    if args.out:
        print(f"wrote {len(out):,} predictions to {args.out}", file=sys.stderr)
    return 0


def cmd_quantize(args) -> int:
    model = _load_model(args.model)
    _check_writable(args.out, "the quantized model")
    model.quantize(args.mode)
    model.save(args.out)
    meta = _read_meta(args.model)
    if meta:
        _write_meta(args.out, meta)
    n = len(model.quantized_model.layers)
    print(f"quantized {args.model} ({args.mode}, {n} Dense layer{'s' * (n != 1)}) -> {args.out}")
    return 0


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return str(v)


def _write_csv(columns: dict, path: str | None) -> None:
    import csv

    names = list(columns)
    n = len(next(iter(columns.values())))
    f = open(path, "w", newline="", encoding="utf-8") if path else sys.stdout
    try:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(names)
        for i in range(n):
            writer.writerow([_fmt(columns[c][i]) for c in names])
    finally:
        if path:
            f.close()


def cmd_evaluate(args) -> int:
    model = _load_model(args.model, args.dtype)
    _apply_threads(args)
    meta = _read_meta(args.model)
    builtin = args.data in BUILTIN_DATASETS and not os.path.exists(args.data)
    if args.target is None and not meta.get("target") and not builtin and \
            not args.data.lower().endswith(".npz"):
        _check_exists(args.data, "data file")
        raise UsageError(f"{args.data}: name the label column with --target COLUMN")
    table = _features_for(model, meta, args.data, args.target, need_target=True)
    task = _task_of(model, meta)
    y = table.y
    result = {"rows": int(len(table.X)), "task": task}
    if task == "classification":
        classes = meta.get("classes")
        if y.ndim == 1:
            y = _encode_labels(y, classes) if classes else np.asarray(y).astype(np.int64)
        scores = model.evaluate(table.X, y)
        result.update({k: float(v) for k, v in scores.items()})
    else:
        y2 = np.asarray(y, dtype=np.float64)
        y2 = y2.reshape(-1, 1) if y2.ndim == 1 else y2
        scores = model.evaluate(table.X, y2)
        result.update({k: float(v) for k, v in scores.items()})
        result.update(_regression_scores(model.predict(table.X), y2))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {_fmt(value) if key != 'accuracy' else f'{100 * value:.2f}%'}")
    return 0


def cmd_bench(args) -> int:
    from fastmlp import benchmark

    return benchmark.run(quick=args.quick, markdown=args.markdown, threads=args.threads)


def cmd_info(args) -> int:
    import fastmlp as fm

    info = fm.build_info()
    print(f"fastmlp {info.get('version', '?')}")
    for key, value in info.items():
        if key != "version":
            shown = ", ".join(value) if isinstance(value, (list, tuple)) else value
            print(f"  {key}: {shown}")
    print(f"  threads: {fm.get_num_threads()} (CPUs available: {cpus_available()})")
    print(f"python {platform.python_version()} on {platform.system()} {platform.machine()}, "
          f"CPU: {cpu_model()}")
    for dist, ver in peer_versions().items():
        print(f"  {dist}: {ver}")
    return 0


COMMANDS = {"train": cmd_train, "predict": cmd_predict, "evaluate": cmd_evaluate,
            "quantize": cmd_quantize, "bench": cmd_bench, "info": cmd_info}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastmlp`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        print(f"fastmlp {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as exc:
        # fastmlp's own input checks (ValueError/TypeError naming the argument) end up here.
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        print(f"fastmlp {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FloatingPointError as exc:  # fm.DivergenceError: the message suggests a lower lr
        print(f"fastmlp {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fastmlp {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `fastmlp predict ... | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
