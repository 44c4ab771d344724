"""Activation functions (``F.relu``, ``F.gelu``, ``F.softmax``, ...), as in PyTorch.

Functions with a kink or a stability concern, and SiLU and Mish, are single fused ops from
``ops.nn_ops`` (a derivative formed first multiplies the gradient once, as in PyTorch); other
smooth compositions (``softsign = x / (1 + |x|)``) are written with tensor ops.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import ops
from ...ops import nn_ops
from ...tensor import Tensor

__all__ = [
    "celu",
    "elu",
    "elu_",
    "erf",
    "gelu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softshrink",
    "softplus",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check(op: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f'{op}(): "{op}" not implemented for integer or bool tensors; got '
                           f"dtype {input.dtype}")
    return input


def _inplace(input: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``input`` (the ``inplace=True`` forms), tracked by autograd."""
    return ops.inplace(input, lambda _x: result)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); the gradient is 1 where x > 0, else 0."""
    out = ops.relu(input)
    return _inplace(input, out) if inplace else out


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """clamp(x, min_val, max_val); gradient 1 strictly inside the interval."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    out = nn_ops.Hardtanh(min_val, max_val)(_check("hardtanh", input))
    return _inplace(input, out) if inplace else out


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    out = nn_ops.LeakyRelu(negative_slope)(_check("leaky_relu", input))
    return _inplace(input, out) if inplace else out


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    out = nn_ops.Elu(alpha)(_check("elu", input))
    return _inplace(input, out) if inplace else out


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    out = nn_ops.Elu(_SELU_ALPHA)(_check("selu", input)) * _SELU_SCALE
    return _inplace(input, out) if inplace else out


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) = alpha * elu(x / alpha)."""
    if alpha == 0:
        raise ValueError("ZeroDivisionError: alpha cannot be 0 for CELU")
    out = nn_ops.Elu(1.0)(_check("celu", input) / alpha) * alpha
    return _inplace(input, out) if inplace else out


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF (exact, via erf), or with
    ``approximate='tanh'``: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    _check("gelu", input)
    if approximate == "none":
        return nn_ops.Gelu()(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * (inner.tanh() + 1) * 0.5
    raise RuntimeError(f"gelu(): approximate argument must be either none or tanh, got "
                       f"{approximate!r}")


def erf(input: Tensor) -> Tensor:
    """The error function (accurate to ~1e-15 in float64)."""
    return nn_ops.erf(input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    out = nn_ops.Silu()(_check("silu", input))
    return _inplace(input, out) if inplace else out


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    out = nn_ops.Mish()(_check("mish", input))
    return _inplace(input, out) if inplace else out


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return ops.tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold."""
    return nn_ops.Softplus(beta, threshold)(_check("softplus", input))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable for any x."""
    return -nn_ops.Softplus(1.0, math.inf)(-_check("logsigmoid", input))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    out = nn_ops.Hardtanh(-3.0, 3.0)(_check("hardsigmoid", input)) / 6 + 0.5
    return _inplace(input, out) if inplace else out


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    out = nn_ops.Hardswish()(_check("hardswish", input))
    return _inplace(input, out) if inplace else out


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    x = _check("softshrink", input)
    if not 0 <= lambd <= np.finfo(x._data.dtype).max:
        raise RuntimeError(f"softshrink: lambda must be in range [0, "
                           f"{np.finfo(x._data.dtype).max:g}] for input dtype {x.dtype}, but "
                           f"found {lambd}")
    return nn_ops.Shrink(lambd, soft=True)(x)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x if x > lambd or x < -lambd, else 0."""
    return nn_ops.Shrink(lambd, soft=False)(_check("hardshrink", input))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training each non-positive x gets a slope drawn uniformly from
    [lower, upper]; in evaluation the slope is (lower + upper) / 2."""
    x = _check("rrelu", input)
    if not 0 <= lower <= upper:
        raise ValueError(f"rrelu: expected 0 <= lower <= upper, got lower={lower}, "
                         f"upper={upper}")
    if training:
        out = nn_ops.RreluNoise(lower, upper)(x)
    else:
        out = nn_ops.LeakyRelu((lower + upper) / 2)(x)
    return _inplace(input, out) if inplace else out


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value."""
    keep = input > threshold
    out = ops.where(keep, input, value)
    return _inplace(input, out) if inplace else out


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x); ``weight`` has 1 or C (= input.size(1)) elements."""
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if weight.numel() != channels:
            raise RuntimeError(f"prelu: mismatch of parameter numbers and input channel size. "
                               f"Found parameter numbers = {weight.numel()} and channel size "
                               f"= {channels}.")
        if input.ndim >= 2:
            weight = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    return ops.where(input > 0, input, input * weight)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the two halves of ``input`` along ``dim``."""
    if input.shape[dim] % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (max-subtracted: no overflow)."""
    if dim is None:
        dim = _get_softmax_dim("softmax", input.ndim, _stacklevel)
    return ops.softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    if dim is None:
        dim = _get_softmax_dim("softmin", input.ndim, _stacklevel)
    return ops.softmax(-input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``."""
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.ndim, _stacklevel)
    return ops.log_softmax(input, dim, dtype=dtype)
