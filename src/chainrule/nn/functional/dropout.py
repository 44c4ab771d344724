"""Dropout functions: ``F.dropout`` (and its channel-wise variants ``dropout1d/2d/3d``)."""
from __future__ import annotations

from ... import ops
from ...ops import nn_ops
from ...tensor import Tensor

__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d"]


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the others by 1 / (1 - p), so the
    expected value is unchanged; the identity when ``training`` is False or p = 0.

    Example:
        >>> F.dropout(x, 0.2, training=model.training)
    """
    _check_p(p)
    if not training or p == 0.0:
        return input
    out = nn_ops.Dropout(p)(input)
    return ops.inplace(input, lambda _x: out) if inplace else out


def _channel_dropout(name: str, input: Tensor, p: float, training: bool, inplace: bool,
                     batched_ndim: int) -> Tensor:
    """Zero whole channels: the mask has shape (N, C, 1, ...) and broadcasts."""
    _check_p(p)
    if input.ndim not in (batched_ndim, batched_ndim - 1):
        raise RuntimeError(f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, "
                           f"but received a {input.ndim}D input")
    if not training or p == 0.0:
        return input
    keep_dims = 2 if input.ndim == batched_ndim else 1
    mask_shape = tuple(input.shape[:keep_dims]) + (1,) * (input.ndim - keep_dims)
    mask = nn_ops.Dropout(p)(ops.ones(mask_shape, dtype=input.dtype))
    out = input * mask
    return ops.inplace(input, lambda _x: out) if inplace else out


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout("dropout1d", input, p, training, inplace, 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout("dropout2d", input, p, training, inplace, 4)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout("dropout3d", input, p, training, inplace, 5)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped units are set to SELU's negative saturation and
    an affine correction keeps mean 0 and variance 1."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    alpha_p = -1.7580993408473766  # -scale * alpha of SELU
    keep = nn_ops.Dropout(p)(ops.ones(input.shape, dtype=input.dtype)) * (1 - p)  # 0/1 mask
    a = ((1 - p) * (1 + p * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * p
    out = (input * keep + (1 - keep) * alpha_p) * a + b
    return ops.inplace(input, lambda _x: out) if inplace else out
