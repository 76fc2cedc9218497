"""Type stubs for the C++ extension (generated with pybind11-stubgen, kernels folded in).

fastmlp compute core (C++): GEMM, kernels, network and training engine
"""
from __future__ import annotations
import numpy
import typing
__all__: list[str] = ['EpochResult', 'Network', 'PackedS8', 'QuantizedNetwork', 'Totals', 'bf16_peak_gflops', 'build_info', 'gemm', 'gemm_info', 'gemm_ref', 'gemm_threads_for', 'gemm_u8s8', 'get_num_threads', 'kernels', 'quantize_rows_u8', 'set_num_threads', 'vnni_peak_gops']
class EpochResult:
    """
    fit_epoch's result: the epoch's Totals and how it ended.
    """
    @property
    def totals(self) -> Totals:
        ...
    @property
    def interrupted(self) -> bool:
        """
        Ctrl-C or a progress error: stopped early
        """
    @property
    def nonfinite(self) -> bool:
        """
        diverged: the network was rolled back to the start of the epoch
        """
class Totals:
    """
    Running totals of a loss pass: a training step, an epoch, an evaluation, fit_epoch's progress (docs/core_network.md).
    """
    def __init__(self) -> None:
        ...
    def add(self, other: Totals) -> None:
        """
        Adds another part (a batch to an epoch).
        """
    def as_dict(self) -> dict:
        ...
    @property
    def count(self) -> int:
        ...
    @property
    def loss(self) -> float:
        ...
    @property
    def loss_sum(self) -> float:
        ...
    @property
    def data_sum(self) -> float:
        ...
    @property
    def correct(self) -> float:
        ...
    @property
    def weight(self) -> float:
        ...
    @property
    def abs_sum(self) -> float:
        ...
class Network:
    """
    The C++ network engine (docs/core_network.md).
    """
    def __init__(self, layers: list, input_dim: typing.SupportsInt | typing.SupportsIndex, dtype: str = 'float32', seed: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def checkpoint(self) -> None:
        """
        Copies parameters, running statistics, optimizer state and step (an epoch run batch by batch starts here; fit_epoch does this itself).
        """
    def compile(self, loss: str, optimizer: dict, l1: typing.SupportsFloat | typing.SupportsIndex = 0.0, l2: typing.SupportsFloat | typing.SupportsIndex = 0.0, huber_delta: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> None:
        ...
    def evaluate(self, X: typing.Any, y: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex = 256, sample_weight: typing.Any = None) -> Totals:
        """
        Totals of the set in inference mode (loss: the mean incl. penalty).
        """
    def evaluate_outputs(self, Z: typing.Any, y: typing.Any, sample_weight: typing.Any = None) -> Totals:
        """
        evaluate's Totals from outputs Z computed elsewhere (before the link).
        """
    def fit_epoch(self, X: typing.Any, y: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, shuffle: bool = True, epoch: typing.SupportsInt | typing.SupportsIndex = 0, progress: typing.Any = None, sample_weight: typing.Any = None, sync: typing.Any = None, steps: typing.SupportsInt | typing.SupportsIndex = 0, across: typing.Any = None) -> EpochResult:
        """
        sync(grads, flags): data-parallel training (fastmlp.distributed), called every step to allreduce the gradient arena; steps: the epoch's step count on every rank; across(values, flags): sums float64 values over the ranks (synchronized BatchNorm).
        """
    def flat_params(self) -> numpy.ndarray:
        """
        A copy of the trainable arrays (params() order, the padding between them left out) in one flat array: what loss_and_gradient takes.
        """
    def gradients(self, X: typing.Any, y: typing.Any, dropout: bool = True, sample_weight: typing.Any = None) -> list:
        ...
    def loss_and_gradient(self, params: typing.Any, X: typing.Any, y: typing.Any, sample_weight: typing.Any = None) -> tuple:
        """
        Sets the trainable parameters from one flat array (flat_params' layout), then returns (mean loss incl. penalty, its gradient as one flat array) over all rows of X as one batch, in training mode without dropout/noise and changing no other state: the objective full-batch optimizers (L-BFGS) minimize.
        """
    def optimizer_state(self) -> list:
        """
        Optimizer state: for each trainable array (params() order), its state_slots arrays.
        """
    def params(self) -> list:
        """
        Writable views of the parameters, in get_weights() order.
        """
    def predict(self, X: typing.Any, training: bool = False, link: bool = True, check_finite: bool = False) -> numpy.ndarray:
        ...
    def rollback(self) -> None:
        """
        Restores the state checkpoint() copied (a diverged epoch), as fit_epoch does on divergence.
        """
    def set_lr(self, lr: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_optimizer_state(self, state: list, step: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def train_batch(self, X: typing.Any, y: typing.Any, sample_weight: typing.Any = None, details: bool = False) -> typing.Any:
        """
        The batch loss (incl. penalty; NaN: not finite, nothing changed); details=True: the batch's Totals.
        """
    def trainable(self) -> list:
        ...
    @property
    def dtype(self) -> str:
        ...
    @property
    def input_dim(self) -> int:
        ...
    @property
    def loss(self) -> str:
        ...
    @property
    def lr(self) -> float:
        ...
    @property
    def output_dim(self) -> int:
        ...
    @property
    def rank(self) -> int:
        """
        Data-parallel rank, mixed into the dropout/noise streams (0: a single process's).
        """
    @rank.setter
    def rank(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def step(self) -> int:
        ...
    @step.setter
    def step(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def track_abs_error(self) -> bool:
        """
        mse: the losses also sum |error| (train_batch/fit_epoch/evaluate 'abs_sum', the mae metric).
        """
    @track_abs_error.setter
    def track_abs_error(self, arg1: bool) -> None:
        ...
    @property
    def weighted_metrics(self) -> bool:
        """
        With sample weights: accuracy and |error| weighted like the loss (True), or every row counted once (False, Keras' metrics).
        """
    @weighted_metrics.setter
    def weighted_metrics(self, arg1: bool) -> None:
        ...
    @property
    def divide_by_weight_sum(self) -> bool:
        """
        scikit-learn's weighting: each batch's loss is sum(w * loss) / sum(w) and its L1/L2 penalty is divided by sum(w) too (the row count when unweighted).
        """
    @divide_by_weight_sum.setter
    def divide_by_weight_sum(self, arg1: bool) -> None:
        ...
    @property
    def bf16(self) -> bool:
        """
        mixed_bfloat16: every Dense GEMM (forward, both backward GEMMs, inference) on bf16 operands with float32 accumulation.
        """
    @bf16.setter
    def bf16(self, arg1: bool) -> None:
        ...
    @property
    def bf16_prepack(self) -> bool:
        """
        mixed_bfloat16: keep bf16 copies of the Dense weights packed between calls (default True; False packs them in every GEMM, the same numbers bit for bit).
        """
    @bf16_prepack.setter
    def bf16_prepack(self, arg1: bool) -> None:
        ...
class PackedS8:
    """
    int8 weights (K, N) packed once for the int8 GEMM's kernels.
    """
    def __init__(self, W: numpy.ndarray) -> None:
        ...
    @property
    def K(self) -> int:
        ...
    @property
    def N(self) -> int:
        ...
class QuantizedNetwork:
    """
    An int8 inference network (see model.quantize): Dense layers with int8 weights, activations quantized per row at predict time.
    """
    def __init__(self, input_dim: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def add_dense(self, W: numpy.ndarray, w_scale: numpy.ndarray, bias: typing.Any = None, activation: str = 'linear', alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, in_scale: typing.Any = None, in_shift: typing.Any = None) -> None:
        """
        Appends a Dense layer: W (K, N) int8, w_scale (N,) float32, bias (N,) float32; in_scale / in_shift (K,) float32: x * in_scale + in_shift is what gets quantized.
        """
    def predict(self, X: typing.Any, threads: typing.SupportsInt | typing.SupportsIndex = 0, link: str = 'none') -> numpy.ndarray:
        """
        (n, output_dim) float32 outputs, then the link ('none', 'softmax' or 'sigmoid') on each row; the GIL is released.
        """
    @property
    def input_dim(self) -> int:
        ...
    @property
    def layers(self) -> int:
        ...
    @property
    def output_dim(self) -> int:
        ...
def bf16_peak_gflops(threads: typing.SupportsInt | typing.SupportsIndex, seconds: typing.SupportsFloat | typing.SupportsIndex = 0.5) -> float:
    """
    GFLOP/s of a vdpbf16ps loop on `threads` threads (0.0 without AVX512_BF16).
    """
def build_info() -> dict:
    ...
def gemm(a: numpy.ndarray, b: numpy.ndarray, trans_a: bool = False, trans_b: bool = False, bias: typing.Any = None, activation: typing.SupportsInt | typing.SupportsIndex = 0, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, out: typing.Any = None, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, z_out: typing.Any = None, threads: typing.SupportsInt | typing.SupportsIndex = 0, precision: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.ndarray:
    """
    out = act(beta*out + op(a) @ op(b) + bias) with the core's GEMM (activation is an Act code; threads=0 uses get_num_threads()). z_out receives the pre-activation. precision: 0 float32/float64, 1 bf16 operands (float32 only), 2 bf16 through the emulated path.
    """
def gemm_info(dtype: str = 'float32') -> dict:
    """
    The active GEMM table: ISA, micro-kernel, MR/NR/MC/KC/NC.
    """
def gemm_ref(a: numpy.ndarray, b: numpy.ndarray, trans_a: bool = False, trans_b: bool = False, bias: typing.Any = None, activation: typing.SupportsInt | typing.SupportsIndex = 0, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, out: typing.Any = None, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, z_out: typing.Any = None) -> numpy.ndarray:
    """
    Scalar reference GEMM (same contract as gemm), for tests.
    """
def gemm_threads_for(M: typing.SupportsInt | typing.SupportsIndex, N: typing.SupportsInt | typing.SupportsIndex, K: typing.SupportsInt | typing.SupportsIndex, cap: typing.SupportsInt | typing.SupportsIndex, dtype: str = 'float32') -> int:
    """
    Threads the GEMM uses for an (M, N, K) problem under a thread cap.
    """
def gemm_u8s8(a: numpy.ndarray, b: PackedS8, a_scale: typing.Any = None, a_zero: typing.Any = None, w_scale: typing.Any = None, bias: typing.Any = None, activation: str = 'linear', alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, threads: typing.SupportsInt | typing.SupportsIndex = 0, portable: bool = False) -> numpy.ndarray:
    """
    a (M, K) uint8 x b (PackedS8) -> int32 accumulators; with a_scale, a_zero, w_scale (and bias, activation): the dequantized float32 output. portable=True forces the portable kernel.
    """
def get_num_threads() -> int:
    """
    Threads fastmlp's kernels use.
    """
def quantize_rows_u8(X: numpy.ndarray) -> tuple:
    """
    Dynamic per-row u8 quantization: (q (M, K) uint8, scale (M,), zero (M,)).
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Set the number of threads fastmlp's kernels use (n >= 1).
    """

def vnni_peak_gops(threads: typing.SupportsInt | typing.SupportsIndex, seconds: typing.SupportsFloat | typing.SupportsIndex = 0.5) -> float:
    """
    GOP/s of a vpdpbusd loop on `threads` threads (0.0 without AVX512_VNNI).
    """
class kernels:
    """Element-wise and row-wise kernels on NumPy arrays (the `_core.kernels` submodule)."""
    @staticmethod
    def act_bwd(act: str, dy: numpy.ndarray, z: typing.Any = None, y: typing.Any = None, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> numpy.ndarray:
        """
        dz = dy * act'(z), from z (gelu, silu, softplus) or y = act(z) (the others).
        """
    @staticmethod
    def act_bwd_needs_z(act: str) -> bool:
        """
        True when act_bwd needs the pre-activation z.
        """
    @staticmethod
    def act_fwd(act: str, x: numpy.ndarray, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, out: typing.Any = None) -> numpy.ndarray:
        """
        y = act(x), element-wise (not softmax); out may be x (in place).
        """
    @staticmethod
    def adam_update(p: numpy.ndarray, g: numpy.ndarray, exp_avg: numpy.ndarray, exp_avg_sq: numpy.ndarray, max_exp_avg_sq: typing.Any = None, step: typing.SupportsInt | typing.SupportsIndex = 1, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, beta1: typing.SupportsFloat | typing.SupportsIndex = 0.9, beta2: typing.SupportsFloat | typing.SupportsIndex = 0.999, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, amsgrad: bool = False, decoupled: bool = False, rule: str = 'torch') -> None:
        """
        One torch.optim.Adam (decoupled=True: AdamW) step (in place); step is 1-based. rule='keras': Keras 3's Adam (epsilon added to the uncorrected sqrt(v), decoupled weight decay).
        """
    @staticmethod
    def all_finite(x: numpy.ndarray) -> bool:
        """
        True when every value is finite.
        """
    @staticmethod
    def batchnorm_bwd(x: numpy.ndarray, dy: numpy.ndarray, gamma: typing.Any, save_mean: numpy.ndarray, save_invstd: numpy.ndarray) -> tuple:
        """
        BatchNorm1d training backward: (dx, dgamma, dbeta).
        """
    @staticmethod
    def batchnorm_fwd_infer(x: numpy.ndarray, gamma: typing.Any, beta: typing.Any, running_mean: numpy.ndarray, running_var: numpy.ndarray, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-05, act: str = 'linear', alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, with_z: bool = False) -> typing.Any:
        """
        Inference BatchNorm1d with the running statistics (+ fused activation): y, or (y, z).
        """
    @staticmethod
    def batchnorm_fwd_train(x: numpy.ndarray, gamma: typing.Any, beta: typing.Any, running_mean: numpy.ndarray, running_var: numpy.ndarray, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-05, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.1, update_running: bool = True, act: str = 'linear', alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, with_z: bool = False, unbiased_var: bool = True) -> tuple:
        """
        Training BatchNorm1d (+ fused activation): (y, [z,] save_mean, save_invstd); running statistics updated in place (running_var from the unbiased batch variance, or the biased one with unbiased_var=False, as Keras).
        """
    @staticmethod
    def colsum(x: numpy.ndarray, out: typing.Any = None, accumulate: bool = False) -> numpy.ndarray:
        """
        Column sums of a 2-D array (any row stride); out (+)= sum over rows.
        """
    @staticmethod
    def dropout_bwd(dy: numpy.ndarray, mask: numpy.ndarray, rate: typing.SupportsFloat | typing.SupportsIndex) -> numpy.ndarray:
        """
        dx = mask ? dy / (1 - rate) : 0.
        """
    @staticmethod
    def dropout_mask_fwd(x: numpy.ndarray, rate: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex = 0, out: typing.Any = None) -> tuple:
        """
        Inverted dropout: (y, mask uint8); element i's draw depends only on (seed, stream, i).
        """
    @staticmethod
    def gaussian_noise_fwd(x: numpy.ndarray, stddev: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.ndarray:
        """
        y = x + stddev * N(0, 1) (Philox).
        """
    @staticmethod
    def l1_l2_penalty(w: numpy.ndarray, l1: typing.SupportsFloat | typing.SupportsIndex, l2: typing.SupportsFloat | typing.SupportsIndex, g: typing.Any = None) -> float:
        """
        l1*sum|w| + (l2/2)*sum w^2; adds l1*sign(w) + l2*w to g in place when given.
        """
    @staticmethod
    def mse(pred: numpy.ndarray, target: numpy.ndarray, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, want_grad: bool = True) -> tuple:
        """
        Sum of squared errors: (loss, grad or None).
        """
    @staticmethod
    def mae(pred: numpy.ndarray, target: numpy.ndarray, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, want_grad: bool = True) -> tuple:
        """
        Sum of absolute errors (L1): (loss, grad or None); grad sign(pred - target).
        """
    @staticmethod
    def poisson_nll(log_rate: numpy.ndarray, target: numpy.ndarray, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, want_grad: bool = True) -> tuple:
        """
        Sum of Poisson NLLs exp(z) - y z on the log rate z (torch's poisson_nll_loss, log_input=True): (loss, grad or None).
        """
    @staticmethod
    def huber(pred: numpy.ndarray, target: numpy.ndarray, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, want_grad: bool = True, delta: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> tuple:
        """
        Sum of Huber losses with threshold delta (torch's huber_loss): (loss, grad or None).
        """
    @staticmethod
    def rmsprop_update(p: numpy.ndarray, g: numpy.ndarray, square_avg: numpy.ndarray, grad_avg: typing.Any = None, buf: typing.Any = None, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.99, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, centered: bool = False, rule: str = 'torch') -> None:
        """
        One torch.optim.RMSprop step (in place); rule='keras': Keras 3's RMSprop (alpha is rho, epsilon inside the square root, decoupled weight decay).
        """
    @staticmethod
    def sgd_update(p: numpy.ndarray, g: numpy.ndarray, buf: typing.Any = None, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, dampening: typing.SupportsFloat | typing.SupportsIndex = 0.0, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, nesterov: bool = False, first: bool = False, rule: str = 'torch') -> None:
        """
        One torch.optim.SGD step on p (in place); first: the momentum buffer is set to the gradient. rule='keras': Keras 3's SGD (velocity from zero, decoupled weight decay).
        """
    @staticmethod
    def sigmoid_bce(logits: numpy.ndarray, target: numpy.ndarray, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, want_grad: bool = True, in_place: bool = False) -> tuple:
        """
        Sigmoid + binary cross entropy (element-wise sum): (loss, grad or None, correct).
        """
    @staticmethod
    def sigmoid_link(x: numpy.ndarray) -> numpy.ndarray:
        """
        Element-wise sigmoid (the output link of binary cross entropy).
        """
    @staticmethod
    def softmax_bwd(y: numpy.ndarray, dy: numpy.ndarray) -> numpy.ndarray:
        """
        dx = y * (dy - sum(dy * y)) row-wise.
        """
    @staticmethod
    def softmax_fwd(x: numpy.ndarray) -> numpy.ndarray:
        """
        Row-wise softmax of a 2-D array.
        """
    @staticmethod
    def softmax_xent_labels(logits: numpy.ndarray, labels: numpy.ndarray, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, want_grad: bool = True, in_place: bool = False) -> tuple:
        """
        Softmax cross entropy with int32 labels: (sum loss, grad * grad_scale or None, correct); in_place: the gradient overwrites logits.
        """
    @staticmethod
    def softmax_xent_probs(logits: numpy.ndarray, target: numpy.ndarray, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, want_grad: bool = True, in_place: bool = False) -> tuple:
        """
        Softmax cross entropy with probability targets: (sum loss, grad or None, correct).
        """
