"""Pooling: max and average pooling (1-D and 2-D), and adaptive average/max pooling.

A pooling window is a rectangle, so 2-D pooling is done separably: first along the width
(one strided slice per kernel column), then along the height (one per kernel row). That is
``kh + kw`` vectorised passes over the batch instead of ``kh * kw``, and no loop over pixels.
For max pooling the two passes also record which column (then which row) won; together they
give the first maximum in row-major window order, which is the one PyTorch picks. When the
stride equals the kernel (the usual ``MaxPool2d(2)``) each pass is a plain elementwise
maximum of ``k`` strided views.

Backward runs the passes in reverse as scatter-adds (a loop over kernel offsets again). Each
backward is a differentiable op whose own adjoint is the forward gather/average, so second
derivatives work.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._parallel import map_blocks
from ._util import constant, describe
from .conv import _ntuple
from .elementwise import _select
from .function import Function


class PoolGeometry:
    """Kernel, stride, dilation and padding (top/left, plus extra bottom/right room for
    ceil_mode) of a 2-D pooling, with its output size."""

    __slots__ = ("kh", "kw", "sh", "sw", "dh", "dw", "ph", "pw", "oh", "ow", "h", "w")

    def __init__(self, kernel, stride, padding, dilation, in_hw, out_hw):
        self.kh, self.kw = kernel
        self.sh, self.sw = stride
        self.ph, self.pw = padding
        self.dh, self.dw = dilation
        self.h, self.w = in_hw
        self.oh, self.ow = out_hw

    def padded_hw(self) -> tuple:
        """Rows/columns of the padded input that the windows (and symmetric padding) span."""
        need_h = (self.oh - 1) * self.sh + self.dh * (self.kh - 1) + 1
        need_w = (self.ow - 1) * self.sw + self.dw * (self.kw - 1) + 1
        return max(need_h, self.h + 2 * self.ph), max(need_w, self.w + 2 * self.pw)


def pool_out_size(op: str, size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length (a ceil-mode window must start inside the input)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    if out < 1:
        raise RuntimeError(f"{op}: given input size {size}, kernel {k}, stride {s}, padding {p}"
                           f", dilation {d}: calculated output size {out} is too small")
    return out


def _pad_value(dtype: np.dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _pad(x: np.ndarray, g: PoolGeometry, value) -> np.ndarray:
    hp, wp = g.padded_hw()
    if (hp, wp) == (g.h, g.w):
        return x
    out = np.full(x.shape[:2] + (hp, wp), value, dtype=x.dtype)
    out[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w] = x
    return out


def _slices(axis: int, k: int, s: int, d: int, n_out: int):
    """Index tuples selecting, for each kernel offset, its element of every window."""
    span = s * (n_out - 1) + 1
    lead = (slice(None),) * axis
    return [lead + (slice(t * d, t * d + span, s),) for t in range(k)]


def _running_max(x: np.ndarray, slices, best: np.ndarray, arg: np.ndarray) -> None:
    """Max over kernel offsets into ``best``, the offset of the first max into ``arg`` (uint8
    for fewer than 256 offsets, else int32); NaN propagates to the value.

    Masked NumPy writes (``np.where``, ``copyto(where=)``) are ~10x slower than arithmetic
    here, so the argmax is kept arithmetically: offsets are visited in increasing order, so
    ``arg = max(arg, t * (v > best))`` moves it exactly when a strictly larger value appears.
    """
    if len(slices) == 2:  # the common kernel 2: the comparison is the argmax
        first, second = x[slices[0]], x[slices[1]]
        np.maximum(first, second, out=best)
        np.greater(second, first, out=arg.view(np.bool_))
        return
    np.copyto(best, x[slices[0]])
    arg.fill(0)
    for t in range(1, len(slices)):
        v = x[slices[t]]
        better = np.greater(v, best)
        np.maximum(best, v, out=best)
        better = better.view(np.uint8) if arg.dtype == np.uint8 else better.astype(np.int32)
        np.multiply(better, t, out=better)
        np.maximum(arg, better, out=arg)


def _arg_dtype(k: int):
    return np.uint8 if k < 256 else np.int32


def _scatter(grad: np.ndarray, arg: np.ndarray, slices, out: np.ndarray,
             disjoint: bool) -> None:
    """Send ``grad`` to offset ``arg`` of each window along one axis, into ``out`` (adding
    where windows overlap); ``disjoint`` windows that tile the axis are written without a
    zero fill. The other offsets get exactly 0 (a select: an inf or NaN gradient stays with
    its window's max, as in PyTorch)."""
    if not disjoint:
        out.fill(0)
    for t, idx in enumerate(slices):
        if disjoint:
            _select(grad, arg == t, out=out[idx])
        else:
            out[idx] += _select(grad, arg == t)


def _tiles(k: int, s: int, d: int, n_out: int, size: int) -> bool:
    """Windows that neither overlap nor leave gaps along an axis (e.g. MaxPool2d(2), even)."""
    return s == k and (d == 1 or k == 1) and n_out * k == size


class MaxPool2d(Function):
    """Max over each window; remembers, per window, the winning row and column offsets."""

    def __init__(self, g: PoolGeometry):
        self.g = g

    def forward(self, x):
        g = self.g
        xp = _pad(x, g, _pad_value(x.dtype))
        n, c, hp = xp.shape[:3]
        out = np.empty((n, c, g.oh, g.ow), dtype=x.dtype)
        self.col_arg = np.empty((n, c, hp, g.ow), dtype=_arg_dtype(g.kw))
        self.row_arg = np.empty(out.shape, dtype=_arg_dtype(g.kh))
        col_slices = _slices(3, g.kw, g.sw, g.dw, g.ow)
        row_slices = _slices(2, g.kh, g.sh, g.dh, g.oh)

        def work(part):  # a block of the batch: the max over columns, then over rows
            cols_max = np.empty((part.stop - part.start, c, hp, g.ow), dtype=x.dtype)
            _running_max(xp[part], col_slices, cols_max, self.col_arg[part])
            _running_max(cols_max, row_slices, out[part], self.row_arg[part])

        map_blocks(work, n, xp.nbytes)
        self.padded_shape = xp.shape
        return out

    def flat_indices(self) -> np.ndarray:
        """For each window, the flat (row * Wp + col) position of its max in the padded input."""
        g = self.g
        rows = np.arange(g.oh).reshape(-1, 1) * g.sh + self.row_arg.astype(np.int64) * g.dh
        cols = np.take_along_axis(self.col_arg, rows, axis=2).astype(np.int64) * g.dw
        cols += np.arange(g.ow) * g.sw
        return rows * self.padded_shape[3] + cols

    def indices(self) -> np.ndarray:
        """PyTorch's return_indices: flat (row * W + col) positions in the unpadded input."""
        g = self.g
        flat = self.flat_indices()
        rows, cols = np.divmod(flat, self.padded_shape[3])
        return (rows - g.ph) * g.w + (cols - g.pw)

    def backward(self, grad):
        return MaxPool2dScatter(self)(grad)


class MaxPool2dScatter(Function):
    """dL/dx of max pooling: each window's gradient goes to its argmax (overlaps add up)."""

    def __init__(self, pool: MaxPool2d):
        self.g, self.row_arg, self.col_arg = pool.g, pool.row_arg, pool.col_arg
        self.padded_shape, self.pool = pool.padded_shape, pool

    def forward(self, grad):
        g = self.g
        n, c, hp, wp = self.padded_shape
        out = np.empty(self.padded_shape, dtype=grad.dtype)
        row_slices = _slices(2, g.kh, g.sh, g.dh, g.oh)
        col_slices = _slices(3, g.kw, g.sw, g.dw, g.ow)
        rows_tile = _tiles(g.kh, g.sh, g.dh, g.oh, hp)
        cols_tile = _tiles(g.kw, g.sw, g.dw, g.ow, wp)

        def work(part):  # a block of the batch: to the winning row, then the winning column
            grad_rows = np.empty((part.stop - part.start, c, hp, g.ow), dtype=grad.dtype)
            _scatter(grad[part], self.row_arg[part], row_slices, grad_rows, rows_tile)
            _scatter(grad_rows, self.col_arg[part], col_slices, out[part], cols_tile)

        map_blocks(work, n, out.nbytes)
        if (hp, wp) != (g.h, g.w):
            out = np.ascontiguousarray(out[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w])
        return out

    def backward(self, grad):
        return MaxPool2dGather(self.pool)(grad)


class MaxPool2dGather(Function):
    """Pick each window's argmax element of x (the adjoint of MaxPool2dScatter)."""

    def __init__(self, pool: MaxPool2d):
        self.pool = pool

    def forward(self, x):
        g = self.pool.g
        xp = _pad(x, g, 0)
        flat = self.pool.flat_indices()
        n, c = x.shape[:2]
        out = np.take_along_axis(xp.reshape(n, c, -1), flat.reshape(n, c, -1), axis=2)
        return out.reshape(n, c, g.oh, g.ow)

    def backward(self, grad):
        return MaxPool2dScatter(self.pool)(grad)


def _window_lengths(n_out: int, k: int, s: int, p: int, size: int,
                    count_include_pad: bool) -> np.ndarray:
    """Along one axis, how many elements each average-pooling window divides by: its length
    within the padded input (a ceil_mode window may end past it), or only its real ones."""
    start = np.arange(n_out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _avg_divisor(g: PoolGeometry, count_include_pad: bool, dtype):
    """The (OH, OW) divisor of average pooling, a product of per-axis window lengths."""
    return np.outer(_window_lengths(g.oh, g.kh, g.sh, g.ph, g.h, count_include_pad),
                    _window_lengths(g.ow, g.kw, g.sw, g.pw, g.w, count_include_pad)
                    ).astype(dtype)


class AvgPool2d(Function):
    """Sum over each window (separably), divided by the window's count."""

    def __init__(self, g: PoolGeometry, divisor: np.ndarray):
        self.g, self.divisor = g, divisor

    def forward(self, x):
        g = self.g
        xp = _pad(x, g, 0)
        sl_w = _slices(3, g.kw, g.sw, 1, g.ow)
        col_sum = xp[sl_w[0]].copy()
        for idx in sl_w[1:]:
            col_sum += xp[idx]
        sl_h = _slices(2, g.kh, g.sh, 1, g.oh)
        out = col_sum[sl_h[0]].copy()
        for idx in sl_h[1:]:
            out += col_sum[idx]
        out /= self.divisor
        self.padded_shape = xp.shape
        return out

    def backward(self, grad):
        return AvgPool2dAdjoint(self.g, self.divisor, self.padded_shape)(grad)


class AvgPool2dAdjoint(Function):
    """dL/dx of average pooling: spread grad/count over each window; adjoint: AvgPool2d."""

    def __init__(self, g: PoolGeometry, divisor: np.ndarray, padded_shape: tuple):
        self.g, self.divisor, self.padded_shape = g, divisor, padded_shape

    def forward(self, grad):
        g = self.g
        n, c, hp, wp = self.padded_shape
        scaled = grad / self.divisor
        grad_rows = np.zeros((n, c, hp, g.ow), dtype=grad.dtype)
        for idx in _slices(2, g.kh, g.sh, 1, g.oh):
            grad_rows[idx] += scaled
        out = np.zeros(self.padded_shape, dtype=grad.dtype)
        for idx in _slices(3, g.kw, g.sw, 1, g.ow):
            out[idx] += grad_rows
        if (hp, wp) != (g.h, g.w):
            out = np.ascontiguousarray(out[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w])
        return out

    def backward(self, grad):
        return AvgPool2d(self.g, self.divisor)(grad)


# -- public functions ---------------------------------------------------------------------------


def _pool_args(op: str, kernel_size, stride, padding, dilation, n: int) -> tuple:
    """Kernel, stride (default: the kernel), padding and dilation as n-tuples, checked."""
    k = _ntuple(kernel_size, n, op, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _ntuple(stride, n, op, "stride")
    p = _ntuple(padding, n, op, "padding")
    d = _ntuple(dilation, n, op, "dilation")
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise RuntimeError(f"{op}: kernel_size, stride and dilation must be positive, got "
                           f"kernel_size={kernel_size}, stride={stride}, dilation={dilation}")
    for pi, ki, di in zip(p, k, d):
        if pi < 0 or 2 * pi > di * (ki - 1) + 1:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, "
                               f"but got pad={padding}, kernel_size={kernel_size} and "
                               f"dilation={dilation}")
    return k, s, p, d


def _pool_geometry(op: str, x: Tensor, kernel_size, stride, padding, dilation,
                   ceil_mode: bool) -> PoolGeometry:
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, dilation, 2)
    h, w = x._data.shape[2:]
    oh = pool_out_size(op, h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = pool_out_size(op, w, k[1], s[1], p[1], d[1], ceil_mode)
    return PoolGeometry(k, s, p, d, (h, w), (oh, ow))


def _as_4d(op: str, input: Tensor, dims: int):
    """Pooling accepts (N, C, *spatial) or unbatched (C, *spatial)."""
    nd = input._data.ndim
    if nd == dims + 1:
        return input.unsqueeze(0), True
    if nd != dims + 2:
        raise RuntimeError(f"{op}: expected a {dims + 1}-D or {dims + 2}-D input, got "
                           f"{describe(input)}")
    if 0 in input._data.shape[1:]:
        raise RuntimeError(f"{op}: expected an input with non-zero sizes, got {describe(input)}")
    return input, False


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling over ``(N, C, H, W)`` (or ``(C, H, W)``).

    Args:
        kernel_size: window size (int or pair). stride: defaults to kernel_size.
        padding: implicit -inf padding on both sides (at most half the kernel).
        dilation: spacing between window elements.
        ceil_mode: round the output size up (a last, partial window is kept if it starts
            inside the input or left padding).
        return_indices: also return, per output, the flat index ``h * W + w`` of the max in
            its (unpadded) input plane, as ``MaxUnpool2d`` expects.

    Shape:
        ``H_out = floor((H + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1``.

    Example:
        >>> max_pool2d(chainrule.randn(1, 3, 28, 28), 2).shape
        chainrule.Size([1, 3, 14, 14])
    """
    x, unbatched = _as_4d("max_pool2d", input, 2)
    g = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    fn = MaxPool2d(g)
    out = fn(x)
    if unbatched:
        out = out.squeeze(0)
    if return_indices:
        idx = Tensor._make(fn.indices())
        return out, idx.squeeze(0) if unbatched else idx
    return out


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling over ``(N, C, H, W)`` (or ``(C, H, W)``).

    Args:
        kernel_size, stride (default kernel_size), padding, ceil_mode: as in ``max_pool2d``.
        count_include_pad: divide by the window size including zero padding (True, the
            default) or by the number of real input elements in the window.
        divisor_override: divide every window sum by this number instead.

    Example:
        >>> avg_pool2d(chainrule.ones(1, 1, 4, 4), 2)
        tensor([[[[1., 1.],
                  [1., 1.]]]])
    """
    x, unbatched = _as_4d("avg_pool2d", input, 2)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"avg_pool2d: expected a floating-point input, got {describe(x)}")
    g = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero")
        divisor = np.full((g.oh, g.ow), divisor_override, dtype=x._data.dtype)
    else:
        divisor = _avg_divisor(g, count_include_pad, x._data.dtype)
    out = AvgPool2d(g, divisor)(x)
    return out.squeeze(0) if unbatched else out


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling over ``(N, C, L)`` (or ``(C, L)``); see ``max_pool2d``."""
    x, unbatched = _as_4d("max_pool1d", input, 1)
    one = lambda v: (1, _ntuple(v, 1, "max_pool1d", "argument")[0])  # noqa: E731
    stride = None if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else one(stride)
    out = max_pool2d(x.unsqueeze(2), one(kernel_size), stride, (0, one(padding)[1]),
                     one(dilation), ceil_mode, return_indices)
    if return_indices:
        out, idx = out
        idx = idx.squeeze(2)
        out = out.squeeze(2)
        return (out.squeeze(0), idx.squeeze(0)) if unbatched else (out, idx)
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over ``(N, C, L)`` (or ``(C, L)``); see ``avg_pool2d``."""
    x, unbatched = _as_4d("avg_pool1d", input, 1)
    one = lambda v: (1, _ntuple(v, 1, "avg_pool1d", "argument")[0])  # noqa: E731
    stride = None if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else one(stride)
    out = avg_pool2d(x.unsqueeze(2), one(kernel_size), stride, (0, one(padding)[1]),
                     ceil_mode, count_include_pad).squeeze(2)
    return out.squeeze(0) if unbatched else out


# -- adaptive pooling ---------------------------------------------------------------------------


def _adaptive_bounds(size: int, out: int) -> tuple:
    """PyTorch's adaptive windows: [floor(i*size/out), ceil((i+1)*size/out)) for each i."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    return start, end


def _averaging_matrix(size: int, out: int, dtype) -> np.ndarray:
    start, end = _adaptive_bounds(size, out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_out(op: str, output_size, in_hw: tuple) -> tuple:
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size, output_size)
    out = tuple(in_hw[i] if v is None else int(v) for i, v in enumerate(output_size))
    if len(out) != 2 or min(out) < 1:
        raise RuntimeError(f"{op}: output_size must be positive, got {output_size}")
    return out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size ``(OH, OW)`` (an int, a pair, None = keep).

    Output ``(i, j)`` averages rows ``[floor(i*H/OH), ceil((i+1)*H/OH))`` and the columns
    likewise (windows overlap when sizes don't divide). Computed as two small products with
    constant averaging matrices: ``A_h @ x @ A_w^T``.

    Example:
        >>> adaptive_avg_pool2d(chainrule.randn(2, 8, 7, 7), 1).shape
        chainrule.Size([2, 8, 1, 1])
    """
    from .linalg import matmul
    x, unbatched = _as_4d("adaptive_avg_pool2d", input, 2)
    h, w = x._data.shape[2:]
    oh, ow = _adaptive_out("adaptive_avg_pool2d", output_size, (h, w))
    dtype = x._data.dtype
    if (oh, ow) == (1, 1):
        out = x.mean((2, 3), keepdim=True)
    elif h % oh == 0 and w % ow == 0:
        out = avg_pool2d(x, (h // oh, w // ow))
    else:
        rows = constant(_averaging_matrix(h, oh, dtype))
        cols = constant(_averaging_matrix(w, ow, dtype).T.copy())
        out = matmul(matmul(rows, x), cols)
    return out.squeeze(0) if unbatched else out


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size, windows as in ``adaptive_avg_pool2d``.

    With ``return_indices`` also returns the flat index ``h * W + w`` of each max.
    """
    x, unbatched = _as_4d("adaptive_max_pool2d", input, 2)
    n, c, h, w = x._data.shape
    oh, ow = _adaptive_out("adaptive_max_pool2d", output_size, (h, w))
    flat = _adaptive_argmax(x._data, oh, ow)
    out = x.reshape(n, c, h * w).gather(2, Tensor._make(flat.reshape(n, c, -1)))
    out = out.reshape(n, c, oh, ow)
    idx = Tensor._make(flat)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def _adaptive_argmax(x: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """Flat index of the max of every adaptive window, separably (columns, then rows).

    Windows of unequal length are padded to the longest by repeating their last element,
    which changes neither the max nor the first position where it occurs.
    """
    n, c, h, w = x.shape

    def gather_index(size, out):
        start, end = _adaptive_bounds(size, out)
        width = int((end - start).max())
        return np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)

    col_idx = gather_index(w, ow)  # (OW, kw)
    windows = x[:, :, :, col_idx]  # (N, C, H, OW, kw)
    col_arg = np.take_along_axis(col_idx[None, None, None], _nan_argmax(windows)[..., None],
                                 axis=4)[..., 0]  # (N, C, H, OW): winning column
    col_max = np.take_along_axis(x, col_arg, axis=3)  # (N, C, H, OW)
    row_idx = gather_index(h, oh)  # (OH, kh)
    windows = col_max[:, :, row_idx]  # (N, C, OH, kh, OW)
    row_pick = _nan_argmax(np.moveaxis(windows, 3, 4))  # (N, C, OH, OW)
    rows = row_idx[np.arange(oh)[:, None], row_pick]
    cols = np.take_along_axis(col_arg, rows, axis=2)
    return rows.astype(np.int64) * w + cols


def _nan_argmax(a: np.ndarray) -> np.ndarray:
    """argmax over the last axis where NaN counts as the largest value (as max pooling)."""
    return np.argmax(a, axis=-1)  # NumPy's argmax already returns the first NaN


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of ``(N, C, L)`` to length ``output_size``."""
    x, unbatched = _as_4d("adaptive_avg_pool1d", input, 1)
    size = _ntuple(output_size, 1, "adaptive_avg_pool1d", "output_size")[0]
    out = adaptive_avg_pool2d(x.unsqueeze(2), (1, size)).squeeze(2)
    return out.squeeze(0) if unbatched else out


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of ``(N, C, L)`` to length ``output_size``."""
    x, unbatched = _as_4d("adaptive_max_pool1d", input, 1)
    size = _ntuple(output_size, 1, "adaptive_max_pool1d", "output_size")[0]
    out, idx = adaptive_max_pool2d(x.unsqueeze(2), (1, size), True)
    out, idx = out.squeeze(2), idx.squeeze(2)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


# -- max unpooling ------------------------------------------------------------------------------


def _unpool_size(op: str, in_size: tuple, k: tuple, s: tuple, p: tuple, output_size) -> tuple:
    """The spatial output size: ``(in - 1) * stride - 2 * padding + kernel`` per dim, or
    ``output_size`` if it is within a stride of that (PyTorch's rule)."""
    default = tuple((i - 1) * sd - 2 * pd + kd for i, kd, sd, pd in zip(in_size, k, s, p))
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)
    if len(size) == len(k) + 2:
        size = size[2:]
    if len(size) != len(k):
        raise ValueError(f"output_size should be a sequence containing {len(k)} or {len(k) + 2} "
                         f"elements, but it has a length of '{len(size)}'")
    for d, (want, base, sd) in enumerate(zip(size, default, s)):
        if not base - sd < want < base + sd:
            raise ValueError(f"{op}: invalid output_size \"{tuple(output_size)}\" (dim {d} "
                             f"must be between {base - sd} and {base + sd})")
    return size


def max_unpool(op: str, input: Tensor, indices: Tensor, kernel_size, stride, padding,
               output_size, dims: int) -> Tensor:
    """The adjoint of max pooling's gather: each value of ``input`` (N, C, *spatial) written
    at its flat position ``indices`` (as ``return_indices`` gives them) of a zero plane."""
    nd = input._data.ndim
    if nd not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected a {dims + 1}-D or {dims + 2}-D input, got "
                           f"{describe(input)}")
    if not isinstance(indices, Tensor) or indices._data.dtype != np.int64:
        raise RuntimeError(f"{op}: elements in indices should be type int64 but got: "
                           f"{describe(indices) if isinstance(indices, Tensor) else indices!r}")
    if indices._data.shape != input._data.shape:
        raise RuntimeError(f"{op}: expected indices of the input's shape, got input "
                           f"{describe(input)} and indices {describe(indices)}")
    k = _ntuple(kernel_size, dims, op, "kernel_size")
    s = k if stride is None else _ntuple(stride, dims, op, "stride")
    p = _ntuple(padding, dims, op, "padding")
    out_size = _unpool_size(op, input._data.shape[-dims:], k, s, p, output_size)
    lead = input._data.shape[:-dims]
    plane = int(np.prod(out_size))
    flat = indices.reshape(*lead, -1)
    bad = (flat._data < 0) | (flat._data >= plane)
    if bad.any():
        raise RuntimeError(f"{op}: found an invalid max index {int(flat._data[bad][0])} (the "
                           f"output planes are of size {'x'.join(map(str, out_size))})")
    zeros = Tensor._zeros(lead + (plane,), input._data.dtype)
    out = zeros.scatter(-1, flat, input.reshape(*lead, -1))
    return out.reshape(*lead, *out_size)


# -- 3-D pooling: 2-D pooling of each kernel depth offset's slices, combined ---------------------


def _depth_slabs(op: str, x: Tensor, k: tuple, s: tuple, p: tuple, d: tuple, ceil_mode: bool,
                 fill) -> tuple:
    """Output depth D_out and, for each kernel depth offset t, the input's depth slices that
    offset meets in every window, as (N, C*D_out, H, W) images for a 2-D pooling; depth is
    padded with ``fill`` in front and behind (behind as far as ceil_mode's last window)."""
    from .resize import pad
    n, c, depth, h, w = x._data.shape
    d_out = pool_out_size(op, depth, k[0], s[0], p[0], d[0], ceil_mode)
    total = max((d_out - 1) * s[0] + d[0] * (k[0] - 1) + 1, depth + 2 * p[0])
    if total > depth:
        x = pad(x, (0, 0, 0, 0, p[0], total - depth - p[0]), value=fill)
    slabs = [x.narrow(2, t * d[0], s[0] * (d_out - 1) + 1)[:, :, ::s[0]].reshape(
        n, c * d_out, h, w) for t in range(k[0])]
    return d_out, slabs


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-D max pooling over ``(N, C, D, H, W)`` (or ``(C, D, H, W)``); arguments as
    ``max_pool2d`` with triples. The max of each window is the max over its kernel depth
    offsets of 2-D max pooling of the depth slices, the first one winning a tie, so the
    gradient goes to the first max in (depth, row, column) order, as PyTorch's.
    ``return_indices`` gives flat ``(d * H + h) * W + w`` positions."""
    op = "max_pool3d"
    x, unbatched = _as_4d(op, input, 3)
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, dilation, 3)
    n, c, depth, h, w = x._data.shape
    d_out, slabs = _depth_slabs(op, x, k, s, p, d, ceil_mode, _pad_value(x._data.dtype))
    pooled = [max_pool2d(slab, k[1:], s[1:], p[1:], d[1:], ceil_mode, return_indices)
              for slab in slabs]
    from .shape import stack
    values = stack([v for v, _ in pooled] if return_indices else pooled)  # (kD, N, C*D_out, ..)
    choice = np.argmax(values._data, axis=0)[None]  # the first max (or NaN) over depth
    out = values.take_along_dim(Tensor._make(choice), 0)[0]
    out = out.reshape(n, c, d_out, *out._data.shape[2:])
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    plane = np.take_along_axis(np.stack([i._data for _, i in pooled]), choice, 0)[0]
    rows = np.arange(d_out).reshape(-1, 1, 1) * s[0] - p[0]  # each window's first depth
    depth_index = (rows + choice[0].reshape(n, c, d_out, *plane.shape[2:]) * d[0])
    index = depth_index * (h * w) + plane.reshape(depth_index.shape)
    index = Tensor._make(index.astype(np.int64))
    return out, index.squeeze(0) if unbatched else index


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-D average pooling over ``(N, C, D, H, W)`` (or ``(C, D, H, W)``); arguments as
    ``avg_pool2d`` with triples: the window sums of 2-D pooling of each kernel depth
    offset's slices, added, then divided by each window's count (or ``divisor_override``)."""
    op = "avg_pool3d"
    x, unbatched = _as_4d(op, input, 3)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {describe(x)}")
    k, s, p, _ = _pool_args(op, kernel_size, stride, padding, 1, 3)
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    n, c, depth, h, w = x._data.shape
    d_out, slabs = _depth_slabs(op, x, k, s, p, (1, 1, 1), ceil_mode, 0.0)
    total = None
    for slab in slabs:  # window sums over H and W (zero padding), one depth offset at a time
        part = avg_pool2d(slab, k[1:], s[1:], p[1:], ceil_mode, True, divisor_override=1)
        total = part if total is None else total + part
    oh, ow = total._data.shape[2:]
    total = total.reshape(n, c, d_out, oh, ow)
    if divisor_override is not None:
        out = total / float(divisor_override)
    else:
        lengths = [_window_lengths(n_out, ki, si, pi, size, count_include_pad)
                   for n_out, ki, si, pi, size in zip((d_out, oh, ow), k, s, p, (depth, h, w))]
        divisor = np.einsum("i,j,k->ijk", *lengths).astype(x._data.dtype)
        out = total / Tensor._make(divisor)
    return out.squeeze(0) if unbatched else out
