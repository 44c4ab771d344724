"""Convolutions as functions (``F.conv1d``, ``F.conv2d``, ``F.conv_transpose2d``, ``F.unfold``,
``F.fold``).

The 2-D ops are primitives in ``chainrule.ops.conv`` (im2col + one GEMM); the 1-D forms run
them on a height-1 image, so they share one tested kernel.
"""
from __future__ import annotations

from ...ops import conv as _conv
from ...ops._util import describe
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]

conv2d = _conv.conv2d
conv_transpose2d = _conv.conv_transpose2d
unfold = _conv.unfold
fold = _conv.fold


def _one(value, op: str, name: str) -> int:
    return _conv._ntuple(value, 1, op, name)[0]


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution over ``(N, C_in, L)`` (or ``(C_in, L)``) with weight
    ``(C_out, C_in / groups, k)``; arguments as ``conv2d`` (padding: int, 'same' or 'valid').

    Shape:
        ``L_out = floor((L + 2*padding - dilation*(k - 1) - 1) / stride) + 1``.

    Example:
        >>> conv1d(chainrule.randn(4, 2, 50), chainrule.randn(8, 2, 5)).shape
        chainrule.Size([4, 8, 46])
    """
    op = "conv1d"
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise RuntimeError(f"{op}: expected a 3-D input (N, C, L) or 2-D (C, L) and a 3-D weight "
                           f"(C_out, C_in/groups, k), got input {describe(input)} and weight "
                           f"{describe(weight)}")
    pad = padding if isinstance(padding, str) else (0, _one(padding, op, "padding"))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, _one(stride, op, "stride")),
                 pad, (1, _one(dilation, op, "dilation")), groups)
    return out.squeeze(-2)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution; weight ``(C_in, C_out / groups, k)``. See conv_transpose2d."""
    op = "conv_transpose1d"
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise RuntimeError(f"{op}: expected a 3-D input and a 3-D weight, got input "
                           f"{describe(input)} and weight {describe(weight)}")
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(2), bias,
                           (1, _one(stride, op, "stride")), (0, _one(padding, op, "padding")),
                           (0, _one(output_padding, op, "output_padding")), groups,
                           (1, _one(dilation, op, "dilation")))
    return out.squeeze(-2)
