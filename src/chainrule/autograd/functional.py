"""Derivatives of whole functions: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``.

Same signatures, return structures and ``strict`` / ``create_graph`` semantics as
``torch.autograd.functional``. Everything is built from reverse-mode vector-Jacobian products
(one backward pass per output element for a Jacobian; HIPS autograd's recipe):

- ``vjp``:  v^T J                          one backward pass
- ``jvp``:  J v, by the "double-vjp trick": g(u) = u^T J is linear in u, so the VJP of g
  with vector v is (J v)^T; needs backward passes that are differentiable again
- ``hvp``/``vhp``: H v and v^T H, by differentiating the gradient once more
- ``jacobian``: row i of J is e_i^T J, stacked; ``hessian`` is the Jacobian of the gradient

Input/output structure: a function of one Tensor returning one Tensor gives one Tensor; tuples
of inputs and/or outputs give tuples (``jacobian(f, (x, y))[j]`` is dy/d(input j)).

Example:
    >>> def f(x):
    ...     return x ** 3
    >>> x = chainrule.tensor([1.0, 2.0])
    >>> jacobian(f, x)            # diag(3 x^2) = [[3, 0], [0, 12]]
    >>> vjp(f, x, chainrule.ones(2))[1]   # 3 x^2 = [3, 12]
"""
from __future__ import annotations

from typing import Callable

# The module, not the class: the autograd package is first imported while
# chainrule.tensor is still being defined; the class is looked up when used.
from .. import tensor as _tensor
from . import engine
from .grad_mode import enable_grad, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# -- structure helpers (tuple in, tuple out; a single Tensor stays single) ----------------------

def _as_tuple(x, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    """``(was_tuple, tensors)``; raises TypeError naming ``fn_name`` if not Tensors."""
    is_tuple = True
    if not isinstance(x, tuple):
        x = (x,)
        is_tuple = False
    for i, el in enumerate(x):
        if not isinstance(el, _tensor.Tensor):
            what = (f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                    "Tensors")
            if is_tuple:
                raise TypeError(f"{what} but the value at index {i} has type {type(el).__name__}.")
            raise TypeError(f"{what} but the given {arg_name} has type {type(el).__name__}.")
    return is_tuple, x


def _tuple_postprocess(res, to_unpack):
    """Undo ``_as_tuple``: ``to_unpack`` is one flag, or (outputs flag, inputs flag) for
    nested results such as Jacobians."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """Fresh tensors to differentiate with respect to, so the user's tensors are untouched.

    With ``create_graph`` an input that already requires grad stays connected to its history
    (``view_as``), so the result can be differentiated with respect to the user's tensors too.
    """
    out = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            out.append(inp.view_as(inp))
        else:
            out.append(inp.detach().requires_grad_(need_graph))
    return tuple(out)


def _grad_postprocess(inputs, create_graph: bool):
    """Detach results unless the caller asked for a differentiable result."""
    if isinstance(inputs[0], _tensor.Tensor):
        if not create_graph:
            return tuple(inp.detach() for inp in inputs)
        return inputs
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    """``v`` must match ``other`` (the outputs for a VJP, the inputs for a JVP) in number and
    shape."""
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.shape != el_other.shape:
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {list(el_other.shape)} "
                               f"but got {list(el_v.shape)}.")


def _check_requires_grad(inputs: tuple, input_type: str, strict: bool) -> None:
    """In strict mode, every tensor along the way must depend on the inputs."""
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not inp.requires_grad:
            if input_type == "hessian":
                raise RuntimeError(
                    f"The hessian of the user-provided function with respect to input {i} is "
                    "independent of the input. This is not allowed in strict mode. You should "
                    "ensure that your function is thrice differentiable and that the hessian "
                    "depends on the inputs.")
            if input_type == "jacobian":
                raise RuntimeError(
                    "While computing the hessian, found that the jacobian of the user-provided "
                    f"function with respect to input {i} is independent of the input. This is "
                    "not allowed in strict mode. You should ensure that your function is twice "
                    "differentiable and that the jacobian depends on the inputs (this would be "
                    "violated by a linear function for example).")
            if input_type == "grad_inputs":
                raise RuntimeError(
                    f"The gradient with respect to input {i} is independent of the inputs of "
                    "the user-provided function. This is not allowed in strict mode.")
            raise RuntimeError(
                f"Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when "
                "running in strict mode.")


def _autograd_grad(outputs: tuple, inputs: tuple, grad_outputs=None, create_graph: bool = False,
                   retain_graph: bool | None = None) -> tuple:
    """``autograd.grad`` that tolerates outputs not requiring grad (their gradient is None)
    and inputs that were not used (None)."""
    from . import grad as autograd_grad
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    new_outputs, new_grad_outputs = [], []
    for out, grad_out in zip(outputs, grad_outputs):
        if out is not None and out.requires_grad:
            new_outputs.append(out)
            new_grad_outputs.append(grad_out)
    if not new_outputs:
        return (None,) * len(inputs)
    return autograd_grad(new_outputs, inputs, new_grad_outputs, allow_unused=True,
                         create_graph=create_graph, retain_graph=retain_graph)


def _fill_in_zeros(grads: tuple, refs: tuple, strict: bool, create_graph: bool,
                   stage: str) -> tuple:
    """Replace None gradients (independent inputs) by zeros, or raise in strict mode."""
    from ..ops import zeros_like
    res = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                if stage == "back":
                    raise RuntimeError(f"The output of the user-provided function is "
                                       f"independent of input {i}. This is not allowed in "
                                       "strict mode.")
                if stage == "back_trick":
                    raise RuntimeError(f"The gradient with respect to the input is independent "
                                       f"of entry {i} in the grad_outputs when using the double "
                                       "backward trick to compute forward mode gradients. This "
                                       "is not allowed in strict mode.")
                if stage == "double_back":
                    raise RuntimeError(f"The jacobian of the user-provided function is "
                                       f"independent of input {i}. This is not allowed in "
                                       "strict mode.")
                raise RuntimeError(f"The hessian of the user-provided function is independent "
                                   f"of entry {i} in the grad_jacobian. This is not allowed in "
                                   "strict mode as it prevents from using the double backward "
                                   "trick to replace forward mode AD.")
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            kind = "input" if "double" not in stage else "entry"
            raise RuntimeError(f"The jacobian of the user-provided function is independent of "
                               f"{kind} {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        res.append(g)
    return tuple(res)


# -- the public functions ---------------------------------------------------------------------

def _call(func: Callable, inputs, fn_name: str, create_graph: bool, strict: bool) -> tuple:
    """``func`` on detached copies of ``inputs`` that require grad: ``(is_inputs_tuple,
    inputs, is_outputs_tuple, outputs)``, the outputs checked to depend on the inputs."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
    outputs = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                          fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    return is_inputs_tuple, inputs, is_outputs_tuple, outputs


def _vector(v, like: tuple, is_like_tuple: bool, fn_name: str, create_graph: bool,
            single: str):
    """The vector ``v`` of a vjp/jvp/vhp/hvp as a checked tuple shaped like ``like``; None is
    allowed only when ``like`` is one one-element tensor (``single`` says which that is)."""
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, like, is_like_tuple)
        return v
    if len(like) != 1 or like[0].numel() != 1:
        raise RuntimeError(f"The vector v can only be None if {single} a single Tensor with a "
                           "single element.")
    return None


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The vector-Jacobian product v^T J of ``func`` at ``inputs``.

    Args:
        func: takes Tensor inputs, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        v: same structure and shapes as func's outputs; may be None when func returns a
            single one-element tensor.
        create_graph: make the result differentiable (with respect to ``inputs`` too).
        strict: raise if an output does not depend on the inputs (instead of zeros).

    Returns:
        ``(func_output, vjp)``: vjp has the structure and shapes of ``inputs``.
    """
    with enable_grad():
        is_inputs_tuple, inputs, is_outputs_tuple, outputs = _call(func, inputs, "vjp",
                                                                   create_graph, strict)
        v = _vector(v, outputs, is_outputs_tuple, "vjp", create_graph,
                    "the user-provided function returns")

    with set_grad_enabled(True if create_graph else engine.GRAD_ENABLED):
        grad_res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))


def _double_backward(ys: tuple, xs: tuple, v: tuple, create_graph: bool, strict: bool,
                     stage: str, check_first_pass: str | None = None) -> tuple:
    """J v for J = d ys / d xs, by two reverse passes (jvp and hvp use it).

    u(w) = w^T J is linear in the dummy w, so d<u, v>/dw = J v. The dummies' value (zero)
    never shows up in the result; they only need to be differentiable leaves. Call it with
    grad mode on; the second pass records a graph only if ``create_graph``.
    """
    from ..ops import zeros_like
    dummies = tuple(zeros_like(y, requires_grad=True) for y in ys)
    u = _autograd_grad(ys, xs, dummies, create_graph=True)
    if check_first_pass is not None:
        _check_requires_grad(u, check_first_pass, strict=strict)
    with set_grad_enabled(create_graph):
        grads = _autograd_grad(u, dummies, v, create_graph=create_graph)
        return _fill_in_zeros(grads, ys, strict, create_graph, stage)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The Jacobian-vector product J v of ``func`` at ``inputs`` (a directional derivative).

    Computed with two reverse passes: u -> u^T J is linear in u, and its VJP with v is J v.

    Args:
        v: same structure and shapes as ``inputs``; may be None when the input is a single
            one-element tensor.

    Returns:
        ``(func_output, jvp)``: jvp has the structure and shapes of func's output.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _vector(v, inputs, is_inputs_tuple, "jvp", create_graph,
                    "the input to the user-provided function is")
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                              "jvp")
        _check_requires_grad(outputs, "outputs", strict=strict)
        result = _double_backward(outputs, inputs, v, create_graph, strict, "back_trick",
                                  check_first_pass="grad_inputs")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_outputs_tuple))


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``, one backward pass per output element.

    Args:
        func: takes Tensor inputs, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        create_graph: make the Jacobian differentiable (used by ``hessian``).
        strict: raise if an output is independent of an input (instead of zeros).
        vectorize: accepted for compatibility; the rows are always computed one by one.
        strategy: only ``"reverse-mode"`` is supported.

    Returns:
        For output i of shape O_i and input j of shape I_j, a Tensor of shape O_i + I_j:
        ``J[o..., i...] = d out[o...] / d in[i...]``. A single Tensor if both are single,
        a tuple over inputs (or outputs) if one is a tuple, a tuple of tuples
        ``result[i][j]`` if both are.

    Example:
        >>> jacobian(lambda x: x.exp(), chainrule.zeros(3))   # identity 3 x 3
    """
    if strategy != "reverse-mode":
        raise NotImplementedError(f"jacobian: strategy={strategy!r} is not supported; chainrule "
                                  "computes Jacobians in reverse mode only")
    del vectorize  # one backward per row either way; results are identical
    from ..ops import stack, zeros_like
    with enable_grad():
        is_inputs_tuple, inputs, is_outputs_tuple, outputs = _call(func, inputs, "jacobian",
                                                                   create_graph, strict)

        result = []
        for i, out in enumerate(outputs):
            rows: tuple[list, ...] = tuple([] for _ in inputs)
            flat = out.reshape(-1)
            for k in range(out.numel()):
                grads = _autograd_grad((flat[k],), inputs, retain_graph=True,
                                       create_graph=create_graph)
                for j, (g, inp) in enumerate(zip(grads, inputs)):
                    if g is not None:
                        if strict and create_graph and not g.requires_grad:
                            raise RuntimeError(
                                "The jacobian of the user-provided function is independent of "
                                f"input {i}. This is not allowed in strict mode when "
                                "create_graph=True.")
                        rows[j].append(g)
                    else:
                        if strict:
                            raise RuntimeError(
                                f"Output {i} of the user-provided function is independent of "
                                f"input {j}. This is not allowed in strict mode.")
                        rows[j].append(zeros_like(inp))
            result.append(tuple(
                stack(rows[j], 0).view(tuple(out.shape) + tuple(inp.shape)) if rows[j]
                else inp.new_zeros(tuple(out.shape) + tuple(inp.shape))
                for j, inp in enumerate(inputs)))
        result = _grad_postprocess(tuple(result), create_graph)
        return _tuple_postprocess(result, (is_outputs_tuple, is_inputs_tuple))


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: the Jacobian of its gradient.

    Args:
        func: takes Tensor inputs, returns a Tensor with a single element.
        inputs: a Tensor or a tuple of Tensors.

    Returns:
        For inputs i and j, a Tensor of shape I_i + I_j with
        ``H[a..., b...] = d^2 f / d in_i[a...] d in_j[b...]``; a tuple of tuples
        ``result[i][j]`` when inputs is a tuple.

    Example:
        >>> hessian(lambda x: (x ** 3).sum(), chainrule.tensor([1.0, 2.0]))  # diag(6 x)
    """
    if outer_jacobian_strategy != "reverse-mode":
        raise NotImplementedError("hessian: only outer_jacobian_strategy='reverse-mode' is "
                                  "supported")
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function",
                                        "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        if is_out_tuple or not isinstance(out, _tensor.Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return out.squeeze()

    def jac_func(*inp):
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def _second_order_setup(func, inputs, v, fn_name: str, create_graph: bool, strict: bool):
    """Shared by hvp and vhp: run func, check it is scalar, take its (differentiable) gradient."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
    v = _vector(v, inputs, is_inputs_tuple, fn_name, create_graph,
                "the input to the user-provided function is")
    outputs = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                          fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    if is_outputs_tuple or not isinstance(outputs[0], _tensor.Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")
    jac = _autograd_grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict=strict)
    return is_inputs_tuple, is_outputs_tuple, inputs, v, outputs, jac


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The vector-Hessian product v^T H of a scalar function.

    Returns:
        ``(func_output, vhp)``: vhp has the structure and shapes of ``inputs``.
    """
    with enable_grad():
        is_inputs_tuple, is_outputs_tuple, inputs, v, outputs, jac = _second_order_setup(
            func, inputs, v, "vhp", create_graph, strict)
    with set_grad_enabled(True if create_graph else engine.GRAD_ENABLED):
        grad_res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The Hessian-vector product H v of a scalar function (equal to (v^T H)^T, since H is
    symmetric for twice continuously differentiable functions); computed, as PyTorch does,
    with the double-backward trick rather than by transposing ``vhp``.

    Returns:
        ``(func_output, hvp)``: hvp has the structure and shapes of ``inputs``.
    """
    with enable_grad():
        is_inputs_tuple, is_outputs_tuple, inputs, v, outputs, jac = _second_order_setup(
            func, inputs, v, "hvp", create_graph, strict)
        _check_requires_grad(jac, "hessian", strict=strict)
        result = _double_backward(jac, inputs, v, create_graph, strict, "double_back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))
