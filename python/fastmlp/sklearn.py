"""scikit-learn estimators: drop-in ``MLPClassifier`` and ``MLPRegressor`` on the fastmlp core.

Constructor parameters, defaults, fitted attributes and stopping rules are those of
``sklearn.neural_network``; training runs in fastmlp's C++ engine. What maps how:

* The objective is scikit-learn's: its data loss (log loss, or half the squared error summed
  over outputs) plus ``(alpha / 2) * sum(W**2) / n_batch``. fastmlp's losses are means over
  elements (``mse``, ``binary_cross_entropy``) or over samples (``cross_entropy``); with
  ``c`` the ratio fastmlp loss / scikit-learn loss (1, 1/k or 2/k for k outputs), the penalty
  becomes ``l2 = c * alpha`` (the engine divides it by each batch's rows, or weight sum),
  SGD's step ``lr / c`` and Adam's/RMSprop's ``eps * c``, so the updates are
  scikit-learn's. ``loss_curve_`` reports scikit-learn's scale.
* Weights start as scikit-learn's do (Glorot-uniform weights *and* biases, drawn from
  ``random_state``); shuffling uses fastmlp's counter-based generator, seeded from it.
* ``solver``: ``"adam"``, ``"sgd"`` (momentum, Nesterov, ``learning_rate`` constant /
  invscaling / adaptive as scikit-learn), ``"rmsprop"`` (fastmlp's extra: squared-gradient
  decay ``beta_2``, ``epsilon``, no momentum) and ``"lbfgs"``: scikit-learn's
  ``scipy.optimize.minimize(method="L-BFGS-B")`` on the flattened parameters (``max_iter``,
  ``max_fun``, ``tol`` as ``gtol``), each loss-and-gradient evaluation one engine call over
  the whole set (:func:`fastmlp.lbfgs.minimize_lbfgs`). For several regression outputs the
  objective minimized is the one whose gradient scikit-learn uses (half the squared error
  summed over outputs); ``loss_`` is reported on scikit-learn's scale.
* ``MLPRegressor(loss="poisson")``: exp output link and half the Poisson deviance, as
  scikit-learn (the engine trains PyTorch's Poisson NLL, which differs by a constant that
  ``loss_`` / ``loss_curve_`` add back).
* ``sample_weight``: scikit-learn's weighted objective (``sum(w * loss) / sum(w)``, the L2
  term divided by ``sum(w)`` too). Small integer weights (at most 4x as many rows in all) are
  trained as repeated rows, so they give exactly what repeating the samples gives (the
  equivalence scikit-learn's checks test); other weights go to the
  engine's weighted loss, which divides each batch's loss and L2 term by the batch's weight
  sum as scikit-learn does (``_core.Network.divide_by_weight_sum``): every batch's update is
  scikit-learn's.
* Extras: ``dropout`` (after each hidden activation), ``batch_norm`` (between each hidden
  Dense and its activation), ``n_threads`` (threads used by fit/predict; None: fastmlp's
  current setting), ``dtype_policy`` (None: the model's dtype follows X, as today;
  ``"mixed_bfloat16"``: float32 weights with every Dense GEMM on bf16 operands, see
  ``fastmlp.Sequential``).
* Sparse input (scipy.sparse CSR/CSC) is never densified whole: batches (and predict's and
  L-BFGS' row blocks) are gathered from CSR into dense blocks (``fastmlp.sparse_rows``).
* Divergence: with ``early_stopping=True`` a diverging run stops, records a NaN validation
  score and keeps the best weights (scikit-learn's behaviour); without, a ValueError.
"""
from __future__ import annotations

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError(
        "fastmlp.sklearn needs scikit-learn: pip install scikit-learn "
        "(or pip install 'fastmlp[sklearn]')"
    ) from exc
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

try:
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # scikit-learn < 1.6
    _sk_validate_data = None

import fastmlp as fm
from fastmlp.lbfgs import minimize_lbfgs
from fastmlp.sparse_rows import SparseBatches, as_csr, dense_rows, is_sparse, row_blocks

__all__ = ["MLPClassifier", "MLPRegressor"]

_HIDDEN_ACTIVATIONS = {
    # scikit-learn's names, then fastmlp's extra ones
    "identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
    "leaky_relu": "leaky_relu", "elu": "elu", "gelu": "gelu", "silu": "silu",
    "softplus": "softplus",
}
_SOLVERS = ("adam", "sgd", "rmsprop")


_NO_Y = "no_validation"


def _validate_data(est, X, y=_NO_Y, reset=True, **kw):
    """scikit-learn's validate_data (>= 1.6) or the estimator method it replaced."""
    if _sk_validate_data is not None:
        return _sk_validate_data(est, X, y, reset=reset, **kw)
    return est._validate_data(X, y, reset=reset, **kw)  # pragma: no cover


def _rows(X, dtype):
    """The model's dtype; CSR for sparse input (never densified whole), else C-contiguous
    (fastmlp never copies)."""
    if is_sparse(X):
        return as_csr(X, dtype)
    return np.ascontiguousarray(X, dtype=dtype)


def _check_weights(sw):
    """scikit-learn's rules on sample_weight; returns its sum."""
    if np.any(sw < 0):
        raise ValueError("sample_weight must be non-negative.")
    total = float(sw.sum())
    if not total > 0:
        raise ValueError("sample_weight sums to zero: there is nothing to fit.")
    return total


@contextlib.contextmanager
def _threads(n):
    if n is None:
        yield
        return
    before = fm.get_num_threads()
    fm.set_num_threads(int(n))
    try:
        yield
    finally:
        fm.set_num_threads(before)


def _all_ranks_labels(y, comm):
    """``y``, or with ``comm`` (distributed fit) every rank's distinct labels together, so
    that every rank learns the same classes (a multi-label indicator is the same anywhere)."""
    if comm is None or comm.size == 1 or y.ndim == 2:
        return y
    return np.concatenate(comm.comm.allgather(np.unique(y)))


class _Stopper(fm.Callback):
    """Runs scikit-learn's per-iteration bookkeeping from inside ``Sequential.fit``."""

    def __init__(self, est, n_train, X_val, y_val, sw_val):
        self.est, self.n_train = est, n_train
        self.X_val, self.y_val, self.sw_val = X_val, y_val, sw_val
        self.stopped = False

    def on_epoch_begin(self, epoch, logs=None):
        self.est._epoch_begins()

    def on_epoch_end(self, epoch, logs=None):
        est = self.est
        est.n_iter_ += 1
        est.loss_ = est._report_loss(float(logs["loss"]))
        est.t_ += self.n_train
        est.loss_curve_.append(est.loss_)
        if est.verbose and (est._comm is None or est._comm.rank == 0):
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        est._update_no_improvement_count(self.X_val, self.y_val, self.sw_val)
        est._iteration_ends()
        if est._no_improvement_count > est.n_iter_no_change:
            if est.early_stopping:
                msg = (f"Validation score did not improve more than tol={est.tol:f} for "
                       f"{est.n_iter_no_change} consecutive epochs.")
            else:
                msg = (f"Training loss did not improve more than tol={est.tol:f} for "
                       f"{est.n_iter_no_change} consecutive epochs.")
            if est._trigger_stopping(msg):
                self.stopped = True
                return True
            est._no_improvement_count = 0
        return False


class _BaseMLP(BaseEstimator):
    """Shared fitting machinery; use :class:`MLPClassifier` or :class:`MLPRegressor`."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", *_SOLVERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "n_threads": [None, Interval(Integral, 1, None, closed="left")],
        "dtype_policy": [None, StrOptions({"mixed_bfloat16"})],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, batch_norm=False, n_threads=None, dtype_policy=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.n_threads = n_threads
        self.dtype_policy = dtype_policy

    # -- subclass hooks -------------------------------------------------------------------

    def _validate_input(self, X, y, incremental, reset):  # pragma: no cover - abstract
        raise NotImplementedError

    def _targets(self, y):
        """(fastmlp loss, loss scale c = fastmlp loss / scikit-learn loss, out_activation_)."""
        raise NotImplementedError  # pragma: no cover

    def _score(self, X, y, sample_weight=None):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- fitting --------------------------------------------------------------------------

    def _check_solver(self):
        """Guards partial_fit (as scikit-learn's, an AttributeError hides the method)."""
        if self.solver not in _SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def fit(self, X, y, sample_weight=None, distributed=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; for the classifier class labels, or a 0/1 indicator matrix for
            multi-label classification.
        sample_weight : array-like of shape (n_samples,), default=None
            Integer (or uniform) sample weights.
        distributed : fm.distributed.init()'s communicator, optional
            Data-parallel training over MPI: every rank calls fit with its own rows;
            ``batch_size`` is per rank (``alpha`` is scaled to the global batch), the classes
            are the union of every rank's labels and the loss curve is global. Not with
            ``early_stopping=True`` (its validation score is not a sum over ranks).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         distributed=distributed)

    def _fit(self, X, y, sample_weight=None, incremental=False, distributed=None):
        self._comm = None if distributed is None else fm.distributed.as_communicator(distributed)
        try:
            return self._fit_checked(X, y, sample_weight, incremental)
        finally:
            self._comm = None

    def _fit_checked(self, X, y, sample_weight, incremental):
        self._validate_params()
        if self.solver == "lbfgs" and self.batch_norm:
            raise ValueError("batch_norm=True needs a stochastic solver ('adam', 'sgd', "
                             "'rmsprop'): L-BFGS would leave the running statistics that "
                             "predict uses untrained")
        hidden = self.hidden_layer_sizes
        if not hasattr(hidden, "__iter__"):
            hidden = [hidden]
        hidden = list(hidden)
        if any(isinstance(h, bool) or not isinstance(h, Integral) for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be integers, got {hidden}.")
        if np.any(np.array(hidden) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if self.solver == "lbfgs" and self._comm is not None:
            raise ValueError("fit(distributed=...) does not support solver='lbfgs': it trains "
                             "with mini-batch solvers ('adam', 'sgd', 'rmsprop')")
        if self.early_stopping and self._comm is not None:
            raise ValueError("fit(distributed=...) does not support early_stopping=True: its "
                             "validation score is computed on one rank's rows")

        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if first_pass and self.dtype_policy == "mixed_bfloat16":
            dtype = np.dtype(np.float32)  # bf16 GEMMs, float32 weights
        elif first_pass:
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        else:
            dtype = self._dtype
        X = _rows(X, dtype)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if not first_pass and [c.shape[1] for c in self.coefs_[:-1]] != hidden:
            raise ValueError(
                f"hidden_layer_sizes={hidden} differs from the fitted network's "
                f"{[c.shape[1] for c in self.coefs_[:-1]]}; refit without warm_start")
        if not first_pass and y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} outputs but the model was fit with {self.n_outputs_}")
        self.n_outputs_ = y.shape[1]
        self._random_state = check_random_state(self.random_state)

        if first_pass:
            self._dtype = np.dtype(dtype)
            self._initialize(y, [X.shape[1]] + hidden + [self.n_outputs_])
        elif not incremental:
            self._lr = float(self.learning_rate_init)  # a new fit starts a new schedule
        if not first_pass and self._dtype == np.float32:  # warm start may switch the policy
            self._model.dtype_policy = self.dtype_policy or "float32"

        self._offset = self._loss_offset(y, sample_weight)
        with _threads(self.n_threads):
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, y, sample_weight)
            else:
                self._fit_stochastic(X, y, sample_weight, incremental)
        return self

    def _initialize(self, y, layer_units):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self._loss_name, self._loss_scale, self.out_activation_ = self._targets(y)
        act = _HIDDEN_ACTIVATIONS[self.activation]
        layers = []
        for units in layer_units[1:-1]:
            layers.append(fm.Dense(units))
            if self.batch_norm:
                layers.append(fm.BatchNorm())
            layers.append(fm.Activation(act))
            if self.dropout > 0:
                layers.append(fm.Dropout(float(self.dropout)))
        layers.append(fm.Dense(layer_units[-1]))

        # scikit-learn's initialization (uniform weights and biases, bound from fan-in/out),
        # drawn first from random_state as scikit-learn does; then the engine's seed.
        factor = 2.0 if self.activation == "logistic" else 6.0
        inits = []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            W = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            b = self._random_state.uniform(-bound, bound, fan_out)
            inits.append((W, b))
        seed = int(self._random_state.randint(0, np.iinfo(np.int32).max))
        model = fm.Sequential(layers, input_dim=layer_units[0],
                              dtype=self.dtype_policy or self._dtype.name, seed=seed)
        weights = model.get_weights()
        for k, (W, b) in zip(self._dense_indices(), inits):
            weights[k], weights[k + 1] = W.astype(self._dtype), b.astype(self._dtype)
        model.set_weights(weights)
        self._model = model
        self._compiled_as = None
        self._best_weights = None
        self._lr = float(self.learning_rate_init)
        if self.solver in _SOLVERS:
            self._init_stochastic_state()
        self._sync_attributes()

    def _init_stochastic_state(self):
        """What the stochastic solvers keep (scikit-learn's lbfgs has none of it)."""
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _compile(self, ranks=1):
        """(Re)compile when a setting changed, keeping the optimizer's state (warm starts).

        The engine divides each batch's loss and penalty by the batch's weight sum (its rows
        when unweighted: ``divide_by_weight_sum``), so ``l2`` is ``c * alpha`` (times
        ``_alpha_scale`` when uniform weights are left out), over ``ranks`` when the ranks'
        gradients are averaged (distributed)."""
        c = self._loss_scale
        l2 = c * float(self.alpha) * self._alpha_scale / ranks
        if self.solver == "adam":
            opt = ("Adam", dict(lr=float(self.learning_rate_init),
                                betas=(float(self.beta_1), float(self.beta_2)),
                                eps=float(self.epsilon) * c))
        elif self.solver == "rmsprop":
            opt = ("RMSprop", dict(lr=float(self.learning_rate_init), alpha=float(self.beta_2),
                                   eps=float(self.epsilon) * c))
        else:
            opt = ("SGD", dict(lr=self._lr / c, momentum=float(self.momentum),
                               nesterov=bool(self.nesterovs_momentum and self.momentum > 0)))
        # Not kept in the model's file: set again after unpickling (the key survives it).
        self._model._net.divide_by_weight_sum = True
        key = (self._loss_name, opt[0], tuple(sorted(opt[1].items())), l2)
        if key == self._compiled_as:
            return
        state = None
        if self._compiled_as is not None and self._compiled_as[1] == opt[0]:
            state = self._model.get_optimizer_state()
        self._model.compile(loss=self._loss_name, optimizer=getattr(fm, opt[0])(**opt[1]),
                            l1=0.0, l2=l2)
        if state is not None:
            self._model.set_optimizer_state(state)
        self._compiled_as = key

    def _fit_lbfgs(self, X, y, sample_weight):
        """scikit-learn's lbfgs: L-BFGS-B on the full-batch objective (data loss + L2 term,
        both divided by the weight sum), one engine call per evaluation for dense X."""
        n_samples = X.shape[0]
        self._alpha_scale, sw = 1.0, None
        if sample_weight is not None:
            _check_weights(sample_weight)
            if np.all(sample_weight == sample_weight[0]):
                self._alpha_scale = 1.0 / float(sample_weight[0])
            else:
                sw = np.ascontiguousarray(sample_weight, dtype=self._dtype)
        self._compile()
        self._batch_size = n_samples
        self._batch_weight = n_samples if sw is None else float(sw.sum())
        y_fit = self._engine_targets(y)
        if is_sparse(X):
            blocks = row_blocks(n_samples, X.shape[1])

            def chunks():
                for rows in blocks:
                    yield dense_rows(X, rows), y_fit[rows], None if sw is None else sw[rows]
        else:
            def chunks():
                return [(X, y_fit, sw)]
        result = minimize_lbfgs(self._model._net, chunks, max_iter=self.max_iter,
                                max_fun=self.max_fun, tol=self.tol, scale=1.0 / self._loss_scale)
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self._sync_attributes()
        self.loss_ = self._lbfgs_loss(float(result.fun), y, sample_weight)
        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed.")

    def _lbfgs_loss(self, objective, y, sample_weight):
        """``loss_`` on scikit-learn's scale from the minimized objective."""
        return objective

    def _loss_offset(self, y, sample_weight):
        """What scikit-learn's loss adds to the engine's that depends on y only."""
        return 0.0

    def _fit_stochastic(self, X, y, sample_weight, incremental):
        if not hasattr(self, "loss_curve_"):  # warm start after lbfgs
            self._init_stochastic_state()
        sw_val = None
        if self.early_stopping:
            arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
            split = train_test_split(*arrays, random_state=self._random_state,
                                     test_size=self.validation_fraction,
                                     stratify=self._stratify_labels(y))
            X_train, X_val, y_train, y_val = split[:4]
            sw_train, sw_val = (split[4], split[5]) if sample_weight is not None else (None, None)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            y_val = self._decode_targets(y_val)
        else:
            X_train, y_train, sw_train, X_val, y_val = X, y, sample_weight, None, None
        self._alpha_scale = 1.0
        X_train, y_train, sw_fit = self._apply_sample_weight(X_train, y_train, sw_train)

        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                              "It is going to be clipped", stacklevel=3)
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        # alpha's penalty is per global batch: every rank's rows together (the engine divides
        # each rank's by its own batch, and the ranks' gradients are averaged).
        self._compile(self._comm.size if self._comm is not None else 1)
        self._batch_size = batch_size
        # a typical batch's weight sum in the engine (what it divides the penalty by)
        self._batch_weight = batch_size * (1.0 if sw_fit is None else float(sw_fit.mean()))
        y_fit = self._engine_targets(y_train)

        epochs = 1 if incremental else int(self.max_iter)
        stopper = _Stopper(self, n_samples, X_val, y_val, sw_val)
        self.n_iter_ = 0  # as scikit-learn: counts this call's epochs (1 for partial_fit)
        try:
            self._run_epochs(X_train, y_fit, sw_fit, epochs, batch_size, stopper)
        except FloatingPointError as exc:  # fm.DivergenceError
            if not self.early_stopping:
                raise ValueError(
                    "Solver produced non-finite parameter weights. The input data may contain "
                    f"large values and need to be preprocessed. ({exc})") from exc
            # scikit-learn (its issue #29504): the diverged epoch scores NaN, the best
            # weights are kept.
            self.n_iter_ += 1
            self.loss_ = np.nan
            self.loss_curve_.append(np.nan)
            self.validation_scores_.append(np.nan)
            stopper.stopped = True
            warnings.warn(f"The optimization diverged at iteration {self.n_iter_}; the best "
                          "weights found by early stopping are kept.", ConvergenceWarning,
                          stacklevel=3)
        finally:
            if self.early_stopping and getattr(self, "_best_weights", None) is not None:
                self._model.set_weights(self._best_weights)
            self._sync_attributes()
        if not incremental and not stopper.stopped and self.n_iter_ == int(self.max_iter):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)

    def _run_epochs(self, X, y, sample_weight, epochs, batch_size, stopper):
        """Train up to ``epochs`` epochs; the callback applies scikit-learn's stopping rules.

        The learning rate of each epoch is read from ``self._lr`` (SGD's invscaling and
        adaptive schedules change it between epochs). Sparse X trains on batches gathered
        from CSR."""
        callbacks = [stopper]
        if self.solver == "sgd":
            callbacks.insert(0, fm.LearningRateScheduler(lambda epoch: self._lr / self._loss_scale))
        if is_sparse(X):
            seed = int(self._random_state.randint(0, np.iinfo(np.int32).max))
            batches = SparseBatches(X, y, sample_weight, batch_size, self.shuffle, seed)
            self._model.fit(x=batches, epochs=epochs, callbacks=callbacks, verbose=0)
            return
        self._model.fit(X, y, epochs=epochs, batch_size=batch_size, shuffle=bool(self.shuffle),
                        callbacks=callbacks, verbose=0, sample_weight=sample_weight,
                        distributed=self._comm)

    #: integer weights are trained as repeated rows up to this many rows per sample on average
    _MAX_REPEAT = 4

    def _apply_sample_weight(self, X, y, sw):
        """-> (X, y, engine weights or None), with ``self._alpha_scale`` set so the L2 term is
        scikit-learn's ``alpha / 2 * sum(W**2) / sum(w)`` for each batch.

        Uniform weights only rescale the L2 term; small integer weights become repeated rows
        (exactly "a sample counted w times"); anything else goes to the engine, which divides
        each batch by its weight sum as scikit-learn does."""
        if sw is None:
            return X, y, None
        total = _check_weights(sw)
        if np.all(sw == sw[0]):
            self._alpha_scale = 1.0 / float(sw[0])
            return X, y, None
        if np.all(sw == np.round(sw)) and total <= self._MAX_REPEAT * len(sw) \
                and not is_sparse(X):
            reps = sw.astype(np.int64)
            return (np.ascontiguousarray(np.repeat(X, reps, axis=0)),
                    np.repeat(y, reps, axis=0), None)
        return X, y, np.ascontiguousarray(sw, dtype=self._dtype)

    # -- scikit-learn's no-improvement and learning-rate bookkeeping ----------------------

    def _update_no_improvement_count(self, X_val, y_val, sw_val):
        if self.early_stopping:
            score = self._score(X_val, y_val, sample_weight=sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {self.validation_scores_[-1]:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_weights = [w.copy() for w in self._model.get_weights()]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _report_loss(self, fm_loss):
        return fm_loss / self._loss_scale

    def _epoch_begins(self):
        pass

    def _iteration_ends(self):
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._lr = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t

    def _trigger_stopping(self, msg):
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if self._lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._lr /= 5.0
        if self.verbose:
            print(f"{msg} Setting learning rate to {self._lr:f}")
        return False

    # -- results --------------------------------------------------------------------------

    def _sync_attributes(self):
        """coefs_/intercepts_: copies of the Dense weights (the model keeps the originals)."""
        weights = self._model.get_weights()
        idx = self._dense_indices()
        self.coefs_ = [weights[i] for i in idx]
        self.intercepts_ = [weights[i + 1] for i in idx]

    def quantize(self, mode):
        """Quantize the fitted network in place (:meth:`fastmlp.Sequential.quantize`):
        ``predict``, ``predict_proba`` and ``score`` then run on int8 weights with activations
        quantized per row. A later ``fit`` trains a new float network; ``partial_fit`` (and a
        ``warm_start`` fit) raise, as training a quantized model does. Returns self."""
        check_is_fitted(self)
        self._model.quantize(mode)
        return self

    def _dense_indices(self):
        """Positions of each Dense layer's W in ``get_weights()`` (b follows it)."""
        per_hidden = 2 + (4 if self.batch_norm else 0)
        return [per_hidden * i for i in range(self.n_layers_ - 1)]

    def _forward(self, X):
        check_is_fitted(self)
        X = _validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                           dtype=(np.float64, np.float32))
        X = _rows(X, self._dtype)
        with _threads(self.n_threads):
            return self._predict_rows(X)

    def _predict_rows(self, X):
        """The model's predictions; sparse X a dense block of rows at a time."""
        if not is_sparse(X):
            return self._model.predict(X)
        return np.concatenate([self._model.predict(dense_rows(X, rows))
                               for rows in row_blocks(X.shape[0], X.shape[1])])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    _old_tags = {"multioutput": True}   # what scikit-learn < 1.6 reads from _more_tags

    def _more_tags(self):
        return self._old_tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: ``sklearn.neural_network.MLPClassifier`` on fastmlp.

    Parameters are scikit-learn's (see the module docstring for how they map), plus
    ``dropout``, ``batch_norm``, ``n_threads`` and ``dtype_policy``. Multiclass targets train a
    softmax with cross entropy; binary and multi-label (2-D 0/1) targets train sigmoids with
    binary cross entropy.
    """

    def _validate_input(self, X, y, incremental, reset):
        X, y = _validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                              dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # Same class bookkeeping as scikit-learn (see its _validate_input).
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(_all_ranks_labels(y, self._comm))
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError("`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _stratify_labels(self, y):
        # scikit-learn's rule: the binarized targets, only with one output (binary)
        return y if self.n_outputs_ == 1 else None

    def _decode_targets(self, y):
        return self._label_binarizer.inverse_transform(y)

    def _targets(self, y):
        if self._label_binarizer.y_type_ == "multiclass":
            return "cross_entropy", 1.0, "softmax"
        # binary (one sigmoid) or multi-label: fastmlp's BCE is a mean over the k outputs,
        # scikit-learn's a sum.
        return "binary_cross_entropy", 1.0 / y.shape[1], "logistic"

    def _engine_targets(self, y):
        if self._loss_name == "cross_entropy":
            return np.ascontiguousarray(np.argmax(y, axis=1), dtype=np.int32)
        return np.ascontiguousarray(y, dtype=self._dtype)

    def _score(self, X, y, sample_weight=None):
        y_pred = self._predict_labels(self._predict_rows(X))
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None, distributed=None):
        """Update the model with a single epoch over the given data.

        ``classes`` (all classes across calls) is required on the first call;
        ``distributed`` as in :meth:`fit`.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                         distributed=distributed)

    def _predict_labels(self, proba):
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def predict(self, X):
        """Predict class labels (or a label indicator matrix for multi-label)."""
        return self._predict_labels(self._forward(X))

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``."""
        proba = self._forward(X)
        if self.n_outputs_ == 1:
            p = proba.ravel()
            return np.vstack([1 - p, p]).T
        return proba

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    _old_tags = {"multilabel": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: ``sklearn.neural_network.MLPRegressor`` on fastmlp.

    Trains half the squared error (``loss="squared_error"``) or, with an exp output link,
    half the Poisson deviance (``loss="poisson"``), as scikit-learn.
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, batch_norm=False, n_threads=None, dtype_policy=None):
        self.loss = loss
        # The other parameters are _BaseMLP's: every one of them, by name.
        params = {k: v for k, v in locals().items() if k not in ("self", "loss", "__class__")}
        super().__init__(**params)

    def _validate_input(self, X, y, incremental, reset):
        X, y = _validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                              y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' needs targets y >= 0 (counts or rates).")
        return X, y

    def _stratify_labels(self, y):
        return None

    def _loss_offset(self, y, sample_weight):
        """Half the Poisson deviance minus the engine's Poisson NLL: the y-only terms
        ``xlogy(y, y) - y`` (summed over outputs, weighted mean over samples)."""
        if self.loss != "poisson":
            return 0.0
        from scipy.special import xlogy
        return float(np.average(xlogy(y, y) - y, weights=sample_weight, axis=0).sum())

    def _decode_targets(self, y):
        return y.ravel() if y.shape[1] == 1 else y

    def _targets(self, y):
        if self.loss == "poisson":
            # fastmlp's Poisson NLL is the mean over all n*k elements, scikit-learn's deviance
            # a sum over outputs: ratio 1/k (and the constant _loss_offset).
            return "poisson", 1.0 / y.shape[1], "exp"
        # scikit-learn's gradient is that of 0.5 * sum over outputs, mean over samples;
        # fastmlp's mse is the mean over all n*k elements: ratio 2/k.
        return "mse", 2.0 / y.shape[1], "identity"

    def _engine_targets(self, y):
        return np.ascontiguousarray(y, dtype=self._dtype)

    def _epoch_begins(self):
        # scikit-learn reports 0.5 * mean over outputs (its gradient is of the sum): with k > 1
        # outputs that is fastmlp's loss / 2 plus the part of the L2 term the halving removed,
        # taken at the epoch's starting weights (exact for one full batch).
        self._sq_weights = 0.0
        if self.n_outputs_ > 1 and self.alpha > 0 and self.loss == "squared_error":
            weights = self._model.get_weights()
            self._sq_weights = sum(float(np.dot(weights[i].ravel(), weights[i].ravel()))
                                   for i in self._dense_indices())

    def _report_loss(self, fm_loss):
        if self.loss == "poisson":
            return fm_loss / self._loss_scale + self._offset
        k = self.n_outputs_
        scale = self.alpha * self._alpha_scale * (1 - 1 / k) / (2 * self._batch_weight)
        return fm_loss / 2.0 + scale * self._sq_weights

    def _lbfgs_loss(self, objective, y, sample_weight):
        # scikit-learn's squared loss is a mean over outputs (its gradient that of the sum)
        k = self.n_outputs_
        if self.loss == "poisson" or k == 1:
            return objective + self._offset
        sw_sum = y.shape[0] if sample_weight is None else float(sample_weight.sum())
        penalty = 0.5 * self.alpha * sum(float(np.dot(c.ravel(), c.ravel()))
                                         for c in self.coefs_) / sw_sum
        return (objective - penalty) / k + penalty

    def _score(self, X, y, sample_weight=None):
        y_pred = self._predict_rows(X)
        if y_pred.shape[1] == 1:
            y_pred = y_pred.ravel()
        if not np.isfinite(y_pred).all():
            return np.nan
        return r2_score(y, y_pred, sample_weight=sample_weight)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, distributed=None):
        """Update the model with a single epoch over the given data (``distributed`` as in
        :meth:`fit`)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                         distributed=distributed)

    def predict(self, X):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        y = self._forward(X)
        return y.ravel() if y.shape[1] == 1 else y
