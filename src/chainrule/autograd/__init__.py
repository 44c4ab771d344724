"""Reverse-mode automatic differentiation: ``backward``, ``grad``, grad mode.

Gradient semantics (as PyTorch's): ``.grad`` of a leaf *accumulates* across backward calls,
so zero it between steps (``optimizer.zero_grad()`` sets it to None); ``backward()`` of a
non-scalar tensor needs ``gradient`` = dL/d(output); the graph is freed after backward unless
``retain_graph=True``; ``create_graph=True`` records the backward pass itself, for
higher-order derivatives.
"""
from __future__ import annotations

from typing import Sequence

from . import engine
from .engine import AutogradError, Node
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                        is_inference_mode_enabled, no_grad, set_grad_enabled)

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode", "AutogradError", "Node", "Variable"]


def _tensors(x) -> tuple:
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _grad_outputs(outputs, grad_outputs, create_graph: bool) -> list:
    """Default dL/dy = 1 for one-element outputs; others need an explicit gradient."""
    from ..tensor import Tensor
    import numpy as np
    grads = []
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad_tensors should have the same length as tensors "
                           f"({len(grad_outputs)} != {len(outputs)})")
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (output {i} has "
                    f"shape {list(out._data.shape)}); pass gradient=dL/doutput of that shape")
            g = Tensor._make(np.ones(out._data.shape, dtype=out._data.dtype))
        elif not isinstance(g, Tensor):
            g = Tensor._make(np.asarray(g, dtype=out._data.dtype))
        elif g._data.shape != out._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {list(g._data.shape)} and "
                f"output[{i}] has a shape of {list(out._data.shape)}.")
        elif g._data.dtype != out._data.dtype:
            g = g.to(out.dtype)
        if not create_graph:
            g = g.detach()
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or of ``inputs``)."""
    tensors = _tensors(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _grad_outputs(tensors, grad_tensors, create_graph)
    engine.run_backward(tensors, grads, retain_graph, create_graph,
                        inputs=_tensors(inputs) if inputs is not None else None,
                        accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    Example:
        >>> x = chainrule.tensor(3.0, requires_grad=True)
        >>> (dy_dx,) = chainrule.autograd.grad(x ** 2, x)   # 6.0
    """
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) is not supported")
    outputs = _tensors(outputs)
    inputs = _tensors(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _grad_outputs(outputs, grad_outputs, create_graph)
    result = engine.run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                                 allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        from ..ops import zeros_like
        result = [zeros_like(x) if g is None else g for g, x in zip(result, inputs)]
    if not create_graph:
        result = [g.detach() if g is not None else None for g in result]
    return tuple(result)


def Variable(tensor, requires_grad: bool = False):  # noqa: N802 - PyTorch's old API
    """The pre-0.4 wrapper, kept for old tutorials: returns the tensor itself."""
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


# -- gradient tools: Jacobians, gradient checks, custom Functions, anomalies, trace, flow ------
from . import functional  # noqa: E402,F401  (chainrule.autograd.functional.jacobian, ...)
from .anomaly import (detect_anomaly, is_anomaly_check_nan_enabled,  # noqa: E402,F401
                      is_anomaly_enabled, set_detect_anomaly)
from .function import Function, once_differentiable  # noqa: E402,F401
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402,F401
from .trace import trace  # noqa: E402,F401
from . import flow  # noqa: E402,F401  (gradient_flow, record_gradients)

__all__ += ["functional", "Function", "once_differentiable", "detect_anomaly",
            "set_detect_anomaly", "is_anomaly_enabled", "gradcheck", "gradgradcheck", "trace"]
