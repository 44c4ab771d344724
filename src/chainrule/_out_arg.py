"""PyTorch's ``out=`` keyword on the common top-level functions: ``chainrule.add(x, y, out=r)``.

Tutorials write ``torch.add(x, y, out=result)``. chainrule's ops return new tensors; for the
functions listed in ``OUT_FUNCTIONS`` the top-level name (``chainrule.add``, not the Tensor
method and not ``chainrule.ops.add``) accepts ``out=``: the result is computed as usual and
copied into ``out``, which is returned. As in PyTorch:

- ``out=`` does not record autograd history, so it refuses inputs that require grad while
  grad mode is on;
- an ``out`` of another shape is resized (a warning unless it was empty);
- a floating result does not go into an integer ``out``.
"""
from __future__ import annotations

import functools
import warnings
from typing import Callable

OUT_FUNCTIONS = ("add", "sub", "mul", "div", "true_divide", "pow", "matmul", "mm", "bmm",
                 "cat", "stack", "exp", "log", "sqrt", "abs", "neg", "sigmoid", "tanh", "clamp",
                 "sum", "mean", "argmax")


def write_out(name: str, result, out):
    """Copy ``result`` into the tensor ``out`` (resizing it if needed) and return ``out``."""
    import chainrule

    if not isinstance(out, chainrule.Tensor):
        raise TypeError(f"{name}(): argument 'out' must be a Tensor, got {type(out).__name__}")
    if result.requires_grad:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if result.is_floating_point() and not out.is_floating_point():
        raise RuntimeError(f"{name}(): result type {result.dtype} can't be cast to the desired "
                           f"output type {out.dtype}")
    with chainrule.no_grad():
        if out.shape != result.shape:
            if out.numel() != 0:
                warnings.warn(f"{name}(): an output with one or more elements was resized from "
                              f"{list(out.shape)} to {list(result.shape)}", UserWarning,
                              stacklevel=3)
            out.set_(chainrule.empty(result.shape, dtype=out.dtype))
        out.copy_(result)
    return out


def with_out(fn: Callable) -> Callable:
    """``fn`` plus an ``out=`` keyword; calls without ``out`` go straight to ``fn``."""
    @functools.wraps(fn)
    def function(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        return write_out(fn.__name__, fn(*args, **kwargs), out)
    function.__wrapped_out__ = True
    return function


def install(namespace: dict) -> None:
    """Give the functions of ``OUT_FUNCTIONS`` found in ``namespace`` the ``out=`` keyword."""
    for name in OUT_FUNCTIONS:
        fn = namespace.get(name)
        if fn is not None and not getattr(fn, "__wrapped_out__", False):
            namespace[name] = with_out(fn)
