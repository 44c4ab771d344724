"""Tracing: run a model's ``forward`` once on an example input and record what it did.

A model made only of known layers inside ``Sequential`` trees could be converted by walking
its modules, but a user ``Module`` subclass says what it computes only in Python code. To
convert it we run that code on real tensors and write down, in order, every *leaf module
call* (``self.fc1(x)``) and every *primitive op* (``Add``, ``Reshape``, ``Matmul``, ...) that
the forward performed between them. The result, a :class:`Graph`, is a straight-line program
that the PyTorch converter (``torch_convert``) and the ONNX exporter (``onnx_export``) replay
in their own vocabulary.

How the recording works (only while :func:`trace` runs):

- ``Module.__call__`` is wrapped: a call to a module that ``is_leaf(module)`` accepts becomes
  one node; the ops inside it are not recorded (the exporter knows the layer as a whole).
- ``Function.__call__`` (every primitive op goes through it) is wrapped: each call at the top
  level becomes one node holding the op object, whose attributes (``Reshape.shape``,
  ``Sum.dims``, ...) say what it did.
- Tensors are told apart by identity; a tensor the trace has not seen is looked up among the
  model's parameters and buffers, and otherwise becomes a constant. In-place writes
  (``x += y``, ``x.relu_()``) re-point the tensor at the op's result.

Python control flow is *evaluated*, not recorded: ``if x.sum() > 0`` takes the branch the
example input takes, as in ``torch.jit.trace``. Sizes read from a tensor (``x.size(0)``) are
baked in; :func:`trace_dynamic` traces twice with two batch sizes and turns the sizes that
changed back into ``-1``, so the replay works for any batch size. A tensor computed from the
inputs outside the recorded ops (a comparison, ``one_hot``) is an error when used, never a
silently frozen constant; values read out with ``.item()`` cannot be detected and are frozen.

While a trace runs, the two ``__call__`` methods are patched on their classes: tracing is
not thread-safe (do not run other chainrule code in another thread meanwhile).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ops.function import Function
from ..ops.inplace import inplace as _inplace_fn
from ..tensor import Tensor

# The module itself (chainrule.ops re-exports its ``inplace`` function under the same name).
_inplace_module = sys.modules[_inplace_fn.__module__]

__all__ = ["Graph", "Node", "Ref", "TraceError", "trace", "trace_dynamic"]


class TraceError(RuntimeError):
    """The forward did something a straight-line replay cannot reproduce."""


@dataclass(frozen=True)
class Ref:
    """An input of a node: a traced ``value``, a model ``param``/buffer, or a ``const``."""

    kind: str          # "value" | "param" | "const"
    target: Any        # value name, dotted parameter name, or the constant (array / number)


@dataclass
class Node:
    """One recorded step.

    ``kind`` is ``"module"`` (``target`` = dotted module name, ``module`` = the module) or
    ``"op"`` (``target`` = the primitive op object). ``args`` is the call's positional
    arguments with tensors replaced by :class:`Ref` (nested tuples kept); ``outputs`` the
    names of the tensors it produced, ``out_structure`` their nesting (a name, or a tuple).
    """

    kind: str
    target: Any
    args: tuple
    kwargs: dict
    outputs: list
    out_structure: Any
    module: Any = None
    shapes: dict = field(default_factory=dict)  # value name -> shape seen in the trace
    example: Any = None        # a module call's actual arguments (to convert it in turn)
    array_refs: dict = field(default_factory=dict)  # op attribute -> Ref of a traced value
    dynamic_shape: Any = None  # a Reshape/Expand target with batch-dependent sizes as -1


@dataclass
class Graph:
    """A traced forward: ``inputs`` (value names) -> ``nodes`` -> ``output`` (nesting of refs)."""

    inputs: list
    nodes: list
    output: Any
    shapes: dict    # value name -> shape at trace time
    dtypes: dict    # value name -> NumPy dtype
    dynamic_dims: dict = field(default_factory=dict)  # value name -> dims that follow the batch


class _Recorder:
    def __init__(self, model, is_leaf: Callable):
        self.model = model
        self.is_leaf = is_leaf
        self.depth = 0
        self.names: dict = {}      # id(tensor) -> (value name, version counter, version)
        self.by_array: dict = {}   # id(ndarray) -> value name (for detach() / .data aliases)
        self.keep: list = []       # keeps traced tensors alive so their ids stay unique
        self.in_function = False   # inside a primitive op's own call (its outputs are named)
        self.tainted: dict = {}    # id(tensor or array) -> where it was computed untraced
        self.nodes: list = []
        self.shapes: dict = {}
        self.dtypes: dict = {}
        self.counter = 0
        self.params = {}
        for name, t in list(model.named_parameters(remove_duplicate=False)) + \
                list(model.named_buffers(remove_duplicate=False)):
            self.params.setdefault(id(t), name)
        self.module_names = {}
        for name, m in model.named_modules(remove_duplicate=False):
            self.module_names.setdefault(id(m), name)

    # -- values ----------------------------------------------------------------------------
    def new_value(self, t: Tensor, hint: str = "v") -> str:
        self.counter += 1
        name = f"{hint}{self.counter}"
        self.names[id(t)] = (name, t._version, t._version[0])
        self.by_array[id(t._data)] = name
        self.keep.append(t)
        self.shapes[name] = tuple(t._data.shape)
        self.dtypes[name] = t._data.dtype
        return name

    def ref(self, x) -> Any:
        """Replace the tensors in an argument (possibly nested) by Refs."""
        if isinstance(x, Tensor):
            entry = self.names.get(id(x))
            if entry is not None:
                name, counter, version = entry
                if counter is not x._version:
                    # A view made by an op adopts its base's version counter after the op
                    # returned (mark_view): adopt it too, it was not a modification.
                    self.names[id(x)] = (name, x._version, x._version[0])
                elif x._version[0] != version:
                    raise TraceError(
                        "trace: a traced tensor was modified in place through a view (or by "
                        "code outside chainrule's ops); use the out-of-place form")
                return Ref("value", name)
            if id(x) in self.params:
                return Ref("param", self.params[id(x)])
            alias = self.by_array.get(id(x._data))
            if alias is not None:  # x.detach(), x.data: same array, new Tensor object
                return Ref("value", alias)
            if id(x) in self.tainted:
                raise TraceError(self.tainted[id(x)])
            return Ref("const", np.array(x._data, copy=True))
        if isinstance(x, (tuple, list)):
            return type(x)(self.ref(a) for a in x) if isinstance(x, tuple) else \
                [self.ref(a) for a in x]
        if isinstance(x, np.ndarray):
            return Ref("const", np.array(x, copy=True))
        if isinstance(x, np.generic):
            return Ref("const", x)
        return x

    def name_outputs(self, out, hint: str) -> tuple:
        """Give every tensor in ``out`` a value name; return (flat names, nesting)."""
        flat: list = []

        def walk(o):
            if isinstance(o, Tensor):
                name = self.new_value(o, hint)
                flat.append(name)
                return name
            if isinstance(o, tuple):
                return tuple(walk(a) for a in o)
            if isinstance(o, list):
                return [walk(a) for a in o]
            if o is None or isinstance(o, (int, float, bool, str)):
                return ("const", o)
            raise TraceError(f"trace: cannot record an output of type {type(o).__name__}")
        return flat, walk(out)

    # -- the two hooks ---------------------------------------------------------------------
    def on_module(self, module, original, args, kwargs):
        if self.depth > 0 or not self.is_leaf(module):
            return original(module, *args, **kwargs)
        name = self.module_names.get(id(module))
        if name is None:
            raise TraceError(f"trace: the forward calls a {type(module).__name__} that is not "
                             "a submodule of the model (register it as an attribute)")
        ref_args = self.ref(args)
        ref_kwargs = {k: self.ref(v) for k, v in kwargs.items()}
        self.depth += 1
        try:
            out = original(module, *args, **kwargs)
        finally:
            self.depth -= 1
        flat, structure = self.name_outputs(out, "m")
        node = Node("module", name, ref_args, ref_kwargs, flat, structure, module=module,
                    example=(args, kwargs))
        node.shapes = {n: self.shapes[n] for n in flat}
        self.nodes.append(node)
        return out

    def on_op(self, op, original, inputs):
        if self.depth > 0:
            return original(op, *inputs)
        ref_args = tuple(self.ref(x) for x in inputs)
        array_refs = self.array_attributes(op)
        self.in_function = True
        try:
            out = original(op, *inputs)
        finally:
            self.in_function = False
        flat, structure = self.name_outputs(out, "v")
        node = Node("op", op, ref_args, {}, flat, structure)
        node.array_refs = array_refs
        node.shapes = {n: self.shapes[n] for n in flat}
        node.shapes.update({a.target: self.shapes[a.target] for a in ref_args
                            if isinstance(a, Ref) and a.kind == "value"})
        self.nodes.append(node)
        return out

    def array_attributes(self, op) -> dict:
        """Arrays an op was built with that are a traced tensor's values (an embedding's
        indices, a tensor index): the replay must read them from that tensor.

        Looked at before the op runs, so arrays its forward saves are not mistaken for them.
        """
        found = {}
        for attr, value in vars(op).items():
            items = value if isinstance(value, tuple) else (value,)
            for i, item in enumerate(items):
                if not isinstance(item, np.ndarray):
                    continue
                key = attr if not isinstance(value, tuple) else (attr, i)
                if id(item) in self.by_array:
                    found[key] = Ref("value", self.by_array[id(item)])
                elif id(item) in self.tainted:
                    raise TraceError(self.tainted[id(item)])
        kind = type(op).__name__
        if found and kind not in _ARRAY_INPUT_OPS:
            raise TraceError(f"trace: op {kind} uses the values of a traced tensor as a "
                             "constant (an index or mask); it cannot be replayed")
        return found

    def on_make(self, t: Tensor) -> None:
        """A tensor made outside the primitive ops (a comparison, ``one_hot``, NumPy code):
        if it was computed from traced tensors, using it later is an error, never a silently
        baked-in constant."""
        frame = sys._getframe(2)
        for _ in range(3):  # the creating function and its callers inside chainrule
            if frame is None or not frame.f_code.co_filename.startswith(_PACKAGE_DIR):
                return
            if frame.f_code.co_name in _SHAPE_ONLY_CREATORS:
                return
            for value in frame.f_locals.values():
                if (isinstance(value, Tensor) and id(value) in self.names) or (
                        isinstance(value, np.ndarray) and id(value) in self.by_array):
                    where = _user_frame()
                    message = (f"trace: a tensor computed from the inputs outside chainrule's "
                               f"recorded ops (in {frame.f_code.co_name}(), called at {where}) "
                               "is used later; comparisons, logical ops, one_hot, argmax and "
                               "item() are not recorded, so the replay cannot recompute it")
                    self.tainted[id(t)] = message
                    self.tainted[id(t._data)] = message
                    self.keep.append(t)
                    return
            frame = frame.f_back

    def on_inplace_write(self, original, target: Tensor, result: Tensor, fn) -> None:
        original(target, result, fn)
        if self.depth == 0 and id(result) in self.names:
            # x.relu_() / x += y: from now on x stands for the op's result.
            self.names[id(target)] = (self.names[id(result)][0], target._version,
                                     target._version[0])
            self.keep.append(target)


def trace(model, args: tuple, is_leaf: Callable, kwargs: dict | None = None) -> Graph:
    """Run ``model(*args)`` under no_grad and record it as a :class:`Graph`.

    Args:
        model: the chainrule Module to trace.
        args: example positional inputs (Tensors, or nested tuples of them).
        is_leaf: ``is_leaf(module) -> bool``; a call to such a module is recorded as one
            node instead of the ops inside it (the model itself included: a lone layer
            traces to one node).
    """
    from ..nn.modules.module import Module

    rec = _Recorder(model, is_leaf)
    flat_inputs: list = []

    def name_input(a):
        if isinstance(a, Tensor):
            name = rec.new_value(a, "input")
            flat_inputs.append(name)
            return a
        if isinstance(a, (tuple, list)):
            for x in a:
                name_input(x)
        return a
    for a in args:
        name_input(a)

    module_call = Module.__call__
    function_call = Function.__call__
    write = _inplace_module._write

    def traced_module_call(self, *a, **k):
        return rec.on_module(self, module_call, a, k)

    def traced_function_call(self, *inputs):
        return rec.on_op(self, function_call, inputs)

    def traced_write(target, result, fn):
        rec.on_inplace_write(write, target, result, fn)

    make = Tensor.__dict__["_make"]

    def traced_make(cls, data, grad_fn=None, output_nr=0, requires_grad=False):
        t = make.__func__(cls, data, grad_fn, output_nr, requires_grad)
        if rec.depth == 0 and not rec.in_function:
            rec.on_make(t)
        return t

    Module.__call__ = traced_module_call
    Function.__call__ = traced_function_call
    _inplace_module._write = traced_write
    Tensor._make = classmethod(traced_make)
    try:
        with no_grad():
            out = traced_module_call(model, *args, **(kwargs or {}))
    finally:
        Module.__call__ = module_call
        Function.__call__ = function_call
        _inplace_module._write = write
        Tensor._make = make
    output = rec.ref(out)
    return Graph(flat_inputs, rec.nodes, output, rec.shapes, rec.dtypes)


# Ops whose array attributes may be a traced tensor's values (the emitters read node.array_refs).
_ARRAY_INPUT_OPS = {"Embedding", "GetItem", "IndexSelect"}
# Functions that make a tensor from another one's shape only, never its values.
_SHAPE_ONLY_CREATORS = {"zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
                        "randn_like", "randint_like", "new_zeros", "new_ones", "new_full",
                        "new_empty", "new_tensor", "detach", "data"}


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_frame() -> str:
    """``file:line`` of the innermost caller outside chainrule (the user's forward)."""
    frame = sys._getframe(1)
    while frame is not None:
        if not frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def _grow_batch(a):
    """The same input with one more row along dim 0 (a copy of row 0)."""
    from .. import ops
    if isinstance(a, Tensor):
        if a.dim() == 0:
            return a
        return ops.cat([a, a[:1]], 0)
    if isinstance(a, tuple):
        return tuple(_grow_batch(x) for x in a)
    if isinstance(a, list):
        return [_grow_batch(x) for x in a]
    return a


# Op attributes that hold a target shape; a size that changes with the batch becomes -1.
_SHAPE_ATTRS = {"Reshape": "shape", "Expand": "shape"}


def trace_dynamic(model, args: tuple, is_leaf: Callable) -> Graph:
    """Trace twice (batch ``B`` and ``B + 1`` along dim 0 of every input) and generalise.

    A ``Reshape`` target whose size differs between the two traces gets ``-1`` there, so
    the replay works for any batch size. Any other difference (a constant whose shape
    depends on the batch, a different sequence of ops) raises :class:`TraceError`, naming
    the op: such a forward cannot be replayed for a different batch size.
    """
    first = trace(model, args, is_leaf)
    try:
        second = trace(model, tuple(_grow_batch(a) for a in args), is_leaf)
    except Exception as exc:  # noqa: BLE001 - e.g. an RNN state, whose batch is not dim 0
        fixed = [type(n.target).__name__ for n in first.nodes
                 if n.kind == "op" and type(n.target).__name__ in _SHAPE_ATTRS]
        if fixed:
            raise TraceError(
                f"trace: the forward fails when dim 0 of the inputs grows by one ({exc}), so "
                f"the sizes of its {fixed[0]} ops cannot be told apart from the batch size; "
                "export with a fixed batch (dynamic_batch=False)") from None
        return first  # nothing batch-sized was baked in: the one trace serves every batch
    if len(first.nodes) != len(second.nodes):
        raise TraceError(
            "trace: the forward performs a different sequence of operations for a different "
            f"batch size ({len(first.nodes)} vs {len(second.nodes)} steps); it depends on the "
            "input's size through Python control flow and cannot be converted")
    for a, b in zip(first.nodes, second.nodes):
        what = a.target if a.kind == "module" else type(a.target).__name__
        if a.kind != b.kind or (a.kind == "module" and a.target != b.target) or (
                a.kind == "op" and type(a.target) is not type(b.target)):
            raise TraceError(f"trace: the forward takes a different path for a different batch "
                             f"size (at {what}); it cannot be converted")
        for ra, rb in zip(_flat_refs(a.args), _flat_refs(b.args)):
            if ra.kind == "const" and np.shape(ra.target) != np.shape(rb.target):
                raise TraceError(
                    f"trace: {what} uses a constant tensor whose shape depends on the batch "
                    f"size ({np.shape(ra.target)} vs {np.shape(rb.target)}), e.g. a tensor "
                    "created inside forward; it cannot be converted with a dynamic batch")
        attr = _SHAPE_ATTRS.get(type(a.target).__name__) if a.kind == "op" else None
        if attr:
            sa, sb = tuple(getattr(a.target, attr)), tuple(getattr(b.target, attr))
            changed = [i for i, (x, y) in enumerate(zip(sa, sb)) if x != y]
            if len(changed) > 1:
                raise TraceError(f"trace: {what} to {sa} changes in {len(changed)} dims with "
                                 "the batch size; only one can be inferred (-1)")
            a.dynamic_shape = tuple(-1 if i in changed else s for i, s in enumerate(sa))
    for name, shape in first.shapes.items():
        other = second.shapes.get(name)
        if other is not None and len(other) == len(shape):
            dims = tuple(d for d, (x, y) in enumerate(zip(shape, other)) if x != y)
            if dims:
                first.dynamic_dims[name] = dims
    return first


def _flat_refs(x) -> list:
    if isinstance(x, Ref):
        return [x]
    if isinstance(x, (tuple, list)):
        return [r for a in x for r in _flat_refs(a)]
    if isinstance(x, dict):
        return [r for a in x.values() for r in _flat_refs(a)]
    return []


def flat_refs(x) -> list:
    """Every :class:`Ref` inside a (nested) argument, in order."""
    return _flat_refs(x)
