"""im2col and its adjoint, the column layout, and the conv ops' scratch-buffer workspace.

``im2col`` copies every receptive field of a batch into one column of ``cols`` (rows ordered
channel, kernel row, kernel column), with one copy from a strided window view and no loop
over pixels, samples or kernel offsets, so that a convolution is one GEMM
``W (O, C*kh*kw) @ cols``.
``col2im`` adds columns back into an image (where windows overlap, contributions sum).
``to_columns``/``from_columns`` move an (N, K, OH, OW) array into and out of the same column
layout. All array code of the convolution ops lives here and in ``conv.py``.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _parallel

# -- geometry -----------------------------------------------------------------------------------


def _ntuple(value, n: int, op: str, name: str) -> tuple:
    """An int or a sequence of n ints as an n-tuple of Python ints (PyTorch's ``_pair``)."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got "
                        f"{value!r}") from None
    if len(out) == 1:
        return out * n
    if len(out) != n:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return out


def pair(value, op: str = "conv2d", name: str = "argument") -> tuple:
    return _ntuple(value, 2, op, name)


class ConvGeometry:
    """Kernel size, stride, dilation, padding (top, bottom, left, right) and groups of a 2-D
    convolution; shared by the conv op and its adjoints."""

    __slots__ = ("kh", "kw", "sh", "sw", "dh", "dw", "pt", "pb", "pl", "pr", "groups")

    def __init__(self, kernel, stride, dilation, pads, groups: int):
        self.kh, self.kw = kernel
        self.sh, self.sw = stride
        self.dh, self.dw = dilation
        self.pt, self.pb, self.pl, self.pr = pads
        self.groups = groups

    def out_size(self, h: int, w: int) -> tuple:
        oh = (h + self.pt + self.pb - self.dh * (self.kh - 1) - 1) // self.sh + 1
        ow = (w + self.pl + self.pr - self.dw * (self.kw - 1) - 1) // self.sw + 1
        return oh, ow

    @property
    def padded(self) -> bool:
        return bool(self.pt or self.pb or self.pl or self.pr)

    @property
    def dense(self) -> bool:
        """Stride 1: every kernel offset's columns are contiguous runs (see im2col)."""
        return self.sh == 1 and self.sw == 1


class Workspace:
    """Large scratch arrays of the conv ops, kept between calls and handed out again.

    Why: a fresh multi-megabyte array is new memory from the OS, whose every page the kernel
    must fault in and zero on first touch; for a VGG-style training step that was ~15% of the
    time (measured). The conv temporaries (im2col columns, padded planes, column-layout
    gradients, GEMM outputs) have the same shapes every step, so after use each goes back
    here (at most ``per_shape`` arrays per shape and dtype for each thread the ops may use,
    only arrays of at least 1 MiB). Only arrays the ops allocate and consume themselves pass
    through; results never do. ``clear_workspace()`` gives the memory back.
    """

    min_bytes = 1 << 20

    def __init__(self, per_shape: int = 2):
        self.per_shape = per_shape
        self._free: dict = {}

    def _take(self, shape: tuple, dtype):
        try:  # pop() is atomic: two threads never get the same array
            return self._free[(shape, np.dtype(dtype))].pop()
        except (KeyError, IndexError):
            return None

    def empty(self, shape: tuple, dtype) -> np.ndarray:
        out = self._take(shape, dtype)
        return np.empty(shape, dtype=dtype) if out is None else out

    def zeros(self, shape: tuple, dtype) -> np.ndarray:
        out = self._take(shape, dtype)
        if out is None:
            return np.zeros(shape, dtype=dtype)
        out.fill(0)
        return out

    def release(self, *arrays) -> None:
        for a in arrays:
            if a is None:
                continue
            while isinstance(a.base, np.ndarray) and a.base.size == a.size:
                a = a.base  # a reshaped view of a buffer: keep the buffer itself
            if a.base is not None or a.nbytes < self.min_bytes or not a.flags.c_contiguous:
                continue
            free = self._free.setdefault((a.shape, a.dtype), [])
            limit = self.per_shape * _parallel.threads()
            if len(free) < limit and not any(f is a for f in free):
                free.append(a)

    def clear(self) -> None:
        self._free.clear()

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for free in self._free.values() for a in free)


WORKSPACE = Workspace()


def clear_workspace() -> None:
    """Free the scratch buffers the conv ops keep for reuse (see ``Workspace``)."""
    WORKSPACE.clear()


def pad_zeros(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """Zero-pad the last two axes (one allocation and one copy; no copy without padding)."""
    if not g.padded:
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + g.pt + g.pb, w + g.pl + g.pr), dtype=x.dtype)
    xp[:, :, g.pt:g.pt + h, g.pl:g.pl + w] = x
    return xp


# Column layout. ``cols`` has one row per (channel, kernel row, kernel column) and one column
# per output position, ordered (N, OH, Wq). For a strided convolution Wq = OW. For stride 1
# ("dense"), Wq = Wp, the padded width: each output row is computed over the full padded
# width and the last Wp - OW columns are junk that is cropped (its gradient is zero). That
# makes every kernel offset's block of cols ONE contiguous run per (channel, image) -
# ``plane[c, n, i*Wp + j : ... + OH*Wp]`` - so im2col/col2im copy long runs instead of rows
# of OW floats (2-3x faster for small images) for 6-40% more GEMM columns.


def col_width(g: ConvGeometry, ow: int, w: int) -> int:
    return w + g.pl + g.pr if g.dense else ow


def im2col(x: np.ndarray, g: ConvGeometry, oh: int, ow: int) -> np.ndarray:
    """Receptive fields of ``x (N, C, H, W)`` as ``cols (C*kh*kw, N*OH*Wq)`` (see above).

    One copy from a strided window view of the (padded) input, no loop over pixels, images or
    kernel offsets: a single NumPy call per chunk of images also means a single release of
    the GIL, which matters when chunks run on several threads (ops/_parallel.py).
    """
    n, c, h, w = x.shape
    if g.dense:
        hp, wp = h + g.pt + g.pb, w + g.pl + g.pr
        plane = _plane(x, g, hp, wp)
        length = oh * wp
        cols = WORKSPACE.empty((c * g.kh * g.kw, n * length), x.dtype)
        s_c, s_n, s_e = plane.strides  # kernel offset (i, j) starts i*dh*Wp + j*dw further on
        windows = as_strided(plane, (c, g.kh, g.kw, n, length),
                             (s_c, g.dh * wp * s_e, g.dw * s_e, s_n, s_e), writeable=False)
        np.copyto(cols.reshape(windows.shape), windows)
        WORKSPACE.release(plane)
        return cols
    xp = pad_zeros(x, g)
    s_n, s_c, s_h, s_w = xp.strides
    windows = as_strided(xp, (c, g.kh, g.kw, n, oh, ow),
                         (s_c, g.dh * s_h, g.dw * s_w, s_n, g.sh * s_h, g.sw * s_w),
                         writeable=False)
    cols = WORKSPACE.empty((c * g.kh * g.kw, n * oh * ow), x.dtype)
    np.copyto(cols.reshape(windows.shape), windows)
    return cols


def _plane(x: np.ndarray, g: ConvGeometry, hp: int, wp: int) -> np.ndarray:
    """x zero-padded, channel-major and flattened per image: (C, N, Hp*Wp + slack); the slack
    lets the junk columns of the last row read past the image without going out of bounds."""
    n, c, h, w = x.shape
    size = hp * wp
    plane = WORKSPACE.empty((c, n, size + (g.kw - 1) * g.dw), x.dtype)
    image = plane[:, :, :size].reshape(c, n, hp, wp)
    image[:, :, g.pt:g.pt + h, g.pl:g.pl + w] = x.transpose(1, 0, 2, 3)
    # Zero only the border and the slack (a full zero fill would be one more pass).
    plane[:, :, :g.pt * wp] = 0
    plane[:, :, (g.pt + h) * wp:] = 0
    if g.pl:
        image[:, :, g.pt:g.pt + h, :g.pl] = 0
    if g.pr:
        image[:, :, g.pt:g.pt + h, g.pl + w:] = 0
    return plane


def col2im(cols: np.ndarray, g: ConvGeometry, n: int, c: int, hw: tuple, ohw: tuple,
           out: np.ndarray | None = None) -> np.ndarray:
    """The adjoint of im2col: add ``cols (C*kh*kw, N*OH*Wq)`` back into an (N, C, H, W)
    image (sums where windows overlap; junk columns must hold zeros), ``out`` or a new one."""
    h, w = hw
    oh, ow = ohw
    hp, wp = h + g.pt + g.pb, w + g.pl + g.pr
    if g.dense:
        blocks = cols.reshape(c, g.kh, g.kw, n, oh * wp)
        plane = WORKSPACE.zeros((c, n, hp * wp + (g.kw - 1) * g.dw), cols.dtype)
        length = oh * wp
        for i in range(g.kh):
            for j in range(g.kw):
                offset = i * g.dh * wp + j * g.dw
                plane[:, :, offset:offset + length] += blocks[:, i, j]
        image = plane[:, :, :hp * wp].reshape(c, n, hp, wp)
    else:
        plane = None
        blocks = cols.reshape(c, g.kh, g.kw, n, oh, ow)
        image = np.zeros((c, n, hp, wp), dtype=cols.dtype)
        h_span, w_span = g.sh * (oh - 1) + 1, g.sw * (ow - 1) + 1
        for i in range(g.kh):
            r = i * g.dh
            for j in range(g.kw):
                q = j * g.dw
                image[:, :, r:r + h_span:g.sh, q:q + w_span:g.sw] += blocks[:, i, j]
    if out is None:
        out = np.empty((n, c, h, w), dtype=cols.dtype)  # a fresh result, not a workspace view
    np.copyto(out, image[:, :, g.pt:g.pt + h, g.pl:g.pl + w].transpose(1, 0, 2, 3))
    WORKSPACE.release(plane)
    return out


def to_columns(a: np.ndarray, wq: int) -> np.ndarray:
    """An (N, K, OH, OW) array (output gradient, fold input) in column layout (K, N*OH*Wq),
    junk columns zero; a workspace array (release it after use)."""
    n, k, oh, ow = a.shape
    out = WORKSPACE.empty((k, n * oh * wq), a.dtype)
    blocks = out.reshape(k, n, oh, wq)
    blocks[:, :, :, :ow] = a.transpose(1, 0, 2, 3)
    if wq > ow:
        blocks[:, :, :, ow:] = 0
    return out


def from_columns(a: np.ndarray, n: int, oh: int, ow: int, bias=None, out=None) -> np.ndarray:
    """Column layout (K, N*OH*Wq) back to (N, K, OH, OW), junk cropped, plus an optional
    per-channel bias (added in the same pass as the copy); into ``out`` or a new array."""
    k = a.shape[0]
    a = a.reshape(k, n, oh, -1)[:, :, :, :ow].transpose(1, 0, 2, 3)
    if out is None:
        out = np.empty((n, k, oh, ow), dtype=a.dtype)
    if bias is None:
        np.copyto(out, a)
    else:
        np.add(a, bias.reshape(1, k, 1, 1), out=out)
    return out


# The conv ops run im2col and the GEMM a few images at a time, so that the columns of a chunk
# (at most CHUNK_BYTES, unless one image needs more) are still in cache when the GEMM reads
# them; it also bounds a convolution's scratch memory to a few chunk-sized buffers. Chunks
# cost Python work (padding, GEMM, copy out), so a batch with at most ONE_CHUNK_BYTES of
# columns is done in one. Measured on the training steps of benchmarks/, 1 thread: W4's 32-
# and 64-channel 3x3 convolutions (40 and 10 MB of columns) gained most with 2 MB chunks
# (step: 78.8 ms in one chunk, 73.2 ms in 6 MB chunks, 69.1 ms in 2 MB, 70.1 in 1 MB); W2's
# two (5.7 and 5.4 MB) were faster in 2 MB chunks than in one (6.17 against 6.38 ms, steps
# alternating in one process), while at 2 threads each thread's half of the batch (2.8 MB)
# was best in one chunk (5.05 ms against 5.32 in 2 MB chunks).
CHUNK_BYTES = 2 << 20
ONE_CHUNK_BYTES = 3 << 20


def image_chunks(start: int, stop: int, bytes_per_image: int) -> list:
    """Slices of the batch axis from start to stop: all in one if their columns take at most
    ONE_CHUNK_BYTES, else chunks of about CHUNK_BYTES of columns (at least one image each)."""
    if (stop - start) * bytes_per_image <= ONE_CHUNK_BYTES:
        return [slice(start, stop)]
    step = max(1, CHUNK_BYTES // max(1, bytes_per_image))
    return [slice(first, min(first + step, stop)) for first in range(start, stop, step)]


# A convolution with at least this many bytes of columns splits its batch over the threads
# that set_num_threads allows (see ops/_parallel.py); below it, handing work to another
# thread costs more than it saves.
PARALLEL_MIN_BYTES = 1 << 20


def chunk_groups(n: int, bytes_per_image: int) -> list:
    """The batch as one group of image chunks per thread: the images split evenly into
    contiguous ranges, each range cut into chunks by ``image_chunks``."""
    return [image_chunks(part.start, part.stop, bytes_per_image)
            for part in _parallel.blocks(n, n * bytes_per_image, PARALLEL_MIN_BYTES)]


def grouped_matmul(a: np.ndarray, b: np.ndarray, groups: int) -> np.ndarray:
    """``a (G*M, K) @ b (G*K, P)`` block-diagonally, as one GEMM or one batched GEMM, into a
    workspace array (release it after use). Inside a parallel section (see chunk_groups) it
    runs on its caller's thread alone; otherwise on all the BLAS threads set."""
    m, p = a.shape[0] // groups, b.shape[1]
    out = WORKSPACE.empty((groups * m, p), np.result_type(a, b))
    if groups == 1:
        return np.matmul(a, b, out=out)
    k = a.shape[1]
    np.matmul(a.reshape(groups, m, k), b.reshape(groups, k, p), out=out.reshape(groups, m, p))
    return out
