"""Custom differentiable operations written by the user, as in PyTorch.

    class Exp(chainrule.autograd.Function):
        @staticmethod
        def forward(ctx, x):                 # Tensors in, Tensors out (runs under no_grad)
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_y):           # dL/dy in, dL/dx out (one per forward input)
            (y,) = ctx.saved_tensors
            return grad_y * y                # dL/dx = dL/dy * exp(x)

    y = Exp.apply(x)

How it maps onto the engine: ``apply`` runs ``forward`` with grad mode off, then (if an input
requires grad) makes one graph node, an instance of ``ExpBackward``, a ``Node`` subclass made
for each Function subclass. That node *is* the ``ctx`` that forward and backward share (as in
PyTorch). The engine calls ``node.backward(*grads)``, which calls the user's ``backward``;
written with tensor ops, it is differentiable again (``create_graph=True``), unless decorated
with ``once_differentiable``.

The newer PyTorch style, ``forward(*args)`` without ctx plus
``setup_context(ctx, inputs, output)``, works too.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

# The module, not the class: the autograd package is first imported while
# chainrule.tensor is still being defined; the class is looked up when used.
from .. import tensor as _tensor
from . import engine
from .engine import AutogradError, Node, grad_edge, init_node

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable"]


class FunctionCtx:
    """What ``forward`` and ``backward`` share: saved tensors and flags (PyTorch's ``ctx``).

    Any other attribute may be set on it too (``ctx.scale = 2.0``) to pass non-tensor values.
    """

    __slots__ = ()

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (inputs or outputs; None allowed) for backward. Call once, in forward.

        Saved tensors are checked when read: modifying one in place in between raises.
        """
        for t in tensors:
            if t is not None and not isinstance(t, _tensor.Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument is "
                                f"of type {type(t).__name__}")
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, in order."""
        if self._released:
            raise AutogradError(
                f"{self.name()}: trying to backward through the graph a second time (or "
                "directly access saved tensors after they have already been freed). Saved "
                "intermediate values of the graph are freed when you call .backward() or "
                "autograd.grad(). Specify retain_graph=True if you need to backward through "
                "the graph a second time or if you need to access saved tensors after calling "
                "backward.")
        saved = self.__dict__.get("_saved")
        if saved is None:  # read inside forward, or no graph was recorded
            return tuple(getattr(self, "to_save", ()))
        out = []
        for i, (t, version) in enumerate(saved):
            if t is not None and t._version[0] != version:
                raise AutogradError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.dtype.name} tensor of shape {list(t.shape)}], "
                    f"which is saved tensor {i} of {self.name()}, is at version "
                    f"{t._version[0]}; expected version {version} instead.")
            out.append(t)
        return tuple(out)

    def mark_non_differentiable(self, *args) -> None:
        """Outputs that get no gradient (indices, masks); backward still receives a (zero)
        gradient for each of them."""
        self._non_differentiable = getattr(self, "_non_differentiable", set()) | {
            id(t) for t in args}

    def mark_dirty(self, *args) -> None:
        """Inputs that forward modified in place (and returns): they become outputs of this
        node."""
        self._dirty = getattr(self, "_dirty", set()) | {id(t) for t in args}

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not a zero tensor) for an output that got no
        gradient, so it can skip work."""
        self._materialize_grads = bool(value)


class BackwardCFunction(FunctionCtx, Node):
    """The graph node (and ctx) of one call of a custom Function; one subclass per Function,
    named like PyTorch's (``ExpBackward``)."""

    __slots__ = ()
    _forward_cls: Any = None

    def name(self) -> str:
        return self._forward_cls.__name__ + "Backward"

    def backward(self, *grads):
        """Called by the engine with one gradient per forward output."""
        cls = self._forward_cls
        grads = list(grads)
        for i, is_tensor in enumerate(self._tensor_outputs):
            if not is_tensor:  # non-tensor outputs get None, as in PyTorch
                grads[i] = None
        undefined = self.__dict__.get("_undefined")
        if undefined is not None:  # set_materialize_grads(False): None, not zeros
            grads = [None if u else g for g, u in zip(grads, undefined)]
        user_backward = cls.backward if cls.backward is not Function.backward else cls.vjp
        result = user_backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_inputs = len(self.next_functions)
        if len(result) != n_inputs:
            if len(result) > n_inputs and all(g is None for g in result[n_inputs:]):
                result = result[:n_inputs]
            else:
                raise AutogradError(f"function {self.name()} returned an incorrect number of "
                                    f"gradients (expected {n_inputs}, got {len(result)})")
        out = []
        for i, (g, edge, meta) in enumerate(zip(result, self.next_functions, self._input_meta)):
            if g is None:
                out.append(None)
                continue
            if not self._tensor_inputs[i]:
                raise AutogradError(
                    f"function {self.name()} returned a gradient different than None at "
                    f"position {i + 1}, but the corresponding forward input was not a Variable")
            if not isinstance(g, _tensor.Tensor):
                raise TypeError(f"function {self.name()} returned a {type(g).__name__} as the "
                                f"gradient of input {i}; expected a Tensor or None")
            if edge is None:  # this input needs no gradient: drop it
                out.append(None)
                continue
            if g._data.dtype != meta[1]:  # PyTorch casts to the input's dtype
                g = g.to(meta[1])
            out.append(g)
        return tuple(out)


def _note_undefined(ctx):
    """Pre-hook: remember which outputs got no gradient before the engine fills in zeros."""
    def hook(grads):
        ctx._undefined = tuple(g is None for g in grads)
    return hook


class Function:
    """Base class of custom autograd operations; subclass it, define the static methods
    ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``, and call ``apply``.

    ``ctx`` offers ``save_for_backward``, ``saved_tensors``, ``needs_input_grad`` (a bool
    per forward argument: does it need a gradient?), ``mark_non_differentiable``,
    ``mark_dirty`` and ``set_materialize_grads``. ``backward`` returns one gradient per
    forward argument (None for non-tensors and those not needing one).

    Example:
        >>> class Square(chainrule.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x * x
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return 2 * x * grad       # dL/dx = dL/dy * 2x
        >>> Square.apply(chainrule.tensor(3.0, requires_grad=True))
    """

    _backward_cls: type = BackwardCFunction

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(cls.__name__ + "Backward", (BackwardCFunction,),
                                 {"__slots__": (), "_forward_cls": cls,
                                  "__module__": cls.__module__})

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__}: custom autograd Functions are called "
                           f"through the class, not an instance: use "
                           f"{type(self).__name__}.apply(...)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs: tuple, output) -> None:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    @staticmethod
    def vjp(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on ``args`` and, if any tensor argument requires grad, connect the
        outputs to a graph node whose backward is this class's ``backward``."""
        if cls is Function:
            raise RuntimeError("Function.apply: subclass Function and define forward/backward")
        ctx = cls._backward_cls()
        recording = engine.GRAD_ENABLED
        ctx.needs_input_grad = tuple(
            recording and isinstance(a, _tensor.Tensor) and a.requires_grad for a in args)
        separate_setup = cls.setup_context is not Function.setup_context
        previous = engine.GRAD_ENABLED
        engine.GRAD_ENABLED = False  # forward is one op: its insides are not recorded
        try:
            if separate_setup:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        finally:
            engine.GRAD_ENABLED = previous
        if not any(ctx.needs_input_grad):
            return output
        return _connect(ctx, args, output)


def _connect(ctx: BackwardCFunction, args: tuple, output):
    """Make ``ctx`` the graph node of ``output``."""
    is_tuple = isinstance(output, tuple)
    outputs = output if is_tuple else (output,)
    edges, meta = [], []
    for a, need in zip(args, ctx.needs_input_grad):
        edges.append(grad_edge(a) if need else None)
        meta.append((a._data.shape, a._data.dtype) if need else None)
    init_node(ctx, tuple(edges), tuple(meta))
    ctx._tensor_inputs = tuple(isinstance(a, _tensor.Tensor) for a in args)
    ctx._tensor_outputs = tuple(isinstance(o, _tensor.Tensor) for o in outputs)
    if len(outputs) != 1:
        ctx.n_outputs = len(outputs)
    ctx._output_meta = tuple((o._data.shape, o._data.dtype) if isinstance(o, _tensor.Tensor)
                             else ((), _first_dtype(meta)) for o in outputs)
    if getattr(ctx, "_materialize_grads", True) is False:
        ctx.register_prehook(_note_undefined(ctx))

    non_differentiable = getattr(ctx, "_non_differentiable", set())
    dirty = getattr(ctx, "_dirty", set())
    arg_ids = {id(a) for a in args if isinstance(a, _tensor.Tensor)}
    results = []
    for i, o in enumerate(outputs):
        if not isinstance(o, _tensor.Tensor):
            results.append(o)
            continue
        differentiable = id(o) not in non_differentiable and o._data.dtype.kind in "fc"
        if id(o) in dirty:  # modified in place: the input itself now comes from this node
            if o.grad_fn is None and o.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                   "in-place operation.")
            o.grad_fn, o._output_nr, o._requires_grad = (ctx, i, True) if differentiable \
                else (None, 0, False)
        elif id(o) in arg_ids or o.grad_fn is not None or o.requires_grad:
            # An input (or another graph's tensor) returned as is: a new tensor on the same
            # memory, so the original keeps its own history.
            alias = _tensor.Tensor._make(o._data, ctx if differentiable else None, i,
                                         differentiable)
            alias._version = o._version
            o = alias
        elif differentiable:  # a fresh result of forward: attach it (saved copies see it too)
            o.grad_fn, o._output_nr, o._requires_grad = ctx, i, True
        results.append(o)
    ctx._saved = tuple((t, t._version[0]) if t is not None else (None, 0)
                       for t in getattr(ctx, "to_save", ()))
    ctx.__dict__.pop("to_save", None)
    return tuple(results) if is_tuple else results[0]


def _first_dtype(meta):
    for m in meta:
        if m is not None:
            return m[1]
    return None


class _DifferentiatedTwice(Node):
    """Stands behind gradients computed by a ``once_differentiable`` backward under
    ``create_graph=True``: harmless unless someone differentiates through them."""

    def __init__(self, fn_name: str):
        self.fn_name = fn_name
        init_node(self, (), ())

    def name(self) -> str:
        return "DelayedError"

    def backward(self, grad):
        raise AutogradError(
            f"trying to differentiate twice a function that was marked with "
            f"@once_differentiable ({self.fn_name}): its backward is not written with "
            "differentiable tensor operations, so its gradient has no gradient. Write the "
            "backward with tensor ops (and drop the decorator) to get higher derivatives.")


def once_differentiable(fn: Callable) -> Callable:
    """Decorate a custom Function's ``backward`` that is not differentiable itself (array
    code, or tensor ops whose graph would be wrong).

    It then runs under no_grad; under ``create_graph=True`` its gradients are marked, and
    differentiating through them raises a clear error instead of giving a silently wrong
    (or missing) second derivative.
    """
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        grad_mode = engine.GRAD_ENABLED
        engine.GRAD_ENABLED = False
        try:
            outputs = fn(ctx, *args)
        finally:
            engine.GRAD_ENABLED = grad_mode
        if not grad_mode:
            return outputs
        requires_grad = any(isinstance(a, _tensor.Tensor) and a.requires_grad for a in args) or any(
            getattr(ctx, "needs_input_grad", ()))
        if not requires_grad:
            return outputs
        name = ctx.name() if isinstance(ctx, Node) else getattr(fn, "__qualname__", "backward")
        single = not isinstance(outputs, tuple)
        marked = tuple(
            _tensor.Tensor._make(g._data, _DifferentiatedTwice(name), 0, True)
            if isinstance(g, _tensor.Tensor) and g._data.dtype.kind in "fc" else g
            for g in ((outputs,) if single else outputs))
        return marked[0] if single else marked
    return wrapper
