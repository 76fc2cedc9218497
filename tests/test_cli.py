"""The command line: `python -m fastmlp ...` in a subprocess, as a user runs it."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest


def run_cli(*args, cwd=None, env_extra=None, timeout=120):
    env = dict(os.environ)  # keeps the dev PYTHONPATH
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-m", "fastmlp", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return proc


def assert_usage_error(proc, *fragments):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


@pytest.fixture
def class_csv(tmp_path):
    """Three well-separated classes with string names; a label column in the middle."""
    rng = np.random.default_rng(0)
    names = np.array(["red", "green", "blue"])
    y = rng.integers(0, 3, 300)
    X = rng.standard_normal((300, 4)) * 0.5 + np.eye(3, 4)[y] * 4
    path = tmp_path / "train.csv"
    with open(path, "w") as f:
        f.write("f0,f1,colour,f2,f3\n")
        for row, label in zip(X, y):
            f.write(f"{row[0]:.5f},{row[1]:.5f},{names[label]},{row[2]:.5f},{row[3]:.5f}\n")
    return path


# --------------------------------------------------------------------------- basics


def test_info_prints_build_and_versions():
    proc = run_cli("info")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"isa: (avx512|avx2|generic)", proc.stdout)
    assert "threads:" in proc.stdout and "numpy:" in proc.stdout


def test_no_command_prints_help():
    proc = run_cli()
    assert proc.returncode == 2 and "train" in proc.stdout


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("fastmlp ")


def test_train_without_data_reaches_95_percent_on_digits():
    proc = run_cli("train", timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "handwritten digits" in proc.stdout
    assert re.search(r"^epoch +1/", proc.stdout, re.M)
    acc = float(re.search(r"test accuracy: ([\d.]+)%", proc.stdout).group(1))
    assert acc >= 95.0, proc.stdout
    assert re.search(r"time: [\d.]+ s training", proc.stdout)


# --------------------------------------------------------------------------- round trips


def test_csv_round_trip_train_predict_evaluate(tmp_path, class_csv):
    model = tmp_path / "model.fmlp"
    proc = run_cli("train", class_csv, "--target", "colour", "--layers", "16", "--epochs", "20",
                   "--lr", "0.01", "--batch-size", "32", "--out", model, "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert "classification (3 classes)" in proc.stdout
    assert float(re.search(r"test accuracy: ([\d.]+)%", proc.stdout).group(1)) >= 90
    assert model.exists()

    preds = tmp_path / "preds.csv"
    proc = run_cli("predict", model, class_csv, "--out", preds)
    assert proc.returncode == 0, proc.stderr
    lines = preds.read_text().splitlines()
    assert lines[0] == "prediction,prob_blue,prob_green,prob_red"
    assert len(lines) == 301
    truth = [line.split(",")[2] for line in class_csv.read_text().splitlines()[1:]]
    predicted = [line.split(",")[0] for line in lines[1:]]
    assert np.mean(np.array(truth) == np.array(predicted)) >= 0.9
    probs = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)

    proc = run_cli("evaluate", model, class_csv, "--target", "colour", "--json")
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)
    assert scores["rows"] == 300 and scores["accuracy"] >= 0.9 and scores["loss"] > 0

    # the saved model remembers the label column and the feature names
    proc = run_cli("evaluate", model, class_csv)
    assert proc.returncode == 0, proc.stderr
    assert "accuracy:" in proc.stdout


def test_predict_to_stdout_without_label_column(tmp_path, class_csv):
    model = tmp_path / "m.fmlp"
    assert run_cli("train", class_csv, "--target", "colour", "--layers", "8", "--epochs", "2",
                   "--out", model, "-q").returncode == 0
    features = tmp_path / "features.csv"
    rows = [line.split(",") for line in class_csv.read_text().splitlines()[:6]]
    features.write_text("\n".join(",".join(r[:2] + r[3:]) for r in rows) + "\n")
    proc = run_cli("predict", model, features)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("prediction,") and len(out) == 6


def test_npz_regression_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((400, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.05 * rng.standard_normal(400)).astype(np.float32)
    data = tmp_path / "reg.npz"
    np.savez(data, X=X, y=y)
    model = tmp_path / "reg.fmlp"
    proc = run_cli("train", data, "--layers", "32", "--epochs", "30", "--lr", "0.01",
                   "--out", model)
    assert proc.returncode == 0, proc.stderr
    assert "regression" in proc.stdout
    r2 = float(re.search(r"R\^2: (-?[\d.]+)", proc.stdout).group(1))
    assert r2 > 0.9, proc.stdout
    proc = run_cli("evaluate", model, data, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["r2"] > 0.9
    out = tmp_path / "p.npz"
    assert run_cli("predict", model, data, "--out", out).returncode == 0
    with np.load(out) as p:
        assert p["predictions"].shape == (400,)


def test_train_options_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    proc = run_cli("train", "digits", "--layers", "32,16", "--epochs", "3", "--batch-norm",
                   "--dropout", "0.1", "--optimizer", "sgd", "--lr", "0.05", "--l2", "1e-4",
                   "--early-stopping", "2", "--threads", "1", "--plot", png)
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_builtin_data_for_predict_and_evaluate(tmp_path):
    model = tmp_path / "digits.fmlp"
    assert run_cli("train", "--layers", "32", "--epochs", "3", "--out", model,
                   "-q").returncode == 0
    proc = run_cli("evaluate", model, "digits", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == 1797
    proc = run_cli("predict", model, "digits")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1798


def test_dtype_policy_for_train_predict_and_evaluate(tmp_path):
    import fastmlp as fm

    model = tmp_path / "digits.fmlp"
    assert run_cli("train", "--layers", "32", "--epochs", "3", "--out", model,
                   "--dtype", "mixed_bfloat16", "-q").returncode == 0
    assert fm.load(model).dtype_policy == "mixed_bfloat16"
    bf16 = json.loads(run_cli("evaluate", model, "digits", "--json").stdout)
    f32 = json.loads(run_cli("evaluate", model, "digits", "--json", "--dtype", "float32").stdout)
    assert bf16["loss"] != f32["loss"] and abs(bf16["loss"] - f32["loss"]) < 0.05
    proc = run_cli("predict", model, "digits", "--dtype", "float32")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1798
    model64 = tmp_path / "digits64.fmlp"
    assert run_cli("train", "--layers", "8", "--epochs", "1", "--out", model64,
                   "--dtype", "float64", "-q").returncode == 0
    proc = run_cli("predict", model64, "digits", "--dtype", "mixed_bfloat16")
    assert proc.returncode != 0 and "dtype" in proc.stderr
    proc = run_cli("train", "--dtype", "bfloat16")
    assert proc.returncode != 0 and "--dtype" in proc.stderr


@pytest.mark.parametrize("opt", ["adam", "sgd", "rmsprop", "adamw"])
def test_each_optimizer_trains(opt, class_csv):
    proc = run_cli("train", class_csv, "--target", "colour", "--layers", "8", "--epochs", "1",
                   "--optimizer", opt, "-q")
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy" in proc.stdout


def test_class_weight_balanced(class_csv, tmp_path):
    proc = run_cli("train", class_csv, "--target", "colour", "--layers", "8", "--epochs", "2",
                   "--class-weight", "balanced")
    assert proc.returncode == 0, proc.stderr
    assert "balanced class weights" in proc.stdout and "test accuracy" in proc.stdout
    npz = tmp_path / "reg.npz"
    np.savez(npz, X=np.random.default_rng(0).normal(size=(40, 3)), y=np.arange(40.0))
    assert_usage_error(run_cli("train", npz, "--task", "regression", "--class-weight",
                               "balanced"), "--class-weight needs a classification task")


# --------------------------------------------------------------------------- errors


def test_missing_data_file(tmp_path):
    assert_usage_error(run_cli("train", tmp_path / "nope.csv", "--target", "y"),
                       "data file not found")
    assert_usage_error(run_cli("train", "nosuchset"), "built-in data sets: digits")


def test_missing_target_column(class_csv):
    assert_usage_error(run_cli("train", class_csv, "--target", "label"),
                       "target column 'label' not found", "colour")
    assert_usage_error(run_cli("train", class_csv), "--target COLUMN", "colour")


def test_non_numeric_feature_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,hello,0\n2,3,1\n")
    assert_usage_error(run_cli("train", path, "--target", "y"), "column 'b' has 'hello'")


def test_regression_on_class_names_is_refused(class_csv):
    assert_usage_error(run_cli("train", class_csv, "--target", "colour", "--task", "regression"),
                       "numeric target")


def test_bad_options():
    assert_usage_error(run_cli("train", "--layers", "0"), "layer sizes must be positive")
    assert_usage_error(run_cli("train", "--dropout", "1.5"), "dropout")
    assert_usage_error(run_cli("train", "--optimizer", "lbfgs"), "invalid choice")
    assert_usage_error(run_cli("train", "--epochs", "0"), "positive integer")


def test_missing_and_damaged_model(tmp_path, class_csv):
    assert_usage_error(run_cli("predict", tmp_path / "none.fmlp", class_csv),
                       "model file not found")
    junk = tmp_path / "junk.fmlp"
    junk.write_bytes(b"not a model at all")
    assert_usage_error(run_cli("predict", junk, class_csv), "cannot load model")


def test_wrong_feature_count_and_unknown_labels(tmp_path, class_csv):
    model = tmp_path / "m.fmlp"
    assert run_cli("train", class_csv, "--target", "colour", "--layers", "4", "--epochs", "1",
                   "--out", model, "-q").returncode == 0
    other = tmp_path / "other.csv"
    other.write_text("u,v\n1,2\n")
    assert_usage_error(run_cli("predict", model, other), "expects 4 features")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("f0,f1,colour,f2,f3\n0,0,purple,0,0\n")
    assert_usage_error(run_cli("evaluate", model, unknown), "labels not seen in training",
                       "purple")


def test_plot_without_matplotlib_is_a_clear_error(tmp_path):
    # A stand-in package that fails to import, first on the path.
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    path = os.pathsep.join([str(tmp_path / "fake"), os.environ.get("PYTHONPATH", "")])
    proc = run_cli("train", "--epochs", "1", "--plot", tmp_path / "c.png",
                   env_extra={"PYTHONPATH": path})
    assert_usage_error(proc, "--plot", "pip install")


def test_unwritable_output_folder(tmp_path):
    assert_usage_error(run_cli("train", "--epochs", "1", "--out", tmp_path / "no" / "m.fmlp"),
                       "does not exist")


# --------------------------------------------------------------------------- bench


def test_bench_options_parse():
    from fastmlp.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["bench"]).quick is True
    args = parser.parse_args(["bench", "--full", "--markdown", "--threads", "1"])
    assert (args.quick, args.markdown, args.threads) == (False, True, 1)
    assert_usage_error(run_cli("bench", "--threads", "0"), "positive integer")


def test_benchmark_report_on_tiny_config():
    import fastmlp as fm
    from fastmlp import benchmark

    cfg = benchmark.Config(quick=True, threads=1, n_big=300, n_tiny=300, latency_repeats=5,
                           throughput_repeats=1)
    threads = fm.get_num_threads()
    try:  # fastmlp alone keeps the test fast (no torch import)
        runner = benchmark.Runner(cfg, log=lambda msg: None, only=("fastmlp",))
        runner.run()
    finally:
        fm.set_num_threads(threads)
    text = benchmark.report(runner, markdown=True)
    assert not runner.errors, runner.errors
    assert "| train 784-256-128-10, batch 64 |" in text
    assert "predict 1 sample" in text
    assert "bf16 GEMM 1024x256x784" in text  # the bf16 goal's GEMM line (% of the peak)
    g, peak, frac = runner.bf16_gemm
    assert g > 0 and (frac > 0) == (peak > 0)
    assert "| skipped |" in text and "| not installed |" not in text
    assert "Skipped: sklearn (not requested), torch (not requested)" in text
    row = runner.rows[0]
    assert isinstance(row.values["fastmlp"], float) and row.values["fastmlp"] > 0
    bf16 = [r for r in runner.rows if r.case.endswith(", bf16")]
    assert [r.case.split(", ")[1] for r in bf16] == ["batch 64", "batch 1024", "784-256-128-10",
                                                      "784-256-128-10"]
    assert bf16[-1].case.startswith("predict 1 sample") and bf16[-1].unit == "us"
    assert all(isinstance(r.values["fastmlp"], float) and "x fastmlp float32" in r.note
               for r in bf16)
