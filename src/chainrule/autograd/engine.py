"""The reverse-mode engine: graph nodes, grad mode, and the backward pass.

A tensor made by a differentiable op points at the op's node (``grad_fn``); the node points
at the nodes of its inputs (``next_functions``, PyTorch's name: a tuple of ``(node, output
number)`` edges, ``None`` for an input that needs no gradient). Leaves that require grad are
reached through an ``AccumulateGrad`` node, which adds the incoming gradient into ``.grad``.

``backward`` walks the graph without recursion (Kahn's algorithm over dependency counts), so a
chain of 100,000 ops is fine. For each node it: sums the gradients that reached each of its
outputs, runs the tensor hooks, calls the op's ``backward``, undoes broadcasting and checks the
shape and dtype of each input gradient (one place for every op), then frees the op's saved
tensors unless ``retain_graph``. With ``create_graph=True`` the op's backward runs with grad
mode on, so the gradients it computes with tensor ops are themselves differentiable.

This module imports nothing from the rest of chainrule at import time; it reaches the Tensor
class only when a backward pass runs.
"""
from __future__ import annotations

import traceback
from typing import Callable

GRAD_ENABLED = True  # read directly by ops on every call; switched by grad-mode contexts
ANOMALY_MODE = False
ANOMALY_CHECK_NAN = True

_sequence = 0  # creation counter: lets tools order nodes as PyTorch does
BACKWARD_OBSERVERS: list = []  # tools (autograd.trace) called with the roots of each pass


class AutogradError(RuntimeError):
    """An error raised by the autograd engine (a freed graph, a bad gradient, ...)."""


class Node:
    """A node of the backward graph. Ops subclass it (via ``ops.Function``).

    ``backward(*grads)`` receives one gradient per output and returns one per input (or a
    single gradient when the op has one input); gradients are Tensors.
    """

    __slots__ = ("next_functions", "_input_meta", "_sequence_nr", "__dict__", "__weakref__")

    # Rarely set, so class-level defaults: recording a node sets only the slots above.
    n_outputs = 1
    _released = False
    _pre_hooks = None
    _hooks = None
    _creation_stack = None

    def name(self) -> str:
        """PyTorch-style node name, e.g. ``MulBackward0``."""
        return type(self).__name__ + "Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object>"

    # -- hooks (PyTorch's Node.register_hook / register_prehook) --------------------------
    def register_prehook(self, hook: Callable) -> "RemovableHandle":
        """``hook(grad_outputs) -> None or new grad_outputs`` runs before this node's backward."""
        return _add_hook(self, "_pre_hooks", hook)

    def register_hook(self, hook: Callable) -> "RemovableHandle":
        """``hook(grad_inputs, grad_outputs) -> None or new grad_inputs`` runs after backward."""
        return _add_hook(self, "_hooks", hook)

    def _output_hook(self, nr: int, hook: Callable, retains_grad: bool = False
                     ) -> "RemovableHandle":
        """A tensor hook on output ``nr``: ``hook(grad) -> None or new grad``."""
        def on_outputs(grads):
            g = grads[nr]
            if g is None:
                return None
            new = hook(g)
            if new is None:
                return None
            grads = list(grads)
            grads[nr] = new
            return tuple(grads)
        on_outputs.retains_grad = retains_grad
        return self.register_prehook(on_outputs)

    def release(self) -> None:
        """Free what forward saved; a later backward through this node raises."""
        n_outputs = self.n_outputs
        self.__dict__.clear()
        if n_outputs != 1:
            self.n_outputs = n_outputs
        self._released = True

    @property
    def metadata(self) -> dict:
        return self.__dict__.setdefault("_metadata", {})


class RemovableHandle:
    """Returned by ``register_*hook``; ``remove()`` takes the hook off again."""

    __slots__ = ("_owner", "_attr", "_hook")

    def __init__(self, owner, attr: str, hook):
        self._owner, self._attr, self._hook = owner, attr, hook

    def remove(self) -> None:
        hooks = getattr(self._owner, self._attr, None)
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add_hook(owner, attr: str, hook) -> RemovableHandle:
    hooks = getattr(owner, attr, None)
    if hooks is None:
        hooks = []
        setattr(owner, attr, hooks)
    hooks.append(hook)
    return RemovableHandle(owner, attr, hook)


def init_node(node: Node, next_functions: tuple, input_meta: tuple) -> None:
    """Wire a freshly made node into the graph (called by ops when grad mode records)."""
    global _sequence
    node.next_functions = next_functions
    node._input_meta = input_meta
    _sequence += 1
    node._sequence_nr = _sequence
    if ANOMALY_MODE:
        node._creation_stack = traceback.extract_stack()[:-3]


class AccumulateGrad(Node):
    """The node of a leaf tensor: adds incoming gradients into ``leaf.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable
        init_node(self, (), ())

    def name(self) -> str:
        return "AccumulateGrad"

    def release(self) -> None:  # a leaf's accumulator is reused by every backward
        pass


def grad_edge(tensor) -> tuple | None:
    """The edge ``(node, output_nr)`` through which a gradient reaches ``tensor``."""
    if not tensor.requires_grad:
        return None
    fn = tensor.grad_fn
    if fn is not None:
        return (fn, tensor._output_nr)
    acc = tensor._grad_accumulator
    if acc is None:
        acc = tensor._grad_accumulator = AccumulateGrad(tensor)
    return (acc, 0)


# -- the backward pass --------------------------------------------------------------------

def run_backward(tensors, grad_tensors, retain_graph: bool, create_graph: bool,
                 inputs=None, allow_unused: bool = False, accumulate: bool = True):
    """Propagate ``grad_tensors`` from ``tensors`` back through the graph.

    With ``accumulate`` (``Tensor.backward``) leaf gradients are added into ``.grad`` (of
    ``inputs`` only, when given). Without it (``autograd.grad``) nothing is accumulated and the
    gradients reaching ``inputs`` are returned, in order.
    """
    global GRAD_ENABLED
    roots = []
    for t, g in zip(tensors, grad_tensors):
        edge = grad_edge(t)
        if edge is None:
            raise AutogradError(
                "element of the tensors does not require grad and does not have a grad_fn")
        roots.append((edge, g))
    if BACKWARD_OBSERVERS:  # once per pass, not per node: free when no tool is watching
        for observe in BACKWARD_OBSERVERS:
            observe(roots)

    capture = None  # edge -> position in `inputs`, for autograd.grad and backward(inputs=)
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            edge = grad_edge(t)
            if edge is None:
                raise AutogradError(f"input {i} of the gradient does not require grad")
            capture.setdefault(edge, []).append(i)
    captured = [None] * (len(inputs) if inputs is not None else 0)

    deps, parents = _count_dependencies([e[0] for e, _ in roots], capture is not None)
    needed = _needed_nodes(parents, capture) if capture is not None else None

    buffers: dict = {}
    for (node, nr), g in roots:
        buf = buffers.setdefault(node, [None] * node.n_outputs)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    ready = [e[0] for e, _ in roots if deps.get(e[0], 0) == 0]
    ready = list(dict.fromkeys(ready))

    previous_mode = GRAD_ENABLED
    GRAD_ENABLED = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * node.n_outputs
            if node._pre_hooks:
                grads = _run_pre_hooks(node, grads)
            if capture is not None:
                for nr in range(len(grads)):
                    for pos in capture.get((node, nr), ()):
                        captured[pos] = grads[nr]

            if type(node) is AccumulateGrad:
                if accumulate and grads[0] is not None and (
                        capture is None or (node, 0) in capture):
                    _accumulate_leaf(node.variable, grads[0], create_graph)
                continue

            children = node.next_functions
            skip = (needed is not None and node not in needed) or (
                grads[0] is None if len(grads) == 1 else all(g is None for g in grads))
            if skip:
                in_grads = (None,) * len(children)
            else:
                if node._released:
                    raise AutogradError(
                        f"Trying to backward through the graph a second time (or directly "
                        f"access saved tensors after they have already been freed) in "
                        f"{node.name()}: saved intermediate values of the graph are freed when "
                        "you call .backward() or autograd.grad(). Specify retain_graph=True if "
                        "you need to backward through the graph a second time.")
                if node.n_outputs == 1 and not GRAD_ENABLED:  # the common case, inlined
                    in_grads = node.backward(grads[0])
                    if type(in_grads) is not tuple:
                        in_grads = (in_grads,)
                    if len(in_grads) != len(children) or ANOMALY_MODE:
                        in_grads = _check_result(node, in_grads)
                else:
                    in_grads = _call_backward(node, grads)
                if node._hooks:
                    for hook in node._hooks:
                        new = hook(in_grads, tuple(grads))
                        if new is not None:
                            in_grads = tuple(new)
                if not retain_graph:
                    node.release()

            for edge, g, meta in zip(children, in_grads, node._input_meta):
                if edge is None:
                    continue
                child, nr = edge
                if g is not None:
                    if g._data.shape != meta[0] or g._data.dtype != meta[1]:
                        g = _conform(node, g, meta)
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * child.n_outputs
                    old = buf[nr]
                    # Out of place: an op may hand one gradient object to several inputs.
                    buf[nr] = g if old is None else old + g
                remaining = deps[child] - 1
                deps[child] = remaining
                if remaining == 0:
                    ready.append(child)
    finally:
        GRAD_ENABLED = previous_mode

    if inputs is None or accumulate:
        return None
    for i, g in enumerate(captured):
        if g is None and not allow_unused:
            raise AutogradError(
                f"One of the differentiated Tensors (input {i}) appears to not have been used "
                "in the graph. Set allow_unused=True if this is the desired behavior.")
    return captured


def _run_pre_hooks(node, grads):
    # retain_grad hooks run last, so .grad shows the gradient after every other hook.
    hooks = node._pre_hooks
    ordered = [h for h in hooks if not getattr(h, "retains_grad", False)] + \
        [h for h in hooks if getattr(h, "retains_grad", False)]
    for hook in ordered:
        new = hook(tuple(grads))
        if new is not None:
            grads = list(new)
    return grads


def _count_dependencies(roots, want_parents: bool):
    """How many edges point at each node reachable from ``roots`` (iterative DFS).

    Also returns the reversed edges (node -> nodes that feed it a gradient), which
    ``_needed_nodes`` walks when only some inputs' gradients are wanted.
    """
    deps: dict = {}
    parents: dict = {}
    seen = set(roots)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for edge in node.next_functions:
            if edge is None:
                continue
            child = edge[0]
            deps[child] = deps.get(child, 0) + 1
            if want_parents:
                parents.setdefault(child, []).append(node)
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return deps, parents


def _needed_nodes(parents, capture) -> set:
    """Nodes from which a captured edge can be reached: only they need to run backward."""
    needed = set()
    frontier = [edge[0] for edge in capture]
    while frontier:
        node = frontier.pop()
        for parent in parents.get(node, ()):
            if parent not in needed:
                needed.add(parent)
                frontier.append(parent)
    return needed


class _OnceDifferentiableError(Node):
    """Stands behind gradients computed by a once-differentiable op under create_graph:
    harmless unless someone differentiates through them."""

    __slots__ = ("op_name",)

    def __init__(self, op_name: str):
        self.op_name = op_name
        init_node(self, (), ())

    def backward(self, grad):
        raise AutogradError(
            f"{self.op_name} is once-differentiable: its backward is a fused array kernel, so "
            "its gradient cannot be differentiated again. Use the composed (unfused) form of "
            "this op for higher-order gradients.")


def _call_backward(node, grads):
    if GRAD_ENABLED and getattr(node, "once_differentiable", False):
        return _call_once_differentiable(node, grads)
    if node.n_outputs == 1:
        result = node.backward(grads[0])
    else:
        from ..tensor import Tensor
        filled = []
        for g, meta in zip(grads, node._output_meta):
            if g is None:
                g = Tensor._zeros(meta[0], meta[1])
            filled.append(g)
        result = node.backward(*filled)
    if type(result) is not tuple:
        result = (result,)
    return _check_result(node, result)


def _check_result(node, result):
    if len(result) != len(node.next_functions):
        raise AutogradError(
            f"{node.name()}: backward returned {len(result)} gradients, expected "
            f"{len(node.next_functions)} (one per input)")
    if ANOMALY_MODE:
        _check_anomaly(node, result)
    return result


def _call_once_differentiable(node, grads):
    global GRAD_ENABLED
    GRAD_ENABLED = False
    try:
        result = _call_backward(node, grads)
    finally:
        GRAD_ENABLED = True
    marked = []
    for g in result:
        if g is not None and g._data.dtype.kind == "f":
            g = type(g)._make(g._data, _OnceDifferentiableError(node.name()), 0, True)
        marked.append(g)
    return tuple(marked)


def _conform(node, g, meta):
    """Undo broadcasting and check that a gradient fits its input (one place for all ops)."""
    shape, dtype = meta
    if g._data.shape != shape:
        try:
            g = g.sum_to_size(shape)
        except (RuntimeError, ValueError):
            raise AutogradError(
                f"{node.name()}: backward returned a gradient of shape {tuple(g.shape)} for an "
                f"input of shape {shape}") from None
    if g._data.dtype != dtype:
        raise AutogradError(
            f"{node.name()}: backward returned a gradient of dtype {g._data.dtype} for an "
            f"input of dtype {dtype}")
    return g


def _accumulate_leaf(leaf, g, create_graph: bool) -> None:
    hooks = leaf._backward_hooks
    if hooks:
        for hook in hooks:
            new = hook(g)
            if new is not None:
                g = new
    if leaf.grad is None:
        # Copy: an op may hand the same array to several inputs (a + b), and .grad is
        # later accumulated in place.
        leaf.grad = g if create_graph else g._detached_copy()
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + g
    else:
        leaf.grad._accumulate_(g)
    for hook in leaf._post_accumulate_hooks or ():
        hook(leaf)


def _check_anomaly(node, grads) -> None:
    import numpy as np

    if not ANOMALY_CHECK_NAN:  # detect_anomaly(check_nan=False): record creation sites only
        return
    for i, g in enumerate(grads):
        if g is not None and not np.all(np.isfinite(g._data)):
            where = ""
            if node._creation_stack:
                where = "\nThe op was created at (most recent call last):\n" + "".join(
                    traceback.format_list(node._creation_stack[-8:]))
            raise AutogradError(
                f"Function '{node.name()}' returned nan or inf values in its {i}th output "
                f"(the gradient for input {i}).{where}")
