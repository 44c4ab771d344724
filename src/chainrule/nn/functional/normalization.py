"""Normalisation functions: ``F.layer_norm``, ``F.batch_norm`` (shared with BatchNorm2d/3d),
``F.group_norm``; each training-mode normalisation is one fused op."""
from __future__ import annotations

import numpy as np

from ...autograd.grad_mode import no_grad
from ...ops import nn_ops
from ...ops._util import describe
from ...ops.resize import pad
from ...tensor import Tensor

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm",
           "local_response_norm", "rms_norm"]


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims: (x - mean) / sqrt(var + eps),
    biased variance, then ``* weight + bias`` (both of shape ``normalized_shape``).

    Shape: input (*, *normalized_shape); output the same.
    """
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != normalized_shape or input.ndim < k:
        raise RuntimeError(
            f"layer_norm: Given normalized_shape={list(normalized_shape)}, expected input with "
            f"shape [*, {', '.join(str(s) for s in normalized_shape)}], but got input of size "
            f"{list(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != normalized_shape:
            raise RuntimeError(f"layer_norm: expected {name} of shape {list(normalized_shape)}, "
                               f"got {describe(p)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    params = [p for p in (weight, bias) if p is not None]
    op = nn_ops.Normalize(axes, normalized_shape, eps, weight is not None, bias is not None)
    return op(input, *params)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise (N, C, *) input over each group of C / num_groups channels and all
    positions, then ``* weight + bias`` per channel."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: expected input (N, C, *) with C divisible by "
                           f"num_groups={num_groups}, got {describe(input)}")
    n, c = input.shape[0], input.shape[1]
    grouped = input.reshape(n, num_groups, -1)
    op = nn_ops.Normalize((2,), (1, num_groups, 1), eps, False, False)
    out = op(grouped).reshape(input.shape)
    param_shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(param_shape)
    if bias is not None:
        out = out + bias.reshape(param_shape)
    return out


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing dims, times ``weight``."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over every dim but dim 1 (the channels) of (N, C, *) input.

    Training: normalise with this batch's mean and biased variance, and (if given) update
    ``running_mean``/``running_var`` in place: r = (1 - momentum) r + momentum * stat, with
    the *unbiased* variance. Evaluation: normalise with the running statistics.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (N, C, ...), got "
                         f"{describe(input)}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"batch_norm: {name} should contain {channels} elements not "
                               f"{t.numel()}")
    param_shape = (1, channels) + (1,) * (input.ndim - 2)
    if training:
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
        axes = (0,) + tuple(range(2, input.ndim))
        params = [p for p in (weight, bias) if p is not None]
        op = nn_ops.Normalize(axes, param_shape, eps, weight is not None, bias is not None)
        out = op(input, *params)
        if running_mean is not None or running_var is not None:
            mean, var = op.batch_stats()
            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype) * momentum)
                if running_var is not None:
                    unbiased = var * (count / (count - 1))
                    running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype)
                                                        * momentum)
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be defined in "
                           "evaluation mode")
    # y = x * scale + shift with scale = w / sqrt(rv + eps), shift = b - rm * scale
    scale = (running_var.to(input.dtype) + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -running_mean.to(input.dtype) * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(param_shape) + shift.reshape(param_shape)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample of (N, C, *) input over its positions, then
    ``* weight + bias`` per channel.

    As PyTorch: batch normalisation of the input seen as one sample of N*C channels. With
    ``use_input_stats`` (training, or no running statistics) each instance uses its own
    mean and biased variance, and the running statistics (if given) move towards the
    instances' statistics averaged over the batch (unbiased variance); otherwise the running
    statistics normalise.
    """
    if input.ndim < 2:
        raise ValueError(f"instance_norm: expected an (N, C, *) input, got {describe(input)}")
    n, c = input.shape[0], input.shape[1]
    if use_input_stats and input.numel() // max(n * c, 1) <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.shape}")
    stats = [s.repeat(n) if s is not None else None for s in (running_mean, running_var)]
    params = [p.repeat(n) if p is not None else None for p in (weight, bias)]
    out = batch_norm(input.reshape((1, n * c) + tuple(input.shape[2:])), *stats, *params,
                     use_input_stats, momentum, eps)
    if use_input_stats:
        with no_grad():
            for running, repeated in zip((running_mean, running_var), stats):
                if running is not None:
                    running.copy_(repeated.reshape(n, c).mean(0))
    return out.reshape(input.shape)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """AlexNet's local response normalisation across channels of (N, C, *) input:

        out[:, c] = x[:, c] / (k + alpha / size * sum of x[:, j]^2 over j in the window)^beta

    the window being channels ``c - size // 2`` to ``c + (size - 1) // 2`` (zeros beyond the
    ends; the sum is always divided by ``size``, as PyTorch's).
    """
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3D or higher dimensionality input "
                         f"(got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    squares = (input * input).movedim(1, -1)
    squares = pad(squares, (size // 2, (size - 1) // 2))
    window = squares.narrow(-1, 0, c)
    for j in range(1, size):
        window = window + squares.narrow(-1, j, c)
    scale = (window.movedim(-1, 1) * (alpha / size) + k) ** beta
    return input / scale
