"""Gradient checks: compare backprop's Jacobians with finite differences.

``gradcheck(func, inputs)`` builds, for every output i and every input j that requires grad,
two matrices ``J[r, c] = d output_i[r] / d input_j[c]`` (rows x cols = numel(output) x
numel(input)):

- numerically, one column per input element, by central differences
  ``(f(x + eps e_c) - f(x - eps e_c)) / (2 eps)``, error O(eps^2);
- analytically, one row per output element, by a backward pass with ``grad_output = e_r``.

and checks ``|analytical - numerical| <= atol + rtol * |numerical|`` elementwise, like
``torch.allclose``. On failure the error shows both Jacobians side by side and the entry where
they differ most. ``gradgradcheck`` runs the same check on the function that computes the
gradients (with ``create_graph=True``), i.e. it checks second derivatives.

The defaults (eps=1e-6, atol=1e-5, rtol=1e-3) are PyTorch's and are meant for float64 inputs:
in float32 the rounding error of f, about 1e-7 |f|, divided by 2 eps swamps the derivative.

Example:
    >>> x = chainrule.randn(3, dtype=chainrule.float64, requires_grad=True)
    >>> gradcheck(lambda t: (t.sin() * t).sum(), (x,))
    True
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Callable

# The module, not the class: the autograd package is first imported while
# chainrule.tensor is still being defined; the class is looked up when used.
from .. import tensor as _tensor
from .engine import AutogradError

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "numerical_jacobian",
           "analytical_jacobian"]


class GradcheckError(RuntimeError):
    """A gradient check failed (PyTorch's ``torch.autograd.gradcheck.GradcheckError``)."""


# -- Jacobians --------------------------------------------------------------------------------

def _as_tuple(x) -> tuple:
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _tensor_outputs(out) -> tuple:
    return tuple(o for o in _as_tuple(out) if isinstance(o, _tensor.Tensor))


def _differentiable_outputs(out) -> tuple:
    return tuple(o for o in _tensor_outputs(out) if o.requires_grad)


def _unravel(k: int, shape: tuple) -> tuple:
    """The multi-index of flat (row-major) position ``k`` in ``shape``."""
    idx = []
    for size in reversed(shape):
        k, r = divmod(k, size)
        idx.append(r)
    return tuple(reversed(idx))


def _diff_input_indices(inputs: tuple) -> list[int]:
    return [i for i, x in enumerate(inputs)
            if isinstance(x, _tensor.Tensor) and x.requires_grad and x.is_floating_point()]


def _numerical(func: Callable, inputs: tuple, diff_idx: list[int], eps: float) -> list:
    """``J[i][jj]``: numel(output i) x numel(input diff_idx[jj]), by central differences.

    Covers every Tensor output of ``func`` (differentiable or not). The input is perturbed in
    place through ``.data`` (shares memory, so non-contiguous inputs work) and restored from
    its saved value, not by subtracting eps again, which would not round-trip exactly.
    """
    from ..ops import stack, tensor, zeros
    reference = _tensor_outputs(func(*inputs))
    n_outputs = len(reference)
    jacobians = [[None] * len(diff_idx) for _ in range(n_outputs)]
    for jj, j in enumerate(diff_idx):
        x = inputs[j]
        data = x.data
        columns: list[list] = [[] for _ in range(n_outputs)]
        for k in range(x.numel()):
            idx = _unravel(k, tuple(x.shape))
            orig = data[idx].item()
            # Values as tensors of x's dtype: a Python float would pass through float32.
            data[idx] = tensor(orig - eps, dtype=x.dtype)
            minus = [o.detach().clone() for o in _tensor_outputs(func(*inputs))]
            data[idx] = tensor(orig + eps, dtype=x.dtype)
            plus = [o.detach().clone() for o in _tensor_outputs(func(*inputs))]
            data[idx] = tensor(orig, dtype=x.dtype)
            for i, (p, m) in enumerate(zip(plus, minus)):
                if not p.is_floating_point():  # integer outputs: piecewise constant
                    p, m = p.double(), m.double()
                columns[i].append(((p - m) / (2 * eps)).reshape(-1))
        for i in range(n_outputs):
            jacobians[i][jj] = (stack(columns[i], 1) if columns[i]  # else: an empty input
                                else zeros(reference[i].numel(), 0, dtype=x.dtype))
    return jacobians


def _analytical(output: Tensor, diff_inputs: tuple) -> tuple[list, bool, bool]:
    """Rows ``e_r^T J`` for every element r of ``output``, by backward passes.

    Returns ``(jacobians per input, dtypes_ok, sizes_ok)``.
    """
    from ..ops import stack, zeros
    from . import grad as autograd_grad
    numel = output.numel()
    rows: list[list] = [[] for _ in diff_inputs]
    dtypes_ok = sizes_ok = True
    for r in range(numel):
        grad_out = zeros(numel, dtype=output.dtype)
        grad_out[r] = 1.0
        grads = autograd_grad(output, diff_inputs, grad_out.view(tuple(output.shape)),
                              retain_graph=True, allow_unused=True)
        for j, (g, x) in enumerate(zip(grads, diff_inputs)):
            if g is None:
                g = zeros(x.numel(), dtype=x.dtype)
            else:
                sizes_ok &= tuple(g.shape) == tuple(x.shape)
                dtypes_ok &= g.dtype == x.dtype
            rows[j].append(g.reshape(-1))
    jacobians = [stack(r, 0) if r else zeros(0, x.numel(), dtype=x.dtype)
                 for r, x in zip(rows, diff_inputs)]
    return jacobians, dtypes_ok, sizes_ok


def numerical_jacobian(func: Callable, inputs, eps: float = 1e-6) -> list[list[Tensor]]:
    """Finite-difference Jacobians of ``func`` at ``inputs``.

    Returns:
        ``J[i][j]`` of shape (numel(output i), numel(input j)) for every Tensor output i and
        every input j that requires grad (in order), by central differences.
    """
    inputs = _as_tuple(inputs)
    return _numerical(func, inputs, _diff_input_indices(inputs), eps)


def analytical_jacobian(func: Callable, inputs) -> list[list[Tensor]]:
    """Backprop's Jacobians of ``func`` at ``inputs`` (same layout as ``numerical_jacobian``;
    outputs that don't require grad are skipped)."""
    inputs = _as_tuple(inputs)
    diff_inputs = tuple(inputs[j] for j in _diff_input_indices(inputs))
    return [_analytical(o, diff_inputs)[0] for o in _differentiable_outputs(func(*inputs))]


# -- the failure report -----------------------------------------------------------------------

def _fmt(v: float) -> str:
    return f"{v: .5g}".rjust(11)


def mismatch_report(numerical: Tensor, analytical: Tensor, output_idx: int, input_idx: int,
                    output_shape: tuple, input_shape: tuple, atol: float, rtol: float,
                    max_rows: int = 8, max_cols: int = 6) -> str:
    """A readable description of where two Jacobians disagree.

    Shows both matrices side by side (a window around the worst entry when they are large)
    and names the output and input element where ``|a - n| - (atol + rtol |n|)`` is largest.
    """
    n_rows, n_cols = numerical.shape
    diff = (analytical - numerical).abs()
    excess = diff - (atol + rtol * numerical.abs())
    bad = int((excess > 0).sum().item())
    worst = int(excess.reshape(-1).argmax().item()) if excess.numel() else 0
    worst_r, worst_c = divmod(worst, n_cols) if n_cols else (0, 0)
    r0 = min(max(worst_r - max_rows // 2, 0), max(n_rows - max_rows, 0))
    c0 = min(max(worst_c - max_cols // 2, 0), max(n_cols - max_cols, 0))
    r1, c1 = min(r0 + max_rows, n_rows), min(c0 + max_cols, n_cols)
    num_rows = numerical[r0:r1, c0:c1].tolist()
    ana_rows = analytical[r0:r1, c0:c1].tolist()

    width = 11 * (c1 - c0) + 2
    lines = [
        f"Jacobian mismatch for output {output_idx:d} with respect to input {input_idx:d},",
        f"J[r, c] = d output{output_idx}[r] / d input{input_idx}[c]: {n_rows} x {n_cols} "
        f"(output shape {list(output_shape)}, input shape {list(input_shape)})",
    ]
    if (r0, c0, r1, c1) != (0, 0, n_rows, n_cols):
        lines.append(f"showing rows {r0}..{r1 - 1}, columns {c0}..{c1 - 1}")
    lines.append("      " + "numerical".center(width) + " | " + "analytical".center(width))
    for k, (nr, ar) in enumerate(zip(num_rows, ana_rows)):
        mark = "*" if r0 + k == worst_r else " "
        lines.append(f"{mark}{r0 + k:4d} [" + "".join(_fmt(v) for v in nr) + " ] | ["
                     + "".join(_fmt(v) for v in ar) + " ]")
    if n_rows and n_cols:
        n_val = numerical[worst_r, worst_c].item()
        a_val = analytical[worst_r, worst_c].item()
        lines.append(
            f"largest difference at row {worst_r} (output{output_idx}"
            f"{list(_unravel(worst_r, tuple(output_shape)))}), column {worst_c} "
            f"(input{input_idx}{list(_unravel(worst_c, tuple(input_shape)))}): numerical "
            f"{n_val:.6g}, analytical {a_val:.6g}, |difference| {abs(a_val - n_val):.3g} > "
            f"atol + rtol * |numerical| = {atol + rtol * abs(n_val):.3g}")
    lines.append(f"{bad} of {n_rows * n_cols} entries differ (atol={atol:g}, rtol={rtol:g})")
    return "\n".join(lines) + "\n"


# -- the checks -------------------------------------------------------------------------------

def _check_inputs(inputs: tuple) -> None:
    any_requires_grad = False
    for idx, inp in enumerate(inputs):
        if isinstance(inp, _tensor.Tensor) and inp.requires_grad:
            if inp.dtype.name != "float64":
                warnings.warn(
                    f"Input #{idx} requires gradient and is not a double precision floating "
                    "point or complex. This check will likely fail if all the inputs are not "
                    "of double precision floating point or complex. ", stacklevel=3)
            if any(st == 0 and sz > 1 for st, sz in zip(inp.stride(), inp.shape)):
                raise RuntimeError(
                    f"The {idx}th input has a dimension with stride 0. gradcheck only supports "
                    "inputs that are non-overlapping to be able to compute the numerical "
                    "gradients correctly. You should call .contiguous on the input before "
                    "passing it to gradcheck.")
            any_requires_grad = True
    if not any_requires_grad:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")


def _allclose(a: Tensor, n: Tensor, rtol: float, atol: float) -> bool:
    if a.shape != n.shape:
        return False
    if a.numel() == 0:
        return True
    if a.dtype != n.dtype:
        a, n = a.double(), n.double()
    return bool(((a - n).abs() <= atol + rtol * n.abs()).all().item())


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
               check_grad_dtypes) -> bool:
    from ..ops import zeros_like
    from . import grad as autograd_grad
    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    func_out = func(*inputs)
    outputs = _differentiable_outputs(func_out)
    tensor_outputs = _tensor_outputs(func_out)
    diff_idx = _diff_input_indices(inputs)
    diff_inputs = tuple(inputs[j] for j in diff_idx)
    numerical = _numerical(func, inputs, diff_idx, eps)

    if not outputs:  # nothing differentiable: every derivative must be zero
        for per_output in numerical:
            for jac in per_output:
                if bool((jac != 0).any().item()):
                    raise GradcheckError("Numerical gradient for function expected to be zero")
        return True

    numerical = [nj for o, nj in zip(tensor_outputs, numerical) if o.requires_grad]
    for i, out in enumerate(outputs):
        analytical, dtypes_ok, sizes_ok = _analytical(out, diff_inputs)
        again, _, _ = _analytical(out, diff_inputs)
        if not dtypes_ok and check_grad_dtypes:
            raise GradcheckError("Gradient has dtype mismatch")
        if not sizes_ok:
            raise GradcheckError("Analytical gradient has incorrect size")
        for a1, a2 in zip(analytical, again):
            if a1.numel() and (a1 - a2).abs().max().item() > nondet_tol:
                raise GradcheckError(
                    "Backward is not reentrant, i.e., running backward with same input and "
                    "grad_output multiple times gives different values, although analytical "
                    "gradient matches numerical gradient. The tolerance for nondeterminism was "
                    f"{nondet_tol}.")
        for jj, (a, n) in enumerate(zip(analytical, numerical[i])):
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(mismatch_report(
                    n, a, i, diff_idx[jj], tuple(out.shape), tuple(diff_inputs[jj].shape),
                    atol, rtol))

    # Backward must be linear in grad_output: a zero grad_output gives zero gradients.
    grads = autograd_grad(outputs, diff_inputs, [zeros_like(o) for o in outputs],
                          retain_graph=True, allow_unused=True)
    for g, x in zip(grads, diff_inputs):
        if g is None:
            continue
        if not bool((g == 0).all().item()):
            raise GradcheckError("backward not multiplied by grad_output")
        if g.dtype != x.dtype:
            raise GradcheckError("grad is incorrect type")
        if g.shape != x.shape:
            raise GradcheckError("grad is incorrect size")

    # An output that receives no gradient (it was not used in the loss) must be treated as a
    # zero gradient by backward, not crash it.
    if check_undefined_grad and len(outputs) > 1:
        for skip in range(len(outputs)):
            fresh = _differentiable_outputs(func(*inputs))
            used = [o for k, o in enumerate(fresh) if k != skip]
            try:
                autograd_grad(used, diff_inputs, [zeros_like(o) for o in used],
                              allow_unused=True)
            except (RuntimeError, AutogradError, TypeError) as e:
                raise GradcheckError(
                    f"Expected backward function to handle undefined output grads (output "
                    f"{skip} received no gradient): {e}") from e
    return True


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Check backprop's gradients of ``func`` against finite differences.

    Args:
        func: takes Tensor inputs, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of inputs; tensors with ``requires_grad=True`` (float64
            recommended, a warning otherwise) are checked.
        eps: finite-difference step.
        atol, rtol: tolerance, ``|analytical - numerical| <= atol + rtol * |numerical|``.
        raise_exception: raise ``GradcheckError`` with a report on failure (else return False).
        nondet_tol: how much two backward passes with the same inputs may differ.
        check_undefined_grad: check that backward copes with outputs that get no gradient.
        check_grad_dtypes: also require every gradient to have its input's dtype.
        fast_mode: accepted; the full Jacobian is always compared (a stricter check).
        check_batched_grad, check_batched_forward_grad, check_forward_ad: not supported
            (chainrule has no vmap or forward mode); must be False.
        check_backward_ad: must be True.

    Returns:
        True if every Jacobian matches.
    """
    if check_batched_grad or check_batched_forward_grad or check_forward_ad:
        raise NotImplementedError(
            "gradcheck: check_batched_grad, check_batched_forward_grad and check_forward_ad "
            "need vmap / forward-mode AD, which chainrule does not have")
    if not check_backward_ad:
        raise NotImplementedError("gradcheck: check_backward_ad=False leaves nothing to check "
                                  "(chainrule has reverse mode only)")
    del fast_mode, masked
    try:
        return _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
                          check_grad_dtypes)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False, masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of ``(inputs, grad_outputs) -> dL/dinputs``.

    Args:
        grad_outputs: dL/d(output) for each output of ``func``; random in [-1, 1) (and
            requiring grad, so they are checked too) when None.
        gen_non_contig_grad_outputs: make the random grad_outputs non-contiguous.
        Other arguments: as ``gradcheck``.

    Returns:
        True if every Jacobian of the gradient function matches.
    """
    from ..ops import rand
    if check_fwd_over_rev or not check_rev_over_rev:
        raise NotImplementedError("gradgradcheck: only reverse-over-reverse checks are "
                                  "supported (chainrule has no forward mode)")
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = []
        for out in _differentiable_outputs(func(*inputs)):
            dtype = out.dtype if out.is_floating_point() else None
            shape = tuple(out.shape)
            if gen_non_contig_grad_outputs:
                g = (rand(shape + (2,), dtype=dtype) * 2 - 1)[..., 0]
            else:
                g = rand(shape, dtype=dtype) * 2 - 1
            grad_outputs.append(g.requires_grad_())
        grad_outputs = tuple(grad_outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(grad_outputs)
    diff_input_indices = {i for i, x in enumerate(inputs)
                          if isinstance(x, _tensor.Tensor) and x.requires_grad}

    def grads_of_func(*args):
        from . import grad as autograd_grad
        input_args = args[:len(args) - num_outputs]
        outputs = _differentiable_outputs(func(*input_args))
        diff_inputs = tuple(x for i, x in enumerate(input_args) if i in diff_input_indices)
        grads = autograd_grad(outputs, diff_inputs, args[len(args) - num_outputs:],
                              create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(grads_of_func, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode, masked=masked)
