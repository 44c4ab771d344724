"""Making tensors: ``tensor``, ``zeros``, ``arange``, ``eye``, ... (PyTorch's signatures)."""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .._device import check_device
from ..tensor import Size, Tensor


def _np_dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else _dtype.get_default_dtype().np
    return _dtype.to_numpy_dtype(dtype)


def _size(size) -> tuple:
    """``zeros(2, 3)``, ``zeros((2, 3))`` and ``zeros([2, 3])`` all mean shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = size[0]
    try:
        shape = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"expected a sequence of ints as size, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    return shape


def _finish(array: np.ndarray, requires_grad: bool, device=None, where: str = "tensor") -> Tensor:
    check_device(device, where)
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_np_dtype(data) -> np.dtype:
    """PyTorch's inference: bools -> bool, ints -> int64, any float -> the default float."""
    flat = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            flat.append(item)
    if any(isinstance(v, Tensor) for v in flat):
        dts = [v._data.dtype if isinstance(v, Tensor) else _dtype.scalar_np_dtype(v) for v in flat]
        return _dtype.result_type(dts)
    if not flat:
        return _dtype.get_default_dtype().np
    if all(isinstance(v, (bool, np.bool_)) for v in flat):
        return np.dtype(np.bool_)
    if all(isinstance(v, (int, np.integer, bool, np.bool_)) for v in flat):
        return np.dtype(np.int64)
    for v in flat:
        if isinstance(v, (float, int, np.number)):
            continue
        raise TypeError(f"tensor: could not infer dtype of {type(v).__name__}")
    return _dtype.get_default_dtype().np


def _unwrap(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors)."""
    if isinstance(data, Tensor):
        array = np.array(data._data, dtype=_np_dtype(dtype, data._data.dtype), copy=True)
    elif isinstance(data, np.ndarray):
        array = np.array(data, dtype=_np_dtype(dtype, data.dtype), copy=True)
        _dtype.from_numpy_dtype(array.dtype)
    else:
        np_dtype = _np_dtype(dtype, None) if dtype is not None else _infer_np_dtype(data)
        try:
            array = np.array(_unwrap(data), dtype=np_dtype)
        except ValueError as e:
            raise ValueError(f"tensor: can't build a tensor from ragged or invalid data ({e})") \
                from None
    return _finish(array, requires_grad, device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        _dtype.from_numpy_dtype(data.dtype)
        return _finish(data if dtype is None else data.astype(_np_dtype(dtype)), False, device)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (changes to one show in the other)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)
    return Tensor._make(ndarray)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_size(size), _np_dtype(dtype)), requires_grad, device, "zeros")


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_size(size), _np_dtype(dtype)), requires_grad, device, "ones")


def empty(*size, dtype=None, device=None, requires_grad: bool = False,
          memory_format=None, pin_memory=False) -> Tensor:
    return _finish(np.empty(_size(size), _np_dtype(dtype)), requires_grad, device, "empty")


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _dtype.from_numpy_dtype(_dtype.scalar_np_dtype(fill_value)) if not isinstance(
            fill_value, Tensor) else fill_value.dtype
    value = fill_value._data if isinstance(fill_value, Tensor) else fill_value
    return _finish(np.full(_size((size,)), value, _np_dtype(dtype)), requires_grad, device,
                   "full")


def _like(input: Tensor, dtype):
    return input._data.shape, _np_dtype(dtype, input._data.dtype)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    shape, dt = _like(input, dtype)
    return _finish(np.zeros(shape, dt), requires_grad, device, "zeros_like")


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    shape, dt = _like(input, dtype)
    return _finish(np.ones(shape, dt), requires_grad, device, "ones_like")


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    shape, dt = _like(input, dtype)
    return _finish(np.empty(shape, dt), requires_grad, device, "empty_like")


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None):
    shape, dt = _like(input, dtype)
    return _finish(np.full(shape, fill_value, dt), requires_grad, device, "full_like")


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``: int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    args = [a.item() if isinstance(a, Tensor) else a for a in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        dt = np.int64 if all(isinstance(a, (int, np.integer)) for a in args) \
            else _dtype.get_default_dtype().np
    else:
        dt = _np_dtype(dtype)
    n = max(math.ceil((args[1] - args[0]) / args[2]), 0)
    array = (args[0] + np.arange(n, dtype=np.float64 if np.dtype(dt).kind == "f" else np.int64)
             * args[2]).astype(dt)
    return _finish(array, requires_grad, device, "arange")


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    array = np.linspace(float(start), float(end), int(steps)).astype(_np_dtype(dtype))
    return _finish(array, requires_grad, device, "linspace")


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    array = np.logspace(float(start), float(end), int(steps), base=base).astype(_np_dtype(dtype))
    return _finish(array, requires_grad, device, "logspace")


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad, device, "eye")


# ``Tensor.new_*``: same dtype as the tensor unless told otherwise.
def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return empty(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device,
                requires_grad=requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)
