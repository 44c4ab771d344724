"""The Tensor: an n-dimensional array that remembers how it was made.

A Tensor holds a NumPy array (``_data``) and, if it was made by a differentiable op while grad
mode was on, the op's node (``grad_fn``). Operators and methods only call ``chainrule.ops``;
all array work lives there. Names and semantics follow PyTorch's:

- ``.grad`` of a leaf accumulates over backward calls; ``zero_grad()`` (or ``.grad = None``)
  resets it.
- ``backward()`` of a non-scalar tensor needs a ``gradient`` argument (dL/d(this tensor)).
- Views (slicing, ``view``, ``transpose``, ...) share memory and a version counter with their
  base; modifying in place a tensor that backward still needs raises an error.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import _dtype
from ._device import CPU, check_device
from .autograd import engine

_new = object.__new__


class Size(tuple):
    """A tensor's shape: a tuple of ints (``Size([2, 3]) == (2, 3)``)."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data)`` copies data into a float tensor; ``Tensor(2, 3)`` makes an uninitialised
    float tensor of that shape (as in PyTorch). Prefer ``chainrule.tensor(data)``.
    """

    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_output_nr", "_version",
                 "__dict__", "__weakref__")

    # Rarely set, so class-level defaults: making a tensor sets only the slots above.
    _grad_accumulator = None  # a leaf's AccumulateGrad node, made on first use
    _backward_hooks = None
    _post_accumulate_hooks = None
    _retains_grad = False
    _base = None  # for a view: the tensor whose memory it shares ...
    _view_fns = None  # ... and how to replay the view from it: ((fn, args), ...)

    __array_ufunc__ = None  # NumPy defers to our reflected operators: ndarray * Tensor works

    def __init__(self, *args, dtype=None, device=None, requires_grad: bool = False):
        check_device(device, "Tensor")
        np_dtype = (_dtype.to_numpy_dtype(dtype) if dtype is not None
                    else _dtype.get_default_dtype().np)
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            data = args[0]._data if isinstance(args[0], Tensor) else args[0]
            array = np.array(data, dtype=np_dtype)
        else:
            shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) \
                else tuple(int(a) for a in args)
            array = np.empty(shape, dtype=np_dtype)
        Tensor._init(self, array)
        if requires_grad:
            self.requires_grad_(True)

    # -- construction fast path (used by every op) --------------------------------------------
    @staticmethod
    def _init(t: "Tensor", data: np.ndarray, grad_fn=None, output_nr: int = 0,
              requires_grad: bool = False) -> None:
        t._data = data
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._version = [0]  # shared with views: a list so that views see the same counter

    @classmethod
    def _make(cls, data: np.ndarray, grad_fn=None, output_nr: int = 0,
              requires_grad: bool = False) -> "Tensor":
        t = _new(Tensor)
        if type(data) is not np.ndarray:  # NumPy reductions return scalars; keep 0-d arrays
            data = np.asarray(data)
        t._data = data
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._version = [0]
        return t

    @staticmethod
    def _zeros(shape, np_dtype) -> "Tensor":
        return Tensor._make(np.zeros(shape, dtype=np_dtype))

    # -- basic attributes --------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The same values without autograd history; in-place changes through it are not
        tracked (PyTorch's ``.data``). Assigning replaces this tensor's values."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set whether autograd records operations on this (leaf) tensor; returns self."""
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "requires_grad_: you can only change requires_grad flags of leaf variables. "
                    "If you want to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad_: only Tensors of floating point dtype can require gradients, "
                f"got {self.dtype!r}")
        self._requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_ops.normalize_dim("size", dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return CPU

    is_cuda = False
    is_sparse = False
    is_quantized = False
    is_meta = False
    layout = "strided"

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return False

    def is_contiguous(self, memory_format=None) -> bool:
        return self._data.flags.c_contiguous

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        if dim is None:
            return strides
        return strides[_ops.normalize_dim("stride", dim, self._data.ndim)]

    def data_ptr(self) -> int:
        return self._data.ctypes.data

    def get_device(self) -> int:
        return -1

    # -- conversion --------------------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"item: a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, force: bool = False) -> np.ndarray:
        """The underlying NumPy array (shares memory, like PyTorch)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "numpy: can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data

    def detach(self) -> "Tensor":
        """A tensor sharing this one's memory (and version counter), cut from the graph."""
        t = Tensor._make(self._data)
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    def _detached_copy(self) -> "Tensor":
        return Tensor._make(np.array(self._data, copy=True))

    def _accumulate_(self, other: "Tensor") -> None:
        """``self += other`` on the arrays, no autograd (the engine's in-place accumulation)."""
        np.add(self._data, other._data, out=self._data)

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(other_tensor)``, ``to(device, dtype)``."""
        dtype, copy = to_arguments("to", args, kwargs)
        if dtype is None:
            return self.clone() if copy else self
        out = _ops.to_dtype(self, dtype)
        return out.clone() if copy and out is self else out

    def cpu(self) -> "Tensor":
        return self

    def cuda(self, *args, **kwargs):
        raise RuntimeError("cuda: chainrule runs on the CPU only (no CUDA support); "
                           "use chainrule.interop.to_torch(model) to move to PyTorch")

    def float(self) -> "Tensor":
        return _ops.to_dtype(self, _dtype.float32)

    def double(self) -> "Tensor":
        return _ops.to_dtype(self, _dtype.float64)

    def half(self) -> "Tensor":
        return _ops.to_dtype(self, _dtype.float16)

    def long(self) -> "Tensor":
        return _ops.to_dtype(self, _dtype.int64)

    def int(self) -> "Tensor":
        return _ops.to_dtype(self, _dtype.int32)

    def bool(self) -> "Tensor":
        return _ops.to_dtype(self, _dtype.bool_)

    def type(self, dtype=None):
        """With no argument, the type name (``'chainrule.FloatTensor'``); else ``to(dtype)``."""
        if dtype is None:
            names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                     "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                     "bool": "Bool"}
            return f"torch.{names[self.dtype.name]}Tensor"
        if isinstance(dtype, str):
            names = {"torch.FloatTensor": "float32", "torch.DoubleTensor": "float64",
                     "torch.LongTensor": "int64", "torch.IntTensor": "int32",
                     "torch.BoolTensor": "bool", "torch.HalfTensor": "float16"}
            dtype = names.get(dtype, dtype)
        if isinstance(getattr(dtype, "dtype", None), _dtype.dtype):  # chainrule.FloatTensor...
            dtype = dtype.dtype
        return _ops.to_dtype(self, dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        return _ops.to_dtype(self, other.dtype)

    def clone(self, memory_format=None) -> "Tensor":
        return _ops.clone(self)

    def contiguous(self, memory_format=None) -> "Tensor":
        return self if self._data.flags.c_contiguous else _ops.clone(self)

    # -- autograd ------------------------------------------------------------------------------
    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) · gradient into ``.grad`` of every leaf that requires grad.

        ``gradient`` is dL/d(self); it may be omitted only for a one-element tensor (then 1).
        """
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook) -> "engine.RemovableHandle":
        """``hook(grad) -> None or Tensor`` runs when this tensor's gradient is computed."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if self.grad_fn is None:
            return engine._add_hook(self, "_backward_hooks", hook)
        return self.grad_fn._output_hook(self._output_nr, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if self.grad_fn is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: only for leaf tensors")
        return engine._add_hook(self, "_post_accumulate_hooks", hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None or self._retains_grad:
            return
        if not self._requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on Tensor that has "
                               "requires_grad=False")
        import weakref
        ref = weakref.ref(self)

        def keep(grad):
            t = ref()
            if t is not None:
                if t.grad is None:
                    t.grad = grad if engine.GRAD_ENABLED else grad._detached_copy()
                else:
                    t.grad = t.grad + grad
        self.grad_fn._output_hook(self._output_nr, keep, retains_grad=True)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    # -- printing ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return _ops.format_tensor(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 or self._data.size == 1 and spec:
            return format(self.item(), spec)
        return repr(self) if not spec else format(str(self), spec)

    # -- Python protocol -------------------------------------------------------------------------
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is "
                               "ambiguous")
        return bool(self._data.reshape(()))

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.reshape(()))

    def __hash__(self) -> int:
        return id(self)

    def __contains__(self, element) -> bool:
        return bool(_ops.any(_ops.eq(self, element)))

    def __reduce_ex__(self, protocol):
        raise TypeError("Tensor: pickling is not supported; use chainrule.save (no pickle)")

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("deepcopy: only leaf tensors (created explicitly by the user) "
                               "support the deepcopy protocol")
        t = type(self).__new__(type(self))
        Tensor._init(t, self._data.copy(), requires_grad=self._requires_grad)
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        if hasattr(self, "__dict__"):
            t.__dict__.update({k: v for k, v in self.__dict__.items()})
        memo[id(self)] = t
        return t

    # -- operators -------------------------------------------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __invert__(self):
        return _ops.bitwise_not(self)

    def __and__(self, other):
        return _ops.bitwise_and(self, other)

    __rand__ = __and__

    def __or__(self, other):
        return _ops.bitwise_or(self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return _ops.bitwise_xor(self, other)

    __rxor__ = __xor__

    def __eq__(self, other):  # type: ignore[override]
        try:
            return _ops.eq(self, other)
        except TypeError:  # not a tensor or number: let Python ask `other` (pytest.approx...)
            return NotImplemented

    def __ne__(self, other):  # type: ignore[override]
        try:
            return _ops.ne(self, other)
        except TypeError:
            return NotImplemented

    def __lt__(self, other):
        return _ops.lt(self, other)

    def __le__(self, other):
        return _ops.le(self, other)

    def __gt__(self, other):
        return _ops.gt(self, other)

    def __ge__(self, other):
        return _ops.ge(self, other)

    def __iadd__(self, other):
        return _ops.add_(self, other)

    def __isub__(self, other):
        return _ops.sub_(self, other)

    def __imul__(self, other):
        return _ops.mul_(self, other)

    def __itruediv__(self, other):
        return _ops.div_(self, other)

    def __ipow__(self, other):
        return _ops.pow_(self, other)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value) -> None:
        _ops.setitem(self, index, value)

    def index_put(self, indices, values, accumulate: bool = False) -> "Tensor":
        return _ops.index_put(self, tuple(indices), values, accumulate)

    def index_put_(self, indices, values, accumulate: bool = False) -> "Tensor":
        """``self[indices] = values`` in place (``accumulate``: ``+=``, repeats adding up)."""
        from .ops.inplace import inplace
        return inplace(self, _ops.index_put, tuple(indices), values, accumulate)

    # -- shapes ----------------------------------------------------------------------------------
    @property
    def T(self) -> "Tensor":  # noqa: N802
        return _ops.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> "Tensor":  # noqa: N802
        return _ops.transpose(self, -2, -1)

    def view(self, *shape) -> "Tensor":
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list, Size)):
            if shape[0] == self.dtype:
                return self
            raise RuntimeError("view(dtype): reinterpreting memory as another dtype is not "
                               "supported; use .to(dtype)")
        return _ops.view(self, _shape_arg(shape))

    def view_as(self, other: "Tensor") -> "Tensor":
        return _ops.view(self, other.shape)

    def reshape(self, *shape) -> "Tensor":
        return _ops.reshape(self, _shape_arg(shape))

    def reshape_as(self, other: "Tensor") -> "Tensor":
        return _ops.reshape(self, other.shape)

    def expand(self, *sizes) -> "Tensor":
        return _ops.expand(self, _shape_arg(sizes))

    def expand_as(self, other: "Tensor") -> "Tensor":
        return _ops.expand(self, other.shape)

    def broadcast_to(self, shape) -> "Tensor":
        return _ops.expand(self, tuple(shape))

    def repeat(self, *sizes) -> "Tensor":
        return _ops.repeat(self, _shape_arg(sizes))

    def permute(self, *dims) -> "Tensor":
        return _ops.permute(self, _shape_arg(dims))

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        return _ops.transpose(self, dim0, dim1)

    def swapaxes(self, dim0: int, dim1: int) -> "Tensor":
        return _ops.transpose(self, dim0, dim1)

    swapdims = swapaxes

    def t(self) -> "Tensor":
        return _ops.t(self)

    def movedim(self, source, destination) -> "Tensor":
        return _ops.movedim(self, source, destination)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        return _ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes) -> "Tensor":
        return _ops.unflatten(self, dim, sizes)

    def ravel(self) -> "Tensor":
        return _ops.reshape(self, (-1,))

    def squeeze(self, dim=None) -> "Tensor":
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> "Tensor":
        return _ops.unsqueeze(self, dim)

    def split(self, split_size_or_sections, dim: int = 0):
        return _ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0):
        return _ops.chunk(self, chunks, dim)

    def unbind(self, dim: int = 0):
        return _ops.unbind(self, dim)

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        return _ops.narrow(self, dim, start, length)

    def flip(self, *dims) -> "Tensor":
        return _ops.flip(self, _shape_arg(dims))

    def roll(self, shifts, dims=None) -> "Tensor":
        return _ops.roll(self, shifts, dims)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> "Tensor":
        return _ops.diagonal(self, offset, dim1, dim2)

    def tril(self, diagonal: int = 0) -> "Tensor":
        return _ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> "Tensor":
        return _ops.triu(self, diagonal)

    def sum_to_size(self, *size) -> "Tensor":
        return _ops.sum_to_size(self, _shape_arg(size))

    # -- indexing --------------------------------------------------------------------------------
    def gather(self, dim: int, index: "Tensor") -> "Tensor":
        return _ops.gather(self, dim, index)

    def scatter(self, dim: int, index: "Tensor", src=None, value=None, reduce=None) -> "Tensor":
        return _ops.scatter(self, dim, index, src if src is not None else value, reduce=reduce)

    def scatter_(self, dim: int, index: "Tensor", src=None, value=None, reduce=None) -> "Tensor":
        return _ops.inplace(self, _ops.scatter, dim, index,
                            src if src is not None else value, reduce=reduce)

    def scatter_add(self, dim: int, index: "Tensor", src: "Tensor") -> "Tensor":
        return _ops.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index: "Tensor", src: "Tensor") -> "Tensor":
        return _ops.inplace(self, _ops.scatter_add, dim, index, src)

    def index_select(self, dim: int, index: "Tensor") -> "Tensor":
        return _ops.index_select(self, dim, index)

    def index_add(self, dim: int, index: "Tensor", source: "Tensor", alpha=1) -> "Tensor":
        return _ops.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim: int, index: "Tensor", source: "Tensor", alpha=1) -> "Tensor":
        return _ops.inplace(self, _ops.index_add, dim, index, source, alpha=alpha)

    def masked_fill(self, mask: "Tensor", value) -> "Tensor":
        return _ops.masked_fill(self, mask, value)

    def masked_fill_(self, mask: "Tensor", value) -> "Tensor":
        return _ops.inplace(self, _ops.masked_fill, mask, value)

    def masked_select(self, mask: "Tensor") -> "Tensor":
        return _ops.masked_select(self, mask)

    def take_along_dim(self, indices: "Tensor", dim: int | None = None) -> "Tensor":
        return _ops.take_along_dim(self, indices, dim)

    def nonzero(self, as_tuple: bool = False):
        return _ops.nonzero(self, as_tuple=as_tuple)

    def where(self, condition: "Tensor", other) -> "Tensor":
        """``self`` where ``condition`` holds, else ``other`` (note the argument order)."""
        return _ops.where(condition, self, other)

    # -- in place --------------------------------------------------------------------------------
    def add_(self, other, alpha=1) -> "Tensor":
        return _ops.add_(self, other, alpha=alpha)

    def sub_(self, other, alpha=1) -> "Tensor":
        return _ops.sub_(self, other, alpha=alpha)

    def mul_(self, other) -> "Tensor":
        return _ops.mul_(self, other)

    def div_(self, other, rounding_mode=None) -> "Tensor":
        return _ops.div_(self, other, rounding_mode=rounding_mode)

    def pow_(self, other) -> "Tensor":
        return _ops.pow_(self, other)

    def addcmul_(self, t1, t2, value=1) -> "Tensor":
        return _ops.inplace(self, _ops.addcmul, t1, t2, value=value)

    def addcdiv_(self, t1, t2, value=1) -> "Tensor":
        return _ops.inplace(self, _ops.addcdiv, t1, t2, value=value)

    def lerp_(self, end, weight) -> "Tensor":
        return _ops.inplace(self, _ops.lerp, end, weight)

    def neg_(self) -> "Tensor":
        return _ops.inplace(self, _ops.neg)

    def abs_(self) -> "Tensor":
        return _ops.inplace(self, _ops.abs)

    def exp_(self) -> "Tensor":
        return _ops.inplace(self, _ops.exp)

    def log_(self) -> "Tensor":
        return _ops.inplace(self, _ops.log)

    def sqrt_(self) -> "Tensor":
        return _ops.inplace(self, _ops.sqrt)

    def sigmoid_(self) -> "Tensor":
        return _ops.inplace(self, _ops.sigmoid)

    def tanh_(self) -> "Tensor":
        return _ops.inplace(self, _ops.tanh)

    def relu_(self) -> "Tensor":
        return _ops.inplace(self, _ops.relu)

    def clamp_(self, min=None, max=None) -> "Tensor":  # noqa: A002
        return _ops.inplace(self, _ops.clamp, min, max)

    clip_ = clamp_

    def zero_(self) -> "Tensor":
        return _ops.fill_(self, 0)

    def fill_(self, value) -> "Tensor":
        return _ops.fill_(self, value)

    def copy_(self, src, non_blocking: bool = False) -> "Tensor":
        return _ops.copy_(self, src)

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None) -> "Tensor":
        return _ops.random_fill_(self, "uniform", a, b, generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None) -> "Tensor":
        return _ops.random_fill_(self, "normal", mean, std, generator)

    def bernoulli_(self, p: float = 0.5, generator=None) -> "Tensor":
        return _ops.random_fill_(self, "bernoulli", p, None, generator)

    def exponential_(self, lambd: float = 1.0, generator=None) -> "Tensor":
        return _ops.random_fill_(self, "exponential", lambd, None, generator)

    def random_(self, low: int = 0, high: int | None = None, generator=None) -> "Tensor":
        return _ops.random_fill_(self, "integers", low, high, generator)

    def set_(self, source: "Tensor") -> "Tensor":
        self._data = source._data
        return self

    # -- methods that are exactly ``chainrule.<name>(self, ...)`` (see the functions' docs) --
    def abs(self):
        return _ops.abs(self)

    def absolute(self):
        return _ops.abs(self)

    def add(self, other, *, alpha=1):
        return _ops.add(self, other, alpha=alpha)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return _ops.addcdiv(self, tensor1, tensor2, value=value)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return _ops.addcmul(self, tensor1, tensor2, value=value)

    def all(self, dim=None, keepdim=False):
        return _ops.all(self, dim, keepdim)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.allclose(self, other, rtol, atol, equal_nan)

    def amax(self, dim=(), keepdim=False):
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        return _ops.amin(self, dim, keepdim)

    def aminmax(self, *, dim=None, keepdim=False):
        return _ops.aminmax(self, dim=dim, keepdim=keepdim)

    def any(self, dim=None, keepdim=False):
        return _ops.any(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _ops.argmin(self, dim, keepdim)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _ops.argsort(self, dim, descending, stable)

    def bernoulli(self, p=None, *, generator=None):
        return _ops.bernoulli(self, p, generator=generator)

    def bitwise_and(self, other):
        return _ops.bitwise_and(self, other)

    def bitwise_not(self):
        return _ops.bitwise_not(self)

    def bitwise_or(self, other):
        return _ops.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return _ops.bitwise_xor(self, other)

    def bmm(self, mat2):
        return _ops.bmm(self, mat2)

    def ceil(self):
        return _ops.ceil(self)

    def clamp(self, min=None, max=None):
        return _ops.clamp(self, min, max)

    def clip(self, min=None, max=None):
        return _ops.clamp(self, min, max)

    def cos(self):
        return _ops.cos(self)

    def count_nonzero(self, dim=None):
        return _ops.count_nonzero(self, dim)

    def cumsum(self, dim, *, dtype=None):
        return _ops.cumsum(self, dim, dtype=dtype)

    def div(self, other, *, rounding_mode=None):
        return _ops.div(self, other, rounding_mode=rounding_mode)

    def divide(self, other, *, rounding_mode=None):
        return _ops.div(self, other, rounding_mode=rounding_mode)

    def dot(self, other):
        return _ops.dot(self, other)

    def eq(self, other):
        return _ops.eq(self, other)

    def equal(self, other):
        return _ops.equal(self, other)

    def exp(self):
        return _ops.exp(self)

    def expm1(self):
        return _ops.expm1(self)

    def fliplr(self):
        return _ops.fliplr(self)

    def flipud(self):
        return _ops.flipud(self)

    def floor(self):
        return _ops.floor(self)

    def floor_divide(self, other):
        return _ops.floor_divide(self, other)

    def frac(self):
        return _ops.frac(self)

    def ge(self, other):
        return _ops.ge(self, other)

    def greater(self, other):
        return _ops.gt(self, other)

    def greater_equal(self, other):
        return _ops.ge(self, other)

    def gt(self, other):
        return _ops.gt(self, other)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.isclose(self, other, rtol, atol, equal_nan)

    def isfinite(self):
        return _ops.isfinite(self)

    def isinf(self):
        return _ops.isinf(self)

    def isnan(self):
        return _ops.isnan(self)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return _ops.kthvalue(self, k, dim, keepdim)

    def le(self, other):
        return _ops.le(self, other)

    def lerp(self, end, weight):
        return _ops.lerp(self, end, weight)

    def less(self, other):
        return _ops.lt(self, other)

    def less_equal(self, other):
        return _ops.le(self, other)

    def log(self):
        return _ops.log(self)

    def log10(self):
        return _ops.log10(self)

    def log1p(self):
        return _ops.log1p(self)

    def log2(self):
        return _ops.log2(self)

    def log_softmax(self, dim, dtype=None):
        return _ops.log_softmax(self, dim, dtype)

    def logical_and(self, other):
        return _ops.logical_and(self, other)

    def logical_not(self):
        return _ops.logical_not(self)

    def logical_or(self, other):
        return _ops.logical_or(self, other)

    def logical_xor(self, other):
        return _ops.logical_xor(self, other)

    def logsumexp(self, dim, keepdim=False):
        return _ops.logsumexp(self, dim, keepdim)

    def lt(self, other):
        return _ops.lt(self, other)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def max(self, dim=None, keepdim=False):
        return _ops.max(self, dim, keepdim)

    def maximum(self, other):
        return _ops.maximum(self, other)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return _ops.mean(self, dim, keepdim, dtype=dtype)

    def median(self, dim=None, keepdim=False):
        return _ops.median(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return _ops.min(self, dim, keepdim)

    def minimum(self, other):
        return _ops.minimum(self, other)

    def mm(self, mat2):
        return _ops.mm(self, mat2)

    def moveaxis(self, source, destination):
        return _ops.movedim(self, source, destination)

    def mul(self, other):
        return _ops.mul(self, other)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return _ops.multinomial(self, num_samples, replacement, generator=generator)

    def multiply(self, other):
        return _ops.mul(self, other)

    def mv(self, vec):
        return _ops.mv(self, vec)

    def ne(self, other):
        return _ops.ne(self, other)

    def neg(self):
        return _ops.neg(self)

    def negative(self):
        return _ops.neg(self)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return _ops.new_empty(self, *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return _ops.new_full(self, size, fill_value, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return _ops.new_ones(self, *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        return _ops.new_tensor(self, data, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return _ops.new_zeros(self, *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def norm(self, p='fro', dim=None, keepdim=False, dtype=None):
        return _ops.norm(self, p, dim, keepdim, dtype)

    def not_equal(self, other):
        return _ops.ne(self, other)

    def outer(self, vec2):
        return _ops.outer(self, vec2)

    def pow(self, exponent):
        return _ops.pow(self, exponent)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return _ops.prod(self, dim, keepdim, dtype=dtype)

    def reciprocal(self):
        return _ops.reciprocal(self)

    def relu(self):
        return _ops.relu(self)

    def remainder(self, other):
        return _ops.remainder(self, other)

    def round(self, decimals=0):
        return _ops.round(self, decimals)

    def rsqrt(self):
        return _ops.rsqrt(self)

    def select(self, dim, index):
        return _ops.select(self, dim, index)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def sign(self):
        return _ops.sign(self)

    def nan_to_num(self, nan: float = 0.0, posinf=None, neginf=None):
        return _ops.nan_to_num(self, nan, posinf, neginf)

    def asin(self):
        return _ops.asin(self)

    def acos(self):
        return _ops.acos(self)

    def atan(self):
        return _ops.atan(self)

    def sinh(self):
        return _ops.sinh(self)

    def cosh(self):
        return _ops.cosh(self)

    def asinh(self):
        return _ops.asinh(self)

    def acosh(self):
        return _ops.acosh(self)

    def atanh(self):
        return _ops.atanh(self)

    arcsin, arccos, arctan = asin, acos, atan
    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def atan2(self, other):
        return _ops.atan2(self, other)

    arctan2 = atan2

    def logaddexp(self, other):
        return _ops.logaddexp(self, other)

    def deg2rad(self):
        return _ops.deg2rad(self)

    def rad2deg(self):
        return _ops.rad2deg(self)

    def erf(self):
        return _ops.erf(self)

    def trace(self):
        return _ops.trace(self)

    def diag(self, diagonal: int = 0):
        return _ops.diag(self, diagonal)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return _ops.repeat_interleave(self, repeats, dim, output_size=output_size)

    def nansum(self, dim=None, keepdim: bool = False, *, dtype=None):
        return _ops.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim: bool = False, *, dtype=None):
        return _ops.nanmean(self, dim, keepdim, dtype=dtype)

    def unique(self, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
               return_counts: bool = False, dim=None):
        return _ops.unique(self, sorted, return_inverse, return_counts, dim)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0):  # noqa: A002
        return _ops.histc(self, bins, min, max)

    def cross(self, other, dim=None):
        return _ops.cross(self, other, dim)

    def kron(self, other):
        return _ops.kron(self, other)

    def cumprod(self, dim, *, dtype=None):
        return _ops.cumprod(self, dim, dtype=dtype)

    def cummax(self, dim):
        return _ops.cummax(self, dim)

    def cummin(self, dim):
        return _ops.cummin(self, dim)

    def sin(self):
        return _ops.sin(self)

    def softmax(self, dim, dtype=None):
        return _ops.softmax(self, dim, dtype)

    def sort(self, dim=-1, descending=False, stable=False):
        return _ops.sort(self, dim, descending, stable)

    def sqrt(self):
        return _ops.sqrt(self)

    def square(self):
        return _ops.square(self)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _ops.std(self, dim, unbiased, keepdim, correction=correction)

    def sub(self, other, *, alpha=1):
        return _ops.sub(self, other, alpha=alpha)

    def subtract(self, other, *, alpha=1):
        return _ops.sub(self, other, alpha=alpha)

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return _ops.sum(self, dim, keepdim, dtype=dtype)

    def tan(self):
        return _ops.tan(self)

    def tanh(self):
        return _ops.tanh(self)

    def tensor_split(self, sections, dim=0):
        return _ops.tensor_split(self, sections, dim)

    def tile(self, dims):
        return _ops.tile(self, dims)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _ops.topk(self, k, dim, largest, sorted)

    def true_divide(self, other, *, rounding_mode=None):
        return _ops.div(self, other, rounding_mode=rounding_mode)

    def trunc(self):
        return _ops.trunc(self)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _ops.var(self, dim, unbiased, keepdim, correction=correction)

def to_arguments(where: str, args: tuple, kwargs: dict) -> tuple:
    """Read ``to(...)``'s calling forms (``Tensor.to`` and ``Module.to`` share them):
    ``to(dtype)``, ``to(device)``, ``to(other_tensor)``, ``to(device, dtype)``, keywords
    ``dtype``/``device``/``copy``/``non_blocking``/``memory_format``. Returns ``(dtype or None,
    copy)``; a device other than the CPU raises."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    check_device(kwargs.pop("device", None), where)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{where}: unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (_dtype.dtype, np.dtype)) or a in (float, int, bool):
            dtype = a
        else:
            check_device(a, where)
    return dtype, copy


def _shape_arg(args: Sequence[Any]) -> tuple:
    """Accept both ``f(2, 3)`` and ``f((2, 3))`` (PyTorch's varargs shapes)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        return tuple(args[0])
    return tuple(args)



from . import ops as _ops  # noqa: E402  (ops needs the Tensor class defined above)
