"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chainrule.ops import optim_kernels as kernels

from .optimizer import Optimizer, check_hyperparameters, check_unsupported, no_grad_step

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's formulation.

    For each parameter ``p`` with gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p
        b = g (first step),  else  b = momentum * b + (1 - dampening) * g
        g = g + momentum * b  if nesterov  else  g = b          (when momentum != 0)
        p = p - lr * g

    Note the momentum form: ``lr`` multiplies the whole buffer (Sutskever et al.), not each
    gradient as it enters it, so changing ``lr`` mid-training takes effect at once.

    Args:
        params: tensors to optimize, or parameter groups (dicts).
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the gradient entering the momentum buffer (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: follow the gradient upward instead of downward.
        foreach, fused: accepted for compatibility (the update is always one fused kernel
            per parameter).
        differentiable: must be False.

    Example:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)   # doctest: +SKIP
        >>> loss_fn(model(x), y).backward(); opt.step(); opt.zero_grad()   # doctest: +SKIP
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_hyperparameters(
            lr=(lr >= 0.0, f"Invalid learning rate: {lr}"),
            momentum=(momentum >= 0.0, f"Invalid momentum value: {momentum}"),
            weight_decay=(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}"))
        check_unsupported("SGD", differentiable)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    @no_grad_step
    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a ``.grad``; returns the closure's loss."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            momentum = group["momentum"]
            params, grads, buffers = [], [], []
            for p in group["params"]:
                if p.grad is not None:
                    params.append(p)
                    grads.append(p.grad)
                    if momentum != 0:
                        buffers.append(state[p].get("momentum_buffer"))
            if not params:
                continue
            kernels.sgd_(params, grads, buffers, lr=float(group["lr"]),
                         weight_decay=group["weight_decay"], momentum=momentum,
                         dampening=group["dampening"], nesterov=group["nesterov"],
                         maximize=group["maximize"])
            if momentum != 0:
                for p, buffer in zip(params, buffers):
                    state[p]["momentum_buffer"] = buffer
        return loss
