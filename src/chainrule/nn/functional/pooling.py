"""Pooling, padding and resizing as functions (``F.max_pool2d``, ``F.avg_pool2d``,
``F.adaptive_avg_pool2d``, ``F.pad``, ``F.interpolate``, ...).

The array work lives in ``chainrule.ops.pooling`` and ``chainrule.ops.resize``; this module
gives them their PyTorch names.
"""
from __future__ import annotations

from ...ops.pooling import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool,
)
from ...ops.resize import interpolate, pad, pixel_shuffle, pixel_unshuffle  # noqa: F401
from ...tensor import Tensor

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "pad",
           "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "max_pool1d_with_indices", "max_pool2d_with_indices", "pixel_shuffle",
           "pixel_unshuffle", "max_unpool1d", "max_unpool2d", "max_pool3d", "avg_pool3d"]


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated PyTorch name of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Bilinear resizing with ``align_corners=True`` (what this old PyTorch name did)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool2d``: each value goes back to the position its max
    came from (``indices``, from ``return_indices=True``), zeros elsewhere.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out) with ``H_out = (H - 1) * stride - 2 * padding
    + kernel_size`` unless ``output_size`` (within a stride of it) says otherwise; pass the
    pooled input's size when it was odd.

    Example:
        >>> x = chainrule.randn(1, 1, 4, 4)
        >>> y, idx = max_pool2d(x, 2, return_indices=True)
        >>> max_unpool2d(y, idx, 2).shape
        chainrule.Size([1, 1, 4, 4])
    """
    return max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding,
                      output_size, 2)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool1d`` (see ``max_unpool2d``)."""
    return max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding,
                      output_size, 1)
