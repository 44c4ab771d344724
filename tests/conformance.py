"""The PyTorch conformance harness: check any chainrule op against torch in one line.

    check_against_torch("mul", lambda x, y: x * y, lambda x, y: x * y,
                        [spec(2, 3), spec(3)], "float64")

builds the same random inputs in both libraries, compares the forward values (and dtypes and
shapes), backpropagates the same random upstream gradient through every floating output and
compares every input's ``.grad``. In float64 it also checks the analytic gradient against
central finite differences (so a wrong VJP is caught even where torch is not consulted).

The test files hold tables of ``Case`` rows; adding an op is one row:

    Case("exp", lambda m, x: m.exp(x), [spec(3, 4)])

where ``m`` is the library module (``chainrule`` or ``torch``), so the same lambda is the
chainrule callable and the torch callable. A row may give ``torch_fn`` separately where the
spelling differs. ``spec`` describes an input: shape, value domain (``"positive"`` for
log/sqrt, ``"int"``/``"bool"`` for inputs that never require grad, ...) and layout
(``"T"`` for a transposed, ``"strided"`` for a step-sliced, i.e. non-contiguous, leaf).
Floating inputs take the dtype under test (every row runs in float64 and float32).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

import chainrule

DTYPES = ("float64", "float32")

# (rtol, atol) for values and gradients compared with torch
TOLERANCES = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-5)}


@dataclass(frozen=True)
class Spec:
    """One input: ``shape``; ``domain`` of its values; ``layout`` of its memory; ``grad``
    (whether a floating input requires grad)."""

    shape: tuple
    # real | positive | unit | away0 (|x| >= 0.3) | zeros | ties | int | index:N | bool
    domain: str = "real"
    layout: str = "contiguous"  # contiguous | T (last two dims transposed) | strided
    grad: bool = True

    @property
    def is_float(self) -> bool:
        return self.domain not in ("int", "bool") and not self.domain.startswith("index")


def spec(*shape: int, domain: str = "real", layout: str = "contiguous",
         grad: bool = True) -> Spec:
    """An input spec: ``spec(2, 3)``, ``spec(4, domain="positive")``, ``spec()`` for 0-d."""
    return Spec(tuple(shape), domain, layout, grad)


def pos(*shape: int, **kw) -> Spec:
    return spec(*shape, domain="positive", **kw)


def T(*shape: int, **kw) -> Spec:
    """A non-contiguous leaf: made as the transpose of a (…, n, m) array."""
    return spec(*shape, layout="T", **kw)


def strided(*shape: int, **kw) -> Spec:
    """A non-contiguous leaf: every other element of a larger array along the last dim."""
    return spec(*shape, layout="strided", **kw)


def ints(*shape: int) -> Spec:
    return spec(*shape, domain="int", grad=False)


@dataclass
class Case:
    """One row of a conformance table."""

    name: str
    fn: Callable  # fn(m, *inputs) with m = chainrule or torch
    inputs: Sequence[Spec]
    torch_fn: Callable | None = None  # when torch spells it differently: torch_fn(torch, *x)
    dtypes: tuple = DTYPES
    fd: bool = True  # finite-difference check in float64 (off at kinks / discrete outputs)
    tol32: tuple | None = None  # (rtol, atol) override for float32
    marks: tuple = field(default_factory=tuple)

    def param(self):
        return [pytest.param(self, dt, id=f"{self.name}-{dt}", marks=self.marks)
                for dt in self.dtypes]


def params(cases: Sequence[Case]) -> list:
    """pytest parameters for a table: one per (case, dtype), with readable ids."""
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate case names in table: {sorted(dup)}"
    return [p for c in cases for p in c.param()]


def run_case(case: Case, dtype: str) -> None:
    """The body of every table-driven test."""
    check_against_torch(case.name, lambda *x: case.fn(chainrule, *x),
                        (lambda *x: case.torch_fn(torch, *x)) if case.torch_fn
                        else (lambda *x: case.fn(torch, *x)),
                        case.inputs, dtype, fd=case.fd, tol32=case.tol32)


# -- inputs ---------------------------------------------------------------------------------

def _values(s: Spec, rng: np.random.Generator, dtype: str) -> np.ndarray:
    """Values for ``s`` in float64 (later cast), or int64/bool for discrete specs."""
    shape = s.shape
    if s.domain == "real":
        a = rng.standard_normal(shape)
    elif s.domain == "positive":
        a = rng.uniform(0.5, 2.0, shape)
    elif s.domain == "unit":
        a = rng.uniform(-0.9, 0.9, shape)
    elif s.domain == "away0":  # |x| >= 0.3: no kink of abs/relu/sign within FD reach
        a = rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif s.domain == "zeros":  # some exact zeros (prod, pow, norm at 0)
        a = rng.standard_normal(shape)
        a[rng.random(shape) < 0.3] = 0.0
        return a.astype(dtype)
    elif s.domain == "ties":  # repeated values: max/min/amax share gradients between ties
        a = rng.integers(-2, 3, shape).astype(np.float64)
        return a.astype(dtype)
    elif s.domain == "int":
        return rng.integers(-5, 6, shape).astype(np.int64)
    elif s.domain == "bool":
        return rng.random(shape) < 0.5
    elif s.domain.startswith("index:"):  # int64 indices in [0, N)
        return rng.integers(0, int(s.domain[6:]), shape).astype(np.int64)
    else:
        raise ValueError(f"unknown domain {s.domain!r}")
    return a.astype(dtype)


def _layout(a: np.ndarray, s: Spec) -> np.ndarray:
    """The same values, laid out as ``s.layout`` asks (a non-contiguous view of a copy)."""
    if s.layout == "contiguous":
        return a.copy()
    if s.layout == "T":
        assert a.ndim >= 2, "layout 'T' needs at least 2 dims"
        out = np.swapaxes(np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)
    elif s.layout == "strided":
        assert a.ndim >= 1, "layout 'strided' needs at least 1 dim"
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        out = big[..., ::2]
    else:
        raise ValueError(f"unknown layout {s.layout!r}")
    return out  # (still contiguous when the swapped dims have size 1: that is fine)


def make_inputs(specs: Sequence[Spec], dtype: str, seed: int = 0):
    """The same inputs as chainrule and torch tensors (leaves; float ones require grad)."""
    rng = np.random.default_rng(seed)
    cr, th = [], []
    for s in specs:
        a = _values(s, rng, dtype)
        need = s.grad and s.is_float
        c = chainrule.from_numpy(_layout(a, s))
        t = torch.from_numpy(_layout(a, s))
        if need:
            c.requires_grad_(True)
            t.requires_grad_(True)
        cr.append(c)
        th.append(t)
    return cr, th


# -- comparison -----------------------------------------------------------------------------

def _flat_outputs(out) -> list:
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _flat_outputs(item)]
    return [out]


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, chainrule.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def assert_close(name: str, what: str, got, want, tol32: tuple | None = None) -> None:
    """Values, shape and dtype of ``got`` (chainrule) against ``want`` (torch); the tolerance
    follows the result's dtype (float64 tight, float32 ``tol32`` or the default)."""
    g, w = _np(got), _np(want)
    assert g.shape == w.shape, f"{name}: {what} shape {g.shape}, torch gives {w.shape}"
    assert g.dtype == w.dtype, f"{name}: {what} dtype {g.dtype}, torch gives {w.dtype}"
    if g.dtype.kind in "biu":
        np.testing.assert_array_equal(g, w, err_msg=f"{name}: {what}")
        return
    rtol, atol = TOLERANCES["float64"] if g.dtype == np.float64 else (
        tol32 or TOLERANCES["float32"])
    np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{name}: {what}")


def check_against_torch(name: str, fn_chainrule: Callable, fn_torch: Callable,
                        input_specs: Sequence[Spec], dtype: str = "float64", *,
                        fd: bool = True, tol32: tuple | None = None, seed: int = 0) -> None:
    """Forward values and every input's gradient of ``fn_chainrule`` against ``fn_torch``.

    Each function takes the input tensors and returns a tensor or a (nested) tuple of tensors.
    A random upstream gradient is sent into every floating output; in float64, the analytic
    gradients are also checked against central finite differences.
    """
    cr_in, th_in = make_inputs(input_specs, dtype, seed)
    cr_outs = _flat_outputs(fn_chainrule(*cr_in))
    th_outs = _flat_outputs(fn_torch(*th_in))
    assert len(cr_outs) == len(th_outs), \
        f"{name}: {len(cr_outs)} outputs, torch gives {len(th_outs)}"
    for i, (c, t) in enumerate(zip(cr_outs, th_outs)):
        assert isinstance(c, chainrule.Tensor), f"{name}: output {i} is {type(c).__name__}"
        assert_close(name, f"output {i}", c, t, tol32)
        assert c.requires_grad == t.requires_grad, \
            f"{name}: output {i} requires_grad={c.requires_grad}, torch {t.requires_grad}"

    rng = np.random.default_rng(seed + 1)
    upstream = [rng.standard_normal(t.shape).astype(dtype) if t.requires_grad else None
                for t in th_outs]
    pairs = [(c, t, u) for c, t, u in zip(cr_outs, th_outs, upstream) if u is not None]
    if not pairs:
        return
    torch.autograd.backward([t for _, t, _ in pairs], [torch.from_numpy(u) for *_, u in pairs])
    chainrule.autograd.backward([c for c, _, _ in pairs],
                                [chainrule.tensor(u) for *_, u in pairs])
    for i, (c, t) in enumerate(zip(cr_in, th_in)):
        if t.grad is None:
            assert c.grad is None, f"{name}: input {i} got a gradient, torch gives None"
            continue
        assert c.grad is not None, f"{name}: input {i} got no gradient"
        assert_close(name, f"grad of input {i}", c.grad, t.grad, tol32)
    if dtype == "float64" and fd:
        check_finite_differences(name, fn_chainrule, cr_in, upstream)


def check_finite_differences(name: str, fn: Callable, inputs: list, upstream: list,
                             eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-7) -> None:
    """Compare ``inputs[i].grad`` (already computed) with central differences of
    L(x) = sum_k <out_k(x), upstream_k> in float64."""
    def loss() -> float:
        with chainrule.no_grad():
            outs = _flat_outputs(fn(*inputs))
        return sum(float(np.sum(o.detach().numpy() * u)) for o, u in zip(outs, upstream)
                   if u is not None)

    for i, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        data = x.detach().numpy()  # shares memory with x: perturb in place
        numeric = np.zeros(data.shape)
        for idx in np.ndindex(data.shape):
            old = data[idx]
            data[idx] = old + eps
            up = loss()
            data[idx] = old - eps
            down = loss()
            data[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        analytic = x.grad.numpy() if x.grad is not None else np.zeros(data.shape)
        np.testing.assert_allclose(
            analytic, numeric, rtol=rtol, atol=atol,
            err_msg=f"{name}: gradient of input {i} disagrees with finite differences")


def gradcheck(fn: Callable, inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-7,
              rtol: float = 1e-6) -> bool:
    """Check ``fn``'s gradients w.r.t. the float64 leaves in ``inputs`` by finite differences
    (a random upstream gradient into every floating output); raises AssertionError on mismatch."""
    for x in inputs:
        if isinstance(x, chainrule.Tensor) and x.requires_grad:
            x.grad = None
    outs = _flat_outputs(fn(*inputs))
    rng = np.random.default_rng(123)
    upstream = [rng.standard_normal(o.shape) if o.requires_grad else None for o in outs]
    chainrule.autograd.backward([o for o, u in zip(outs, upstream) if u is not None],
                                [chainrule.tensor(u) for u in upstream if u is not None])
    check_finite_differences("gradcheck", fn, list(inputs), upstream, eps, rtol, atol)
    return True
