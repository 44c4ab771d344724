"""Fused optimizer updates: the array arithmetic of ``chainrule.optim``, in place.

Each function updates a list of parameters (and their optimizer state tensors) in place,
following the algorithm in PyTorch's documentation line by line, in the same order of
operations, so float64 results agree with ``torch.optim`` to rounding. They work on the
underlying arrays: an update is not part of any graph (PyTorch runs it under ``no_grad``),
and fused in-place NumPy calls avoid building a Tensor for every intermediate.

Every parameter and state tensor that changes gets its version counter bumped, as any
in-place op would, so a graph that saved a parameter before the step refuses to backward
through the stale value.

Conventions: ``params``/``grads`` are lists of Tensors of equal shapes; ``grad`` means dL/dp.
State tensors are passed in lists parallel to ``params``.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = [
    "adadelta_",
    "adagrad_",
    "adam_",
    "add_flat_",
    "clone_params",
    "flat_grad",
    "full_state",
    "increment_step",
    "lbfgs_direction",
    "rmsprop_",
    "set_params_",
    "sgd_",
    "step_counter",
    "zeros_state",
]


# -- state tensors --------------------------------------------------------------------------

def zeros_state(param: Tensor) -> Tensor:
    """A zero tensor shaped and typed like ``param`` (a fresh optimizer buffer)."""
    return Tensor._make(np.zeros_like(param._data))


def full_state(param: Tensor, value: float) -> Tensor:
    return Tensor._make(np.full_like(param._data, value))


def step_counter() -> Tensor:
    """The step count as a 0-d float32 tensor (PyTorch keeps ``state['step']`` this way)."""
    return Tensor._make(np.zeros((), dtype=np.float32))


def increment_step(step: Tensor) -> float:
    """``step += 1``; returns the new count as a Python float."""
    np.add(step._data, 1, out=step._data)
    step._version[0] += 1
    return float(step._data)


# -- scratch memory ---------------------------------------------------------------------------
# Every temporary of an update goes into one of a few reusable flat buffers (per dtype, grown
# to the largest parameter seen) instead of a fresh array. Fresh arrays of parameter size are
# costly: glibc returns freed large blocks to the OS and page-faults them back on the next
# allocation, which made a NumPy Adam step on a 784x256 layer several times slower than the
# arithmetic. Buffers above _SCRATCH_LIMIT elements are not kept (there the arithmetic
# dominates anyway and we would rather not hold the memory).
_SCRATCH: dict = {}
_SCRATCH_LIMIT = 1 << 24


def _scratch(slot: int, like: np.ndarray) -> np.ndarray:
    """Reusable temporary memory shaped and typed like ``like`` (slot 0, 1, 2...)."""
    n = like.size
    if n > _SCRATCH_LIMIT:
        return np.empty_like(like)
    key = (slot, like.dtype)
    buf = _SCRATCH.get(key)
    if buf is None or buf.size < n:
        buf = _SCRATCH[key] = np.empty(n, like.dtype)
    return buf[:n].reshape(like.shape)


def _effective_grad(param: np.ndarray, grad: np.ndarray, maximize: bool,
                    weight_decay: float) -> np.ndarray:
    """The gradient the update follows: ``±grad + weight_decay * param`` (in scratch slot 0
    when it differs from ``grad``; ``grad`` itself is never modified)."""
    if weight_decay != 0:
        out = _scratch(0, param)
        np.multiply(param, weight_decay, out=out)
        if maximize:
            np.subtract(out, grad, out=out)
        else:
            np.add(out, grad, out=out)
        return out
    if maximize:
        return np.negative(grad, out=_scratch(0, param))
    return grad


def _ema_(average: np.ndarray, value: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``average += weight * (value - average)`` (PyTorch's lerp_ for weight < 0.5)."""
    np.subtract(value, average, out=tmp)
    tmp *= weight
    average += tmp


def _ema_square_(average: np.ndarray, value: np.ndarray, decay: float, tmp: np.ndarray) -> None:
    """``average = decay * average + (1 - decay) * value**2``."""
    average *= decay
    np.multiply(value, value, out=tmp)
    tmp *= 1 - decay
    average += tmp


# -- the updates ----------------------------------------------------------------------------

def sgd_(params: list, grads: list, momentum_buffers: list, *, lr: float,
         weight_decay: float, momentum: float, dampening: float, nesterov: bool,
         maximize: bool) -> None:
    """SGD with momentum (PyTorch's formulation); fills ``None`` entries of
    ``momentum_buffers`` with new buffers on the first step.

        g = ±grad + wd * p
        b = g  (first step)  or  b = momentum * b + (1 - dampening) * g
        g = g + momentum * b  (nesterov)  or  g = b
        p = p - lr * g
    """
    for i, param in enumerate(params):
        p = param._data
        g = _effective_grad(p, grads[i]._data, maximize, weight_decay)
        tmp = _scratch(1, p)
        if momentum != 0:
            buf = momentum_buffers[i]
            if buf is None:
                buf = momentum_buffers[i] = Tensor._make(np.array(g, copy=True))
            else:
                b = buf._data
                b *= momentum
                if dampening == 0:
                    b += g
                else:
                    np.multiply(g, 1 - dampening, out=tmp)
                    b += tmp
                buf._version[0] += 1
            if nesterov:
                np.multiply(buf._data, momentum, out=tmp)
                g = np.add(g, tmp, out=tmp)
            else:
                g = buf._data
        np.multiply(g, lr, out=tmp)
        p -= tmp
        param._version[0] += 1


def adam_(params: list, grads: list, exp_avgs: list, exp_avg_sqs: list,
          max_exp_avg_sqs: list, steps: list, *, lr: float, beta1: float, beta2: float,
          eps: float, weight_decay: float, amsgrad: bool, maximize: bool,
          decoupled_weight_decay: bool) -> None:
    """Adam (and AdamW when ``decoupled_weight_decay``), PyTorch's algorithm:

        t += 1;  p *= 1 - lr * wd  (AdamW)   or   g = g + wd * p  (Adam)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v)  (amsgrad, used in place of v below)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """
    for i, param in enumerate(params):
        p = param._data
        t = increment_step(steps[i])
        if decoupled_weight_decay:
            if weight_decay != 0:
                p *= 1 - lr * weight_decay
            g = _effective_grad(p, grads[i]._data, maximize, 0)
        else:
            g = _effective_grad(p, grads[i]._data, maximize, weight_decay)
        tmp = _scratch(1, p)
        m, v = exp_avgs[i]._data, exp_avg_sqs[i]._data
        _ema_(m, g, 1 - beta1, tmp)
        _ema_square_(v, g, beta2, tmp)
        exp_avgs[i]._version[0] += 1
        exp_avg_sqs[i]._version[0] += 1
        step_size = lr / (1 - beta1 ** t)
        bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
        if amsgrad:
            np.maximum(max_exp_avg_sqs[i]._data, v, out=max_exp_avg_sqs[i]._data)
            max_exp_avg_sqs[i]._version[0] += 1
            v = max_exp_avg_sqs[i]._data
        denom = np.sqrt(v, out=tmp)
        denom /= bias_correction2_sqrt
        denom += eps
        update = np.divide(m, denom, out=tmp)
        update *= step_size
        p -= update
        param._version[0] += 1


def rmsprop_(params: list, grads: list, square_avgs: list, grad_avgs: list,
             momentum_buffers: list, steps: list, *, lr: float, alpha: float, eps: float,
             weight_decay: float, momentum: float, centered: bool, maximize: bool) -> None:
    """RMSprop, PyTorch's algorithm:

        v = alpha * v + (1 - alpha) * g^2
        centered: gbar = lerp(gbar, g, 1 - alpha);  avg = sqrt(v - gbar^2) + eps
        else:     avg = sqrt(v) + eps
        momentum: b = momentum * b + g / avg;  p = p - lr * b
        else:     p = p - lr * g / avg
    """
    for i, param in enumerate(params):
        p = param._data
        increment_step(steps[i])
        g = _effective_grad(p, grads[i]._data, maximize, weight_decay)
        tmp = _scratch(1, p)
        v = square_avgs[i]._data
        _ema_square_(v, g, alpha, tmp)
        square_avgs[i]._version[0] += 1
        if centered:
            gbar = grad_avgs[i]._data
            _ema_(gbar, g, 1 - alpha, tmp)
            grad_avgs[i]._version[0] += 1
            np.multiply(gbar, gbar, out=tmp)
            avg = np.sqrt(np.subtract(v, tmp, out=tmp), out=tmp)
        else:
            avg = np.sqrt(v, out=tmp)
        avg += eps
        ratio = np.divide(g, avg, out=tmp)
        if momentum > 0:
            b = momentum_buffers[i]._data
            b *= momentum
            b += ratio
            momentum_buffers[i]._version[0] += 1
            np.multiply(b, lr, out=tmp)
        else:
            ratio *= lr
        p -= tmp
        param._version[0] += 1


def adagrad_(params: list, grads: list, state_sums: list, steps: list, *, lr: float,
             lr_decay: float, weight_decay: float, eps: float, maximize: bool) -> None:
    """Adagrad, PyTorch's algorithm:

        clr = lr / (1 + (t - 1) * lr_decay);  s = s + g^2;  p = p - clr * g / (sqrt(s) + eps)
    """
    for i, param in enumerate(params):
        p = param._data
        t = increment_step(steps[i])
        g = _effective_grad(p, grads[i]._data, maximize, weight_decay)
        tmp = _scratch(1, p)
        clr = lr / (1 + (t - 1) * lr_decay)
        s = state_sums[i]._data
        s += np.multiply(g, g, out=tmp)
        state_sums[i]._version[0] += 1
        std = np.sqrt(s, out=tmp)
        std += eps
        update = np.divide(g, std, out=tmp)
        update *= clr
        p -= update
        param._version[0] += 1


def adadelta_(params: list, grads: list, square_avgs: list, acc_deltas: list, steps: list,
              *, lr: float, rho: float, eps: float, weight_decay: float,
              maximize: bool) -> None:
    """Adadelta, PyTorch's algorithm:

        v = rho * v + (1 - rho) * g^2
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta^2;  p = p - lr * delta
    """
    for i, param in enumerate(params):
        p = param._data
        increment_step(steps[i])
        g = _effective_grad(p, grads[i]._data, maximize, weight_decay)
        tmp, delta = _scratch(1, p), _scratch(2, p)
        v, u = square_avgs[i]._data, acc_deltas[i]._data
        _ema_square_(v, g, rho, tmp)
        std = np.sqrt(np.add(v, eps, out=tmp), out=tmp)
        np.sqrt(np.add(u, eps, out=delta), out=delta)
        delta /= std
        delta *= g
        _ema_square_(u, delta, rho, tmp)
        square_avgs[i]._version[0] += 1
        acc_deltas[i]._version[0] += 1
        delta *= lr
        p -= delta
        param._version[0] += 1


# -- flat views for L-BFGS ------------------------------------------------------------------

def flat_grad(params: list) -> Tensor:
    """All gradients concatenated into one vector (zeros where ``.grad`` is None)."""
    parts = [np.zeros(p._data.size, dtype=p._data.dtype) if p.grad is None
             else p.grad._data.reshape(-1) for p in params]
    return Tensor._make(np.concatenate(parts) if parts else np.zeros(0))


def add_flat_(params: list, step: float, direction: Tensor) -> None:
    """``p += step * direction[slice of p]`` for each parameter, in order."""
    d = direction._data
    offset = 0
    for param in params:
        p = param._data
        n = p.size
        p += step * d[offset:offset + n].reshape(p.shape)
        param._version[0] += 1
        offset += n
    if offset != d.size:
        raise RuntimeError(f"LBFGS: the direction has {d.size} elements but the parameters "
                           f"have {offset}")


def clone_params(params: list) -> list:
    return [np.array(p._data, copy=True) for p in params]


def set_params_(params: list, arrays: list) -> None:
    for param, saved in zip(params, arrays):
        np.copyto(param._data, saved)
        param._version[0] += 1


def lbfgs_direction(grad: Tensor, old_dirs: list, old_stps: list, ro: list,
                    h_diag: float) -> Tensor:
    """L-BFGS two-loop recursion: ``d = -H g`` from the stored curvature pairs.

    ``old_dirs`` are gradient differences y, ``old_stps`` step differences s, ``ro`` the
    numbers 1 / (y . s); ``h_diag`` scales the initial Hessian guess (y . s / y . y).
    """
    n = len(old_dirs)
    al = [0.0] * n
    q = -grad._data
    for i in range(n - 1, -1, -1):
        al[i] = float(np.dot(old_stps[i]._data, q)) * ro[i]
        q -= al[i] * old_dirs[i]._data
    r = q * h_diag
    for i in range(n):
        be_i = float(np.dot(old_dirs[i]._data, r)) * ro[i]
        r += (al[i] - be_i) * old_stps[i]._data
    return Tensor._make(r)
