"""Loss functions (``F.cross_entropy``, ``F.mse_loss``, ...), as in PyTorch.

Every loss takes ``reduction``: ``'mean'`` (default), ``'sum'`` or ``'none'`` (one loss per
element or per sample). The old ``size_average`` / ``reduce`` flags are still understood.
"""
from __future__ import annotations

import warnings

import numpy as np

from ... import ops
from ...ops import nn_ops
from ...ops._util import describe
from ...tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_similarity",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "normalize",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


def _legacy_reduction(size_average, reduce) -> str:
    """PyTorch's mapping of the deprecated (size_average, reduce) pair to ``reduction``."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _reduction(op: str, reduction: str, size_average=None, reduce=None) -> str:
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{_legacy_reduction(size_average, reduce)}' instead.",
                      UserWarning, stacklevel=3)
        return _legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_float_tensor(op: str, x, like: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(x).__name__}")
    if x._data.dtype != like._data.dtype:
        x = x.to(like.dtype)
    return x


def _constant_array(x, dtype) -> np.ndarray | None:
    if x is None:
        return None
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    return data.astype(dtype, copy=False)


def _check_class_target(op: str, input: Tensor, target: Tensor, ignore_index: int,
                        weight) -> np.ndarray:
    """Validate index targets against (N, C, d1, ...) / (C,) input; return the int array."""
    t = target._data
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dimension (got a 0-d tensor)")
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected target of dtype int64 (class indices) or of the "
                           f"input's floating dtype (class probabilities), got {describe(target)}")
    expected = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if tuple(t.shape) != expected:
        if input.ndim >= 2 and t.ndim >= 1 and t.shape[0] != input.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({t.shape[0]}).")
        raise RuntimeError(f"{op}: expected target of shape {list(expected)} for input of "
                           f"shape {list(input.shape)}, got {list(t.shape)}")
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(f"{op}: weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    return t.astype(np.int64, copy=False)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and targets: log_softmax + nll_loss as one stable op.

    Args:
        input: logits, shape (N, C), (C,) or (N, C, d1, ...) for a loss per position.
        target: class indices (int64, shape (N,), () or (N, d1, ...)), or class
            probabilities with the shape of ``input``.
        weight: a rescaling weight per class, shape (C,).
        ignore_index: index targets equal to it contribute no loss and no gradient.
        reduction: 'mean' (weighted mean over non-ignored targets), 'sum' or 'none'.
        label_smoothing: mixes the target with the uniform distribution by this amount.

    The gradient with respect to the logits is softmax(input) - target (per row, times
    the weights); logits of +-1e4 give finite values.

    Example:
        >>> loss = F.cross_entropy(model(x), y)       # y: LongTensor of class indices
    """
    reduction = _reduction("cross_entropy", reduction, size_average, reduce)
    if not isinstance(input, Tensor) or input._data.dtype.kind != "f":
        raise RuntimeError(f"cross_entropy: expected floating-point logits, got "
                           f"{describe(input)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    w = _constant_array(weight, input._data.dtype)
    if target._data.dtype.kind == "f":
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(f"cross_entropy: class-probability target must have the shape "
                               f"of the input {list(input.shape)}, got {list(target.shape)}")
        target = _as_float_tensor("cross_entropy", target, input)
        n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
        if w is not None and (w.ndim != 1 or w.shape[0] != n_classes):
            raise RuntimeError(f"cross_entropy: weight tensor should be defined for all "
                               f"{n_classes} classes, got shape {list(w.shape)}")
        return nn_ops.CrossEntropy(None, w, ignore_index, label_smoothing, reduction)(
            input, target)
    t = _check_class_target("cross_entropy", input, target, ignore_index, w)
    return nn_ops.CrossEntropy(t, w, ignore_index, label_smoothing, reduction)(input)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: -input[n, target[n]] * weight[target[n]] (input holds
    log-probabilities, e.g. from ``log_softmax``); shapes as in ``cross_entropy``.

    'mean' divides by the sum of the weights of the non-ignored targets.
    """
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    w = _constant_array(weight, input._data.dtype)
    t = _check_class_target("nll_loss", input, target, ignore_index, w)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    w_t = (w[safe] if w is not None else np.ones(safe.shape, input._data.dtype)) * valid
    w_t = w_t.astype(input._data.dtype, copy=False)
    if input.ndim == 1:
        picked = input[Tensor._make(safe)]
    else:
        picked = input.gather(1, Tensor._make(safe[:, None])).squeeze(1)
    loss = -picked * Tensor._make(w_t)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / Tensor._make(np.asarray(w_t.sum(), dtype=w_t.dtype))


def _pointwise_args(op: str, input: Tensor, target: Tensor) -> tuple:
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}(): argument 'target' must be Tensor, not {type(target).__name__}")
    if tuple(target.shape) != tuple(input.shape):
        try:
            np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise RuntimeError(f"{op}: input {describe(input)} and target {describe(target)} "
                               "have shapes that cannot be broadcast together (expected the "
                               "same shape)") from None
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=3)
    return input, target


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error: (input - target)^2, reduced."""
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    input, target = _pointwise_args("mse_loss", input, target)
    diff = input - target
    loss = diff * diff
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error: |input - target|, reduced (gradient sign(input - target))."""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    input, target = _pointwise_args("l1_loss", input, target)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    input, target = _pointwise_args("smooth_l1_loss", input, target)
    diff = input - target
    if beta == 0:
        return _reduce(diff.abs(), reduction)
    absdiff = diff.abs()
    loss = ops.where(absdiff < beta, diff * diff * (0.5 / beta), absdiff - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""
    reduction = _reduction("huber_loss", reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input, target = _pointwise_args("huber_loss", input, target)
    diff = input - target
    absdiff = diff.abs()
    loss = ops.where(absdiff < delta, diff * diff * 0.5, (absdiff - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """-(t log x + (1 - t) log(1 - x)) for probabilities x in [0, 1]; each log is clamped
    at -100 so that x = 0 or 1 gives a finite loss (as PyTorch).

    Prefer ``binary_cross_entropy_with_logits`` on logits: it is exact where this one clamps.
    """
    reduction = _reduction("binary_cross_entropy", reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    x = input._data
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    target = _as_float_tensor("binary_cross_entropy", target, input)
    w = _constant_array(weight, x.dtype)
    if w is not None:
        w = np.broadcast_to(w, x.shape)
    return _reduce(nn_ops.BinaryCrossEntropy(w)(input, target), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed from the logits without forming the
    sigmoid (stable for any logit); gradient sigmoid(x) - t.

    Args:
        pos_weight: weight of the positive term per class (broadcast along the last dim),
            e.g. n_negative / n_positive to balance classes.
    """
    reduction = _reduction("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    target = _as_float_tensor("binary_cross_entropy_with_logits", target, input)
    dtype = input._data.dtype
    w = _constant_array(weight, dtype)
    pw = _constant_array(pos_weight, dtype)
    return _reduce(nn_ops.BinaryCrossEntropyWithLogits(w, pw)(input, target), reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence D(target || exp(input)) pointwise: target (log target - input).

    ``input`` holds log-probabilities; ``target`` probabilities (or log-probabilities with
    ``log_target=True``). Use ``reduction='batchmean'`` for the true KL divergence per
    sample ('mean' divides by the number of elements, as PyTorch warns).
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    elif reduction not in ("batchmean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target > 0
        safe = ops.where(positive, target, 1.0)
        loss = ops.where(positive, target * safe.log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for labels y in {-1, 1}."""
    reduction = _reduction("soft_margin_loss", reduction, size_average, reduce)
    return _reduce(nn_ops.Softplus(1.0, 20.0)(-target * input), reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Poisson target: exp(x) - t x (log_input) or
    x - t log(x + eps); ``full`` adds Stirling's term for t > 1."""
    reduction = _reduction("poisson_nll_loss", reduction, size_average, reduce)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        import math
        big = target > 1
        t = ops.where(big, target, 2.0)  # Stirling's term is only used where target > 1
        stirling = t * t.log() - t + (t * (2 * math.pi)).log() * 0.5
        loss = loss + ops.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / max(||x1|| ||x2||, eps) along ``dim``."""
    dot = (x1 * x2).sum(dim)
    n1 = (x1 * x1).sum(dim)
    n2 = (x2 * x2).sum(dim)
    return dot / (n1 * n2).clamp(min=eps * eps).sqrt()


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """input / max(||input||_p, eps) along ``dim``."""
    norm = ops.norm(input, p, dim, keepdim=True)
    return input / norm.clamp(min=eps)
