"""Shape ops: reshape/view, permute/transpose, squeeze/unsqueeze, expand, repeat, cat/stack,
split/chunk/narrow, flip, roll.

Ops that return views (as PyTorch's do) share memory and the version counter with their
input, and remember how to replay the view, so that an in-place change of the view can
update the base's autograd history (see ``ops.inplace``).
"""
from __future__ import annotations

import builtins
from typing import Sequence

import numpy as np

from ..tensor import Tensor
from ._util import ShapeError, describe, normalize_dim, normalize_dims
from .function import Function


def mark_view(out: Tensor, base: Tensor, replay, *args) -> Tensor:
    """Record that ``out`` is a view of ``base`` made by ``replay(base, *args)``."""
    if not np.may_share_memory(out._data, base._data):
        return out
    out._version = base._version
    out._view_version = base._version[0]  # its grad_fn is current until the memory changes
    if base._base is None:
        out._base, out._view_fns = base, ((replay, args),)
    else:
        out._base, out._view_fns = base._base, base._view_fns + ((replay, args),)
    return out


class Reshape(Function):
    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad):
        return grad.reshape(self.in_shape)


class Permute(Function):
    def __init__(self, dims: tuple):
        self.dims = dims

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, grad):
        return grad.permute(tuple(np.argsort(self.dims)))


class Expand(Function):
    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, grad):
        return grad  # the engine sums it back to the input's shape


class Repeat(Function):
    def __init__(self, reps: tuple):
        self.reps = reps

    def forward(self, x):
        self.in_shape = (1,) * (len(self.reps) - x.ndim) + x.shape
        return np.tile(x, self.reps)

    def backward(self, grad):
        # View the gradient as (r0, s0, r1, s1, ...) and sum over the repeat axes.
        split = []
        for r, s in zip(self.reps, self.in_shape):
            split += [r, s]
        summed = grad.reshape(tuple(split)).sum(tuple(range(0, len(split), 2)))
        return summed


class Cat(Function):
    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, *arrays):
        self.sizes = [a.shape[self.dim] for a in arrays]
        return np.concatenate(arrays, axis=self.dim)

    def backward(self, grad):
        out, start = [], 0
        for size, edge in zip(self.sizes, self.next_functions):
            out.append(grad.narrow(self.dim, start, size) if edge is not None else None)
            start += size
        return tuple(out)


class Stack(Function):
    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, *arrays):
        return np.stack(arrays, axis=self.dim)

    def backward(self, grad):
        return tuple(grad.select(self.dim, i) if edge is not None else None
                     for i, edge in enumerate(self.next_functions))


class Flip(Function):
    def __init__(self, dims: tuple):
        self.dims = dims

    def forward(self, x):
        return np.flip(x, self.dims).copy()  # PyTorch's flip copies; it is not a view

    def backward(self, grad):
        return grad.flip(self.dims)


class Roll(Function):
    def __init__(self, shifts, dims):
        self.shifts, self.dims = shifts, dims

    def forward(self, x):
        return np.roll(x, self.shifts, self.dims)

    def backward(self, grad):
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return grad.roll(neg, self.dims)


class Tri(Function):
    def __init__(self, diagonal: int, upper: bool):
        self.diagonal, self.upper = diagonal, upper

    def forward(self, x):
        return (np.triu if self.upper else np.tril)(x, self.diagonal)

    def backward(self, grad):
        return grad.triu(self.diagonal) if self.upper else grad.tril(self.diagonal)


class Diagonal(Function):
    """The diagonal of the (dim1, dim2) planes, as a new last dim (a copy: NumPy's diagonal
    view is read-only, so in-place writes through it could not reach the input)."""

    def __init__(self, offset: int, dim1: int, dim2: int):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def forward(self, x):
        self.in_shape = x.shape
        return np.diagonal(x, self.offset, self.dim1, self.dim2).copy()

    def backward(self, grad):
        return DiagonalEmbed(self.offset, self.dim1, self.dim2, self.in_shape)(grad)


class DiagonalEmbed(Function):
    """The adjoint of ``Diagonal``: zeros of the input's shape with ``g`` on the diagonal."""

    def __init__(self, offset: int, dim1: int, dim2: int, shape: tuple):
        self.offset, self.dim1, self.dim2, self.shape = offset, dim1, dim2, shape

    def forward(self, g):
        out = np.zeros(self.shape, g.dtype)
        planes = np.moveaxis(out, (self.dim1, self.dim2), (-2, -1))  # a view into out
        i = np.arange(g.shape[-1])
        rows, cols = (i, i + self.offset) if self.offset >= 0 else (i - self.offset, i)
        planes[..., rows, cols] = g
        return out

    def backward(self, grad):
        return Diagonal(self.offset, self.dim1, self.dim2)(grad)


# -- functions -------------------------------------------------------------------------------


def _infer_shape(op: str, input: Tensor, shape: Sequence[int]) -> tuple:
    shape = tuple(int(s) for s in shape)
    size = input._data.size
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got shape {list(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {list(shape)}")
            known *= s
    if -1 in shape:
        if known == 0 or size % known:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {size}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {size}")
    return shape


def reshape(input: Tensor, shape) -> Tensor:
    """The same elements in a new shape: a view when the layout allows, else a copy."""
    shape = _infer_shape("reshape", input, shape)
    if shape == input._data.shape:
        return input
    return mark_view(Reshape(shape)(input), input, reshape, shape)


def view(input: Tensor, shape) -> Tensor:
    """Like reshape, but always a view; raises if the memory layout makes that impossible."""
    shape = _infer_shape("view", input, shape)
    try:
        np.reshape(input._data, shape, copy=False)
    except ValueError:
        raise RuntimeError(
            f"view: view size {list(shape)} is not compatible with input tensor's size "
            f"{list(input._data.shape)} and stride (at least one dimension spans across two "
            "contiguous subspaces). Use .reshape(...) instead.") from None
    return mark_view(Reshape(shape)(input), input, view, shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, (1,))
    s = normalize_dim("flatten", start_dim, nd)
    e = normalize_dim("flatten", end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input._data.shape
    return reshape(input, shape[:s] + (-1 if 0 not in shape[s:e + 1] else 0,) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    d = normalize_dim("unflatten", dim, input._data.ndim)
    shape = input._data.shape
    sizes = tuple(sizes)
    known = int(np.prod([s for s in sizes if s != -1]))
    if -1 not in sizes and known != shape[d]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {d} ({shape[d]}) in the input tensor")
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


def permute(input: Tensor, dims) -> Tensor:
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute: number of dims don't match: the tensor has {nd} dims "
                           f"but {len(dims)} were given ({list(dims)})")
    dims = normalize_dims("permute", dims, nd)
    if dims == tuple(range(nd)):
        return input
    return mark_view(Permute(dims)(input), input, permute, dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        return input
    d0, d1 = normalize_dim("transpose", dim0, nd), normalize_dim("transpose", dim1, nd)
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(input, tuple(dims))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input


def movedim(input: Tensor, source, destination) -> Tensor:
    nd = input._data.ndim
    src = normalize_dims("movedim", (source,) if isinstance(source, int) else source, nd)
    dst = normalize_dims("movedim", (destination,) if isinstance(destination, int)
                         else destination, nd)
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


def squeeze(input: Tensor, dim=None) -> Tensor:
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = normalize_dims("squeeze", dim, input._data.ndim)
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(input, new) if new != shape else input


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    d = normalize_dim("unsqueeze", dim, input._data.ndim + 1)
    shape = input._data.shape
    return reshape(input, shape[:d] + (1,) + shape[d:])


def expand(input: Tensor, sizes) -> Tensor:
    """Broadcast size-1 dims to ``sizes`` without copying (-1 keeps a dim's size)."""
    sizes = tuple(int(s) for s in sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        have = shape[i - lead] if i >= lead else None
        if s == -1:
            if have is None:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing "
                                   f"dimension ({i})")
            s = have
        if have is not None and have != 1 and have != s:
            raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the "
                               f"existing size ({have}) at non-singleton dimension {i}. Target "
                               f"sizes: {list(sizes)}. Tensor sizes: {list(shape)}")
        target.append(s)
    target = tuple(target)
    if target == shape:
        return input
    return mark_view(Expand(target)(input), input, expand, target)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, shape)


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def repeat(input: Tensor, reps) -> Tensor:
    reps = tuple(int(r) for r in reps)
    if len(reps) < input._data.ndim:
        raise RuntimeError("repeat: number of repeat dims can not be smaller than number of "
                           f"dimensions of tensor ({len(reps)} < {input._data.ndim})")
    return Repeat(reps)(input)


def tile(input: Tensor, dims) -> Tensor:
    dims = tuple(dims)
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


def _same_dtype(op: str, tensors) -> list:
    from .. import _dtype
    from ._util import as_tensor_arg, cast
    tensors = [as_tensor_arg(op, t) for t in tensors]
    if not tensors:
        raise RuntimeError(f"{op}: expected a non-empty list of Tensors")
    dtypes = {t._data.dtype for t in tensors}
    if len(dtypes) > 1:
        target = _dtype.result_type([t._data.dtype for t in tensors])
        tensors = [cast(t, target) for t in tensors]
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (all other dims must match)."""
    tensors = _same_dtype("cat", tensors)
    # PyTorch skips 1-D empty tensors (a legacy rule scripts rely on).
    kept = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or tensors[:1]
    nd = kept[0]._data.ndim
    if nd == 0:
        raise RuntimeError("cat: zero-dimensional tensor (at position 0) cannot be concatenated")
    d = normalize_dim("cat", dim, nd)
    ref = kept[0]._data.shape
    for i, t in enumerate(kept):
        s = t._data.shape
        if len(s) != nd or builtins.any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise ShapeError(f"cat: sizes of tensors must match except in dimension {d}; got "
                             f"{describe(kept[0])} and {describe(t)} (tensor {i})")
    if len(kept) == 1:
        return kept[0]
    return Cat(d)(*kept)


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim."""
    tensors = _same_dtype("stack", tensors)
    d = normalize_dim("stack", dim, tensors[0]._data.ndim + 1)
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != ref:
            raise ShapeError(f"stack: expects each tensor to be equal size, but got "
                             f"{list(ref)} at entry 0 and {list(t._data.shape)} at entry {i}")
    return Stack(d)(*tensors)


def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], 0)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = normalize_dim("narrow", dim, input._data.ndim)
    size = input._data.shape[d]
    start = int(start)
    if start < 0:
        start += size
    if not (0 <= start <= size and 0 <= length and start + length <= size):
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}) of dim {d}")
    index = (slice(None),) * d + (slice(start, start + length),)
    return input[index]


def select(input: Tensor, dim: int, index: int) -> Tensor:
    d = normalize_dim("select", dim, input._data.ndim)
    return input[(slice(None),) * d + (int(index),)]


def split(input: Tensor, split_size_or_sections, dim: int = 0):
    d = normalize_dim("split", dim, input._data.ndim)
    size = input._data.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0 and size:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        sizes = [builtins.min(step, size - s) for s in range(0, size, step)] if size else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != size:
            raise RuntimeError(f"split: split_with_sizes expects split_sizes to sum exactly to "
                               f"{size} (input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(input, d, start, s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0):
    if chunks <= 0:
        raise RuntimeError(f"chunk: number of chunks must be greater than 0, got {chunks}")
    d = normalize_dim("chunk", dim, input._data.ndim)
    size = input._data.shape[d]
    step = -(-size // chunks) if size else 1
    return split(input, step, d)


def tensor_split(input: Tensor, sections, dim: int = 0):
    d = normalize_dim("tensor_split", dim, input._data.ndim)
    size = input._data.shape[d]
    if isinstance(sections, int):
        base, extra = divmod(size, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
    else:
        bounds = [0] + [builtins.min(int(i), size) for i in sections] + [size]
        sizes = [builtins.max(b - a, 0) for a, b in zip(bounds, bounds[1:])]
    return split(input, sizes, d)


def unbind(input: Tensor, dim: int = 0):
    d = normalize_dim("unbind", dim, input._data.ndim)
    return tuple(select(input, d, i) for i in range(input._data.shape[d]))


def flip(input: Tensor, dims) -> Tensor:
    dims = normalize_dims("flip", dims, input._data.ndim)
    return Flip(dims)(input)


def fliplr(input: Tensor) -> Tensor:
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    return flip(input, (0,))


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    if dims is None:
        return reshape(Roll(shifts, None)(reshape(input, (-1,))), input._data.shape)
    if isinstance(shifts, (list, tuple)):
        shifts = tuple(shifts)
        dims = normalize_dims("roll", dims, input._data.ndim)
    else:
        dims = normalize_dim("roll", dims, input._data.ndim)
    return Roll(shifts, dims)(input)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return Tri(diagonal, False)(input)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return Tri(diagonal, True)(input)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The elements ``input[..., i, i + offset]`` of the (dim1, dim2) planes, in a new last dim."""
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError(f"diagonal: expected a tensor with at least 2 dims, got "
                           f"{describe(input)}")
    d1, d2 = normalize_dim("diagonal", dim1, nd), normalize_dim("diagonal", dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be identical, got {dim1} and {dim2}")
    return Diagonal(int(offset), d1, d2)(input)


def atleast_1d(input: Tensor) -> Tensor:
    return reshape(input, (1,)) if input._data.ndim == 0 else input


def atleast_2d(input: Tensor) -> Tensor:
    return reshape(input, (1,) * (2 - input._data.ndim) + input._data.shape) \
        if input._data.ndim < 2 else input


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A vector's square matrix with it on the ``diagonal``-th diagonal, or a matrix's
    ``diagonal``-th diagonal as a vector, as ``torch.diag``."""
    nd = input._data.ndim
    if nd == 1:
        n = input._data.shape[0] + builtins.abs(diagonal)
        return DiagonalEmbed(diagonal, 0, 1, (n, n))(input)
    if nd == 2:
        return Diagonal(diagonal, 0, 1)(input)
    raise RuntimeError(f"diag: supports 1-D or 2-D tensors, got {describe(input)}")


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors: with ``indexing="ij"`` (the default) output k
    varies along dim k; with ``"xy"`` the first two dims are swapped (as NumPy's)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors or any(t._data.ndim > 1 for t in tensors):
        raise RuntimeError("meshgrid: expected one or more 0-D or 1-D tensors, got "
                           + ", ".join(describe(t) for t in tensors))
    sizes = [t._data.size for t in tensors]
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        order[0], order[1] = 1, 0
    shape = [sizes[k] for k in order]
    grids = []
    for k, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[order.index(k)] = sizes[k]
        grids.append(expand(reshape(t, view), shape))
    return tuple(grids)


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place, as
    ``torch.repeat_interleave``; ``repeats`` is an int or a tensor with one count per slice.
    With no ``repeats``, ``input`` holds the counts and the result is the repeated indices."""
    from .indexing import index_select
    if repeats is None:
        counts = input._data
        return Tensor._make(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    d = normalize_dim("repeat_interleave", dim, input._data.ndim)
    n = input._data.shape[d]
    counts = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.ndim > 1 or (counts.ndim == 1 and counts.size not in (1, n)) or (counts < 0).any():
        raise RuntimeError(f"repeat_interleave: repeats must be a non-negative int or a 1-D "
                           f"tensor of {n} counts for {describe(input)} along dim {d}, got "
                           f"{repeats!r}")
    index = np.repeat(np.arange(n, dtype=np.int64), counts.reshape(-1) if counts.ndim else counts)
    if output_size is not None and output_size != index.size:
        raise RuntimeError(f"repeat_interleave: output_size={output_size}, but the repeats give "
                           f"{index.size}")
    return index_select(input, d, Tensor._make(index))
