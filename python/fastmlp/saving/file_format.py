"""The model file format: one self-describing file, no pickle, no code execution.

This module turns a model into bytes and bytes back into checked parts (config, weights,
optimizer state); ``Sequential.from_bytes`` builds the model from those parts and
``fastmlp.io`` holds the public ``save_model`` / ``load``.

File layout (all integers little-endian)::

    offset  size  field
    0       8     magic  b"FASTMLP\\x00"
    8       4     format version (uint32)
    12      8     header length H in bytes (uint64)
    20      4     CRC32 of the header bytes (uint32)
    24      H     header: UTF-8 JSON (see below)
    24+H    P     payload: raw little-endian array bytes, each array 64-byte aligned

The JSON header holds the model's ``get_config()``, an array table (name, group, dtype,
shape, offset and nbytes relative to the payload), the optimizer state with its arrays
replaced by references into that table, the payload length and its SHA-256.

Versions: 1 is the float model; 2 adds the int8 form of a quantized model
(``model.quantize("int8")``): a ``"quantization"`` header entry (mode, output link, each
layer's units and activation) and the arrays of group ``"quantized"`` (per layer: ``W`` int8
(in, units), ``w_scale`` and ``b`` float32 (units,)), beside the float weights. This fastmlp
writes version 2 and reads both.

Loading trusts nothing: the magic, version, header checksum, JSON structure, layer classes,
every array's dtype (float32/float64/integers only) and shape (checked against what the
config implies *before* any array is materialized), the payload length and checksum. Any
mismatch is a ``ValueError`` that says what is wrong. Arrays are read with
``np.frombuffer`` from bytes already in memory, so a header that claims a huge array fails
the size check instead of allocating.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import warnings
import zlib
from typing import Any

import numpy as np

from fastmlp._validation import DTYPE_POLICIES
from fastmlp.layers import LAYERS, param_specs

MAGIC = b"FASTMLP\x00"
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_PREAMBLE = struct.Struct("<8sIQI")  # magic, version, header length, header crc32
_ALIGN = 64
_MAX_HEADER_BYTES = 64 << 20  # a real header is a few KiB; anything this big is foreign
_ALLOWED_DTYPES = ("<f4", "<f8", "<i4", "<i8", "<u4", "<u8")
_GROUPS = ("weights", "optimizer", "quantized")
_FLOAT_DTYPES = {"float32": "<f4", "float64": "<f8"}

# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def save_model(model, path) -> None:
    """Write ``model`` (a ``fastmlp.Sequential``) to one file at ``path``.

    The file holds the architecture, the weights, the compile settings and the optimizer
    state, so a loaded model predicts identically and can continue training.

    Parameters
    ----------
    model : fastmlp.Sequential
    path : str or os.PathLike
    """
    data = model_to_bytes(model)
    tmp = os.fspath(path) + ".tmp"
    with open(tmp, "wb") as fh:  # write then rename: a crash never leaves half a file
        fh.write(data)
    os.replace(tmp, path)


def read_model_file(path) -> bytes:
    """The bytes of the model file at ``path``, after a look at its magic: a large foreign file
    is never read whole (a ValueError says what it looks like instead)."""
    with open(path, "rb") as fh:
        head = fh.read(_PREAMBLE.size)
        if len(head) < _PREAMBLE.size or head[:8] != MAGIC:
            raise ValueError(_describe_foreign(head[:16]))
        return head + fh.read()


def model_to_bytes(model) -> bytes:
    """Serialize ``model`` into the file format described in this module's docstring."""
    config = model.get_config()
    arrays: list[tuple[str, str, np.ndarray]] = []
    for i, w in enumerate(model.get_weights()):
        arrays.append((f"weights/{i}", "weights", np.asarray(w)))
    opt_state = None
    if config.get("compile") is not None and hasattr(model, "get_optimizer_state"):
        state = model.get_optimizer_state()
        if state is not None:
            opt_state = _encode_tree(state, arrays)
    quantized = getattr(model, "quantized_model", None)
    for name, arr in quantized.arrays() if quantized is not None else ():
        arrays.append((name, "quantized", arr))

    table = []
    chunks = []
    offset = 0
    for name, group, arr in arrays:
        arr = _to_storable(arr, name)
        pad = (-offset) % _ALIGN
        if pad:
            chunks.append(b"\x00" * pad)
            offset += pad
        raw = arr.tobytes(order="C")
        table.append(
            {
                "name": name,
                "group": group,
                "dtype": arr.dtype.str,
                "shape": list(arr.shape),
                "offset": offset,
                "nbytes": len(raw),
            }
        )
        chunks.append(raw)
        offset += len(raw)
    payload = b"".join(chunks)
    header = {
        "format": "fastmlp",
        "version": FORMAT_VERSION,
        "config": config,
        "arrays": table,
        "optimizer_state": opt_state,
        "quantization": None if quantized is None else quantized.config(),
        "payload_nbytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    try:
        hbytes = json.dumps(header, allow_nan=False, sort_keys=True).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model config is not JSON-serializable: {exc}") from exc
    pre = _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(hbytes), zlib.crc32(hbytes) & 0xFFFFFFFF)
    return pre + hbytes + payload


def read_model_parts(data) -> tuple[dict, list, Any]:
    """``(config, weights, optimizer_state)`` from :func:`model_to_bytes` output, every check
    of ``fastmlp.io.load`` passed (ValueError otherwise); optimizer_state is None when the
    file has none or the model is not compiled."""
    return read_model(data)[:3]


def read_model(data) -> tuple[dict, list, Any, Any]:
    """:func:`read_model_parts`' three parts and the quantized part: None, or
    ``(quantization entry, {name: array})`` of a quantized model (checked further by
    ``fastmlp.quantization.QuantizedModel.from_parts``)."""
    header, payload = _parse(data)
    config = header["config"]
    dtype = _FLOAT_DTYPES[config["dtype"]]
    table = {entry["name"]: entry for entry in header["arrays"]}

    weight_entries = [e for e in header["arrays"] if e["group"] == "weights"]
    expected = expected_weight_shapes(config)
    if len(weight_entries) != len(expected):
        raise ValueError(
            f"the config implies {len(expected)} weight arrays but the file holds "
            f"{len(weight_entries)}"
        )
    for i, (entry, shape) in enumerate(zip(weight_entries, expected)):
        if entry["name"] != f"weights/{i}":
            raise ValueError(f"weight array {i} is named {entry['name']!r}")
        if tuple(entry["shape"]) != shape:
            raise ValueError(
                f"weight array {i} has shape {tuple(entry['shape'])}, the config implies {shape}"
            )
        if entry["dtype"] != dtype:
            raise ValueError(
                f"weight array {i} has dtype {entry['dtype']}, the model is {config['dtype']}"
            )

    opt_entries = [e for e in header["arrays"] if e["group"] == "optimizer"]
    param_shapes = set(expected)
    for entry in opt_entries:
        if entry["dtype"] in ("<f4", "<f8"):
            if entry["dtype"] != dtype or tuple(entry["shape"]) not in param_shapes:
                raise ValueError(
                    f"optimizer array {entry['name']!r} ({entry['dtype']}, "
                    f"{tuple(entry['shape'])}) matches no parameter of the model"
                )
        elif int(np.prod(entry["shape"], dtype=object)) > 1 << 20:
            raise ValueError(f"optimizer array {entry['name']!r} is implausibly large")

    # Every size is validated above; only now are arrays materialized (copies, so the
    # model never aliases the caller's buffer).
    arrays = {name: _read_array(payload, entry).copy() for name, entry in table.items()}
    weights = [arrays[e["name"]] for e in weight_entries]
    state = None
    if header["optimizer_state"] is not None and config.get("compile") is not None:
        state = _decode_tree(header["optimizer_state"], arrays)
    quantized = None
    if header.get("quantization") is not None:
        quantized = (header["quantization"],
                     {e["name"]: arrays[e["name"]] for e in header["arrays"]
                      if e["group"] == "quantized"})
    return config, weights, state, quantized


def expected_weight_shapes(config: dict) -> list[tuple[int, ...]]:
    """The ``get_weights()`` shapes a Sequential built from ``config`` has (empty if unbuilt),
    as its layers state them."""
    dim = config.get("input_dim")
    if dim is None:
        return []
    layers = []
    with warnings.catch_warnings():   # advice about a layer's settings: the model built next warns
        warnings.simplefilter("ignore")
        for entry in config["layers"]:
            try:
                layers.append(LAYERS[entry["class"]].from_config(entry["config"]))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"invalid {entry['class']} layer config: {exc}") from None
    return [tuple(shape) for _, _, shape, _ in param_specs(layers, dim)]


# ---------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------


def _parse(data) -> tuple[dict, memoryview]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    data = memoryview(data).cast("B")
    if len(data) < _PREAMBLE.size or bytes(data[:8]) != MAGIC:
        raise ValueError(_describe_foreign(bytes(data[:16])))
    _, version, hlen, hcrc = _PREAMBLE.unpack(data[: _PREAMBLE.size])
    if version not in _READABLE_VERSIONS:
        raise ValueError(
            f"unsupported fastmlp file format version {version} (this fastmlp reads "
            f"versions {', '.join(map(str, _READABLE_VERSIONS))}); re-save the model with a "
            f"matching fastmlp"
        )
    if hlen > _MAX_HEADER_BYTES or _PREAMBLE.size + hlen > len(data):
        raise ValueError(
            f"file is truncated or damaged: header claims {hlen} bytes, "
            f"{len(data) - _PREAMBLE.size} available"
        )
    hbytes = bytes(data[_PREAMBLE.size : _PREAMBLE.size + hlen])
    if zlib.crc32(hbytes) & 0xFFFFFFFF != hcrc:
        raise ValueError("file is damaged: header checksum mismatch")
    try:
        header = json.loads(hbytes.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"file is damaged: header is not valid JSON ({exc})") from None
    payload = data[_PREAMBLE.size + hlen :]
    _check_header(header, len(payload), version)
    if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise ValueError("file is damaged: array data checksum mismatch")
    return header, payload


def _describe_foreign(head: bytes) -> str:
    if head.startswith(MAGIC):
        return "file is truncated: shorter than the fastmlp preamble"
    kind = "not a fastmlp model file"
    if head[:1] in (b"\x80", b"(", b"c"):
        kind += " (looks like a pickle; fastmlp never unpickles files)"
    elif head.startswith(b"PK\x03\x04"):
        kind += " (looks like a zip/npz archive)"
    elif head.startswith(b"\x93NUMPY"):
        kind += " (looks like a .npy array)"
    elif head.lstrip()[:1] == b"{":
        kind += " (looks like bare JSON)"
    return kind + "; expected a file written by fastmlp's model.save"


def _reject_constant(name):
    raise ValueError(f"file is damaged: header contains {name}")


def _check_header(h, payload_len: int, version: int) -> None:
    def need(cond, what):
        if not cond:
            raise ValueError(f"file is damaged: {what}")

    need(isinstance(h, dict), "header is not an object")
    need(h.get("format") == "fastmlp", "header format tag is not 'fastmlp'")
    need(h.get("version") == version, f"header version {h.get('version')!r}")
    need(h.get("quantization") is None or isinstance(h["quantization"], dict),
         "quantization entry is not an object")
    need(h.get("payload_nbytes") == payload_len,
         f"payload is {payload_len} bytes, header says {h.get('payload_nbytes')!r} "
         "(truncated or padded file)")
    sha = h.get("payload_sha256")
    need(isinstance(sha, str) and len(sha) == 64, "payload checksum missing")
    _check_config(h.get("config"))

    table = h.get("arrays")
    need(isinstance(table, list), "array table is not a list")
    names = set()
    for e in table:
        need(isinstance(e, dict), "array table entry is not an object")
        name = e.get("name")
        need(isinstance(name, str) and name not in names, f"bad or duplicate array name {name!r}")
        names.add(name)
        need(e.get("group") in _GROUPS, f"array {name!r} has unknown group")
        need(e.get("dtype") in _ALLOWED_DTYPES
             or (e.get("dtype") == "|i1" and e.get("group") == "quantized"),
             f"array {name!r} has dtype {e.get('dtype')!r}; only float32/float64/integer "
             "arrays are allowed")
        shape = e.get("shape")
        need(isinstance(shape, list) and len(shape) <= 8 and all(_is_count(d, 0) for d in shape),
             f"array {name!r} has an invalid shape {shape!r}")
        off, nb = e.get("offset"), e.get("nbytes")
        need(_is_count(off, 0) and _is_count(nb, 0), f"array {name!r} has invalid offset/size")
        # Python ints: no overflow, so a shape claiming 10**15 elements is caught here.
        n_elem = 1
        for d in shape:
            n_elem *= d
        need(n_elem * int(e["dtype"][2:]) == nb,
             f"array {name!r}: shape {shape} and dtype {e['dtype']} need "
             f"{n_elem * int(e['dtype'][2:])} bytes, the table says {nb}")
        need(off + nb <= payload_len,
             f"array {name!r} ends at byte {off + nb} but the payload has {payload_len} "
             "(truncated file or corrupt table)")
    _check_tree(h.get("optimizer_state"), names, 0)


def _check_config(cfg) -> None:
    def need(cond, what):
        if not cond:
            raise ValueError(f"invalid model config: {what}")

    need(isinstance(cfg, dict), "config is not an object")
    need(cfg.get("dtype") in _FLOAT_DTYPES, f"dtype {cfg.get('dtype')!r}")
    policy = cfg.get("dtype_policy", cfg.get("dtype"))
    need(isinstance(policy, str) and DTYPE_POLICIES.get(policy) == cfg.get("dtype"),
         f"dtype_policy {policy!r}")
    dim = cfg.get("input_dim")
    need(dim is None or _is_count(dim), f"input_dim {dim!r}")
    layers = cfg.get("layers")
    need(isinstance(layers, list), "layers is not a list")
    for layer in layers:
        need(isinstance(layer, dict) and isinstance(layer.get("config"), dict),
             "layer entry is not {'class', 'config'}")
        need(layer.get("class") in LAYERS,
             f"unknown layer class {layer.get('class')!r} (known: {sorted(LAYERS)})")
    comp = cfg.get("compile")
    need(comp is None or isinstance(comp, dict), "compile is not an object")


def _check_tree(node, names, depth) -> None:
    if depth > 32:
        raise ValueError("file is damaged: optimizer state nested too deeply")
    if isinstance(node, dict):
        if "__array__" in node:
            if node["__array__"] not in names:
                raise ValueError(f"file is damaged: optimizer state refers to unknown array "
                                 f"{node['__array__']!r}")
            return
        for v in node.values():
            _check_tree(v, names, depth + 1)
    elif isinstance(node, list):
        for v in node:
            _check_tree(v, names, depth + 1)


def _is_count(x, lo: int = 1) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= lo


def _read_array(payload: memoryview, entry: dict) -> np.ndarray:
    dt = np.dtype(entry["dtype"])  # from the whitelist only
    count = entry["nbytes"] // dt.itemsize
    arr = np.frombuffer(payload, dtype=dt, count=count, offset=entry["offset"])
    return arr.reshape(entry["shape"]).astype(dt.newbyteorder("="), copy=False)


def _to_storable(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == np.int8:  # the int8 weights of a quantized model
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "fiu" or arr.dtype.str[1:] not in ("f4", "f8", "i4", "i8", "u4", "u8"):
        if arr.dtype.kind in "iub":
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"cannot save array {name!r} of dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))


# Optimizer state: whatever JSON-able tree get_optimizer_state() returns, with every array
# moved into the payload and replaced by {"__array__": name}.


def _encode_tree(node, arrays: list) -> Any:
    if isinstance(node, np.ndarray):
        name = f"optimizer/{sum(1 for a in arrays if a[1] == 'optimizer')}"
        arrays.append((name, "optimizer", node))
        return {"__array__": name}
    if isinstance(node, dict):
        if not all(isinstance(k, str) for k in node):
            raise ValueError("optimizer state keys must be strings")
        return {k: _encode_tree(v, arrays) for k, v in node.items()}
    if isinstance(node, tuple):
        return {"__tuple__": [_encode_tree(v, arrays) for v in node]}
    if isinstance(node, list):
        return [_encode_tree(v, arrays) for v in node]
    if isinstance(node, np.generic):
        return node.item()
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    raise ValueError(f"cannot save optimizer state of type {type(node).__name__}")


def _decode_tree(node, arrays: dict) -> Any:
    if isinstance(node, dict):
        if "__array__" in node:
            return arrays[node["__array__"]]
        if "__tuple__" in node:
            return tuple(_decode_tree(v, arrays) for v in node["__tuple__"])
        return {k: _decode_tree(v, arrays) for k, v in node.items()}
    if isinstance(node, list):
        return [_decode_tree(v, arrays) for v in node]
    return node
