"""Full-batch L-BFGS on a compiled model: ``scipy.optimize.minimize(method="L-BFGS-B")`` over
the flattened trainable parameters, each loss-and-gradient evaluation one engine call
(``_core.Network.loss_and_gradient``: forward, loss, backward and penalty over all rows in
C++ with the GIL released). scikit-learn's MLPs train their ``solver="lbfgs"`` this way.

Data that does not fit one dense block (a sparse matrix) is evaluated in row chunks, each
densified on its own: the mean loss is then the row-weighted mean of the chunks' means.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fit_lbfgs", "minimize_lbfgs"]


def minimize_lbfgs(net, chunks, *, max_iter, max_fun, tol, scale=1.0):
    """Minimize ``scale * (mean loss + penalty)`` of the engine network ``net`` with L-BFGS-B.

    ``chunks()`` yields ``(X, y, sample_weight or None)`` blocks covering the data once per
    evaluation (dense data: one block, so one engine call). ``max_iter``, ``max_fun`` and
    ``tol`` are scipy's ``maxiter``, ``maxfun`` and ``gtol``. The network ends holding the
    result's parameters. Returns scipy's ``OptimizeResult``.
    """
    from scipy.optimize import minimize  # scipy: only when L-BFGS is asked for

    start = net.flat_params()
    dtype, x0 = start.dtype, start.astype(np.float64)

    def objective(x):
        params = np.ascontiguousarray(x, dtype=dtype)  # no copy for float64 networks
        loss, grad, rows = 0.0, None, 0
        for X, y, sw in chunks():
            part, g = net.loss_and_gradient(params, X, y, sw)
            n = X.shape[0]
            loss += n * part
            grad = g * float(n) if grad is None else grad + g * float(n)
            rows += n
        return scale * loss / rows, np.asarray(grad, dtype=np.float64) * (scale / rows)

    options = {"maxfun": int(max_fun), "maxiter": int(max_iter), "gtol": float(tol)}
    with _one_blas_thread():
        result = minimize(objective, x0, method="L-BFGS-B", jac=True, options=options)
    # The last evaluation need not be the result's point: set the result's parameters.
    net.loss_and_gradient(np.ascontiguousarray(result.x, dtype=dtype), *next(iter(chunks())))
    return result


def _one_blas_thread():
    """One BLAS thread while L-BFGS-B runs, the caller's setting restored after. scipy's step
    calls BLAS on vectors of the parameter count: OpenBLAS wakes its threads for them, and
    they spin afterwards on the cores the engine's pool computes on (digits, 2 cores: 28 ms
    a fit against 19 ms with one BLAS thread)."""
    try:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fit_lbfgs(model, X, y, sample_weight=None, *, max_iter=200, max_fun=15000, tol=1e-5):
    """Train a compiled :class:`fastmlp.Sequential` on ``(X, y)`` by full-batch L-BFGS.

    The objective is the compiled loss (the mean over all rows, ``sample_weight`` as in
    ``fit``) plus the L2 penalty; the optimizer given to ``compile`` is not used. Dropout
    and noise are off (the objective must be deterministic). A model with BatchNorm is a
    ValueError (L-BFGS would leave its running statistics, which predict uses, untrained).
    ``max_iter``: L-BFGS iterations, ``max_fun``: loss evaluations, ``tol``: stop when the
    largest gradient component falls below it. Returns scipy's
    ``OptimizeResult`` (``nit``, ``nfev``, ``fun``, ``success``, ``message``).
    """
    model._require_compiled("fit_lbfgs")
    if any(type(layer).__name__ == "BatchNorm" for layer in model.layers):
        raise ValueError("fit_lbfgs cannot train BatchNorm: its running statistics (what "
                         "predict uses) are learnt by fit's mini-batches; use fit")
    X, y = model._check_xy(X, y)
    sw = model._sample_weight(sample_weight, None, y)
    model._fit_standardize(X)
    if model._compile_config.l1 > 0 or any(getattr(layer, "l1", None) for layer in model.layers):
        raise ValueError("fit_lbfgs needs a smooth objective: compile with l1=0 (the L1 "
                         "penalty has no gradient at 0)")
    return minimize_lbfgs(model._net, lambda: [(X, y, sw)], max_iter=max_iter,
                          max_fun=max_fun, tol=tol)
