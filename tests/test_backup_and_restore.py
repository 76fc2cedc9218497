"""BackupAndRestore: a fit killed with SIGKILL and run again with the same command ends
bit-identical to a fit that never died (weights, optimizer state, step, History, callbacks)."""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm

# One training job as a script: fit with BackupAndRestore, then dump the final state. With
# KILL_AT set it SIGKILLs itself at the start of that epoch the first time (a marker file
# remembers), which loses everything since the last epoch-end backup.
_JOB = r"""
import json, os, signal, sys
import numpy as np
import fastmlp as fm

out, backup_dir, marker = sys.argv[1], sys.argv[2], sys.argv[3]
kill_at = int(os.environ.get("KILL_AT", "-1"))

class Killer(fm.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == kill_at and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 6)).astype(np.float32)
y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1)
model = fm.Sequential([fm.Dense(16, activation="relu"), fm.Dropout(0.2), fm.Dense(3)], seed=3)
model.compile(optimizer=fm.Adam(lr=0.01))
callbacks = [fm.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5),
             fm.EarlyStopping(monitor="val_loss", patience=50),
             fm.BackupAndRestore(backup_dir), Killer()]
h = model.fit(X, y, epochs=7, batch_size=32, validation_split=0.2, callbacks=callbacks, verbose=0)
state = model.get_optimizer_state()
arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
arrays.update({f"o{i}": a for i, a in enumerate(state["arrays"])})
meta = {"history": h.history, "epoch": h.epoch, "step": state["step"],
        "engine_epoch": state["epoch"], "lr": model._current_lr,
        "es": [callbacks[1].best, callbacks[1].best_epoch, callbacks[1].wait],
        "backup_left": os.path.exists(os.path.join(backup_dir, "backup.npz"))}
np.savez(out, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
"""


def _run(tmp_path, name, kill_at=None):
    script = tmp_path / "job.py"
    script.write_text(_JOB)
    out = tmp_path / f"{name}.npz"
    env = dict(os.environ)
    if kill_at is not None:
        env["KILL_AT"] = str(kill_at)
    cmd = [sys.executable, str(script), str(out), str(tmp_path / f"backup-{name}"),
           str(tmp_path / f"marker-{name}")]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300), cmd, env, out


def _load(out):
    with np.load(out, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads(arrays.pop("meta").tobytes())


def test_killed_run_resumes_bit_identical(tmp_path):
    ref, _, _, ref_out = _run(tmp_path, "ref")
    assert ref.returncode == 0, ref.stderr[-3000:]
    first, cmd, env, out = _run(tmp_path, "killed", kill_at=4)
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    assert os.path.exists(tmp_path / "backup-killed" / "backup.npz")
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    a_ref, m_ref = _load(ref_out)
    a_res, m_res = _load(out)
    assert sorted(a_ref) == sorted(a_res)
    for k in a_ref:
        np.testing.assert_array_equal(a_res[k], a_ref[k], err_msg=k)
    assert m_res == m_ref       # History, step, engine epoch, lr, EarlyStopping's state
    assert m_ref["epoch"] == list(range(7))
    assert not m_res["backup_left"]     # deleted once fit completed


def _fit_with(backup_dir, epochs, **kw):
    X, y = np.random.default_rng(1).normal(size=(64, 4)), np.arange(64) % 3
    model = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(3)], seed=0)
    model.compile(optimizer="sgd")
    cb = fm.BackupAndRestore(backup_dir, **kw)
    return model, model.fit(X, y, epochs=epochs, batch_size=16, verbose=0, callbacks=[cb])


def test_backup_written_each_epoch_and_kept_when_asked(tmp_path):
    d = tmp_path / "b"
    _fit_with(d, 2, delete_checkpoint=False)
    with np.load(d / "backup.npz", allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes())
    assert meta["epoch"] == 2 and meta["format"] == "fastmlp-backup"
    # A second fit with the same directory resumes at epoch 2 of 3: one more epoch.
    _, h = _fit_with(d, 3, delete_checkpoint=False)
    assert h.epoch == [0, 1, 2]
    assert len(h.history["loss"]) == 3


def test_backup_deleted_on_completion(tmp_path):
    d = tmp_path / "b"
    _fit_with(d, 2)
    assert not (d / "backup.npz").exists()


def test_bad_arguments_and_foreign_file(tmp_path):
    with pytest.raises(fm.InvalidParameterError, match="save_freq"):
        fm.BackupAndRestore(tmp_path, save_freq=10)
    with pytest.raises(fm.InvalidParameterError, match="backup_dir"):
        fm.BackupAndRestore(3)
    d = tmp_path / "b"
    d.mkdir()
    (d / "backup.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable fastmlp backup"):
        _fit_with(d, 1)


def test_keras_name(tmp_path):
    from fastmlp.keras.callbacks import BackupAndRestore

    cb = BackupAndRestore(str(tmp_path), save_freq="epoch", delete_checkpoint=False)
    assert isinstance(cb, fm.BackupAndRestore) and not cb.delete_checkpoint
    with pytest.raises(ValueError, match="double_checkpoint"):
        BackupAndRestore(str(tmp_path), double_checkpoint=True)
