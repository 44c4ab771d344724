"""Adadelta: step sizes from the ratio of running RMS of updates to RMS of gradients."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chainrule.ops import optim_kernels as kernels

from .optimizer import Optimizer, check_hyperparameters, check_unsupported, no_grad_step

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's algorithm.

    For each parameter ``p`` with gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta

    Args:
        params: tensors to optimize, or parameter groups (dicts).
        lr: scales ``delta`` before it is applied (default 1.0).
        rho: decay rate of the running averages (default 0.9).
        eps: added inside the square roots (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: follow the gradient upward.
        foreach, capturable: accepted for compatibility.
        differentiable: must be False.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_hyperparameters(
            lr=(lr >= 0.0, f"Invalid learning rate: {lr}"),
            rho=(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}"),
            eps=(eps >= 0.0, f"Invalid epsilon value: {eps}"),
            weight_decay=(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}"))
        check_unsupported("Adadelta", differentiable)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    @no_grad_step
    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a ``.grad``; returns the closure's loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads, square_avgs, acc_deltas, steps = self._with_grads(
                group, "square_avg", "acc_delta")
            if not params:
                continue
            kernels.adadelta_(params, grads, square_avgs, acc_deltas, steps,
                              lr=float(group["lr"]), rho=group["rho"], eps=group["eps"],
                              weight_decay=group["weight_decay"], maximize=group["maximize"])
        return loss
