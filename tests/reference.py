"""A pure-NumPy reference MLP (float64): forward, backward, losses and torch.optim's updates.

Used by the tests as an oracle independent of the C++ engine and of torch. Layers are read
from a ``fastmlp.Sequential`` (``layers_of(model)``) so the same weights go through both.
Dropout and GaussianNoise are left out (identity): the oracle is deterministic.
"""
from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf)


# ---------------------------------------------------------------- activations

def act_fwd(name, x, alpha=None):
    """The activations as fastmlp and PyTorch define them; alpha None: the default (0.01 for
    leaky_relu, 1.0 for elu). softplus is linear above 20, as torch's and the kernels' are."""
    if name == "linear":
        return x
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, (0.01 if alpha is None else alpha) * x)
    if name == "softplus":
        return np.where(x > 20, x, np.logaddexp(0.0, np.minimum(x, 20)))
    if name == "elu":
        return np.where(x > 0, x, (1.0 if alpha is None else alpha) * np.expm1(np.minimum(x, 0.0)))
    if name == "gelu":
        return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))
    if name in ("silu", "swish"):
        return x / (1.0 + np.exp(-x))
    if name == "softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def act_bwd(name, x, y, dy, alpha=0.0):
    """Gradient w.r.t. the input x, given y = act(x) and dL/dy."""
    if name == "linear":
        return dy
    if name == "sigmoid":
        return dy * y * (1 - y)
    if name == "tanh":
        return dy * (1 - y * y)
    if name == "relu":
        return dy * (x > 0)
    if name == "leaky_relu":
        return dy * np.where(x > 0, 1.0, alpha)
    if name == "softplus":
        return dy / (1.0 + np.exp(-x))
    if name == "elu":
        return dy * np.where(x > 0, 1.0, y + alpha)
    if name == "gelu":
        pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return dy * (0.5 * (1.0 + _erf(x / np.sqrt(2.0))) + x * pdf)
    if name == "silu":
        s = 1.0 / (1.0 + np.exp(-x))
        return dy * (s + x * s * (1 - s))
    if name == "softmax":
        return y * (dy - (dy * y).sum(axis=1, keepdims=True))
    raise ValueError(name)


# ---------------------------------------------------------------- layers

def layers_of(model):
    """``[(kind, cfg)]`` from a Sequential: kind in dense/act/bn/std/skip."""
    import fastmlp as fm

    out = []
    for layer in model.layers:
        if isinstance(layer, fm.Dense):
            out.append(("dense", dict(act=layer._act, alpha=layer._alpha, bias=layer.use_bias,
                                      l1=layer.l1, l2=layer.l2)))
        elif isinstance(layer, fm.Activation):
            out.append(("act", dict(act=layer._act, alpha=layer._alpha)))
        elif isinstance(layer, fm.BatchNorm):
            out.append(("bn", dict(momentum=layer.momentum, eps=layer.eps)))
        elif isinstance(layer, fm.Standardize):
            out.append(("std", {}))
        else:
            out.append(("skip", {}))
    return out


def _n_arrays(kind, cfg):
    return {"dense": 1 + int(cfg.get("bias", True)), "bn": 4, "std": 2}.get(kind, 0)


def forward(layers, weights, X, training=False):
    """Returns (output, caches). In training BatchNorm uses batch statistics (and the
    returned caches hold the running-stat updates in 'new_running')."""
    h = np.asarray(X, dtype=np.float64)
    w = [np.asarray(a, dtype=np.float64) for a in weights]
    caches, i = [], 0
    for kind, cfg in layers:
        n = _n_arrays(kind, cfg)
        p = w[i:i + n]
        i += n
        if kind == "dense":
            z = h @ p[0] + (p[1] if cfg["bias"] else 0.0)
            a = act_fwd(cfg["act"], z, cfg["alpha"])
            caches.append(dict(x=h, z=z, a=a))
            h = a
        elif kind == "act":
            a = act_fwd(cfg["act"], h, cfg["alpha"])
            caches.append(dict(x=h, a=a))
            h = a
        elif kind == "bn":
            g, b, rm, rv = p
            if training:
                mu, var = h.mean(axis=0), h.var(axis=0)
                m = len(h)
                unbiased = var * m / (m - 1) if m > 1 else var
                mom = cfg["momentum"]
                new_running = ((1 - mom) * rm + mom * mu, (1 - mom) * rv + mom * unbiased)
            else:
                mu, var, new_running = rm, rv, None
            inv = 1.0 / np.sqrt(var + cfg["eps"])
            xhat = (h - mu) * inv
            caches.append(dict(xhat=xhat, inv=inv, g=g, new_running=new_running))
            h = xhat * g + b
        elif kind == "std":
            caches.append({})
            h = (h - p[0]) / p[1]
        else:
            caches.append({})
    return h, caches


def loss_grad(z, y, loss):
    """(mean loss, dL/dz) of the fused losses on raw outputs z."""
    n = len(z)
    if loss == "cross_entropy":
        m = z.max(axis=1, keepdims=True)
        logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        if y.ndim == 1:
            t = np.zeros_like(z)
            t[np.arange(n), y.astype(int)] = 1.0
        else:
            t = np.asarray(y, dtype=np.float64)
        return float(-(t * logp).sum() / n), (p * t.sum(axis=1, keepdims=True) - t) / n
    y = np.asarray(y, dtype=np.float64).reshape(z.shape)
    if loss == "binary_cross_entropy":
        val = (np.logaddexp(0.0, z) - y * z).mean()
        return float(val), (1.0 / (1.0 + np.exp(-z)) - y) / z.size
    if loss == "mse":
        return float(((z - y) ** 2).mean()), 2.0 * (z - y) / z.size
    raise ValueError(loss)


def _penalties(cfg, l1, l2):
    a1 = l1 if cfg.get("l1") is None else cfg["l1"]
    a2 = l2 if cfg.get("l2") is None else cfg["l2"]
    return a1, a2


def loss_and_gradients(layers, weights, X, y, loss, l1=0.0, l2=0.0):
    """Training-mode mean loss + penalty and the gradients of the trainable arrays (in
    get_weights() order, trainable only)."""
    w = [np.asarray(a, dtype=np.float64) for a in weights]
    z, caches = forward(layers, w, X, training=True)
    value, dh = loss_grad(z, y, loss)
    # Per-layer gradient lists, filled back to front.
    per_layer = [None] * len(layers)
    offsets, i = [], 0
    for kind, cfg in layers:
        offsets.append(i)
        i += _n_arrays(kind, cfg)
    for li in range(len(layers) - 1, -1, -1):
        kind, cfg = layers[li]
        c = caches[li]
        if kind == "dense":
            W = w[offsets[li]]
            dz = act_bwd(cfg["act"], c["z"], c["a"], dh, cfg["alpha"])
            a1, a2 = _penalties(cfg, l1, l2)
            gW = c["x"].T @ dz + a1 * np.sign(W) + a2 * W
            value += a1 * np.abs(W).sum() + 0.5 * a2 * (W * W).sum()
            per_layer[li] = [gW] + ([dz.sum(axis=0)] if cfg["bias"] else [])
            dh = dz @ W.T
        elif kind == "act":
            dh = act_bwd(cfg["act"], c["x"], c["a"], dh, cfg["alpha"])
        elif kind == "bn":
            xhat, inv, g = c["xhat"], c["inv"], c["g"]
            dgamma, dbeta = (dh * xhat).sum(axis=0), dh.sum(axis=0)
            dxhat = dh * g
            m = len(dh)
            dh = inv / m * (m * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
            per_layer[li] = [dgamma, dbeta]
        elif kind == "std":
            per_layer[li] = []
    grads = [g for lst in per_layer if lst for g in lst]
    return value, grads


# ---------------------------------------------------------------- optimizers (torch.optim)

class RefOptimizer:
    """``step(params, grads)`` updates float64 arrays in place with torch.optim's formulas."""

    def __init__(self, name, **hp):
        self.name, self.hp, self.t, self.state = name, hp, 0, None

    def step(self, params, grads):
        hp, self.t = self.hp, self.t + 1
        if self.state is None:
            self.state = [dict() for _ in params]
        for p, g, s in zip(params, grads, self.state):
            g = g.copy()
            wd = hp.get("weight_decay", 0.0)
            if self.name == "sgd":
                if wd:
                    g += wd * p
                mom = hp.get("momentum", 0.0)
                if mom:
                    if "buf" not in s:
                        s["buf"] = g.copy()
                    else:
                        s["buf"] = mom * s["buf"] + (1 - hp.get("dampening", 0.0)) * g
                    g = g + mom * s["buf"] if hp.get("nesterov", False) else s["buf"]
                p -= hp["lr"] * g
            elif self.name == "rmsprop":
                if wd:
                    g += wd * p
                alpha, eps = hp.get("alpha", 0.99), hp.get("eps", 1e-8)
                s["sq"] = alpha * s.get("sq", 0.0) + (1 - alpha) * g * g
                avg = s["sq"]
                if hp.get("centered", False):
                    s["ga"] = alpha * s.get("ga", 0.0) + (1 - alpha) * g
                    avg = avg - s["ga"] ** 2
                denom = np.sqrt(avg) + eps
                mom = hp.get("momentum", 0.0)
                if mom:
                    s["buf"] = mom * s.get("buf", 0.0) + g / denom
                    p -= hp["lr"] * s["buf"]
                else:
                    p -= hp["lr"] * g / denom
            elif self.name in ("adam", "adamw"):
                b1, b2 = hp.get("betas", (0.9, 0.999))
                eps, lr = hp.get("eps", 1e-8), hp["lr"]
                if self.name == "adamw":
                    p *= 1 - lr * hp.get("weight_decay", 0.01)
                elif wd:
                    g += wd * p
                s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
                bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t
                v = s["v"]
                if hp.get("amsgrad", False):
                    s["vmax"] = np.maximum(s.get("vmax", 0.0), v)
                    v = s["vmax"]
                p -= lr / bc1 * s["m"] / (np.sqrt(v) / np.sqrt(bc2) + eps)
            else:
                raise ValueError(self.name)


# ---------------------------------------------------------------- the same network in torch

def torch_model(model):
    """A ``torch.nn.Sequential`` with ``model``'s layers and weights (Dropout/noise left out),
    in the model's dtype. Returns (module, trainable params in get_weights() order)."""
    import torch

    import fastmlp as fm

    # Tiny tensors: one thread is fastest and does not fight the machine's other work.
    torch.set_num_threads(1)
    tdtype = torch.float64 if model.dtype == "float64" else torch.float32
    weights = model.get_weights()
    mods, params, i = [], [], 0

    def act(name, alpha):
        return {"linear": torch.nn.Identity(), "sigmoid": torch.nn.Sigmoid(),
                "tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(),
                "leaky_relu": torch.nn.LeakyReLU(alpha), "softplus": torch.nn.Softplus(),
                "elu": torch.nn.ELU(alpha), "gelu": torch.nn.GELU(), "silu": torch.nn.SiLU(),
                "softmax": torch.nn.Softmax(dim=1)}[name]

    class _Std(torch.nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)

        def forward(self, x):
            return (x - self.mean) / self.std

    def t(a):
        return torch.tensor(np.asarray(a), dtype=tdtype)

    for layer in model.layers:
        if isinstance(layer, fm.Dense):
            lin = torch.nn.Linear(weights[i].shape[0], layer.units, bias=layer.use_bias,
                                  dtype=tdtype)
            with torch.no_grad():
                lin.weight.copy_(t(weights[i].T))
                params.append(lin.weight)
                if layer.use_bias:
                    lin.bias.copy_(t(weights[i + 1]))
                    params.append(lin.bias)
            i += 1 + int(layer.use_bias)
            mods += [lin, act(layer._act, layer._alpha)]
        elif isinstance(layer, fm.Activation):
            mods.append(act(layer._act, layer._alpha))
        elif isinstance(layer, fm.BatchNorm):
            bn = torch.nn.BatchNorm1d(len(weights[i]), eps=layer.eps, momentum=layer.momentum,
                                      dtype=tdtype)
            with torch.no_grad():
                bn.weight.copy_(t(weights[i]))
                bn.bias.copy_(t(weights[i + 1]))
                bn.running_mean.copy_(t(weights[i + 2]))
                bn.running_var.copy_(t(weights[i + 3]))
            params += [bn.weight, bn.bias]
            i += 4
            mods.append(bn)
        elif isinstance(layer, fm.Standardize):
            mods.append(_Std(t(weights[i]), t(weights[i + 1])))
            i += 2
    return torch.nn.Sequential(*mods), params


def torch_loss(out, y, loss, model, l1=0.0, l2=0.0):
    """The compiled loss with the penalty, in torch, on raw outputs ``out``."""
    import torch

    if loss == "cross_entropy":
        target = torch.as_tensor(np.asarray(y)) if np.asarray(y).ndim == 1 else \
            torch.as_tensor(np.asarray(y), dtype=out.dtype)
        value = torch.nn.functional.cross_entropy(out, target.long() if target.ndim == 1
                                                  else target)
    elif loss == "binary_cross_entropy":
        value = torch.nn.functional.binary_cross_entropy_with_logits(
            out, torch.as_tensor(np.asarray(y, dtype=np.float64).reshape(out.shape),
                                 dtype=out.dtype))
    else:
        value = torch.nn.functional.mse_loss(
            out, torch.as_tensor(np.asarray(y, dtype=np.float64).reshape(out.shape),
                                 dtype=out.dtype))
    return value


def torch_penalty(tmodel, model, l1=0.0, l2=0.0):
    import torch

    import fastmlp as fm

    dense = [layer for layer in model.layers if isinstance(layer, fm.Dense)]
    lins = [m for m in tmodel if isinstance(m, torch.nn.Linear)]
    pen = 0.0
    for layer, lin in zip(dense, lins):
        a1 = l1 if layer.l1 is None else layer.l1
        a2 = l2 if layer.l2 is None else layer.l2
        pen = pen + a1 * lin.weight.abs().sum() + 0.5 * a2 * (lin.weight ** 2).sum()
    return pen
