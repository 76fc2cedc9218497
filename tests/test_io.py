"""fastmlp.io: save/load, bytes and pickle round trips; hostile and damaged files."""
import hashlib
import json
import os
import pickle
import struct
import zlib

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import io as fmio


def _model(dtype="float32", compiled=True, fitted=True, seed=0):
    model = fm.Sequential(
        [
            fm.Standardize(),
            fm.Dense(9, init="he_normal"),
            fm.BatchNorm(),
            fm.Activation("leaky_relu", alpha=0.2),
            fm.Dropout(0.1),
            fm.Dense(7, activation="tanh", use_bias=False),
            fm.GaussianNoise(0.1),
            fm.Dense(3),
        ],
        input_dim=5, dtype=dtype, seed=seed,
    )
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 5)) * 3 + 1
    y = rng.integers(0, 3, 40)
    if compiled:
        model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-2), l2=1e-3)
        if fitted:
            model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    return model, X, y


def _assert_same_model(a, b, X):
    assert a.get_config() == b.get_config()
    for u, v in zip(a.get_weights(), b.get_weights()):
        assert u.dtype == v.dtype
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_identical_predictions(tmp_path, dtype):
    model, X, y = _model(dtype)
    path = tmp_path / "m.fmlp"
    model.save(path)
    loaded = fm.load(path)
    _assert_same_model(model, loaded, X)
    assert not os.path.exists(str(path) + ".tmp")


def test_loaded_model_continues_training_identically(tmp_path):
    model, X, y = _model()
    path = tmp_path / "m.fmlp"
    fmio.save_model(model, path)
    loaded = fmio.load(path)
    state_a, state_b = model.get_optimizer_state(), loaded.get_optimizer_state()
    assert state_a["step"] == state_b["step"] and state_a["epoch"] == state_b["epoch"]
    for u, v in zip(state_a["arrays"], state_b["arrays"]):
        np.testing.assert_array_equal(u, v)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    loaded.fit(X, y, epochs=2, batch_size=8, verbose=0)
    _assert_same_model(model, loaded, X)


def test_bytes_and_pickle_round_trip():
    model, X, _ = _model()
    _assert_same_model(model, fmio.model_from_bytes(fmio.model_to_bytes(model)), X)
    _assert_same_model(model, pickle.loads(pickle.dumps(model)), X)
    assert model.to_bytes() == fmio.model_to_bytes(model)
    _assert_same_model(model, fm.Sequential.from_bytes(model.to_bytes()), X)
    with pytest.raises(ValueError, match="not a fastmlp model"):
        fm.Sequential.from_bytes(b"\x80\x04not a model at all, but long enough")


def test_joblib_round_trip(tmp_path):
    joblib = pytest.importorskip("joblib")
    model, X, _ = _model("float64")
    joblib.dump(model, tmp_path / "m.joblib")
    _assert_same_model(model, joblib.load(tmp_path / "m.joblib"), X)


def test_uncompiled_and_unbuilt_models():
    model, X, _ = _model(compiled=False)
    again = fmio.model_from_bytes(fmio.model_to_bytes(model))
    _assert_same_model(model, again, X)
    assert again.get_config()["compile"] is None
    unbuilt = fm.Sequential([fm.Dense(4), fm.Dense(2)])
    again = fmio.model_from_bytes(fmio.model_to_bytes(unbuilt))
    assert again.input_dim is None and again.get_weights() == []


def test_loaded_standardize_is_frozen():
    model, X, y = _model()
    loaded = fmio.model_from_bytes(fmio.model_to_bytes(model))
    mean = loaded.get_weights()[0].copy()
    loaded.fit(X * 10, y, epochs=1, batch_size=8, verbose=0)  # must not re-learn statistics
    np.testing.assert_array_equal(loaded.get_weights()[0], mean)


def test_file_layout_is_documented():
    model, _, _ = _model()
    data = fmio.model_to_bytes(model)
    magic, version, hlen, crc = struct.unpack_from("<8sIQI", data)
    assert magic == b"FASTMLP\x00" and version == fmio.FORMAT_VERSION
    header = json.loads(data[24 : 24 + hlen])
    assert zlib.crc32(data[24 : 24 + hlen]) == crc
    assert header["payload_sha256"] == hashlib.sha256(data[24 + hlen :]).hexdigest()
    for entry in header["arrays"]:
        assert entry["dtype"] in ("<f4", "<i8", "<f8") and entry["offset"] % 64 == 0


# ------------------------------------------------------------------ hostile files


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_bomb_is_rejected_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.fmlp"
    path.write_bytes(pickle.dumps(_RunsCode(marker)))
    with pytest.raises(ValueError, match="pickle"):
        fm.load(path)
    # also hidden behind a valid-looking magic
    path.write_bytes(fmio.MAGIC + pickle.dumps(_RunsCode(marker)))
    with pytest.raises(ValueError):
        fm.load(path)
    assert not marker.exists()


def test_object_npy_and_npz_are_rejected(tmp_path):
    marker = tmp_path / "pwned"
    npy = tmp_path / "evil.npy"
    np.save(npy, np.array([_RunsCode(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="npy"):
        fm.load(npy)
    npz = tmp_path / "evil.npz"
    np.savez(npz, a=np.array([_RunsCode(marker)], dtype=object))
    with pytest.raises(ValueError, match="zip|npz"):
        fm.load(npz)
    assert not marker.exists()


def _rewrite(data, edit):
    """Apply ``edit`` to the parsed header, then re-checksum, so only the validation of the
    content (not the checksums) can catch it."""
    _, version, hlen, _ = struct.unpack_from("<8sIQI", data)
    header = json.loads(data[24 : 24 + hlen])
    payload = data[24 + hlen :]
    payload = edit(header, payload) or payload
    header["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    h = json.dumps(header).encode()
    return struct.pack("<8sIQI", fmio.MAGIC, version, len(h), zlib.crc32(h)) + h + payload


def _huge(header, payload):
    header["arrays"][1]["shape"] = [10**15]
    header["arrays"][1]["nbytes"] = 4 * 10**15


def _object_dtype(header, payload):
    header["arrays"][0]["dtype"] = "|O"


def _wrong_shape(header, payload):
    e = header["arrays"][0]
    e["shape"] = [e["shape"][0] - 1]
    e["nbytes"] -= 4


def _big_endian(header, payload):
    header["arrays"][0]["dtype"] = ">f4"


def _unknown_layer(header, payload):
    header["config"]["layers"][0]["class"] = "os.system"


def _wrong_version(header, payload):
    header["version"] = 99


def _overlong_offset(header, payload):
    header["arrays"][-1]["offset"] = len(payload)


def _missing_array(header, payload):
    header["arrays"].pop(2)


def _nan_in_table(header, payload):
    header["arrays"][0]["shape"] = [1.5]


def _optimizer_foreign_shape(header, payload):
    opt = [e for e in header["arrays"] if e["group"] == "optimizer"]
    opt[0]["shape"] = [opt[0]["nbytes"] // 4]


@pytest.mark.parametrize(
    "edit",
    [_huge, _object_dtype, _wrong_shape, _big_endian, _unknown_layer, _wrong_version,
     _overlong_offset, _missing_array, _nan_in_table, _optimizer_foreign_shape],
)
def test_inconsistent_headers_are_value_errors(edit):
    model, _, _ = _model()
    bad = _rewrite(fmio.model_to_bytes(model), edit)
    with pytest.raises(ValueError):
        fmio.model_from_bytes(bad)


def test_wrong_format_version_in_preamble():
    model, _, _ = _model()
    data = bytearray(fmio.model_to_bytes(model))
    struct.pack_into("<I", data, 8, 3)   # a version from the future (this fastmlp reads 1, 2)
    with pytest.raises(ValueError, match="version 3"):
        fmio.model_from_bytes(bytes(data))


def test_json_and_random_bytes_are_rejected(tmp_path):
    rng = np.random.default_rng(0)
    for blob in [b"", b"{}", json.dumps({"version": 2, "format": "fastmlp"}).encode(),
                 rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), fmio.MAGIC + b"\x01"]:
        path = tmp_path / "x.fmlp"
        path.write_bytes(blob)
        with pytest.raises(ValueError, match="fastmlp"):
            fm.load(path)


def test_every_truncation_is_a_value_error():
    model, _, _ = _model()
    data = fmio.model_to_bytes(model)
    for n in list(range(0, 64)) + list(range(64, len(data), 37)) + [len(data) - 1]:
        with pytest.raises(ValueError):
            fmio.model_from_bytes(data[:n])
    with pytest.raises(ValueError):
        fmio.model_from_bytes(data + b"\x00")


def test_bit_flips_are_value_errors():
    model, _, _ = _model()
    data = fmio.model_to_bytes(model)
    rng = np.random.default_rng(1)
    positions = np.concatenate([np.arange(24), rng.integers(24, len(data), 300)])
    for pos in positions:
        bad = bytearray(data)
        bad[pos] ^= 1 << int(rng.integers(8))
        with pytest.raises(ValueError):
            fmio.model_from_bytes(bytes(bad))


def test_not_bytes_is_a_type_error():
    with pytest.raises(TypeError):
        fmio.model_from_bytes("FASTMLP")
