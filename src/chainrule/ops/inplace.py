"""In-place ops (``add_``, ``x[i] = v``, ...), tracked by autograd through version counters.

Every in-place op is its out-of-place twin followed by a write into the tensor's own memory
(so views and NumPy arrays that share it see the change) and a version bump (so backward
refuses to use a saved value that changed). When autograd records, the tensor then takes
the op's node as its ``grad_fn``; if the tensor is a view, its base's history is rewritten
too (the base becomes "base with the view's region replaced"), as PyTorch does.
"""
from __future__ import annotations

import numpy as np

from ..autograd import engine
from ..tensor import Tensor
from ._util import as_tensor_arg, cast
from .function import Function


def inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    """Apply ``fn(self, *args)`` and write the result into ``self``; returns ``self``."""
    recording = engine.GRAD_ENABLED and (
        self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args))
    if not recording:
        _write(self, fn(self, *args, **kwargs), fn)
        return self
    if self.grad_fn is None and self._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation. (Wrap it in chainrule.no_grad() to change it without "
                           "recording, e.g. for a parameter update.)")
    base = self._base
    if base is not None and base.grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if base is not None and self._version[0] != self._view_version:
        refresh_view(self)  # the base changed since this view was made
    # The op sees a snapshot of the old value at the same place in the graph, so that what
    # it saves for backward is not overwritten by the write below.
    old = Tensor._make(self._data.copy(), self.grad_fn, self._output_nr, self._requires_grad)
    if self._requires_grad and self.grad_fn is None:
        old._grad_accumulator = self._grad_accumulator
    result = fn(old, *args, **kwargs)
    _write(self, result, fn)
    if base is not None:
        _rebase_view(self, result)
    else:
        self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        self._requires_grad = result._requires_grad
    return self


def _write(self: Tensor, result: Tensor, fn) -> None:
    out = result._data
    if out.dtype != self._data.dtype and not np.can_cast(out.dtype, self._data.dtype,
                                                         "same_kind"):
        raise RuntimeError(f"{getattr(fn, '__name__', 'in-place op')}_: result type "
                           f"{out.dtype} can't be cast to the desired output type "
                           f"{self._data.dtype}")
    if out.shape != self._data.shape:
        try:
            out = np.broadcast_to(out, self._data.shape)
        except ValueError:
            raise RuntimeError(f"{getattr(fn, '__name__', 'in-place op')}_: output with shape "
                               f"{list(self._data.shape)} doesn't match the broadcast shape "
                               f"{list(result._data.shape)}") from None
    if not self._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location (an expanded tensor). "
                           "Please clone() the tensor before performing the operation.")
    if out is not self._data:
        np.copyto(self._data, out, casting="unsafe")
    self._version[0] += 1


class CopySlices(Function):
    """The base of a view after the view was changed in place: ``base`` with the view's
    region replaced by ``value``. Gradient: zero in the region for the old base, the
    region's gradient for the value."""

    once_differentiable = True

    def __init__(self, view_fns):
        self.view_fns = view_fns

    def forward(self, base, value):
        return base  # the data was already written through the view

    def _region(self, array):
        view = Tensor._make(array)
        for replay, args in self.view_fns:
            view = replay(view, *args)
        return view._data

    def backward(self, grad):
        g = grad._data.copy()
        region = self._region(g)
        g_value = np.array(region, copy=True)
        region[...] = 0
        return Tensor._make(g), Tensor._make(g_value)


def _rebase_view(view: Tensor, result: Tensor) -> None:
    base = view._base
    fns = view._view_fns
    new_base = CopySlices(fns)(base, result)
    base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
    replay = base
    for fn, args in fns:
        replay = fn(replay, *args)
    view.grad_fn, view._output_nr, view._requires_grad = replay.grad_fn, replay._output_nr, True
    view._view_version = view._version[0]


def refresh_view(view: Tensor) -> None:
    """Give a view made before its memory was changed in place (through its base or another
    view) the base's new history, as PyTorch does: replay the view from the base."""
    base = view._base
    if base._requires_grad:
        replay = base
        for fn, args in view._view_fns:
            replay = fn(replay, *args)
        view.grad_fn, view._output_nr = replay.grad_fn, replay._output_nr
        view._requires_grad = replay._requires_grad
    view._view_version = view._version[0]


# -- the in-place functions ---------------------------------------------------------------------

def add_(self, other, *, alpha=1):
    from .elementwise import add
    return inplace(self, add, other, alpha=alpha)


def sub_(self, other, *, alpha=1):
    from .elementwise import sub
    return inplace(self, sub, other, alpha=alpha)


def mul_(self, other):
    from .elementwise import mul
    return inplace(self, mul, other)


def div_(self, other, *, rounding_mode=None):
    from .elementwise import div
    return inplace(self, div, other, rounding_mode=rounding_mode)


def pow_(self, other):
    from .elementwise import pow
    return inplace(self, pow, other)


class Copy(Function):
    """The value of ``old.copy_(src)``: ``src`` broadcast to ``old``'s shape. The old value
    gets a zero gradient (not None), as in PyTorch."""

    def forward(self, old, src):
        return np.broadcast_to(src, old.shape)  # read-only view: only written into ``old``

    def backward(self, grad):
        return Tensor._zeros(grad._data.shape, grad._data.dtype), grad


def _replace(old, src):
    """``src`` cast to ``old``'s dtype and broadcast to its shape (the value of copy_)."""
    src = cast(as_tensor_arg("copy_", src), old._data.dtype)
    if engine.GRAD_ENABLED and (old._requires_grad or src._requires_grad):
        return Copy()(old, src)
    return src  # not recorded: ``_write`` broadcasts it into ``old``


_replace.__name__ = "copy"


def copy_(self, src):
    """Copy ``src``'s values (broadcast, cast) into ``self``."""
    return inplace(self, _replace, src)


def fill_(self, value):
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value._data.ndim} dimensions.")
    if not isinstance(value, Tensor) and not (engine.GRAD_ENABLED and self._requires_grad):
        self._data.fill(value)  # the common case (init, zero_grad): no copies, no graph
        self._version[0] += 1
        return self
    return inplace(self, _replace, value)


def zero_(self):
    return fill_(self, 0)
