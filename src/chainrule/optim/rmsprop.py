"""RMSprop: divide the gradient by a running root mean square of recent gradients."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chainrule.ops import optim_kernels as kernels

from .optimizer import Optimizer, check_hyperparameters, check_unsupported, no_grad_step

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's algorithm.

    For each parameter ``p`` with gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v - gbar^2) + eps, gbar = alpha * gbar + (1 - alpha) * g   (centered)
        avg = sqrt(v) + eps                                                  (otherwise)
        b = momentum * b + g / avg;  p = p - lr * b                          (momentum > 0)
        p = p - lr * g / avg                                                 (otherwise)

    Args:
        params: tensors to optimize, or parameter groups (dicts).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the square average (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalise by the estimated variance instead of the raw second moment.
        maximize: follow the gradient upward.
        capturable, foreach: accepted for compatibility.
        differentiable: must be False.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_hyperparameters(
            lr=(lr >= 0.0, f"Invalid learning rate: {lr}"),
            eps=(eps >= 0.0, f"Invalid epsilon value: {eps}"),
            momentum=(momentum >= 0.0, f"Invalid momentum value: {momentum}"),
            weight_decay=(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}"),
            alpha=(alpha >= 0.0, f"Invalid alpha value: {alpha}"))
        check_unsupported("RMSprop", differentiable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    @no_grad_step
    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a ``.grad``; returns the closure's loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            momentum, centered = group["momentum"], group["centered"]
            keys = ("square_avg",) + (("momentum_buffer",) if momentum > 0 else ()) \
                + (("grad_avg",) if centered else ())
            params, grads, square_avgs, *optional, steps = self._with_grads(group, *keys)
            if not params:
                continue
            buffers = optional.pop(0) if momentum > 0 else []
            grad_avgs = optional.pop(0) if centered else []
            kernels.rmsprop_(params, grads, square_avgs, grad_avgs, buffers, steps,
                             lr=float(group["lr"]), alpha=group["alpha"], eps=group["eps"],
                             weight_decay=group["weight_decay"], momentum=momentum,
                             centered=centered, maximize=group["maximize"])
        return loss
