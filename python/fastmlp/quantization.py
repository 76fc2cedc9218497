"""Post-training int8 quantization: what ``model.quantize("int8")`` builds.

A trained Sequential is first folded into a chain of Dense stages ``act((x * s + t) @ W + b)``:
a BatchNorm right after a linear Dense is folded into that Dense's columns (a per-column scale
the per-column int8 scales absorb); Standardize and a BatchNorm that follows an activation
become the per-feature map ``x * s + t`` on the next Dense's input, applied while that input is
quantized (folded into the weights instead, ``s`` would scale their rows and widen each
column's range: on digits with Standardize, accuracy fell from 65% to 43%);
Dropout and GaussianNoise are identities at inference; an Activation layer becomes its Dense's
activation; a final softmax / sigmoid is kept apart as the output activation (a row-wise
softmax cannot run in the GEMM's epilogue), applied with the loss's link as the float model
applies them (see :func:`links`). Every fold runs in float64.

Each stage is then quantized:

- weights: int8, symmetric, one scale per output column: ``scale_j = max_k |W[k, j]| / 127``,
  ``Wq = round(W / scale_j)`` in [-127, 127];
- activations: per row at predict time (dynamic), u8 with a zero point, in C++ (see
  ``csrc/gemm/gemm_int8.hpp``); the int32 products are dequantized with bias and activation
  in the GEMM's epilogue.

Static (calibrated) activation scales are not offered: the per-row quantization costs one pass
over an activation row that the GEMM reads anyway, and it adapts to each row's range.
"""
from __future__ import annotations

import numpy as np

from fastmlp import _core
from fastmlp.losses import LOSSES

MODES = ("int8",)
_LINKS = ("softmax", "sigmoid")


def check_mode(mode) -> str:
    """The quantization mode, or a ValueError naming the argument."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"The 'mode' parameter of quantize must be one of {list(MODES)}, got "
                         f"{mode!r}")
    return mode


def _compose(pre, scale, shift):
    """The affine map ``x * scale + shift`` applied after ``pre`` (None: the identity)."""
    if pre is None:
        return scale, shift
    s, t = pre
    return s * scale, t * scale + shift


def fold_stages(layers, weights) -> tuple[list, str]:
    """``([[W, b, activation, alpha, pre], ...], output_activation)``: the Dense chain
    equivalent at inference to ``layers`` with ``weights`` (``get_weights()`` order), in
    float64 (``pre``: None or the input map ``(s, t)``), and the final softmax / sigmoid
    ("none" without one). ValueError when a layer cannot be folded."""
    stages: list = []
    pre = None          # an affine map waiting for the next Dense's input
    it = iter(weights)

    def set_act(name, alpha, k):
        if name == "linear":
            return
        if not stages or stages[-1][2] != "linear" or pre is not None:
            raise ValueError(f"cannot quantize: the activation of layer {k} ({name}) does not "
                             f"directly follow a linear Dense layer")
        stages[-1][2], stages[-1][3] = name, float(alpha)

    for k, layer in enumerate(layers):
        d = layer.core_dict()
        arrays = [np.asarray(next(it), dtype=np.float64) for _ in layer.param_specs(1)]
        kind = d["kind"]
        if kind in ("dropout", "noise"):
            continue
        if stages and stages[-1][2] == "softmax":
            raise ValueError(f"cannot quantize: layer {k} follows a softmax")
        if kind == "standardize":
            mean, std = arrays
            pre = _compose(pre, 1.0 / std, -mean / std)
        elif kind == "dense":
            W = arrays[0]
            b = arrays[1] if d["use_bias"] else np.zeros(W.shape[1])
            stages.append([W, b, "linear", 0.0, pre])
            pre = None
            set_act(d["activation"], d["alpha"], k)
        elif kind == "batchnorm":
            gamma, beta, mean, var = arrays
            g = gamma / np.sqrt(var + d["eps"])
            h = beta - mean * g
            if stages and stages[-1][2] == "linear" and pre is None:
                stages[-1][0] = stages[-1][0] * g[None, :]
                stages[-1][1] = stages[-1][1] * g + h
            else:
                pre = _compose(pre, g, h)
        elif kind == "activation":
            set_act(d["name"], d["alpha"], k)
        else:
            raise ValueError(f"cannot quantize layer {k} of kind {kind!r}")
    if not stages:
        raise ValueError("cannot quantize: the model has no Dense layer")
    if pre is not None:
        raise ValueError("cannot quantize: a BatchNorm or Standardize after the last Dense "
                         "layer's activation has no Dense layer to fold into")
    link = "none"
    if stages[-1][2] in _LINKS:
        link, stages[-1][2], stages[-1][3] = stages[-1][2], "linear", 0.0
    for k, st in enumerate(stages):
        if st[2] == "softmax":
            raise ValueError(f"cannot quantize: Dense stage {k} ends in a softmax that is not "
                             f"the output")
    return stages, link


def quantize_columns(W) -> tuple[np.ndarray, np.ndarray]:
    """``(Wq int8, scale float32)``: symmetric per-column int8 weights, ``W ~ Wq * scale``."""
    W = np.asarray(W, dtype=np.float64)
    amax = np.abs(W).max(axis=0)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    Wq = np.clip(np.rint(W / scale.astype(np.float64)), -127, 127).astype(np.int8)
    return Wq, scale


class QuantizedModel:
    """The int8 form of a model: its arrays (what files and ONNX hold) and the C++ engine.

    ``layers``: ``[{"W": int8 (K, N), "w_scale": float32 (N,), "b": float32 (N,),
    "activation": str, "alpha": float}]``; ``output_activation``: the model's final "softmax"
    or "sigmoid", or "none".
    """

    mode = "int8"

    def __init__(self, input_dim: int, layers: list, output_activation: str):
        self.input_dim = int(input_dim)
        self.layers = layers
        self.output_activation = output_activation
        self.engine = _core.QuantizedNetwork(self.input_dim)
        for layer in layers:
            self.engine.add_dense(layer["W"], layer["w_scale"], layer["b"],
                                  layer["activation"], layer["alpha"], layer["in_scale"],
                                  layer["in_shift"])

    @classmethod
    def from_stages(cls, input_dim: int, stages: list, link: str) -> QuantizedModel:
        layers = []
        for W, b, act, alpha, pre in stages:
            Wq, scale = quantize_columns(W)
            layers.append({"W": Wq, "w_scale": scale, "b": np.asarray(b, dtype=np.float32),
                           "activation": act, "alpha": float(alpha),
                           "in_scale": None if pre is None else pre[0].astype(np.float32),
                           "in_shift": None if pre is None else pre[1].astype(np.float32)})
        return cls(input_dim, layers, link)

    @property
    def output_dim(self) -> int:
        return self.engine.output_dim

    def predict(self, X: np.ndarray, links=()) -> np.ndarray:
        """float32 outputs of float32 ``X`` (C-contiguous, checked again in C++), then the
        ``links`` (see :func:`links`) in order."""
        out = self.engine.predict(X, 0, links[0] if links else "none")
        for link in links[1:]:   # a second link (e.g. a sigmoid model trained on cross_entropy)
            if link == "softmax":
                out = np.exp(out - out.max(axis=1, keepdims=True))
                out /= out.sum(axis=1, keepdims=True)
            else:
                out = 1.0 / (1.0 + np.exp(-out))
        return out

    # ---- what a file holds -----------------------------------------------------------
    def config(self) -> dict:
        return {"mode": self.mode, "output_activation": self.output_activation,
                "layers": [{"units": int(layer["W"].shape[1]), "activation": layer["activation"],
                            "alpha": layer["alpha"], "input_affine": layer["in_scale"] is not None}
                           for layer in self.layers]}

    def arrays(self) -> list:
        """``[(name, array)]`` in file order."""
        out = []
        for i, layer in enumerate(self.layers):
            out += [(f"quantized/{i}/W", layer["W"]), (f"quantized/{i}/w_scale", layer["w_scale"]),
                    (f"quantized/{i}/b", layer["b"])]
            if layer["in_scale"] is not None:
                out += [(f"quantized/{i}/in_scale", layer["in_scale"]),
                        (f"quantized/{i}/in_shift", layer["in_shift"])]
        return out

    @classmethod
    def from_parts(cls, input_dim: int, config: dict, arrays: dict) -> QuantizedModel:
        """Rebuild from :meth:`config` and :meth:`arrays` (ValueError on any mismatch)."""
        if not isinstance(config, dict) or config.get("mode") != "int8" \
                or config.get("output_activation") not in ("none",) + _LINKS \
                or not isinstance(config.get("layers"), list) or not config["layers"]:
            raise ValueError("invalid quantization entry in the model file")
        layers, k = [], int(input_dim)
        for i, entry in enumerate(config["layers"]):
            if not isinstance(entry, dict):
                raise ValueError(f"invalid quantized layer {i} in the model file")
            units = entry.get("units")
            want = {"W": ((k, units), np.int8), "w_scale": ((units,), np.float32),
                    "b": ((units,), np.float32)}
            layer = {"activation": entry.get("activation"), "alpha": entry.get("alpha"),
                     "in_scale": None, "in_shift": None}
            if entry.get("input_affine") is True:
                want.update({"in_scale": ((k,), np.float32), "in_shift": ((k,), np.float32)})
            if not isinstance(layer["activation"], str) \
                    or not isinstance(layer["alpha"], (int, float)):
                raise ValueError(f"invalid quantized layer {i} in the model file")
            for name, (shape, dtype) in want.items():
                a = arrays.get(f"quantized/{i}/{name}")
                if a is None or a.shape != shape or a.dtype != dtype:
                    raise ValueError(f"quantized array {i}/{name} is missing or is not "
                                     f"{np.dtype(dtype).name} of shape {shape}")
                layer[name] = np.ascontiguousarray(a)
            layers.append(layer)
            k = units
        return cls(input_dim, layers, config["output_activation"])


def quantize_int8(layers, weights, input_dim: int) -> QuantizedModel:
    """The int8 form of the Sequential ``layers`` with ``weights`` (``get_weights()``)."""
    stages, link = fold_stages(layers, weights)
    return QuantizedModel.from_stages(input_dim, stages, link)


def links(output_activation: str, loss: str | None, inference: bool) -> tuple:
    """The links to run after the int8 Dense chain, as the float model runs them.

    The float engine drops a final softmax / sigmoid that the compiled loss fuses (its own
    link); ``predict`` then applies the loss's link, ``evaluate`` hands the raw outputs to the
    loss. So for ``predict`` (``inference``): the output activation, then the loss's link
    unless it is that same (fused) one; for ``evaluate``: the output activation unless fused.
    """
    loss_link = LOSSES.get(loss) if loss else None
    fused = loss_link is not None and loss_link == output_activation
    out = [] if output_activation == "none" or (fused and not inference) else [output_activation]
    if inference and loss_link is not None and not fused:
        out.append(loss_link)
    return tuple(out)
