"""Padding and resizing of images: ``pad`` (constant, reflect, replicate, circular) and
``interpolate`` (nearest, linear, bilinear).

Both are separable along the spatial axes. Constant padding is its own op (its adjoint is
cropping, i.e. constant padding by the negated amounts); the other padding modes and
nearest resizing pick, along each axis, one source index per output position
(``index_select``, whose adjoint adds gradients back at repeated indices); (bi)linear resizing
is a product with a small constant interpolation matrix per axis, ``A_h @ x @ A_w^T``.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..tensor import Tensor
from ._util import constant, describe
from .function import Function


class ConstantPad(Function):
    """Pad (positive amounts) or crop (negative amounts) the trailing axes with a constant.

    ``pads`` holds one ``(before, after)`` pair per axis, first axis first. The adjoint of
    padding by p is cropping by p: ConstantPad with the negated amounts and value 0.
    """

    def __init__(self, pads: tuple, value):
        self.pads, self.value = pads, value

    def forward(self, x):
        lead = x.ndim - len(self.pads)
        crop = [slice(None)] * lead + [slice(max(-lo, 0), x.shape[lead + i] - max(-hi, 0))
                                       for i, (lo, hi) in enumerate(self.pads)]
        x = x[tuple(crop)]
        widths = [(0, 0)] * lead + [(max(lo, 0), max(hi, 0)) for lo, hi in self.pads]
        if any(w != (0, 0) for w in widths):
            return np.pad(x, widths, mode="constant", constant_values=self.value)
        return x.copy()

    def backward(self, grad):
        return ConstantPad(tuple((-lo, -hi) for lo, hi in self.pads), 0)(grad)


def _source_index(mode: str, size: int, lo: int, hi: int) -> np.ndarray:
    """For each position of the padded axis, the input position it copies."""
    pos = np.arange(-lo, size + hi)
    if mode == "reflect":
        pos = np.abs(pos)  # mirror at 0 without repeating the edge
        return np.where(pos >= size, 2 * (size - 1) - pos, pos)
    if mode == "replicate":
        return np.clip(pos, 0, size - 1)
    return pos % size  # circular


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
        ) -> Tensor:
    """Pad the last ``len(pad) // 2`` dimensions of ``input``.

    Args:
        pad: ``(left, right)`` for the last dim, then ``(top, bottom)`` for the one before,
            and so on. In constant mode negative amounts crop.
        mode: ``'constant'`` (fill with ``value``, default 0), ``'reflect'`` (mirror without
            repeating the edge; amounts < size), ``'replicate'`` (repeat the edge) or
            ``'circular'`` (wrap around). The last three pad up to 3 trailing dims of a
            batched (or unbatched) input.

    Example:
        >>> pad(chainrule.tensor([[1., 2., 3.]]), (2, 1), mode="reflect")
        tensor([[3., 2., 1., 2., 3., 2.]])
    """
    op = "pad"
    pads = tuple(int(p) for p in pad)
    if len(pads) % 2:
        raise ValueError(f"{op}: padding length must be divisible by 2, got {len(pads)}")
    n_dims = len(pads) // 2
    nd = input._data.ndim
    if n_dims > nd:
        raise ValueError(f"{op}: padding length {len(pads)} is too large for an input of "
                         f"{nd} dims ({describe(input)})")
    pairs = tuple((pads[2 * i], pads[2 * i + 1]) for i in range(n_dims))[::-1]  # first axis 1st
    if mode == "constant":
        shape = input._data.shape[nd - n_dims:]
        for size, (lo, hi) in zip(shape, pairs):
            if size + lo + hi < 0:
                raise RuntimeError(f"{op}: the input size {size} plus negative padding "
                                   f"{lo} and {hi} resulted in a negative output size")
        return ConstantPad(pairs, 0 if value is None else value)(input)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; use 'constant', "
                                  "'reflect', 'replicate' or 'circular'")
    if value:
        raise ValueError(f"{op}: padding mode {mode!r} doesn't take in value argument")
    if not (n_dims + 1 <= nd <= n_dims + 2) or n_dims > 3:
        raise NotImplementedError(f"{op}: {mode} padding of {n_dims} dims needs a "
                                  f"{n_dims + 1}-D or {n_dims + 2}-D input, got {describe(input)}")
    out = input
    for axis, (lo, hi) in zip(range(nd - n_dims, nd), pairs):
        size = input._data.shape[axis]
        if mode == "reflect" and (lo >= size or hi >= size):
            raise RuntimeError(f"{op}: padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension {axis} "
                               f"of input {describe(input)}")
        if mode == "circular" and (lo > size or hi > size):
            raise RuntimeError(f"{op}: padding value causes wrapping around more than once "
                               f"(padding ({lo}, {hi}) at dimension {axis} of {describe(input)})")
        if min(lo, hi) < 0:
            raise RuntimeError(f"{op}: negative padding is only supported in constant mode")
        if lo or hi:
            out = out.index_select(axis, Tensor._make(_source_index(mode, size, lo, hi)))
    return out


# -- interpolate --------------------------------------------------------------------------------


def _scale(in_size: int, out_size: int, scale_factor, align_corners: bool) -> float:
    """Source step per output step (PyTorch's area_pixel_compute_scale)."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    if scale_factor is not None:
        return 1.0 / scale_factor
    return in_size / out_size


def _nearest_index(in_size: int, out_size: int, scale_factor) -> np.ndarray:
    scale = np.float32(1.0 / scale_factor if scale_factor is not None else in_size / out_size)
    src = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(src, in_size - 1)


def _linear_matrix(in_size: int, out_size: int, scale_factor, align_corners: bool,
                   dtype) -> np.ndarray:
    """(out, in) matrix whose rows hold the two linear-interpolation weights."""
    scale = _scale(in_size, out_size, scale_factor, align_corners)
    dst = np.arange(out_size, dtype=np.float64)
    src = dst * scale if align_corners else np.maximum(scale * (dst + 0.5) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    w1 = src - i0
    matrix = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, i0), 1.0 - w1)
    np.add.at(matrix, (rows, i1), w1)
    return matrix.astype(dtype)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of ``(N, C, L)`` or ``(N, C, H, W)``.

    Args:
        size: the output spatial size (int or tuple), or
        scale_factor: a multiplier per spatial dim (output size = floor(in * factor)).
        mode: ``'nearest'`` (copy the pixel at ``floor(dst * in / out)``), ``'linear'`` (3-D
            input) or ``'bilinear'`` (4-D input).
        align_corners: for (bi)linear: True maps the corner pixels' centres onto each other;
            False (default) maps the corners of the pixel grids (half-pixel offsets).
        recompute_scale_factor: if True, compute the coordinate scale from the output size
            instead of using ``scale_factor`` directly.

    Example:
        >>> interpolate(chainrule.ones(1, 1, 2, 2), scale_factor=2).shape
        chainrule.Size([1, 1, 4, 4])
    """
    op = "interpolate"
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    nd = input._data.ndim
    spatial = nd - 2
    if spatial not in (1, 2):
        raise NotImplementedError(f"{op}: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, "
                                  f"got {describe(input)}")
    linear_mode = {1: "linear", 2: "bilinear"}[spatial]
    if mode not in ("nearest", linear_mode):
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported for a {nd}-D input "
                                  f"(supported: 'nearest', {linear_mode!r})")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating "
                         "modes: linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    in_sizes = input._data.shape[2:]
    if size is not None:
        sizes = (size,) * spatial if isinstance(size, (int, np.integer)) else tuple(size)
        if len(sizes) != spatial:
            raise ValueError(f"{op}: size {size} doesn't match the {spatial} spatial dims of "
                             f"{describe(input)}")
        out_sizes, factors = tuple(int(s) for s in sizes), (None,) * spatial
    else:
        factors = (scale_factor,) * spatial if isinstance(scale_factor, (int, float)) \
            else tuple(scale_factor)
        if len(factors) != spatial:
            raise ValueError(f"{op}: scale_factor {scale_factor} doesn't match the {spatial} "
                             f"spatial dims of {describe(input)}")
        out_sizes = tuple(int(math.floor(s * float(f))) for s, f in zip(in_sizes, factors))
        if recompute_scale_factor:
            factors = (None,) * spatial
    if min(out_sizes) < 1:
        raise ValueError(f"{op}: output size {out_sizes} must be positive")
    out = input
    if mode == "nearest":
        for axis, (i, o, f) in enumerate(zip(in_sizes, out_sizes, factors), start=2):
            if i != o:
                out = out.index_select(axis, Tensor._make(_nearest_index(i, o, f)))
        return out
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: {mode} mode needs a floating-point input, got "
                           f"{describe(input)}")
    corners = bool(align_corners)
    dtype = input._data.dtype
    # Width first: x (..., W) @ A_w^T; then height: A_h @ x (..., H, W_out).
    for axis in range(nd - 1, 1, -1):
        i, o, f = in_sizes[axis - 2], out_sizes[axis - 2], factors[axis - 2]
        matrix = _linear_matrix(i, o, f, corners, dtype)
        if axis == nd - 1:
            out = out @ constant(np.ascontiguousarray(matrix.T))
        else:
            out = constant(matrix) @ out
    return out


# -- pixel shuffle ------------------------------------------------------------------------------


def _check_factor(op: str, input: Tensor, factor, name: str) -> int:
    if input._data.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input "
                           f"with {input._data.ndim} dimension(s)")
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {factor!r}")
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {name}, but got {factor}")
    return int(factor)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange ``(*, C*r*r, H, W)`` into ``(*, C, H*r, W*r)``: each group of r*r channels
    becomes an r x r block of pixels (sub-pixel convolution). Channel ``c*r*r + i*r + j``
    goes to row offset i, column offset j of output channel c. Inverse: ``pixel_unshuffle``.

    Example:
        >>> pixel_shuffle(chainrule.arange(8.).reshape(1, 8, 1, 1), 2).shape
        chainrule.Size([1, 2, 2, 2])
    """
    op = "pixel_shuffle"
    r = _check_factor(op, input, upscale_factor, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"{op} expects its input's 'channel' dimension to be divisible by "
                           f"the square of upscale_factor, but input.size(-3)={c} is not "
                           f"divisible by {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange ``(*, C, H*r, W*r)`` into ``(*, C*r*r, H, W)``: the inverse of
    ``pixel_shuffle`` (each r x r block of pixels becomes r*r channels).

    Example:
        >>> pixel_unshuffle(chainrule.zeros(1, 3, 4, 6), 2).shape
        chainrule.Size([1, 12, 2, 3])
    """
    op = "pixel_unshuffle"
    r = _check_factor(op, input, downscale_factor, "downscale_factor")
    *lead, c, h, w = input.shape
    for dim, size, what in ((-2, h, "height"), (-1, w, "width")):
        if size % r:
            raise RuntimeError(f"{op} expects {what} to be divisible by downscale_factor, but "
                               f"input.size({dim})={size} is not divisible by {r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H, W)
    return x.reshape(*lead, c * r * r, h // r, w // r)
