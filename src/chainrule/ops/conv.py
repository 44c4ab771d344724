"""Convolution: ``conv2d``, its two adjoints, and im2col as a public op (``unfold``/``fold``).

A convolution is im2col (``ops.im2col``: every receptive field copied into a column, one
copy from a strided window view, no loop over pixels) followed by a GEMM,
``out = W (O, C*kh*kw) @ cols``, done for a chunk of a few images at a time (about 2 MB of
columns, see ``im2col.CHUNK_BYTES``) so that the GEMM reads columns that are still in cache.
With more than one thread set, a large batch is split into one contiguous block of images per
thread, each thread running its own chunks (``ops/_parallel.py``). Groups (depthwise
included) make each chunk's GEMM a batched GEMM.

The backward pass is made of the same pieces, and each piece is itself a differentiable op:

    y = conv(x, W)              dL/dx = conv_transpose(g, W)    dL/dW = weight_grad(x, g)
    conv_transpose(g, W)        its adjoints are conv and weight_grad again
    weight_grad(x, g)           likewise

so the three ops close under differentiation and second derivatives (``create_graph=True``)
work, at no cost to the first: ``weight_grad`` is the sum over chunks of ``g @ cols^T``, and
``conv_transpose`` is either ``W^T @ g`` followed by col2im (a loop over kernel offsets
adding strided slices) or, for stride 1 with no more output than input channels, itself a
convolution of the padded ``g`` with the flipped kernel (im2col and a GEMM, no scatter-add
passes), whichever moves less memory.

Speed notes (measured on the W2/W4 benchmarks): the column layout is channel-major and, for
stride 1, spans the padded width, so each kernel offset's copy is one contiguous run per
(channel, image); scratch arrays come from a reused workspace (``im2col.Workspace``), which
avoids the page faults of fresh multi-megabyte allocations.
"""
from __future__ import annotations

import numpy as np

from ..autograd import engine
from ..tensor import Tensor
from ._parallel import run_parallel
from ._util import describe
from .function import Function
from .im2col import (  # noqa: F401
    WORKSPACE,
    ConvGeometry,
    Workspace,
    _ntuple,
    chunk_groups,
    clear_workspace,
    col2im,
    col_width,
    from_columns,
    grouped_matmul,
    im2col,
    pad_zeros,
    pair,
    to_columns,
)

# -- the array code: convolution and its two adjoints, a chunk of images at a time ----------------


def _convolve(x: np.ndarray, w_mat: np.ndarray, g: ConvGeometry, oh: int, ow: int,
              bias=None) -> np.ndarray:
    """``x (N, C, H, W)`` convolved with ``w_mat (O, C/groups*kh*kw)``: im2col and one GEMM per
    chunk of images, each chunk's result written straight into its slice of the output."""
    n, c, h, wd = x.shape
    result = np.empty((n, w_mat.shape[0], oh, ow), dtype=np.result_type(x, w_mat))

    def work(parts):
        for part in parts:
            cols = im2col(x[part], g, oh, ow)
            out = grouped_matmul(w_mat, cols, g.groups)
            from_columns(out, part.stop - part.start, oh, ow, bias, out=result[part])
            WORKSPACE.release(cols, out)

    per_image = c * g.kh * g.kw * oh * col_width(g, ow, wd)
    run_parallel(work, chunk_groups(n, per_image * x.itemsize))
    return result


def _weight_grad(x: np.ndarray, grad: np.ndarray, g: ConvGeometry, weight_shape: tuple
                 ) -> np.ndarray:
    """dL/dW = sum over chunks of ``grad (O, rows) @ cols^T``, each chunk's columns made again
    from ``x``. Measured on W2 of benchmarks/: keeping forward's columns for this instead made
    the step slower (6.08 vs 5.86 ms): by backward they are out of cache, while the columns
    made again are in cache, in a reused buffer."""
    n, c, h, wd = x.shape
    o, oh, ow = grad.shape[1:]
    wq = col_width(g, ow, wd)
    k = c // g.groups * g.kh * g.kw
    dtype = np.result_type(x, grad)

    def work(parts):  # the sum over one thread's chunks
        total = np.zeros((g.groups, o // g.groups, k), dtype=dtype)
        product = np.empty_like(total)
        for part in parts:
            cols = im2col(x[part], g, oh, ow)
            g2 = to_columns(grad[part], wq)
            a = g2.reshape(g.groups, o // g.groups, -1)
            b = cols.reshape(g.groups, k, -1).transpose(0, 2, 1)
            if g.groups == 1 or product.size <= 500:
                # np.dot, not np.matmul: matmul keeps the GIL while BLAS runs when its result
                # has at most 500 elements (e.g. a first layer's 6x25 weights), which
                # serialised the threads' products (W2's conv1: 0.77 ms at 1 and 2 threads;
                # with np.dot 0.48 ms at 2). np.dot releases it whatever the size.
                for a_g, b_g, out_g in zip(a, b, product):
                    np.dot(a_g, b_g, out=out_g)
            else:
                np.matmul(a, b, out=product)
            total += product
            WORKSPACE.release(g2, cols)
        return total

    per_image = c * g.kh * g.kw * oh * wq
    totals = run_parallel(work, chunk_groups(n, per_image * x.itemsize))
    for other in totals[1:]:
        totals[0] += other
    return totals[0].reshape(weight_shape)


def _transpose_col2im(x: np.ndarray, w: np.ndarray, g: ConvGeometry, out_hw: tuple
                      ) -> np.ndarray:
    """The adjoint of a convolution in its input as ``W^T @ x`` (per chunk of images), each
    chunk's columns added back into its images by col2im."""
    n, o, oh, ow = x.shape
    c = w.shape[1] * g.groups
    wq = col_width(g, ow, out_hw[1])
    w_t = w.reshape(g.groups, o // g.groups, -1).transpose(0, 2, 1).reshape(-1, o // g.groups)
    result = np.empty((n, c) + tuple(out_hw), dtype=np.result_type(x, w))

    def work(parts):
        for part in parts:
            x2 = to_columns(x[part], wq)
            cols = grouped_matmul(w_t, x2, g.groups)  # (C*kh*kw, images*OH*Wq)
            col2im(cols, g, part.stop - part.start, c, out_hw, (oh, ow), out=result[part])
            WORKSPACE.release(x2, cols)

    per_image = c * g.kh * g.kw * oh * wq
    run_parallel(work, chunk_groups(n, per_image * x.itemsize))
    return result


# -- the three ops --------------------------------------------------------------------------------


def _bias_grad(grad: Tensor) -> Tensor:
    """dL/db: the output gradient summed over N, H and W. Unless a graph of the backward is
    being built, a batch of matrix-vector products with a ones vector (3x faster than
    NumPy's sum over axes (0, 2, 3), which is not contiguous)."""
    if engine.GRAD_ENABLED:
        return grad.sum((0, 2, 3))
    g = grad._data
    rows = g.reshape(g.shape[0], g.shape[1], -1)
    return Tensor._make((rows @ np.ones(rows.shape[2], dtype=g.dtype)).sum(0))


class Conv2d(Function):
    """out = W * x (+ b): im2col and one GEMM per chunk of images.

    dL/dx = conv_transpose(g, W); dL/dW = weight_grad(x, g); dL/db = sum of g over N, H, W.
    """

    saves_inputs = True

    def __init__(self, geometry: ConvGeometry):
        self.g = geometry

    def forward(self, x, w, b=None):
        h, wd = self.in_hw = x.shape[2:]
        oh, ow = self.g.out_size(h, wd)
        return _convolve(x, w.reshape(w.shape[0], -1), self.g, oh, ow, b)

    def backward(self, grad):
        saved = self.saved_inputs()
        x, w = saved[0], saved[1]
        need = self.next_functions
        grad_x = ConvTranspose2d(self.g, self.in_hw)(grad, w) if need[0] is not None else None
        grad_w = None
        if need[1] is not None:
            grad_w = Conv2dWeightGrad(self.g, w._data.shape)(x, grad)
        if len(need) == 3:
            return grad_x, grad_w, _bias_grad(grad) if need[2] is not None else None
        return grad_x, grad_w


class ConvTranspose2d(Function):
    """The adjoint of Conv2d in its input: ``W^T @ x`` then col2im (a scatter-add of windows).

    ``out_hw`` is the spatial size of the result (the conv's input size). With ``x`` of
    shape (N, O, OH, OW) and W of shape (O, C/groups, kh, kw) the result is (N, C, H, W).
    dL/dx = conv(gy, W); dL/dW = weight_grad(gy, x); dL/db = sum of gy.
    """

    saves_inputs = True

    def __init__(self, geometry: ConvGeometry, out_hw: tuple):
        self.g = geometry
        self.out_hw = out_hw

    def forward(self, x, w, b=None):
        g = self.g
        c = w.shape[1] * g.groups
        flipped = self._as_convolution()
        if flipped is not None and x.shape[1] <= c:
            # Out-channels <= in-channels: the im2col of x is then no larger than the W^T @ x
            # columns of the col2im route, and it saves col2im's read-modify-write passes.
            o, cg = w.shape[:2]
            w_t = w.reshape(g.groups, o // g.groups, cg, g.kh, g.kw).transpose(0, 2, 1, 3, 4)
            w_t = np.ascontiguousarray(w_t[..., ::-1, ::-1]).reshape(g.groups * cg, -1)
            out = _convolve(x, w_t, flipped, *self.out_hw)
        else:
            out = _transpose_col2im(x, w, g, self.out_hw)
        if b is not None:
            out += b.reshape(1, c, 1, 1)
        return out

    def _as_convolution(self) -> ConvGeometry | None:
        """With stride 1 the transpose is itself a convolution, of x padded by
        ``dilation*(k-1) - padding`` with the flipped, channel-swapped kernel."""
        g = self.g
        if not g.dense:
            return None
        ph, pw = g.dh * (g.kh - 1), g.dw * (g.kw - 1)
        pads = (ph - g.pt, ph - g.pb, pw - g.pl, pw - g.pr)
        if min(pads) < 0:
            return None
        return ConvGeometry((g.kh, g.kw), (1, 1), (g.dh, g.dw), pads, g.groups)

    def backward(self, grad):
        saved = self.saved_inputs()
        x, w = saved[0], saved[1]
        need = self.next_functions
        grad_x = Conv2d(self.g)(grad, w) if need[0] is not None else None
        grad_w = Conv2dWeightGrad(self.g, w._data.shape)(grad, x) if need[1] is not None \
            else None
        if len(need) == 3:
            return grad_x, grad_w, _bias_grad(grad) if need[2] is not None else None
        return grad_x, grad_w


class Conv2dWeightGrad(Function):
    """dL/dW of a convolution: ``g (O, N*OH*OW) @ cols^T``, a GEMM (per group) per chunk.

    Linear in both inputs: its adjoints are conv(x, gW) for g and conv_transpose(g, gW) for x.
    """

    saves_inputs = True

    def __init__(self, geometry: ConvGeometry, weight_shape: tuple):
        self.g = geometry
        self.weight_shape = weight_shape

    def forward(self, x, grad):
        self.in_hw = x.shape[2:]
        return _weight_grad(x, grad, self.g, self.weight_shape)

    def backward(self, grad_w):
        x, g = self.saved_inputs()
        need = self.next_functions
        grad_x = ConvTranspose2d(self.g, self.in_hw)(g, grad_w) if need[0] is not None else None
        grad_g = Conv2d(self.g)(x, grad_w) if need[1] is not None else None
        return grad_x, grad_g


# -- argument checking and the public functions -------------------------------------------------


def _check_float(op: str, *tensors) -> None:
    dtypes = {t._data.dtype for t in tensors if t is not None}
    if len(dtypes) > 1:
        raise RuntimeError(f"{op}: expected input, weight and bias to have the same dtype, got "
                           + ", ".join(describe(t) for t in tensors if t is not None))
    if any(d.kind != "f" for d in dtypes):
        raise RuntimeError(f"{op}: expected floating-point tensors, got "
                           + ", ".join(describe(t) for t in tensors if t is not None))


def conv_padding(op: str, padding, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """PyTorch's padding argument (int, tuple, 'same', 'valid') as (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)  # PyTorch puts the odd extra pixel at the end
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    ph, pw = pair(padding, op, "padding")
    if ph < 0 or pw < 0:
        raise RuntimeError(f"{op}: negative padding is not supported, got {padding}")
    return (ph, ph, pw, pw)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in every deep-learning library).

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, kH, kW)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: an int or a pair.
        padding: an int, a pair, ``'valid'`` (no padding) or ``'same'`` (output as large as
            the input; stride 1 only; an odd total puts the extra row/column at the end).
        groups: split channels into this many independent convolutions (``groups ==
            C_in`` is a depthwise convolution).

    Shape:
        ``H_out = floor((H + 2*padding - dilation*(kH - 1) - 1) / stride) + 1``, same for W.

    Example:
        >>> x = chainrule.randn(8, 3, 32, 32)
        >>> w = chainrule.randn(16, 3, 3, 3)
        >>> conv2d(x, w, padding=1).shape
        chainrule.Size([8, 16, 32, 32])
    """
    op = "conv2d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: expected Tensors for input and weight, got "
                        f"{type(input).__name__} and {type(weight).__name__}")
    unbatched = input._data.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input._data.ndim != 4 or weight._data.ndim != 4:
        raise RuntimeError(f"{op}: expected a 4-D input (N, C, H, W) or 3-D (C, H, W) and a "
                           f"4-D weight (C_out, C_in/groups, kH, kW), got input "
                           f"{describe(input)} and weight {describe(weight)}")
    _check_float(op, input, weight, bias)
    geometry = _geometry(op, input._data.shape, weight._data.shape, bias, stride, padding,
                         dilation, groups)
    fn = Conv2d(geometry)
    out = fn(input, weight) if bias is None else fn(input, weight, bias)
    return out.squeeze(0) if unbatched else out


def _geometry(op, in_shape, w_shape, bias, stride, padding, dilation, groups) -> ConvGeometry:
    n, c, h, w = in_shape
    o, cg, kh, kw = w_shape
    groups = int(groups)
    if groups < 1:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got {groups}")
    if cg * groups != c:
        raise RuntimeError(f"{op}: given groups={groups}, weight of size {list(w_shape)}, "
                           f"expected input{list(in_shape)} to have {cg * groups} channels, "
                           f"but got {c} channels instead")
    if o % groups:
        raise RuntimeError(f"{op}: given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size {list(w_shape)}")
    if bias is not None and tuple(bias._data.shape) != (o,):
        raise RuntimeError(f"{op}: expected bias of shape ({o},) for a weight of size "
                           f"{list(w_shape)}, got {describe(bias)}")
    stride_t = pair(stride, op, "stride")
    dilation_t = pair(dilation, op, "dilation")
    if min(stride_t) < 1 or min(dilation_t) < 1:
        raise RuntimeError(f"{op}: stride and dilation must be positive, got stride={stride}, "
                           f"dilation={dilation}")
    pads = conv_padding(op, padding, (kh, kw), stride_t, dilation_t)
    geometry = ConvGeometry((kh, kw), stride_t, dilation_t, pads, groups)
    eff_h, eff_w = dilation_t[0] * (kh - 1) + 1, dilation_t[1] * (kw - 1) + 1
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    if hp < eff_h or wp < eff_w:
        raise RuntimeError(f"{op}: calculated padded input size per channel: ({hp} x {wp}). "
                           f"Kernel size: ({eff_h} x {eff_w}). Kernel size can't be greater "
                           "than actual input size")
    return geometry


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution"): the adjoint of ``conv2d`` in its input.

    Args:
        input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
        weight: ``(C_in, C_out / groups, kH, kW)`` (note: in-channels first, as PyTorch).
        bias: ``(C_out,)`` or None.
        stride, padding, dilation: those of the convolution this op transposes.
        output_padding: extra rows/columns added at the end of the output (``< stride`` or
            ``< dilation``), to pick among the input sizes that a strided conv maps to H.

    Shape:
        ``H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1``.

    Example:
        >>> up = conv_transpose2d(chainrule.randn(1, 4, 8, 8), chainrule.randn(4, 2, 2, 2),
        ...                       stride=2)
        >>> up.shape
        chainrule.Size([1, 2, 16, 16])
    """
    op = "conv_transpose2d"
    unbatched = input._data.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input._data.ndim != 4 or weight._data.ndim != 4:
        raise RuntimeError(f"{op}: expected a 4-D input (N, C_in, H, W) and a 4-D weight "
                           f"(C_in, C_out/groups, kH, kW), got input {describe(input)} and "
                           f"weight {describe(weight)}")
    _check_float(op, input, weight, bias)
    n, cin, h, w = input._data.shape
    wcin, coutg, kh, kw = weight._data.shape
    groups = int(groups)
    if wcin != cin or cin % groups:
        raise RuntimeError(f"{op}: given groups={groups}, weight of size "
                           f"{list(weight._data.shape)}, expected input{[n, cin, h, w]} to have "
                           f"{wcin} channels, but got {cin} channels instead")
    if bias is not None and tuple(bias._data.shape) != (coutg * groups,):
        raise RuntimeError(f"{op}: expected bias of shape ({coutg * groups},), got "
                           f"{describe(bias)}")
    s = pair(stride, op, "stride")
    p = pair(padding, op, "padding")
    d = pair(dilation, op, "dilation")
    op_ = pair(output_padding, op, "output_padding")
    for a, sa, da in zip(op_, s, d):
        if a >= sa and a >= da:
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                               f"dilation, got output_padding={output_padding}, stride={stride},"
                               f" dilation={dilation}")
    out_h = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op_[0] + 1
    out_w = (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op_[1] + 1
    if out_h <= 0 or out_w <= 0:
        raise RuntimeError(f"{op}: the output size ({out_h} x {out_w}) is too small for input "
                           f"{describe(input)} with this stride/padding")
    geometry = ConvGeometry((kh, kw), s, d, (p[0], p[0], p[1], p[1]), groups)
    fn = ConvTranspose2d(geometry, (out_h, out_w))
    out = fn(input, weight) if bias is None else fn(input, weight, bias)
    return out.squeeze(0) if unbatched else out


# -- unfold / fold: im2col as a public op --------------------------------------------------------


class Unfold(Function):
    """Sliding blocks of (N, C, H, W) as columns (N, C*kh*kw, L). Adjoint: Fold."""

    def __init__(self, geometry: ConvGeometry):
        self.g = geometry

    def forward(self, x):
        n, c, h, w = x.shape
        oh, ow = self.g.out_size(h, w)
        self.in_hw = (h, w)
        cols = im2col(x, self.g, oh, ow)
        out = from_columns(cols, n, oh, ow)  # (N, C*kk, OH, OW)
        WORKSPACE.release(cols)
        return out.reshape(n, -1, oh * ow)

    def backward(self, grad):
        return Fold(self.g, self.in_hw)(grad)


class Fold(Function):
    """Sum columns (N, C*kh*kw, L) back into an (N, C, H, W) image. Adjoint: Unfold."""

    def __init__(self, geometry: ConvGeometry, out_hw: tuple):
        self.g = geometry
        self.out_hw = out_hw

    def forward(self, x):
        g = self.g
        n, ckk, _ = x.shape
        h, w = self.out_hw
        oh, ow = g.out_size(h, w)
        cols = to_columns(x.reshape(n, ckk, oh, ow), col_width(g, ow, w))
        out = col2im(cols, g, n, ckk // (g.kh * g.kw), (h, w), (oh, ow))
        WORKSPACE.release(cols)
        return out

    def backward(self, grad):
        return Unfold(self.g)(grad)


def _fold_geometry(op, kernel_size, dilation, padding, stride) -> ConvGeometry:
    k = pair(kernel_size, op, "kernel_size")
    d = pair(dilation, op, "dilation")
    p = pair(padding, op, "padding")
    s = pair(stride, op, "stride")
    if min(k) < 1 or min(d) < 1 or min(s) < 1 or min(p) < 0:
        raise RuntimeError(f"{op}: kernel_size, dilation and stride must be positive and padding"
                           f" non-negative, got kernel_size={kernel_size}, dilation={dilation}, "
                           f"padding={padding}, stride={stride}")
    return ConvGeometry(k, s, d, (p[0], p[0], p[1], p[1]), 1)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks (im2col): ``(N, C, H, W) -> (N, C*kH*kW, L)``.

    Column ``l`` holds the block at output position ``l`` (row-major over the output grid);
    rows are ordered channel first, then kernel row, then kernel column (as PyTorch).

    Example:
        >>> unfold(chainrule.arange(16.).reshape(1, 1, 4, 4), 2, stride=2).shape
        chainrule.Size([1, 4, 4])
    """
    op = "unfold"
    unbatched = input._data.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input._data.ndim != 4:
        raise RuntimeError(f"{op}: expected a 3-D or 4-D input, got {describe(input)}")
    g = _fold_geometry(op, kernel_size, dilation, padding, stride)
    h, w = input._data.shape[2:]
    oh, ow = g.out_size(h, w)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"{op}: the kernel {(g.kh, g.kw)} (dilation {(g.dh, g.dw)}) does "
                           f"not fit the padded input of {describe(input)}")
    out = Unfold(g)(input)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding blocks into an image (col2im), summing overlaps: the adjoint of unfold.

    ``(N, C*kH*kW, L) -> (N, C, H, W)`` with ``(H, W) = output_size``; L must equal the number
    of blocks that fit. ``fold(unfold(x))`` multiplies each pixel by how many blocks cover it.
    """
    op = "fold"
    unbatched = input._data.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    if input._data.ndim != 3:
        raise RuntimeError(f"{op}: expected a 2-D or 3-D input (N, C*kH*kW, L), got "
                           f"{describe(input)}")
    g = _fold_geometry(op, kernel_size, dilation, padding, stride)
    h, w = pair(output_size, op, "output_size")
    n, ckk, length = input._data.shape
    oh, ow = g.out_size(h, w)
    if ckk % (g.kh * g.kw):
        raise RuntimeError(f"{op}: expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size ({g.kh * g.kw}), got {describe(input)}")
    if oh * ow != length or oh < 1 or ow < 1:
        raise RuntimeError(f"{op}: given output_size={(h, w)}, kernel_size={(g.kh, g.kw)}, "
                           f"dilation={(g.dh, g.dw)}, padding={(g.pt, g.pl)}, stride="
                           f"{(g.sh, g.sw)}, expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {oh} * {ow} = {oh * ow}, but "
                           f"got input.size(2)={length}")
    out = Fold(g, (h, w))(input)
    return out.squeeze(0) if unbatched else out
