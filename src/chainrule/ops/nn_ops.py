"""Fused primitives for neural networks: linear, cross-entropy, normalisation, dropout,
embedding, activations with a kink, binary cross-entropy, and ``erf``.

Each is one node instead of five to ten, which is what makes a training step cheap in
Python (and, for cross-entropy, what makes it stable: it never forms ``exp`` of a large
logit). Backward passes are written with tensor ops, so they are differentiable again.
Where a backward needs values that forward already computed (softmax probabilities,
normalised inputs), it uses the stored arrays when no graph is being recorded (the common
case) and recomputes them with tensor ops from the saved inputs under ``create_graph=True``,
so that second derivatives see their dependence on the input.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import engine
from ..tensor import Tensor
from ._util import constant
from .elementwise import KeepWhere
from .function import Function
from .random import _rng

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)
_1_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


# -- erf -----------------------------------------------------------------------------------

def _erf_series_coefficients(n: int) -> list:
    # erf(x) = 2/sqrt(pi) e^{-x^2} sum_k 2^k x^(2k+1) / (2k+1)!!: every term is positive,
    # so there is no cancellation (the plain Taylor series loses digits beyond |x| ~ 2).
    c = [1.0]
    for k in range(1, n):
        c.append(c[-1] * 2.0 / (2 * k + 1))
    return c[::-1]  # highest power first, for Horner's rule


_ERF_SERIES = _erf_series_coefficients(44)
# Terms needed per range of |x| (measured against scipy.special.erf on a dense grid): enough
# for 1e-15 relative error in float64, 1e-8 (the series' own error) for float32/float16.
_ERF_TERMS = {"double": ((1.0, 18), (2.0, 30), (3.0, 44)),
              "single": ((1.0, 11), (2.0, 20), (3.0, 31))}
_ERF_CF_TERMS = {"double": 20, "single": 8}  # continued fraction for erfc on 3 <= |x| < 6


def erf_array(x: np.ndarray) -> np.ndarray:
    """The error function of a float array: about 1e-15 relative error in float64 (5e-7 in
    float32, which is computed in float32).

    |x| < 3: the positive series above, with as many terms as the range of |x| needs;
    3 <= |x| < 6: erf = 1 - erfc with Laplace's continued fraction
    erfc(x) = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))));
    |x| >= 6: 1 (erfc(6) < 2.2e-17, below half an ulp of 1).
    """
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    precision = "double" if dtype.itemsize >= 8 else "single"
    # float32 results are computed in float32 (half the memory traffic; error ~1e-7)
    a = np.abs(x.astype(np.float64 if precision == "double" else np.float32,
                        copy=False)).reshape(-1)
    out = np.ones_like(a)
    # Index arrays, not boolean masks: gathering with a random mask is ~20x slower in NumPy.
    bucket = np.fmin(a, 6).astype(np.int8)  # 0, 1, 2: series ranges; 3-5: erfc; 6: 1
    lo = 0
    for hi, n_terms in _ERF_TERMS[precision]:
        where = np.flatnonzero((bucket >= lo) & (bucket < hi)) if lo else \
            np.flatnonzero(bucket < hi)
        lo = int(hi)
        if not where.size:
            continue
        s = a.take(where)
        z = s * s
        coefficients = _ERF_SERIES[len(_ERF_SERIES) - n_terms:]
        acc = np.full_like(s, coefficients[0])
        for c in coefficients[1:]:
            acc *= z
            acc += c
        acc *= s
        acc *= np.exp(-z)
        acc *= _2_SQRTPI
        out.put(where, acc)
    where = np.flatnonzero((bucket >= 3) & (bucket < 6))
    if where.size:
        s = a.take(where)
        f = s.copy()
        for k in range(_ERF_CF_TERMS[precision], 0, -1):
            f = s + (0.5 * k) / f
        out.put(where, 1.0 - np.exp(-s * s) / (math.sqrt(math.pi) * f))
    np.copysign(out, x.reshape(-1), out=out)
    nan = np.isnan(a)
    if nan.any():
        out[nan] = np.nan
    return out.reshape(x.shape).astype(dtype, copy=False)


class Erf(Function):
    """erf(x); d erf/dx = 2/sqrt(pi) e^{-x^2}."""

    saves_inputs = True

    def forward(self, x):
        return erf_array(x)

    def backward(self, grad):
        (x,) = self.saved_inputs()
        return grad * (x * x).neg().exp() * _2_SQRTPI


def erf(input: Tensor) -> Tensor:
    """The Gauss error function, elementwise (``chainrule.special.erf``)."""
    if input._data.dtype.kind != "f":
        input = input.to(_default_float())
    return Erf()(input)


def _default_float():
    from .. import _dtype
    return _dtype.get_default_dtype()


class Gelu(Function):
    """GELU(x) = x Phi(x) with the exact normal CDF Phi(x) = (1 + erf(x/sqrt 2))/2;
    dGELU/dx = Phi(x) + x phi(x)."""

    saves_inputs = True

    def forward(self, x):
        self.cdf = erf_array(x * _SQRT1_2)
        self.cdf += 1
        self.cdf *= 0.5
        return x * self.cdf

    def backward(self, grad):
        (x,) = self.saved_inputs()
        if engine.GRAD_ENABLED:  # create_graph: Phi must depend on x
            cdf = (Erf()(x * _SQRT1_2) + 1) * 0.5
        else:
            cdf = constant(self.cdf)
        pdf = (x * x * -0.5).exp() * _1_SQRT2PI
        return grad * (cdf + x * pdf)


# -- activations with a kink -------------------------------------------------------------

class LeakyRelu(Function):
    """x if x > 0 else slope * x; the derivative is piecewise constant."""

    def __init__(self, slope: float):
        self.slope = slope

    def forward(self, x):
        self.positive = x > 0
        return np.where(self.positive, x, x * x.dtype.type(self.slope))

    def backward(self, grad):
        dtype = grad._data.dtype
        return grad * constant(np.where(self.positive, dtype.type(1), dtype.type(self.slope)))


class Hardtanh(Function):
    """clamp(x, lo, hi); the gradient passes strictly inside (lo, hi), as in PyTorch, and not
    at a NaN input (as PyTorch's vectorized kernel; its scalar kernel, which does the last
    few elements of an array, passes it)."""

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.inside = (x > self.lo) & (x < self.hi)
        return np.clip(x, x.dtype.type(self.lo), x.dtype.type(self.hi))

    def backward(self, grad):
        return KeepWhere(self.inside)(grad)


class Shrink(Function):
    """Soft or hard shrinkage by ``lambd``, PyTorch's kernels: 0 where -lambd <= x <= lambd;
    elsewhere x (hard) or x -+ lambd (soft), NaN kept. The gradient passes outside that
    interval and is exactly 0 inside and at a NaN (a select; as PyTorch's vectorized kernels,
    whose scalar kernels, for an array's last few elements, pass it at a NaN)."""

    def __init__(self, lambd: float, soft: bool):
        self.lambd, self.soft = lambd, soft

    def forward(self, x):
        lam = x.dtype.type(self.lambd)
        inside = (x >= -lam) & (x <= lam)
        self.outside = (x < -lam) | (x > lam)  # not ~inside: a NaN is in neither
        zero = x.dtype.type(0)
        if not self.soft:
            return np.where(inside, zero, x)
        # NaN is not inside, and x + lambd keeps it NaN, as in PyTorch. (PyTorch's scalar
        # kernel, for an array's last few elements, gives -0.0 for negative x inside; its
        # vectorized kernel, like this, +0.0.)
        return np.where(inside, zero, np.where(x > lam, x - lam, x + lam))

    def backward(self, grad):
        return KeepWhere(self.outside)(grad)


class RreluNoise(Function):
    """Randomized leaky ReLU in training: each non-positive x is multiplied by its own slope
    drawn uniformly from [lower, upper] (positive x by 1); the gradient is the same factor."""

    def __init__(self, lower: float, upper: float, generator=None):
        self.lower, self.upper, self.generator = lower, upper, generator

    def forward(self, x):
        slopes = _rng(self.generator).uniform(self.lower, self.upper, x.shape).astype(x.dtype)
        self.noise = np.where(x > 0, x.dtype.type(1), slopes)
        return x * self.noise

    def backward(self, grad):
        return grad * constant(self.noise)


class Silu(Function):
    """x * sigmoid(x), one op: its derivative s (1 + x (1 - s)) is formed first and multiplies
    the gradient once, as in PyTorch (the composite x * sigmoid(x) adds two products, which
    made an inf gradient NaN where the derivative is negative)."""

    saves_inputs = True

    def forward(self, x):
        s = np.tanh(x * 0.5)  # sigmoid as (1 + tanh(x/2)) / 2: no overflow for any x
        s *= 0.5
        s += 0.5
        s *= x
        return s

    def backward(self, grad):
        x = self.saved_input(0)
        s = x.sigmoid()
        return grad * (s * (1 + x * (1 - s)))


class Mish(Function):
    """x * tanh(softplus(x)), one op for the same reason as ``Silu``: the derivative
    t + x s (1 - t^2) (t = tanh(softplus(x)), s = sigmoid(x)) multiplies the gradient once."""

    saves_inputs = True

    def forward(self, x):
        t = np.tanh(np.logaddexp(0, x))
        t *= x
        return t

    def backward(self, grad):
        x = self.saved_input(0)
        t = Softplus(1.0, math.inf)(x).tanh()
        return grad * (t + x * x.sigmoid() * (1 - t * t))


class Hardswish(Function):
    """x * relu6(x + 3) / 6. Its derivative, as PyTorch's ``hardswish_backward``: exactly 0
    up to -3 (a select: an inf or NaN gradient there gives 0), x/3 + 1/2 strictly between -3
    and 3, 1 from 3 on and at NaN."""

    saves_inputs = True

    def forward(self, x):
        out = x + x.dtype.type(3)
        np.clip(out, 0, 6, out=out)
        out *= x
        out /= 6
        return out

    def backward(self, grad):
        x = self.saved_input(0)
        data = x._data
        # NaN fails every comparison and so takes the last branch (slope 1), as in PyTorch.
        above = constant((~(data < 3)).astype(data.dtype))
        slope = KeepWhere(data < 3)(x / 3 + 0.5) + above  # x/3 + 1/2 stays differentiable
        return KeepWhere(~(data <= -3))(grad * slope)


class Elu(Function):
    """x if x > 0 else alpha (e^x - 1); for x <= 0 the derivative is alpha e^x = y + alpha."""

    saves_output = True

    def __init__(self, alpha: float):
        self.alpha = alpha

    def forward(self, x):
        self.positive = x > 0
        alpha = x.dtype.type(self.alpha)
        return np.where(self.positive, x, alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, grad):
        y = self.saved_output()
        one = constant(np.ones((), grad._data.dtype))
        from .elementwise import where
        return grad * where(constant(self.positive), one, y + self.alpha)


class Softplus(Function):
    """log(1 + e^{beta x}) / beta, and x where beta x > threshold; derivative sigmoid(beta x)."""

    saves_inputs = True

    def __init__(self, beta: float, threshold: float):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        bx = x * x.dtype.type(self.beta)
        self.linear = bx > self.threshold
        return np.where(self.linear, x, np.logaddexp(0, bx) / x.dtype.type(self.beta))

    def backward(self, grad):
        (x,) = self.saved_inputs()
        slope = (x * self.beta).sigmoid()
        from .elementwise import where
        return grad * where(constant(self.linear), constant(np.ones((), grad._data.dtype)), slope)


# -- linear ------------------------------------------------------------------------------

def _memory_order(x: np.ndarray) -> tuple | None:
    """The order of x's leading axes in memory, if x is not C-contiguous but taking its axes in
    that order (features last) is; else None."""
    if x.ndim < 3 or x.flags.c_contiguous:
        return None
    perm = tuple(sorted(range(x.ndim - 1), key=lambda d: -x.strides[d])) + (x.ndim - 1,)
    return perm if x.transpose(perm).flags.c_contiguous else None


class Linear(Function):
    """y = x W^T + b for x of shape (..., in), W (out, in), b (out).

    Forward is one GEMM plus an in-place bias add; backward one GEMM per needed gradient
    (dL/dx = g W, dL/dW = g^T x over all leading dims flattened) and a sum for dL/db.
    """

    saves_inputs = True

    def forward(self, x, w, b=None):
        # An x whose leading axes are permuted in memory (a batch_first LSTM's output, a
        # transposed view) is multiplied in its memory order if the output is no wider: no
        # copy of x, now or in backward, only of the output (W3 of benchmarks/: the head).
        self.perm = _memory_order(x) if w.shape[0] <= w.shape[1] else None
        xs = x if self.perm is None else x.transpose(self.perm)
        out = (xs.reshape(-1, x.shape[-1]) @ w.T).reshape(xs.shape[:-1] + (w.shape[0],))
        if b is not None:
            out += b
        if self.perm is not None:
            out = np.ascontiguousarray(out.transpose(np.argsort(self.perm)))
        return out

    def backward(self, grad):
        saved = self.saved_inputs()
        x, w = saved[0], saved[1]
        edges = self.next_functions
        perm = self.perm
        if perm is not None:  # work in x's memory order (see forward)
            x, grad = x.permute(perm), grad.permute(perm)
        g2 = grad if grad.ndim == 2 else grad.reshape(-1, w.shape[0])
        grad_x = grad_w = grad_b = None
        if edges[0] is not None:
            grad_x = g2 @ w
            if x.ndim != 2:
                grad_x = grad_x.reshape(x.shape)
            if perm is not None:
                grad_x = grad_x.permute(tuple(np.argsort(perm).tolist()))
        if edges[1] is not None:
            x2 = x if x.ndim == 2 else x.reshape(-1, w.shape[1])
            grad_w = g2.mT @ x2
        if len(edges) == 2:
            return grad_x, grad_w
        if edges[2] is not None:
            grad_b = g2.sum(0)
        return grad_x, grad_w, grad_b


# -- cross-entropy -----------------------------------------------------------------------

def _classes_last(z: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) -> (N*d1*..., C); (C,) -> (1, C); (N, C) stays."""
    if z.ndim == 2:
        return z
    if z.ndim == 1:
        return z[None, :]
    return np.moveaxis(z, 1, -1).reshape(-1, z.shape[1])


def _classes_back(g, shape: tuple):
    """Inverse of ``_classes_last`` for arrays or tensors."""
    if len(shape) == 2:
        return g
    if len(shape) == 1:
        return g.reshape(shape)
    moved = g.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],))
    if isinstance(moved, Tensor):
        return moved.movedim(-1, 1)
    return np.moveaxis(moved, -1, 1)


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood over the class dim (dim 1).

    With q the (smoothed, weighted) target distribution of a row and Q = sum(q):
    loss = -sum_c q_c log p_c, where log p = z - logsumexp(z) is computed after subtracting
    the row max (finite for any logits), and dL/dz = p Q - q (= p - onehot(t) plainly).

    ``target`` is an int array of class indices (then ``ignore_index`` applies) or, when
    ``target`` is None, the second input is a tensor of class probabilities.
    """

    saves_inputs = True

    def __init__(self, target, weight, ignore_index: int, label_smoothing: float,
                 reduction: str):
        self.target, self.weight = target, weight
        self.ignore_index, self.eps, self.reduction = ignore_index, label_smoothing, reduction

    def forward(self, z, probs=None):
        zm = _classes_last(z)
        rows, n_classes = zm.shape
        dt = z.dtype.type
        row_max = zm.max(axis=1, keepdims=True)
        p = zm - row_max
        np.exp(p, out=p)
        total = p.sum(axis=1, keepdims=True)
        p /= total
        lse = (np.log(total) + row_max)[:, 0]
        eps, w = self.eps, self.weight
        self.p, self.lse, self.z_shape = p, lse, z.shape
        if self.target is not None:
            t = self.target.reshape(-1)
            valid = t != self.ignore_index
            ts = np.where(valid, t, 0)
            w_t = (w[ts] if w is not None else np.ones(rows, z.dtype)) * valid
            arange = np.arange(rows)
            loss = (1 - eps) * w_t * (lse - zm[arange, ts])
            self.q_t = (dt(1 - eps) * w_t).astype(z.dtype)  # q at the target class
            self.q_sum = self.q_t
            if eps:
                if w is None:  # sum_c -log p_c = C lse - sum_c z_c
                    smooth = n_classes * lse - zm.sum(axis=1)
                    w_sum = n_classes
                else:
                    smooth = lse * w.sum() - zm @ w
                    w_sum = w.sum()
                loss = loss + (eps / n_classes) * smooth * valid
                self.q_sum = (self.q_t + (eps / n_classes) * w_sum * valid).astype(z.dtype)
            self.ts, self.valid, self.arange = ts, valid, arange
            self.denominator = w_t.sum()
        else:
            y = _classes_last(probs)
            q = y * dt(1 - eps) + dt(eps / n_classes) if eps else y
            if w is not None:
                q = q * w
            loss = -(q * (zm - lse[:, None])).sum(axis=1)
            self.q_sum = q.sum(axis=1)
            self.denominator = rows
        if self.reduction == "none":
            shape = self.target.shape if self.target is not None else \
                probs.shape[:1] + probs.shape[2:]
            return loss.astype(z.dtype, copy=False).reshape(shape)
        total_loss = loss.sum()
        if self.reduction == "mean":
            total_loss = total_loss / self.denominator
        return np.asarray(total_loss, dtype=z.dtype)

    def _coefficient(self, g: np.ndarray) -> np.ndarray:
        """dL/d(loss of each row): the incoming gradient, divided for 'mean'."""
        if self.reduction == "none":
            return g.reshape(-1)
        if self.reduction == "mean":
            return g / g.dtype.type(self.denominator)
        return g

    def backward(self, grad):
        if engine.GRAD_ENABLED:
            return self._backward_graph(grad)
        g = grad._data
        coef = np.broadcast_to(self._coefficient(g), self.lse.shape).astype(g.dtype)
        need_z = self.next_functions[0] is not None
        grad_z = grad_probs = None
        n_classes = self.p.shape[1]
        w = self.weight
        if self.target is not None:
            if need_z:
                gz = self.p * (coef * self.q_sum)[:, None]
                gz[self.arange, self.ts] -= coef * self.q_t
                if self.eps:
                    row = (self.eps / n_classes) * (w if w is not None else 1.0)
                    gz -= (coef * self.valid)[:, None] * np.asarray(row, g.dtype)
                grad_z = Tensor._make(_classes_back(gz, self.z_shape))
            return grad_z
        (z, probs) = self.saved_inputs()
        y = _classes_last(probs._data)
        q = y * (1 - self.eps) + self.eps / n_classes if self.eps else y
        if w is not None:
            q = q * w
        if need_z:
            gz = self.p * (coef * self.q_sum)[:, None] - coef[:, None] * q
            grad_z = Tensor._make(_classes_back(gz.astype(g.dtype, copy=False), self.z_shape))
        if self.next_functions[1] is not None:
            logp = _classes_last(z._data) - self.lse[:, None]
            gy = -(coef[:, None] * (1 - self.eps)) * logp
            if w is not None:
                gy = gy * w
            grad_probs = Tensor._make(_classes_back(gy.astype(g.dtype, copy=False),
                                                    self.z_shape))
        return grad_z, grad_probs

    def _backward_graph(self, grad):
        """The same gradient with tensor ops (create_graph=True): p depends on z."""
        from .reduction import log_softmax
        saved = self.saved_inputs()
        z = saved[0]
        rows, n_classes = self.p.shape
        zm = z.reshape(1, -1) if z.ndim == 1 else (
            z if z.ndim == 2 else z.movedim(1, -1).reshape(-1, n_classes))
        logp = log_softmax(zm, 1)
        p = logp.exp()
        if self.reduction == "none":
            coef = grad.reshape(-1, 1)
        elif self.reduction == "mean":
            coef = grad / float(self.denominator)
        else:
            coef = grad
        dtype = self.p.dtype
        w = self.weight
        if self.target is not None:
            q = np.zeros((rows, n_classes), dtype)
            q[self.arange, self.ts] = self.q_t
            if self.eps:
                q += ((self.eps / n_classes) * (w if w is not None else 1.0)
                      * self.valid[:, None]).astype(dtype)
            grad_z = (p * constant(self.q_sum.reshape(-1, 1)) - constant(q)) * coef
            return _classes_back(grad_z, self.z_shape)
        y = saved[1]
        ym = y.reshape(1, -1) if y.ndim == 1 else (
            y if y.ndim == 2 else y.movedim(1, -1).reshape(-1, n_classes))
        q = ym * (1 - self.eps) + self.eps / n_classes if self.eps else ym
        if w is not None:
            q = q * constant(w)
        grad_z = grad_y = None
        if self.next_functions[0] is not None:
            grad_z = _classes_back((p * q.sum(1, keepdim=True) - q) * coef, self.z_shape)
        if self.next_functions[1] is not None:
            gy = logp * coef * -(1 - self.eps)
            if w is not None:
                gy = gy * constant(w)
            grad_y = _classes_back(gy, self.z_shape)
        return grad_z, grad_y


# -- binary cross-entropy ----------------------------------------------------------------

_BCE_EPS = float(np.float32(1e-12))  # PyTorch's EPSILON, a float32 constant


class BinaryCrossEntropy(Function):
    """-w (t log x + (1 - t) log(1 - x)) elementwise, each log clamped at -100 (as PyTorch);
    dL/dx = w (x - t) / max(x (1 - x), 1e-12)."""

    saves_inputs = True

    def __init__(self, weight):
        self.weight = weight

    def forward(self, x, t):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        loss = -(t * log_x + (1 - t) * log_1mx)
        if self.weight is not None:
            loss = loss * self.weight
        return loss.astype(x.dtype, copy=False)

    def backward(self, grad):
        x, t = self.saved_inputs()
        if self.weight is not None:
            grad = grad * constant(self.weight)
        grad_x = grad_t = None
        if self.next_functions[0] is not None:
            grad_x = grad * (x - t) / (x * (1 - x)).clamp(min=_BCE_EPS)
        if self.next_functions[1] is not None:
            # unclamped, as PyTorch's binary_cross_entropy_target_backward
            grad_t = grad * ((-x).log1p() - x.log())
        return grad_x, grad_t


class BinaryCrossEntropyWithLogits(Function):
    """BCE of sigmoid(x) without forming sigmoid: with sp = softplus(-x) computed as
    log1p(e^{-|x|}) + max(-x, 0) and lw = 1 + (pos_weight - 1) t,
    loss = w ((1 - t) x + lw sp); dL/dx = w (lw sigmoid(x) - pos_weight t)."""

    saves_inputs = True

    def __init__(self, weight, pos_weight):
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, x, t):
        sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
        if self.pos_weight is not None:
            loss = (1 - t) * x + ((self.pos_weight - 1) * t + 1) * sp
        else:
            loss = (1 - t) * x + sp
        if self.weight is not None:
            loss = loss * self.weight
        return loss.astype(x.dtype, copy=False)

    def backward(self, grad):
        x, t = self.saved_inputs()
        if self.weight is not None:
            grad = grad * constant(self.weight)
        pw = constant(self.pos_weight) if self.pos_weight is not None else None
        grad_x = grad_t = None
        if self.next_functions[0] is not None:
            s = x.sigmoid()
            if pw is None:
                grad_x = grad * (s - t)
            else:
                grad_x = grad * ((1 + (pw - 1) * t) * s - pw * t)
        if self.next_functions[1] is not None:
            if pw is None:
                grad_t = grad * -x
            else:
                sp = Softplus(1.0, 20.0)(-x)
                grad_t = grad * ((pw - 1) * sp - x)
        return grad_x, grad_t


# -- normalisation -----------------------------------------------------------------------

class Normalize(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b, statistics over ``axes`` (biased variance),
    w and b broadcast against x. LayerNorm: the trailing axes; BatchNorm: all but dim 1.

    With xhat the normalised input, dxhat = g w and n the number of values per statistic:
    dL/dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dL/dw = sum g xhat,
    dL/db = sum g (the sums over the axes w is broadcast along).
    """

    saves_inputs = True

    def __init__(self, axes: tuple, param_shape: tuple, eps: float, has_weight: bool,
                 has_bias: bool):
        self.axes, self.param_shape, self.eps = axes, param_shape, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *params):
        mean = x.mean(axis=self.axes, keepdims=True)
        xc = x - mean
        var = np.mean(np.square(xc), axis=self.axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        xc *= rstd
        self.xhat, self.rstd, self.mean, self.var = xc, rstd, mean, var
        # out = xhat * w + b in one new array (xhat stays private to backward)
        if self.has_weight:
            out = np.multiply(xc, params[0].reshape(self.param_shape))
        else:
            out = xc.copy()
        if self.has_bias:
            out += params[-1].reshape(self.param_shape)
        return out

    def batch_stats(self) -> tuple:
        """The mean and biased variance of this call, squeezed to the parameter's shape."""
        keep = [i for i in range(self.xhat.ndim) if i not in self.axes]
        shape = tuple(self.xhat.shape[i] for i in keep)
        return (Tensor._make(self.mean.reshape(shape)), Tensor._make(self.var.reshape(shape)))

    def backward(self, grad):
        saved = self.saved_inputs()
        if not engine.GRAD_ENABLED:
            return self._backward_arrays(grad._data, saved)
        x = saved[0]
        if engine.GRAD_ENABLED:  # create_graph: xhat and rstd depend on x
            mean = x.mean(self.axes, keepdim=True)
            xc = x - mean
            rstd = ((xc * xc).mean(self.axes, keepdim=True) + self.eps).rsqrt()
            xhat = xc * rstd
        else:
            xhat, rstd = constant(self.xhat), constant(self.rstd)
        param_axes = tuple(i for i in range(x.ndim) if self.param_shape[i] == 1) \
            if len(self.param_shape) == x.ndim else None
        grads = []
        edges = self.next_functions
        w = saved[1].reshape(self.param_shape) if self.has_weight else None
        if edges[0] is not None:
            gxhat = grad * w if w is not None else grad
            grad_x = rstd * (gxhat - gxhat.mean(self.axes, keepdim=True)
                             - xhat * (gxhat * xhat).mean(self.axes, keepdim=True))
            grads.append(grad_x)
        else:
            grads.append(None)
        i = 1
        if self.has_weight:
            grads.append(_sum_to_param(grad * xhat, param_axes, saved[i].shape)
                         if edges[i] is not None else None)
            i += 1
        if self.has_bias:
            grads.append(_sum_to_param(grad, param_axes, saved[i].shape)
                         if edges[i] is not None else None)
        return tuple(grads)


    def _backward_arrays(self, g: np.ndarray, saved: tuple) -> tuple:
        """The same formulas on the stored arrays, in place where possible (no graph)."""
        if len(self.param_shape) == g.ndim and all(self.param_shape[i] == 1 for i in self.axes):
            return self._backward_arrays_per_channel(g, saved)
        xhat, rstd, axes, edges = self.xhat, self.rstd, self.axes, self.next_functions
        grads = [None]
        if edges[0] is not None:
            gxhat = g * saved[1]._data.reshape(self.param_shape) if self.has_weight else g
            mean_g = gxhat.mean(axis=axes, keepdims=True)
            mean_gx = np.mean(gxhat * xhat, axis=axes, keepdims=True)
            grad_x = xhat * mean_gx
            np.subtract(gxhat, grad_x, out=grad_x)
            grad_x -= mean_g
            grad_x *= rstd
            grads[0] = Tensor._make(grad_x)
        # the parameters' gradients sum over every dim the parameters are broadcast along
        lead = g.ndim - len(self.param_shape)
        param_axes = tuple(range(lead)) + tuple(lead + i for i, size in
                                                enumerate(self.param_shape) if size == 1)
        i = 1
        if self.has_weight:
            grads.append(Tensor._make(np.sum(g * xhat, axis=param_axes).reshape(
                saved[i].shape)) if edges[i] is not None else None)
            i += 1
        if self.has_bias:
            grads.append(Tensor._make(np.sum(g, axis=param_axes).reshape(saved[i].shape))
                         if edges[i] is not None else None)
        return tuple(grads)


    def _backward_arrays_per_channel(self, g: np.ndarray, saved: tuple) -> tuple:
        """Batch norm: w is constant over each set of statistics, so with n values per set
        dL/dx = rstd w (g - sum(g)/n - xhat sum(g xhat)/n), and the two sums are also
        dL/db and dL/dw: two reductions and one temporary array in all."""
        xhat, axes, edges = self.xhat, self.axes, self.next_functions
        n = xhat.size // self.rstd.size
        sum_g = g.sum(axis=axes, keepdims=True)
        work = g * xhat
        sum_gx = work.sum(axis=axes, keepdims=True)
        grads = [None]
        if edges[0] is not None:
            np.multiply(xhat, sum_gx / n, out=work)
            np.subtract(g, work, out=work)
            work -= sum_g / n
            scale = self.rstd * saved[1]._data.reshape(self.param_shape) if self.has_weight \
                else self.rstd
            work *= scale
            grads[0] = Tensor._make(work)
        i = 1
        if self.has_weight:
            grads.append(Tensor._make(sum_gx.reshape(saved[i].shape))
                         if edges[i] is not None else None)
            i += 1
        if self.has_bias:
            grads.append(Tensor._make(sum_g.reshape(saved[i].shape))
                         if edges[i] is not None else None)
        return tuple(grads)


def _sum_to_param(g: Tensor, axes, shape) -> Tensor:
    if axes is None:  # LayerNorm: params cover the trailing dims, the engine sums the rest
        return g
    return g.sum(axes).reshape(shape)


# -- dropout and embedding -----------------------------------------------------------------

class Dropout(Function):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout,
    so evaluation needs no rescaling); the gradient flows through the same mask."""

    def __init__(self, p: float, generator=None):
        self.p, self.generator = p, generator

    def forward(self, x):
        if self.p >= 1:
            self.keep = np.zeros(x.shape, x.dtype)
        else:
            u = _rng(self.generator).random(x.shape, dtype=np.float32 if x.dtype == np.float32
                                            else np.float64)
            self.keep = (u >= self.p).astype(x.dtype)
            self.keep *= x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.keep

    def backward(self, grad):
        return grad * constant(self.keep)


class Embedding(Function):
    """Rows of the weight table: out[...] = W[idx[...]]; the gradient of W sums the incoming
    rows by index (a row used twice gets both), with zero at ``padding_idx``."""

    def __init__(self, indices: np.ndarray, padding_idx, scale_grad_by_freq: bool):
        self.indices, self.padding_idx = indices, padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq

    def forward(self, w):
        self.n_rows = w.shape[0]
        return np.take(w, self.indices, axis=0)

    def backward(self, grad):
        from .indexing import IndexAdd
        flat = self.indices.reshape(-1)
        rows = grad.reshape(-1, grad.shape[-1])
        scale = None
        if self.padding_idx is not None:
            scale = (flat != self.padding_idx).astype(grad._data.dtype)
        if self.scale_grad_by_freq:
            counts = np.bincount(flat, minlength=self.n_rows)[flat].astype(grad._data.dtype)
            scale = (1.0 / counts) if scale is None else scale / counts
        if scale is not None:
            rows = rows * constant(scale[:, None])
        zeros = Tensor._zeros((self.n_rows, grad.shape[-1]), grad._data.dtype)
        return IndexAdd(0, flat)(zeros, rows)


def embedding_renorm_(weight: Tensor, indices: Tensor, max_norm: float, norm_type: float):
    """Scale (in place, untracked) the rows of ``weight`` used by ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` down to norm ``max_norm`` (PyTorch's renorm)."""
    rows = np.unique(indices._data.reshape(-1))
    w = weight._data
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] *= scale[:, None]
        weight._version[0] += 1
    return weight


# -- helpers for nn.init -------------------------------------------------------------------

def qr(a: Tensor) -> tuple:
    """Reduced QR decomposition ``a = q r`` of a 2-D tensor (not differentiable)."""
    q, r = np.linalg.qr(a._data.astype(np.float64))
    return Tensor._make(q.astype(a._data.dtype)), Tensor._make(r.astype(a._data.dtype))
