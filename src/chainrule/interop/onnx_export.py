"""Export a chainrule model to ONNX, for ONNX Runtime and every tool that reads ONNX.

    >>> export_onnx(model, torch.randn(1, 1, 28, 28), "lenet.onnx")
    >>> import onnxruntime as ort
    >>> ort.InferenceSession("lenet.onnx").run(None, {"input": x})

The model's forward is traced on the example input (``tracing``): calls to chainrule layers
become ONNX's own operators (``Gemm``, ``Conv``, ``LSTM``, ...; see ``onnx_layers``) and the
primitive ops a user forward performs between them (``+``, ``reshape``, ``softmax``, ...)
become the matching ONNX nodes. Weights are stored as initializers under their state-dict
names (``"0.weight"``), so the file reads like the model.

The export is of *inference*: the model is traced in ``eval()`` mode (Dropout is the
identity, BatchNorm uses its running statistics), as ``torch.onnx.export`` does by default;
the model's train/eval flags are restored afterwards. With ``dynamic_batch`` the first axis
of every input (and of every output that follows it) is symbolic, so ONNX Runtime accepts any
batch size. The file is written atomically (a temporary file, then a rename): an export that
fails, e.g. on a layer ONNX export does not support, raises an error naming it and leaves no
file behind.
"""
from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._lazy import require_onnx
from .tracing import Ref, TraceError, flat_refs, trace, trace_dynamic

__all__ = ["OnnxExportError", "build_onnx_model", "export_onnx"]

MIN_OPSET = 17  # LayerNormalization; Gelu is native from 20 and decomposed below it


class OnnxExportError(RuntimeError):
    """The model uses something this exporter cannot express in ONNX."""


class Emitter:
    """Collects ONNX nodes and initializers while the traced graph is walked.

    Layer and op emitters call ``node(...)`` to add an operator and ``const(...)`` /
    ``param(...)`` for initializers; ``shape(name)`` is a value's shape in the trace.
    """

    def __init__(self, model, graph, opset: int):
        from onnx import helper
        self.helper = helper
        self.model = model
        self.graph = graph
        self.opset = opset
        self.nodes: list = []
        self.initializers: dict = {}
        self.counter = 0
        self.param_tensors = dict(model.named_parameters(remove_duplicate=False))
        self.param_tensors.update(dict(model.named_buffers(remove_duplicate=False)))
        # A tensor shared by two layers (tied weights) is stored once, under its first name.
        first: dict = {}
        self.canonical = {name: first.setdefault(id(t), name)
                          for name, t in self.param_tensors.items()}

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def node(self, op_type: str, inputs: list, n_outputs: int = 1, hint: str | None = None,
             **attrs) -> Any:
        """Add one ONNX node; returns its output name (or a list of names if n_outputs > 1)."""
        outputs = [self.fresh(hint or op_type) for _ in range(n_outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outputs,
                                                name=self.fresh("n_" + op_type), **attrs))
        return outputs[0] if n_outputs == 1 else outputs

    def const(self, value, hint: str = "const", dtype=None) -> str:
        """An initializer holding ``value`` (an array or a NumPy scalar)."""
        from onnx import numpy_helper
        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers[name] = numpy_helper.from_array(np.array(arr, order="C", copy=True), name)
        return name

    def ints(self, values, hint: str = "ints") -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def param(self, dotted: str, transform=None, suffix: str = "") -> str:
        """The model tensor ``dotted`` (a state-dict name) as an initializer, made once."""
        from onnx import numpy_helper
        dotted = self.canonical.get(dotted, dotted)
        name = dotted + suffix
        if name not in self.initializers:
            arr = self.param_tensors[dotted]._data
            if transform is not None:
                arr = transform(arr)
            self.initializers[name] = numpy_helper.from_array(
                np.array(arr, order="C", copy=True), name)
        return name

    def array(self, dotted: str) -> np.ndarray:
        return self.param_tensors[dotted]._data

    def shape(self, name: str) -> tuple:
        return self.graph.shapes[name]

    def dtype(self, name: str) -> np.dtype:
        return self.graph.dtypes[name]

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """ReduceSum/Mean/Max over ``axes``: axes are an input from opset 18 (13 for Sum)."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes, "axes")], keepdims=int(keepdims))
        return self.node(op_type, [x], axes=axes, keepdims=int(keepdims))


# -- the driver ------------------------------------------------------------------------------

def _as_args(example) -> tuple:
    return tuple(example) if isinstance(example, (tuple, list)) else (example,)


def _train_flags(model) -> list:
    return [(m, m.training) for m in model.modules()]


def build_onnx_model(model, example_input, dynamic_batch: bool = True, opset: int = 17,
                     input_names=None, output_names=None, dynamic_axes=None,
                     doc_string: str = ""):
    """The ``onnx.ModelProto`` of ``model`` (what :func:`export_onnx` writes).

    ``dynamic_axes`` (PyTorch's form: ``{name: {axis: axis_name}}`` or ``{name: [axes]}``)
    replaces ``dynamic_batch`` when given.
    """
    onnx = require_onnx()
    from onnx import helper

    from . import onnx_layers, onnx_ops
    from .torch_convert import _is_layer

    if not isinstance(opset, int) or opset < MIN_OPSET:
        raise ValueError(f"export_onnx: opset {opset!r} is not supported; use {MIN_OPSET} or "
                         "newer (LayerNormalization needs 17)")
    args = _as_args(example_input)
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            raise TypeError(f"export_onnx: example input {i} is a {type(a).__name__}; expected "
                            "a chainrule Tensor (or a tuple of them)")
    flags = _train_flags(model)
    model.eval()
    try:
        tracer = trace_dynamic if dynamic_batch or dynamic_axes else trace
        graph = tracer(model, args, lambda m: _is_layer(m, "chainrule.nn"))
    except TraceError as exc:
        raise OnnxExportError(f"export_onnx: {exc}") from None
    finally:
        for m, flag in flags:
            m.training = flag

    em = Emitter(model, graph, opset)
    env: dict = {}
    for name in graph.inputs:
        env[name] = name
    for node in graph.nodes:
        if node.kind == "module":
            layer = type(node.module).__name__
            emit = getattr(onnx_layers, "emit_" + layer, None)
            if emit is None:
                raise OnnxExportError(f"export_onnx: layer {layer} (at '{node.target}') is not "
                                      "supported by ONNX export")
            outs = emit(em, node, lambda r: _input(em, env, r))
        else:
            kind = type(node.target).__name__
            emit = getattr(onnx_ops, "emit_" + kind, None)
            if emit is None:
                raise OnnxExportError(f"export_onnx: op {kind} (chainrule.ops) is not supported "
                                      "by ONNX export")
            outs = emit(em, node, lambda r: _input(em, env, r))
        if isinstance(outs, str):
            outs = [outs]
        for value, onnx_name in zip(node.outputs, outs):
            env[value] = onnx_name

    out_refs = flat_refs(graph.output)
    if not out_refs:
        raise OnnxExportError("export_onnx: the model's forward returned no tensor")
    in_names = _names(input_names, len(graph.inputs), "input")
    out_names = _names(output_names, len(out_refs), "output")
    axes = _dynamic_axes(dynamic_axes, dynamic_batch, graph, in_names, out_names, out_refs)

    # Graph inputs keep their trace names inside; a rename maps them to the public names.
    renames = dict(zip(graph.inputs, in_names))
    for n in em.nodes:
        n.input[:] = [renames.get(i, i) for i in n.input]
    for ref, out_name in zip(out_refs, out_names):
        source = _input(em, env, ref)
        em.nodes.append(helper.make_node("Identity", [renames.get(source, source)], [out_name],
                                         name=em.fresh("n_output")))

    def info(name, value, axes_for):
        shape = list(graph.shapes[value])
        for axis, label in axes_for.items():
            shape[axis] = label
        elem = helper.np_dtype_to_tensor_dtype(graph.dtypes[value])
        return helper.make_tensor_value_info(name, elem, shape)

    inputs = [info(n, v, axes.get(n, {})) for n, v in zip(in_names, graph.inputs)]
    def out_info(name, ref):
        if ref.kind == "value":
            return info(name, ref.target, axes.get(name, {}))
        arr = _const_dtype(ref, em)  # the forward returned a parameter or a constant
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype),
                                             list(arr.shape))

    inputs = [info(n, v, axes.get(n, {})) for n, v in zip(in_names, graph.inputs)]
    outputs = [out_info(n, r) for n, r in zip(out_names, out_refs)]
    onnx_graph = helper.make_graph(em.nodes, type(model).__name__, inputs, outputs,
                                   list(em.initializers.values()))
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(onnx_graph, opset_imports=opsets, producer_name="chainrule",
                              doc_string=doc_string)
    # The oldest IR version that carries this opset: runtimes refuse IR versions newer than
    # they know, and the onnx package writes its newest by default.
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto)
    return proto


def _const_dtype(ref: Ref, em: Emitter):
    if ref.kind == "param":
        return em.array(ref.target)
    return np.asarray(ref.target)


def _input(em: Emitter, env: dict, ref) -> str:
    if not isinstance(ref, Ref):
        raise OnnxExportError(f"export_onnx: expected a tensor argument, got {ref!r}")
    if ref.kind == "value":
        return env[ref.target]
    if ref.kind == "param":
        return em.param(ref.target)
    return em.const(ref.target)


def _names(given, n: int, default: str) -> list:
    if given is None:
        return [default] if n == 1 else [f"{default}_{i}" for i in range(n)]
    given = list(given)
    if len(given) > n:
        raise ValueError(f"export_onnx: {len(given)} {default} names given for {n} {default}s")
    return given + [f"{default}_{i}" for i in range(len(given), n)]


def _dynamic_axes(dynamic_axes, dynamic_batch, graph, in_names, out_names, out_refs) -> dict:
    axes: dict = {}
    if dynamic_axes is not None:
        known = set(in_names) | set(out_names)
        for name, spec in dynamic_axes.items():
            if name not in known:
                raise ValueError(f"export_onnx: dynamic_axes names {name!r}, which is neither "
                                 f"an input nor an output ({sorted(known)})")
            if isinstance(spec, dict):
                axes[name] = {int(a): str(label) for a, label in spec.items()}
            else:
                axes[name] = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(spec)}
        return axes
    if not dynamic_batch:
        return axes
    for name, value in zip(in_names, graph.inputs):
        if len(graph.shapes[value]):
            axes[name] = {0: "batch"}
    for name, ref in zip(out_names, out_refs):
        if ref.kind == "value":
            dims = graph.dynamic_dims.get(ref.target, ())
            axes[name] = {d: "batch" if d == 0 else f"{name}_dim{d}" for d in dims}
    return axes


# -- writing -----------------------------------------------------------------------------------

def _write_atomic(data: bytes, path) -> None:
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".chainrule-onnx-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def export_onnx(model, example_input, path, dynamic_batch: bool = True, opset: int = 17, *,
                input_names=None, output_names=None, dynamic_axes=None) -> None:
    """Write ``model`` as an ONNX file that ONNX Runtime runs with chainrule's results.

    Args:
        model: a chainrule Module: ``Sequential`` trees of chainrule layers, or a user
            subclass whose forward uses chainrule layers and ops (traced on the example).
        example_input: a Tensor, or a tuple of Tensors (the forward's positional arguments).
        path: where to write (a path; or a binary file-like object, written at the end).
        dynamic_batch: make axis 0 of the inputs (and of the outputs that follow it)
            symbolic, so any batch size runs.
        opset: the ONNX opset (17 or newer; ``Gelu`` is a native op from 20).
        input_names, output_names: the graph's names (default ``input``/``output``, or
            ``input_0``, ... when there are several).
        dynamic_axes: PyTorch's form, ``{"input": {0: "batch"}}``; replaces dynamic_batch.

    Raises:
        OnnxExportError: naming the layer or op that ONNX export does not support; no file
            is written.

    Example:
        >>> export_onnx(nn.Sequential(nn.Linear(4, 2), nn.ReLU()), torch.randn(3, 4), "m.onnx")
    """
    proto = build_onnx_model(model, example_input, dynamic_batch, opset, input_names,
                             output_names, dynamic_axes)
    data = proto.SerializeToString()
    if isinstance(path, (str, os.PathLike)):
        _write_atomic(data, path)
    elif isinstance(path, io.IOBase) or hasattr(path, "write"):
        path.write(data)
    else:
        raise TypeError(f"export_onnx: path must be a file path or a binary file object, got "
                        f"{type(path).__name__}")
