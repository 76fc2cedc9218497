"""Export a Sequential to ONNX for inference (``model.to_onnx(path)``).

The graph takes ``input`` of shape (N, input_dim) in the model's dtype (float32 for the
"mixed_bfloat16" policy, which the metadata property ``fastmlp.dtype_policy`` records) and
returns ``output``:
what ``model.predict`` returns (probabilities after the loss's link for a compiled
classification model, raw values otherwise).

Mapping, layer by layer:

* Dense -> Gemm (with the bias, or MatMul without), then its activation if any.
* BatchNorm (inference form) -> folded into the Dense right before it; otherwise Mul + Add
  with the precomputed scale and shift.
* Standardize -> Sub(mean), Div(std).
* Dropout, GaussianNoise -> nothing (identity at inference).
* Activations -> the ONNX operator of the same name; GELU as its exact erf form, SiLU as
  x * Sigmoid(x), LeakyReLU/ELU/Softplus decomposed where ONNX Runtime lacks a double kernel.
* Output link -> Softmax for cross_entropy, Sigmoid for binary_cross_entropy.

A quantized model (``model.quantize("int8")``) exports its int8 form instead, operator by
operator what the C++ engine computes, so ONNX Runtime reproduces its outputs: per Dense layer,
the input's per-feature map if any (Mul, Add), its per-row u8 quantization (ReduceMin/ReduceMax,
Div, Round, Clip, Cast), then
``MatMulInteger`` (u8 x s8 -> int32) with the int8 weights, the zero-point correction
``acc - zero * colsum`` in int32, and the dequantization ``float(.) * (row_scale * w_scale) +
b`` followed by the activation; then the output activation and link as for the float model.
Input and output are float32.
"""
from __future__ import annotations

import math
import os

import numpy as np

from fastmlp.quantization import links as quantized_links

OPSET = 17

_SHORTCUTS = {
    "ReLU": "relu", "LeakyReLU": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
    "Softplus": "softplus", "Softmax": "softmax", "ELU": "elu", "GELU": "gelu", "SiLU": "silu",
}


def _import_onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "ONNX export needs the 'onnx' package: pip install onnx  "
            "(or pip install 'fastmlp[onnx]')"
        ) from exc
    return onnx, helper, numpy_helper


class _GraphBuilder:
    """Collects nodes and initializers; every tensor gets a fresh readable name."""

    def __init__(self, helper, numpy_helper, dtype):
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.nodes, self.inits, self._count = [], [], {}

    def name(self, base: str) -> str:
        n = self._count.get(base, 0)
        self._count[base] = n + 1
        return f"{base}_{n}"

    def const(self, base: str, value) -> str:
        name = self.name(base)
        arr = np.asarray(value, dtype=self.dtype)
        self.inits.append(self.numpy_helper.from_array(arr, name))
        return name

    def const_as(self, base: str, value, dtype) -> str:
        """An initializer of its own dtype (int8 weights, int32 column sums)."""
        name = self.name(base)
        self.inits.append(self.numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs, base: str | None = None, **attrs) -> str:
        out = self.name(base or op_type.lower())
        self.nodes.append(
            self.helper.make_node(op_type, list(inputs), [out], name=self.name(op_type), **attrs)
        )
        return out


def _activation(g: _GraphBuilder, x: str, name: str, alpha: float) -> str:
    if name == "linear":
        return x
    if name == "relu":
        return g.op("Relu", [x])
    if name == "sigmoid":
        return g.op("Sigmoid", [x])
    if name == "tanh":
        return g.op("Tanh", [x])
    if name == "softmax":
        return g.op("Softmax", [x], axis=-1)
    if name == "leaky_relu":
        # max(x, 0) + alpha * min(x, 0): ONNX Runtime has LeakyRelu for float only.
        pos = g.op("Relu", [x])
        neg = g.op("Min", [x, g.const("zero", 0.0)])
        return g.op("Add", [pos, g.op("Mul", [neg, g.const("alpha", alpha)])], "leaky_relu")
    if name == "elu":
        # x > 0 ? x : alpha * (exp(x) - 1), with exp taken of min(x, 0) so it never overflows.
        neg = g.op("Min", [x, g.const("zero", 0.0)])
        em1 = g.op("Sub", [g.op("Exp", [neg]), g.const("one", 1.0)])
        scaled = g.op("Mul", [em1, g.const("alpha", alpha)])
        return g.op("Add", [g.op("Relu", [x]), scaled], "elu")
    if name == "softplus":
        # relu(x) + log1p(exp(-|x|)): stable for large |x|, any dtype.
        e = g.op("Exp", [g.op("Neg", [g.op("Abs", [x])])])
        lg = g.op("Log", [g.op("Add", [e, g.const("one", 1.0)])])
        return g.op("Add", [g.op("Relu", [x]), lg], "softplus")
    if name == "gelu":
        # exact GELU: 0.5 * x * (1 + erf(x / sqrt(2)))
        z = g.op("Mul", [x, g.const("inv_sqrt2", 1.0 / math.sqrt(2.0))])
        if g.dtype == np.float64:
            # ONNX Runtime has Erf for float only: evaluate it in float32 (error ~1e-7).
            z = g.op("Cast", [z], to=g.helper.np_dtype_to_tensor_dtype(np.dtype(np.float32)))
            erf = g.op("Erf", [z])
            erf = g.op("Cast", [erf], to=g.helper.np_dtype_to_tensor_dtype(g.dtype))
        else:
            erf = g.op("Erf", [z])
        half = g.op("Mul", [x, g.const("half", 0.5)])
        return g.op("Mul", [half, g.op("Add", [erf, g.const("one", 1.0)])], "gelu")
    if name in ("silu", "swish"):
        return g.op("Mul", [x, g.op("Sigmoid", [x])], "silu")
    raise ValueError(f"ONNX export: unsupported activation {name!r}")


def _resolve(cls: str, cfg: dict):
    """``(canonical activation name, alpha)`` of an activation layer or a Dense config."""
    from fastmlp.activations import resolve_activation

    if cls == "Dense":
        act = cfg.get("activation")
        if isinstance(act, dict):
            params = dict(act)
            return resolve_activation(params.pop("name", None), params)
        return resolve_activation(act)
    if cls == "Activation":
        params = dict(cfg)
        return resolve_activation(params.pop("name", None), params)
    return resolve_activation(_SHORTCUTS[cls], cfg)


def _int8_layer(g: _GraphBuilder, x: str, layer: dict) -> str:
    """One quantized Dense layer: what csrc/nn/quantized_network.cpp runs, op for op."""
    tensor = g.helper.np_dtype_to_tensor_dtype
    if layer["in_scale"] is not None:   # Standardize / a BatchNorm after an activation
        x = g.op("Add", [g.op("Mul", [x, g.const("in_scale", layer["in_scale"])]),
                         g.const("in_shift", layer["in_shift"])])
    zero = g.const("zero", 0.0)
    lo = g.op("Min", [g.op("ReduceMin", [x], axes=[1], keepdims=1), zero])
    hi = g.op("Max", [g.op("ReduceMax", [x], axes=[1], keepdims=1), zero])
    s = g.op("Div", [g.op("Sub", [hi, lo]), g.const("q_levels", 255.0)])
    s = g.op("Where", [g.op("Greater", [s, zero]), s, g.const("one", 1.0)], "row_scale")
    inv = g.op("Div", [g.const("one", 1.0), s])
    q255 = g.const("q_max", 255.0)
    zp = g.op("Clip", [g.op("Round", [g.op("Mul", [g.op("Neg", [lo]), inv])]), zero, q255],
              "row_zero")
    q = g.op("Clip", [g.op("Add", [g.op("Round", [g.op("Mul", [x, inv])]), zp]), zero, q255])
    q = g.op("Cast", [q], to=tensor(np.dtype(np.uint8)))
    W = layer["W"]
    acc = g.op("MatMulInteger", [q, g.const_as("W_int8", W, np.int8)])
    colsum = g.const_as("colsum", W.astype(np.int64).sum(axis=0), np.int32)
    zp32 = g.op("Cast", [zp], to=tensor(np.dtype(np.int32)))
    acc = g.op("Sub", [acc, g.op("Mul", [zp32, colsum])])
    scale = g.op("Mul", [s, g.const("w_scale", layer["w_scale"])])
    y = g.op("Mul", [g.op("Cast", [acc], to=tensor(np.dtype(np.float32))), scale])
    y = g.op("Add", [y, g.const("b", layer["b"])], "dense_int8")
    return _activation(g, y, layer["activation"], layer["alpha"])


def _int8_proto(model, helper, numpy_helper):
    q = model.quantized_model
    g = _GraphBuilder(helper, numpy_helper, np.dtype(np.float32))
    x = "input"
    for layer in q.layers:
        x = _int8_layer(g, x, layer)
    loss = (model.get_config().get("compile") or {}).get("loss")
    for link in quantized_links(q.output_activation, loss, inference=True):
        x = _activation(g, x, link, 0.0)
    g.nodes.append(helper.make_node("Identity", [x], ["output"], name="output"))
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(np.float32))
    graph = helper.make_graph(
        g.nodes, "fastmlp_int8",
        [helper.make_tensor_value_info("input", elem, ["N", q.input_dim])],
        [helper.make_tensor_value_info("output", elem, ["N", q.output_dim])],
        initializer=g.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fastmlp")
    proto.ir_version = min(proto.ir_version, 8)
    helper.set_model_props(proto, {"fastmlp.quantized": q.mode})
    return proto


def build_model_proto(model):
    """Return the ``onnx.ModelProto`` for ``model`` (checked with ``onnx.checker``)."""
    onnx, helper, numpy_helper = _import_onnx()
    if getattr(model, "quantized_model", None) is not None:
        proto = _int8_proto(model, helper, numpy_helper)
        onnx.checker.check_model(proto, full_check=True)
        return proto
    config = model.get_config()
    if config.get("input_dim") is None:
        raise ValueError("ONNX export needs a built model: pass input_dim or fit it first")
    dtype = np.dtype(config["dtype"])
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    weights = [np.asarray(w) for w in model.get_weights()]
    layers = config["layers"]
    g = _GraphBuilder(helper, numpy_helper, dtype)

    x = "input"
    wi = 0
    last_act = None     # the activation the layers so far end with
    i = 0
    while i < len(layers):
        cls, cfg = layers[i]["class"], layers[i]["config"]
        if cls == "Dense":
            W = weights[wi].astype(np.float64)
            wi += 1
            if cfg.get("use_bias", True):
                b = weights[wi].astype(np.float64)
                wi += 1
            else:
                b = None
            act, alpha = _resolve(cls, cfg)
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if act == "linear" and nxt is not None and nxt["class"] == "BatchNorm":
                # Fold inference BatchNorm into this Dense: y = (xW + b - mu) * s + beta.
                gamma, beta, mean, var = (w.astype(np.float64) for w in weights[wi : wi + 4])
                wi += 4
                scale = gamma / np.sqrt(var + float(nxt["config"].get("eps", 1e-5)))
                W = W * scale
                b = ((b if b is not None else 0.0) - mean) * scale + beta
                i += 1
            if b is None:
                x = g.op("MatMul", [x, g.const("W", W)], "dense")
            else:
                x = g.op("Gemm", [x, g.const("W", W), g.const("b", b)], "dense")
            x = _activation(g, x, act, alpha)
            last_act = act
        elif cls == "BatchNorm":
            gamma, beta, mean, var = (w.astype(np.float64) for w in weights[wi : wi + 4])
            wi += 4
            scale = gamma / np.sqrt(var + float(cfg.get("eps", 1e-5)))
            x = g.op("Mul", [x, g.const("bn_scale", scale)])
            x = g.op("Add", [x, g.const("bn_shift", beta - mean * scale)], "batchnorm")
        elif cls == "Standardize":
            mean, std = weights[wi], weights[wi + 1]
            wi += 2
            x = g.op("Sub", [x, g.const("mean", mean)])
            x = g.op("Div", [x, g.const("std", std)], "standardize")
        elif cls in ("Dropout", "GaussianNoise"):
            pass  # identity at inference
        elif cls == "Activation" or cls in _SHORTCUTS:
            act, alpha = _resolve(cls, cfg)
            x = _activation(g, x, act, alpha)
            last_act = act
        else:
            raise ValueError(f"ONNX export: unsupported layer {cls!r}")
        if cls not in ("Dense", "Activation") and cls not in _SHORTCUTS:
            last_act = None
        i += 1
    if wi != len(weights):
        raise ValueError(f"ONNX export: used {wi} of {len(weights)} weight arrays")

    loss = (config.get("compile") or {}).get("loss")
    # A model ending in the link itself (softmax before cross_entropy: fused in training) has
    # already applied it.
    if loss == "cross_entropy" and last_act != "softmax":
        x = g.op("Softmax", [x], axis=-1)
    elif loss == "binary_cross_entropy" and last_act != "sigmoid":
        x = g.op("Sigmoid", [x])
    elif loss == "poisson":
        x = g.op("Exp", [x])
    g.nodes.append(helper.make_node("Identity", [x], ["output"], name="output"))

    out_dim = _output_dim(config)
    graph = helper.make_graph(
        g.nodes,
        "fastmlp",
        [helper.make_tensor_value_info("input", elem, ["N", config["input_dim"]])],
        [helper.make_tensor_value_info("output", elem, ["N", out_dim])],
        initializer=g.inits,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fastmlp"
    )
    proto.ir_version = min(proto.ir_version, 8)  # readable by ONNX Runtime >= 1.14
    # The graph computes in the model's dtype (float32 for mixed_bfloat16); the policy is
    # recorded so that a reader knows what the model was trained or run with.
    helper.set_model_props(proto, {"fastmlp.dtype_policy": config.get("dtype_policy",
                                                                       config["dtype"])})
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _output_dim(config: dict) -> int:
    dim = config["input_dim"]
    for layer in config["layers"]:
        if layer["class"] == "Dense":
            dim = layer["config"]["units"]
    return dim


def export(model, path) -> None:
    """Write ``model`` as an ONNX file at ``path`` (input ``input``, output ``output``).

    Raises
    ------
    ImportError
        If the ``onnx`` package is not installed.
    ValueError
        If the model is not built yet.
    """
    onnx, _, _ = _import_onnx()
    proto = build_model_proto(model)
    onnx.save_model(proto, os.fspath(path))
