"""Indexing: ``x[...]``, ``x[...] = v``, gather/scatter, index_select/index_add, masks.

Gradients of repeated indices accumulate (``np.add.at``), so ``x[[0, 0]].sum()`` gives 2
at position 0, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import ShapeError, as_tensor_arg, cast, describe, normalize_dim
from .function import Function
from .shape import mark_view


def _convert_index(index, shape=None):
    """Turn Tensors and lists inside an index into arrays; say whether it is basic (a view).

    With ``shape``, an index that mixes integers and arrays is rewritten where NumPy's layout
    of the result differs from PyTorch's (see ``_torch_layout``)."""
    if not isinstance(index, tuple):
        index = (index,)
    out, basic = [], True
    for item in index:
        if isinstance(item, Tensor):
            item = item._data
            if item.ndim == 0 and item.dtype.kind in "iu":
                item = int(item)
            else:
                basic = False
        elif isinstance(item, (list, np.ndarray)):
            item = np.asarray(item)
            if item.dtype == object:
                raise IndexError("index: nested sequences of tensors are not supported")
            basic = False
        elif isinstance(item, (bool, np.bool_)):
            basic = False
        elif item is not None and item is not Ellipsis and not isinstance(
                item, (int, slice, np.integer)):
            raise IndexError(f"index: only integers, slices, None, Ellipsis, and integer or "
                             f"boolean tensors are valid indices (got {type(item).__name__})")
        if isinstance(item, np.ndarray) and item.dtype.kind not in "iub":
            raise IndexError(f"index: tensors used as indices must be long, int or bool tensors, "
                             f"got {item.dtype}")
        out.append(item)
    if basic and not any(item is Ellipsis for item in out):
        out.append(Ellipsis)  # x[i, ...] is a 0-d view where x[i] would be a NumPy scalar copy
    if not basic and shape is not None and _layouts_differ(out):
        return _torch_layout(tuple(out), shape), False
    return tuple(out), basic


def _is_int(item) -> bool:
    return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))


def _layouts_differ(index) -> bool:
    """NumPy counts integers as advanced indices when arrays are present; PyTorch applies them
    first, as basic indices. The results differ when the integers alone keep the arrays
    apart (``x[0, :, [1, 2]]``: NumPy puts the indexed dim first, PyTorch last)."""
    def spread(keep) -> bool:
        at = [i for i, item in enumerate(index) if keep(item)]
        return bool(at) and at[-1] - at[0] + 1 != len(at)
    def is_array(item) -> bool:
        return isinstance(item, np.ndarray)
    if not any(_is_int(item) for item in index):
        return False
    kept = [item for item in index if not _is_int(item)]
    at = [i for i, item in enumerate(kept) if is_array(item)]
    arrays_adjacent = bool(at) and at[-1] - at[0] + 1 == len(at)
    return spread(lambda item: is_array(item) or _is_int(item)) and arrays_adjacent


def _torch_layout(index: tuple, shape: tuple) -> tuple:
    """The same elements as PyTorch's ``x[index]``, as one integer array per dim: apply the
    integers first (a basic index), then the rest, to an array of flat positions."""
    first, second = [], []
    for item in index:
        if _is_int(item):
            first.append(item)
        elif item is None or isinstance(item, (bool, np.bool_)):
            second.append(item)
        elif item is Ellipsis:
            first.append(Ellipsis)
            second.append(Ellipsis)
        elif isinstance(item, np.ndarray) and item.dtype == np.bool_:
            first.extend([slice(None)] * item.ndim)
            second.append(item)
        else:
            first.append(slice(None))
            second.append(item)
    positions = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return np.unravel_index(positions[tuple(first)][tuple(second)], shape)


class GetItem(Function):
    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.index]

    def backward(self, grad):
        return IndexBackward(self.index, self.in_shape)(grad)


class IndexBackward(Function):
    """Scatter-add a gradient into zeros at an index; its own VJP is indexing again."""

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(out, self.index, g)  # repeated indices accumulate
        return out

    def backward(self, grad):
        return GetItem(self.index)(grad)


class IndexPut(Function):
    """``out = x.copy(); out[index] = value``: the gradient of x is zero where overwritten."""

    once_differentiable = True

    def __init__(self, index):
        self.index = index

    def forward(self, x, value):
        out = x.copy()
        out[self.index] = value
        return out

    def backward(self, grad):
        g = grad._data.copy()
        region = np.array(g[self.index], copy=True)  # copy before zeroing: it may be a view
        g[self.index] = 0
        return Tensor._make(g), Tensor._make(region)


class IndexPutAccumulate(Function):
    """``out = x.copy(); out[index] += value``, repeated positions adding up (``np.add.at``):
    dL/dx = g, dL/dvalue = g[index]."""

    once_differentiable = True

    def __init__(self, index):
        self.index = index

    def forward(self, x, value):
        out = x.copy()
        np.add.at(out, self.index, value)
        return out

    def backward(self, grad):
        return grad, Tensor._make(np.array(grad._data[self.index], copy=True))


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]``: basic indexing returns a view, integer/boolean arrays a copy."""
    idx, basic = _convert_index(index, input._data.shape)
    try:
        out = GetItem(idx)(input)
    except IndexError as e:
        raise IndexError(f"index: {e} (indexing a tensor of shape {list(input._data.shape)})") \
            from None
    if basic:
        mark_view(out, input, getitem, index)
    return out


def index_put(input: Tensor, index, value, accumulate: bool = False) -> Tensor:
    """Out of place ``input[index] = value`` (value broadcasts to the indexed region), as
    ``torch.index_put`` (there ``index`` is a tuple of index tensors; here any index works).
    With ``accumulate`` the values are added, and positions indexed twice get both."""
    idx, _ = _convert_index(index, input._data.shape)
    if not isinstance(value, Tensor) and np.isscalar(value):
        value = Tensor._make(np.asarray(value, dtype=input._data.dtype))  # no float32 detour
    value = cast(as_tensor_arg("index_put", value), input._data.dtype)
    region_shape = np.empty(input._data.shape, dtype=bool)[idx].shape
    try:
        np.broadcast_shapes(value._data.shape, region_shape)
    except ValueError:
        raise ShapeError(f"index_put: shape mismatch: value tensor of shape "
                         f"{list(value._data.shape)} cannot be broadcast to indexing result of "
                         f"shape {list(region_shape)}") from None
    return (IndexPutAccumulate if accumulate else IndexPut)(idx)(input, value)


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value`` in place (tracked by autograd when needed)."""
    from .inplace import inplace
    inplace(input, index_put, index, value)


def _coords(index: np.ndarray, dim: int) -> tuple:
    """Full index arrays addressing ``x[i0, ..., index[i], ...]`` for gather/scatter."""
    grids = list(np.ogrid[tuple(slice(0, s) for s in index.shape)]) if index.ndim else []
    grids[dim] = index
    return tuple(grids)


def _check_index(op: str, input: Tensor, dim: int, index: Tensor, src=None) -> np.ndarray:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {idx.dtype}")
    if idx.ndim != input._data.ndim and idx.size:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor ({describe(index)} vs {describe(input)})")
    for d, (si, sx) in enumerate(zip(idx.shape, input._data.shape)):
        if d != dim and si > sx:
            raise RuntimeError(f"{op}(): Size does not match at dimension {d}: expected index "
                               f"{list(idx.shape)} to be no larger than self "
                               f"{list(input._data.shape)} apart from dimension {dim}")
    if src is not None:
        for d, (si, ss) in enumerate(zip(idx.shape, src._data.shape)):
            if si > ss:
                raise RuntimeError(f"{op}(): Expected index {list(idx.shape)} to be no larger "
                                   f"than src {list(src._data.shape)} at dimension {d}")
    size = input._data.shape[dim] if input._data.ndim else 1
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise RuntimeError(f"{op}(): index {int(idx.max() if idx.max() >= size else idx.min())} "
                           f"is out of bounds for dimension {dim} with size {size}")
    return idx


class Gather(Function):
    def __init__(self, dim: int, index: np.ndarray):
        self.dim, self.index = dim, index

    def forward(self, x):
        self.in_shape = x.shape
        return x[_coords(self.index, self.dim)]

    def backward(self, grad):
        zeros = Tensor._zeros(self.in_shape, grad._data.dtype)
        return ScatterAdd(self.dim, self.index)(zeros, grad)


class ScatterAdd(Function):
    """``out = x.copy(); out[index along dim] += src`` (repeats accumulate)."""

    def __init__(self, dim: int, index: np.ndarray):
        self.dim, self.index = dim, index

    def forward(self, x, src):
        out = x.copy()
        region = tuple(slice(0, s) for s in self.index.shape)
        np.add.at(out, _coords(self.index, self.dim), src[region])
        self.src_shape = src.shape
        return out

    def backward(self, grad):
        g_src = Gather(self.dim, self.index)(grad)
        if g_src._data.shape != self.src_shape:  # index smaller than src: pad with zeros
            g_src = _pad_to(g_src, self.src_shape)
        return grad, g_src


class Scatter(Function):
    """``out = x.copy(); out[index along dim] = src``."""

    def __init__(self, dim: int, index: np.ndarray):
        self.dim, self.index = dim, index

    def forward(self, x, src):
        out = x.copy()
        region = tuple(slice(0, s) for s in self.index.shape)
        src_region = src[region] if src.ndim else src
        out[_coords(self.index, self.dim)] = src_region
        self.src_shape = src.shape
        return out

    def backward(self, grad):
        need = self.next_functions
        g_x = g_src = None
        if need[0] is not None:  # max_unpool scatters into zeros that need no gradient
            keep = np.ones(grad.shape, dtype=bool)
            keep[_coords(self.index, self.dim)] = False
            from .elementwise import KeepWhere  # exact zeros where src went, as PyTorch's
            g_x = KeepWhere(keep)(grad)
        if need[1] is not None:
            g_src = Gather(self.dim, self.index)(grad)
            if self.src_shape == ():
                g_src = g_src.sum()
            elif g_src._data.shape != self.src_shape:
                g_src = _pad_to(g_src, self.src_shape)
        return g_x, g_src


def _pad_to(t: Tensor, shape: tuple) -> Tensor:
    region = tuple(slice(0, s) for s in t._data.shape)
    return index_put(Tensor._zeros(shape, t._data.dtype), region, t)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim=0 (and likewise for other dims)."""
    d = normalize_dim("gather", dim, input._data.ndim)
    idx = _check_index("gather", input, d, index)
    return Gather(d, idx)(input)


def scatter(input: Tensor, dim: int, index: Tensor, src, reduce=None) -> Tensor:
    """Out-of-place ``scatter_``: write ``src`` (a tensor or a number) at ``index`` along dim."""
    d = normalize_dim("scatter", dim, input._data.ndim)
    if reduce == "add":
        return scatter_add(input, d, index, src)
    if reduce is not None:
        raise RuntimeError(f"scatter: reduce={reduce!r} is not supported (use 'add' or None)")
    src = cast(as_tensor_arg("scatter", src), input._data.dtype)
    idx = _check_index("scatter", input, d, index, src if src._data.ndim else None)
    return Scatter(d, idx)(input, src)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    d = normalize_dim("scatter_add", dim, input._data.ndim)
    src = cast(as_tensor_arg("scatter_add", src), input._data.dtype)
    idx = _check_index("scatter_add", input, d, index, src)
    return ScatterAdd(d, idx)(input, src)


def add_rows_at(out: np.ndarray, index: np.ndarray, rows: np.ndarray) -> None:
    """``out[index[k]] += rows[k]`` for every k, repeated indices adding up (``np.add.at``).

    ``np.add.at`` adds row by row (1.3 ms for an embedding gradient of 2048 rows of 64); for
    many rows: sort the indices (stably, so each target's rows keep their order), sum each run
    of equal indices with one ``add.reduceat``, and add the sums in one fancy-indexed pass.
    """
    if index.size < 64:
        np.add.at(out, index, rows)
        return
    index = np.where(index < 0, index + out.shape[0], index)  # -1 and n-1: one target
    order = np.argsort(index, kind="stable")
    targets, starts = np.unique(index[order], return_index=True)
    out[targets] += np.add.reduceat(rows[order], starts, axis=0)


class IndexSelect(Function):
    def __init__(self, dim: int, index: np.ndarray):
        self.dim, self.index = dim, index

    def forward(self, x):
        self.in_shape = x.shape
        return np.take(x, self.index, axis=self.dim)

    def backward(self, grad):
        zeros = Tensor._zeros(self.in_shape, grad._data.dtype)
        return IndexAdd(self.dim, self.index)(zeros, grad)


class IndexAdd(Function):
    def __init__(self, dim: int, index: np.ndarray):
        self.dim, self.index = dim, index

    def forward(self, x, source):
        out = x.copy()
        moved = np.moveaxis(out, self.dim, 0)  # a view: adding into it writes into out
        add_rows_at(moved, self.index, np.moveaxis(source, self.dim, 0))
        return out

    def backward(self, grad):
        return grad, IndexSelect(self.dim, self.index)(grad)


def _check_1d_index(op: str, input: Tensor, dim: int, index) -> np.ndarray:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index, got {idx.dtype}")
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, got shape {list(idx.shape)}")
    idx = idx.reshape(-1)
    size = input._data.shape[dim] if input._data.ndim else 1
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexError(f"{op}(): index out of range in self (dim {dim} has size {size}, "
                         f"index range [{idx.min()}, {idx.max()}])")
    return idx


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    d = normalize_dim("index_select", dim, input._data.ndim)
    return IndexSelect(d, _check_1d_index("index_select", input, d, index))(input)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    d = normalize_dim("index_add", dim, input._data.ndim)
    idx = _check_1d_index("index_add", input, d, index)
    source = cast(as_tensor_arg("index_add", source), input._data.dtype)
    if alpha != 1:
        source = source * alpha
    return IndexAdd(d, idx)(input, source)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``value`` where ``mask`` (a bool tensor broadcastable to input) is True."""
    from .elementwise import where
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill: expected mask to be a bool tensor, got {m.dtype}")
    try:
        if np.broadcast_shapes(m.shape, input._data.shape) != input._data.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {list(m.shape)} is not broadcastable to "
                         f"input of shape {list(input._data.shape)}") from None
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError("masked_fill: only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s)")
        value = cast(value, input._data.dtype)
    else:
        value = input._data.dtype.type(value)
    return where(Tensor._make(m), value, input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    shape = np.broadcast_shapes(m.shape, input._data.shape)
    return getitem(input.expand(shape), Tensor._make(np.broadcast_to(m, shape)))


def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = normalize_dim("take_along_dim", dim, input._data.ndim)
    shape_in, shape_idx = list(input._data.shape), list(indices._data.shape)
    shape_in[d] = shape_idx[d] = 1
    b = np.broadcast_shapes(tuple(shape_in), tuple(shape_idx))
    target_in = b[:d] + (input._data.shape[d],) + b[d + 1:]
    target_idx = b[:d] + (indices._data.shape[d],) + b[d + 1:]
    return gather(input.expand(target_in), d,
                  Tensor._make(np.broadcast_to(indices._data, target_idx)))


def take(input: Tensor, index: Tensor) -> Tensor:
    return getitem(input.reshape(-1), index)


def nonzero(input: Tensor, *, as_tuple: bool = False):
    nz = np.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in nz)
    return Tensor._make(np.stack(nz, axis=1).astype(np.int64) if nz else
                        np.zeros((0, 0), np.int64))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter=None) -> Tensor:
    """For each value of ``input``, where it would be inserted into ``sorted_sequence`` to keep
    it sorted (the first such place, or with ``right``/``side="right"`` the last), as
    ``torch.searchsorted``. A 1-D sequence serves every value; an N-D one holds one sorted
    row per leading index of ``input``. Not differentiable."""
    seq = sorted_sequence._data
    values = input._data if isinstance(input, Tensor) else np.asarray(input)
    if side is not None:
        if side not in ("left", "right") or (right and side == "left"):
            raise RuntimeError(f"searchsorted: side must be 'left' or 'right' and agree with "
                               f"right={right}, got side={side!r}")
        right = side == "right"
    if sorter is not None:
        order = sorter._data if isinstance(sorter, Tensor) else np.asarray(sorter)
        seq = np.take_along_axis(seq, order, axis=-1)
    which = "right" if right else "left"
    if seq.ndim == 1:
        out = np.searchsorted(seq, values, side=which)
    elif seq.shape[:-1] != values.shape[:-1] or values.ndim != seq.ndim:
        raise RuntimeError(f"searchsorted: the sequence must be 1-D, or its leading dims must "
                           f"match the values' (got sequence {describe(sorted_sequence)} and "
                           f"values of shape {tuple(values.shape)})")
    else:  # one sorted row per leading index
        rows, vals = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        out = np.stack([np.searchsorted(r, v, side=which) for r, v in zip(rows, vals)])
        out = out.reshape(values.shape)
    return Tensor._make(np.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value among 1-D sorted ``boundaries`` (``searchsorted`` with the
    arguments swapped), as ``torch.bucketize``."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got {describe(boundaries)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """A histogram of all elements in ``bins`` equal-width bins over [min, max], as
    ``torch.histc``: the last bin includes ``max``, elements outside the range (and NaN) are
    not counted, ``min == max`` (by default both 0) means the data's own range, and an empty
    range is widened by 1 on each side. The counts have the input's dtype; not
    differentiable.

    Example:
        >>> histc(chainrule.tensor([1., 2., 1., 4.]), bins=3)
        tensor([2., 1., 1.])
    """
    data = input._data
    if data.dtype.kind != "f":
        raise NotImplementedError(f"histc: not implemented for {describe(input)}; use a "
                                  "floating-point input")
    bins = int(bins)
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, but got {bins}")
    lo, hi = data.dtype.type(min), data.dtype.type(max)
    if lo == hi and data.size:
        lo, hi = data.min(), data.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min, got min={min}, max={max}")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    inside = data[(data >= lo) & (data <= hi)]
    # PyTorch's linear interpolation, in the input's precision: (x - min) * bins / (max - min)
    pos = ((inside - lo) * data.dtype.type(bins) / (hi - lo)).astype(np.int64)
    counts = np.bincount(np.minimum(pos, bins - 1), minlength=bins)
    return Tensor._make(counts.astype(data.dtype))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements (or, with ``dim``, the distinct slices along it), sorted; with
    ``return_inverse`` the index of each input element (slice) among them, with
    ``return_counts`` how often each occurs. Not differentiable (as in PyTorch). The result
    is sorted whatever ``sorted`` says, as PyTorch's CPU kernel returns it."""
    data = input._data
    axis = None if dim is None else normalize_dim("unique", dim, data.ndim)
    values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True,
                                        axis=axis)
    out = [Tensor._make(values)]
    if return_inverse:
        shape = data.shape if axis is None else (data.shape[axis],)
        out.append(Tensor._make(inverse.reshape(shape).astype(np.int64)))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)

