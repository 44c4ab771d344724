"""The backprop trace: watch a backward pass node by node.

Backprop is a product of Jacobians: for y = B(A(x)), dy/dx = J_B · J_A, with J_B of shape
[len(y), len(h)] and J_A of shape [len(h), len(x)]; a backward pass multiplies them from the
left, one vector-Jacobian product per node: g_h = g_y · J_B, then g_x = g_h · J_A.

``trace(loss)`` runs ``loss.backward()`` and records, for every node in the order backward
visits it: the op, its output's shape, the incoming gradient's shape and norm, and for each
input the shape of the local Jacobian, rows x cols = numel(output) x numel(input). With
``jacobians=True`` it also keeps the local Jacobian matrices themselves, and ``chain(x)``
multiplies them along the graph to give the whole Jacobian d(output)/dx.

Example:
    >>> W1 = chainrule.randn(4, 3, requires_grad=True)
    >>> W2 = chainrule.randn(2, 4, requires_grad=True)
    >>> x = chainrule.randn(3, requires_grad=True)
    >>> y = W2 @ (W1 @ x).tanh()
    >>> t = chainrule.autograd.trace(y, gradient=chainrule.ones(2), jacobians=True)
    >>> print(t)              # the table
    >>> print(t.chain(x))     # J [2 x 3] = J_MatmulBackward0 [2 x 4] · J_TanhBackward0 [4 x 4]
    ...                       #             · J_MatmulBackward0 [4 x 3]

Or as a context manager around any backward passes:
    >>> with chainrule.autograd.trace() as t:
    ...     loss.backward()
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# The module, not the class: the autograd package is first imported while
# chainrule.tensor is still being defined; the class is looked up when used.
from .. import tensor as _tensor
from . import engine
from .engine import AccumulateGrad, Node

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["trace", "BackpropTrace", "TraceRow", "JacobianChain"]


@dataclass
class TraceRow:
    """One node of a traced backward pass (``rows x cols`` Jacobians: numel(out) x numel(in))."""

    step: int                 # visiting order within its pass (0 = the first node)
    op: str                   # node name, e.g. "MulBackward0", "AccumulateGrad"
    output_shape: tuple       # shape of the op's output (a tuple of shapes if several)
    grad_shape: tuple | None  # shape of the incoming gradient dL/d(output); None if none came
    grad_norm: float          # Euclidean norm of the incoming gradient (0.0 if none)
    input_shapes: tuple       # per input: its shape, or None if it gets no gradient
    jacobian_shapes: tuple    # per input: (numel(output), numel(input)), or None
    jacobians: tuple | None = None   # per input: the local Jacobian (jacobians=True)
    name: str | None = None   # a leaf's name, when known
    pass_index: int = 0       # which backward pass inside a `with trace()` block
    node: Any = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        """The row as plain data (no tensors or nodes)."""
        return {"pass": self.pass_index, "step": self.step, "op": self.op, "name": self.name,
                "output_shape": self.output_shape, "grad_shape": self.grad_shape,
                "grad_norm": self.grad_norm, "input_shapes": self.input_shapes,
                "jacobian_shapes": self.jacobian_shapes}


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _norm(grads) -> float:
    total = 0.0
    for g in grads:
        if g is not None:
            g = g.detach()
            total += float((g * g).sum().item())
    return math.sqrt(total)


def _fmt_shape(shape) -> str:
    if shape is None:
        return "-"
    if shape and isinstance(shape[0], tuple):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "[" + ", ".join(str(s) for s in shape) + "]"


class BackpropTrace:
    """Records backward passes; a context manager. ``rows`` holds one ``TraceRow`` per node.

    Args:
        jacobians: also compute each node's local Jacobian matrices (one extra backward call
            of the node per output element: for small graphs, for teaching).
        names: leaf names, as a ``{name: tensor}`` dict or a module (its named_parameters).
        max_jacobian_rows: skip (None) local Jacobians of nodes with more output elements.
    """

    def __init__(self, jacobians: bool = False, names=None, max_jacobian_rows: int = 4096):
        self.rows: list[TraceRow] = []
        self.jacobians = jacobians
        self.max_jacobian_rows = max_jacobian_rows
        if names is not None and hasattr(names, "named_parameters"):
            names = dict(names.named_parameters())
        self._names = {id(t): n for n, t in (names or {}).items()}
        self._handles: list = []
        self._hooked: set = set()
        self._passes = 0
        self._current: list = [0, 0, {}]  # the pass being recorded: index, next step, shapes
        self._roots: list = []  # (node, output_nr) of each pass's first node(s)

    # -- recording ------------------------------------------------------------------------
    def __enter__(self) -> "BackpropTrace":
        engine.BACKWARD_OBSERVERS.append(self._observe)
        return self

    def __exit__(self, *exc) -> bool:
        if self._observe in engine.BACKWARD_OBSERVERS:
            engine.BACKWARD_OBSERVERS.remove(self._observe)
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._hooked.clear()
        return False

    def _observe(self, roots) -> None:
        """Called by the engine before a pass: hook every node reachable from the roots."""
        pass_index = self._passes
        self._passes += 1
        shapes: dict = {}  # (node, output_nr) -> shape of that output
        self._current = [pass_index, 0, shapes]  # pass, next step, output shapes
        stack = []
        for (node, nr), g in roots:
            shapes[(node, nr)] = tuple(g.shape)
            self._roots.append((pass_index, node, nr))
            stack.append(node)
        seen = set(stack)
        while stack:
            node = stack.pop()
            if node not in self._hooked:  # one hook per node, whichever pass reaches it
                self._hooked.add(node)
                self._handles.append(node.register_prehook(self._make_hook(node)))
            for edge, meta in zip(node.next_functions, getattr(node, "_input_meta", ())):
                if edge is None:
                    continue
                if meta is not None:
                    shapes[edge] = tuple(meta[0])
                if edge[0] not in seen:
                    seen.add(edge[0])
                    stack.append(edge[0])

    def _make_hook(self, node: Node):
        def hook(grads):
            pass_index, step, shapes = self._current
            previous = engine.GRAD_ENABLED
            engine.GRAD_ENABLED = False  # our arithmetic must not join a create_graph graph
            try:
                self.rows.append(self._row(node, grads, pass_index, step, shapes))
            finally:
                engine.GRAD_ENABLED = previous
            self._current[1] += 1
        return hook

    def _row(self, node, grads, pass_index, step, shapes) -> TraceRow:
        if isinstance(node, AccumulateGrad):
            var = node.variable
            return TraceRow(step, node.name(), tuple(var.shape),
                            tuple(grads[0].shape) if grads[0] is not None else None,
                            _norm(grads), (), (), () if self.jacobians else None,
                            self._names.get(id(var)), pass_index, node)
        out_shapes = self._output_shapes(node, grads, shapes)
        rows = sum(_numel(s) for s in out_shapes if s is not None)
        input_shapes = tuple(tuple(m[0]) if (e is not None and m is not None) else None
                             for e, m in zip(node.next_functions, node._input_meta))
        jac_shapes = tuple((rows, _numel(s)) if s is not None else None for s in input_shapes)
        grad_shapes = tuple(tuple(g.shape) if g is not None else None for g in grads)
        single = len(out_shapes) == 1
        jacobians = None
        if self.jacobians and rows <= self.max_jacobian_rows and None not in out_shapes:
            jacobians = self._local_jacobians(node, out_shapes, input_shapes, grads)
        return TraceRow(step, node.name(), out_shapes[0] if single else out_shapes,
                        (grad_shapes[0] if single else grad_shapes)
                        if any(s is not None for s in grad_shapes) else None,
                        _norm(grads), input_shapes, jac_shapes, jacobians, None, pass_index,
                        node)

    @staticmethod
    def _output_shapes(node, grads, shapes) -> tuple:
        meta = node.__dict__.get("_output_meta")
        if meta is not None and node.n_outputs != 1:
            return tuple(tuple(m[0]) for m in meta)
        out = []
        for nr in range(node.n_outputs):
            if grads[nr] is not None:
                out.append(tuple(grads[nr].shape))
            else:
                out.append(shapes.get((node, nr)))
        return tuple(out)

    @staticmethod
    def _local_jacobians(node, out_shapes, input_shapes, grads) -> tuple:
        """J_j[r, c] = d output[r] / d input_j[c], one node.backward call per output element
        (the outputs concatenated when there are several)."""
        from ..ops import stack, zeros
        dtype = next(g.dtype for g in grads if g is not None)
        rows: list[list] = [[] for _ in input_shapes]
        for nr, shape in enumerate(out_shapes):
            for k in range(_numel(shape)):
                seeds = [zeros(_numel(s), dtype=dtype) for s in out_shapes]
                seeds[nr][k] = 1.0
                seeds = [sd.view(s) for sd, s in zip(seeds, out_shapes)]
                result = node.backward(*seeds)
                if not isinstance(result, tuple):
                    result = (result,)
                for j, (g, s) in enumerate(zip(result, input_shapes)):
                    if s is None:
                        continue
                    if g is None:
                        g = zeros(s, dtype=dtype)
                    elif tuple(g.shape) != s:  # the engine's unbroadcasting, done here too
                        g = g.sum_to_size(s)
                    rows[j].append(g.reshape(-1))
        return tuple(stack(r, 0) if s is not None else None
                     for r, s in zip(rows, input_shapes))

    # -- reading ---------------------------------------------------------------------------
    def row_of(self, tensor_or_node) -> TraceRow:
        """The row of the node that receives ``tensor``'s gradient (its grad_fn, or its
        AccumulateGrad for a leaf), from the last pass that visited it."""
        node = _node_of(tensor_or_node)
        for row in reversed(self.rows):
            if row.node is node:
                return row
        raise KeyError(f"trace: {node!r} was not visited by the traced backward passes")

    def chain(self, tensor, pass_index: int | None = None) -> "JacobianChain":
        """The Jacobian of the traced output with respect to ``tensor``, as a product of the
        local Jacobians along the graph (summed over paths when there are several)."""
        if not self._roots:
            raise RuntimeError("trace.chain: no backward pass was recorded")
        if pass_index is None:
            pass_index = self._roots[-1][0]
        target = _node_of(tensor)
        is_output = isinstance(tensor, _tensor.Tensor) and not isinstance(target, AccumulateGrad)
        target_nr = tensor._output_nr if is_output else 0
        rows = {}
        for row in self.rows:
            if row.pass_index == pass_index:
                rows[row.node] = row
        roots = [(n, nr) for p, n, nr in self._roots if p == pass_index]
        paths = []
        for root, root_nr in roots:
            _find_paths(root, root_nr, target, target_nr, rows, paths)
        if not paths:
            raise ValueError("trace.chain: the traced output does not depend on this tensor")
        return JacobianChain(paths, rows, tuple(tensor.shape) if isinstance(tensor, _tensor.Tensor)
                             else None)

    def __str__(self) -> str:
        header = ("step", "op", "output", "grad in", "|grad|",
                  "local Jacobians (numel(out) x numel(in), per input)")
        lines = []
        for row in self.rows:
            op = row.op + (f" ({row.name})" if row.name else "")
            if row.op == "AccumulateGrad":
                jac = "(leaf: gradient stored in .grad)"
            else:
                jac = ", ".join(f"[{r} x {c}]" if (r, c) != (None, None) else "-"
                                for r, c in ((s if s is not None else (None, None))
                                             for s in row.jacobian_shapes))
            step = f"{row.pass_index}.{row.step}" if self._passes > 1 else str(row.step)
            lines.append((step, op, _fmt_shape(row.output_shape), _fmt_shape(row.grad_shape),
                          f"{row.grad_norm:.4g}", jac))
        widths = [max(len(str(x[i])) for x in [header] + lines) for i in range(len(header))]
        out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
        out.append("  ".join("-" * w for w in widths))
        for line in lines:
            out.append("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip())
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"<BackpropTrace: {len(self.rows)} nodes in {self._passes} pass(es)>"

    def print(self) -> None:
        print(str(self))


def _node_of(x) -> Node:
    if isinstance(x, Node):
        return x
    if not isinstance(x, _tensor.Tensor) or not x.requires_grad:
        raise TypeError("trace: expected a tensor that requires grad, or a graph node")
    if x.grad_fn is not None:
        return x.grad_fn
    return engine.grad_edge(x)[0]


def _find_paths(node, nr, target, target_nr, rows, paths, limit: int = 10000) -> None:
    """Every path (list of (node, output_nr, input_index)) from ``node`` down to target.

    Iterative, so deep graphs do not hit the recursion limit.
    """
    stack = [(node, nr, [])]
    while stack:
        node, nr, path = stack.pop()
        if node is target and nr == target_nr:
            paths.append(path)
            if len(paths) > limit:
                raise RuntimeError(f"trace.chain: more than {limit} paths lead to this tensor")
            continue
        if node not in rows:
            continue
        for j, edge in enumerate(node.next_functions):
            if edge is not None and edge[0] in rows:
                stack.append((edge[0], edge[1], path + [(node, nr, j)]))


class JacobianChain:
    """d(output)/d(tensor) as a product of local Jacobians along each path of the graph."""

    def __init__(self, paths: list, rows: dict, target_shape):
        self.paths = paths
        self._rows = rows
        self.target_shape = target_shape

    def factors(self, path: int = 0) -> list[tuple[str, tuple]]:
        """``[(op, (rows, cols)), ...]`` from the output down to the tensor, along one path;
        rows are restricted to the output of each node that the path goes through."""
        out = []
        for node, nr, j in self.paths[path]:
            row = self._rows[node]
            shapes = row.output_shape if node.n_outputs != 1 else (row.output_shape,)
            out.append((row.op, (_numel(shapes[nr]), row.jacobian_shapes[j][1])))
        return out

    def matrix(self) -> Tensor:
        """The product of the recorded local Jacobians, summed over paths: the Jacobian
        [numel(output), numel(tensor)]. Needs ``trace(..., jacobians=True)``."""
        total = None
        for path in self.paths:
            product = None
            for node, nr, j in path:
                row = self._rows[node]
                if row.jacobians is None or row.jacobians[j] is None:
                    raise RuntimeError("JacobianChain.matrix: local Jacobians were not recorded; "
                                       "use trace(..., jacobians=True)")
                shapes = row.output_shape if node.n_outputs != 1 else (row.output_shape,)
                start = sum(_numel(s) for s in shapes[:nr])
                local = row.jacobians[j][start:start + _numel(shapes[nr])]
                product = local if product is None else product @ local
            total = product if total is None else total + product
        return total

    def __str__(self) -> str:
        lines = []
        for p in range(len(self.paths)):
            factors = self.factors(p)
            rows, cols = factors[0][1][0], factors[-1][1][1]
            product = " · ".join(f"J_{op} [{r} x {c}]" for op, (r, c) in factors)
            lines.append(f"J [{rows} x {cols}] = {product}")
        if len(lines) > 1:
            lines.insert(0, f"sum over {len(lines)} paths:")
        return "\n".join(lines)

    __repr__ = __str__


def trace(tensor: Tensor | None = None, gradient: Tensor | None = None, *,
          retain_graph: bool | None = None, create_graph: bool = False,
          jacobians: bool = False, names=None) -> BackpropTrace:
    """Run ``tensor.backward(gradient)`` and return the trace of that pass.

    With no tensor, return a recorder to use as a context manager around backward calls:
    ``with trace() as t: loss.backward()``.

    Args:
        tensor: the output to backpropagate from (the loss).
        gradient: dL/d(tensor), needed when tensor has more than one element.
        retain_graph, create_graph: as for ``Tensor.backward``.
        jacobians: also record each node's local Jacobian (small graphs only).
        names: ``{name: tensor}`` or a module, to label leaves in the table.

    Returns:
        A ``BackpropTrace``: ``print(t)`` shows the table, ``t.rows`` the data,
        ``t.chain(x)`` the product of Jacobians from the output down to x.
    """
    recorder = BackpropTrace(jacobians=jacobians, names=names)
    if tensor is None:
        return recorder
    with recorder:
        tensor.backward(gradient, retain_graph=retain_graph, create_graph=create_graph)
    return recorder
