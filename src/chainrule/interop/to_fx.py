"""chainrule -> PyTorch for user Module subclasses: a traced forward as a torch.fx graph.

``to_torch`` converts chainrule layers one by one; a user subclass's forward is Python code,
so it is traced on an example input (``tracing``) and each recorded step is emitted into a
``torch.fx.Graph``: layer calls become ``call_module`` nodes on the converted submodules,
primitive ops the matching torch functions. The result is a ``torch.fx.GraphModule`` with
the user class's name and the same state-dict keys.
"""
from __future__ import annotations

import inspect
import operator

import numpy as np

from ..tensor import Tensor
from ._lazy import require_torch
from .torch_convert import ConversionError, _eval_mode, _join, _to_torch
from .tracing import Ref, TraceError, trace_dynamic

__all__ = ["trace_to_fx"]


def trace_to_fx(module, prefix: str, examples: dict):
    """Convert a user Module subclass: trace its forward, replay it as a torch.fx graph."""
    torch = require_torch()
    from torch import fx

    name = type(module).__name__
    where = f" (at '{prefix}')" if prefix else ""
    if prefix not in examples:
        raise ConversionError(
            f"cannot convert {name}{where}: it is not a chainrule layer, so its forward must be "
            "traced; pass example_input=... to to_torch (a tensor, or a tuple of the forward's "
            "positional arguments)")
    args, kwargs = examples[prefix]
    if kwargs:
        raise ConversionError(f"cannot convert {name}{where}: its forward was called with "
                              f"keyword arguments {sorted(kwargs)}; only positional tensors "
                              "can be traced")
    for a in args:
        if not isinstance(a, Tensor):
            raise ConversionError(f"cannot convert {name}{where}: traced forwards take "
                                  f"tensor arguments only, got a {type(a).__name__}")
    try:
        with _eval_mode(module):
            graph = trace_dynamic(module, args, is_leaf=lambda m: m is not module)
    except TraceError as exc:
        raise ConversionError(f"cannot convert {name}{where}: {exc}") from None

    # What each called submodule received: the example its own conversion traces with.
    for node in graph.nodes:
        if node.kind == "module":
            examples.setdefault(_join(prefix, node.target), node.example)

    root = torch.nn.Module()
    for child_name, child in module.named_children():
        root.add_module(child_name, _to_torch(child, _join(prefix, child_name), examples))
    for pname, p in module._parameters.items():
        if p is not None:
            root.register_parameter(pname, torch.nn.Parameter(
                torch.from_numpy(np.array(p._data, copy=True)), requires_grad=p.requires_grad))
    for bname, b in module._buffers.items():
        if b is not None:
            root.register_buffer(bname, torch.from_numpy(np.array(b._data, copy=True)),
                                 persistent=bname not in module._non_persistent_buffers_set)

    fx_graph = fx.Graph()
    env: dict = {}
    attrs: dict = {}
    n_consts = [0]

    def const(value):
        arr = np.asarray(value)
        if arr.ndim == 0:
            return arr.item()  # a Python scalar keeps the tensor's dtype, as in PyTorch
        n_consts[0] += 1
        cname = f"_traced_constant{n_consts[0]}"
        root.register_buffer(cname, torch.from_numpy(np.array(arr, copy=True)),
                             persistent=False)
        return fx_graph.get_attr(cname)

    def arg(x):
        if isinstance(x, Ref):
            if x.kind == "value":
                return env[x.target]
            if x.kind == "param":
                if x.target not in attrs:
                    attrs[x.target] = fx_graph.get_attr(x.target)
                return attrs[x.target]
            return const(x.target)
        if isinstance(x, tuple):
            return tuple(arg(a) for a in x)
        if isinstance(x, list):
            return [arg(a) for a in x]
        return x

    sig_names = _forward_arg_names(module, len(graph.inputs))
    for value, pname in zip(graph.inputs, sig_names):
        env[value] = fx_graph.placeholder(pname)
    for node in graph.nodes:
        if node.kind == "module":
            result = fx_graph.call_module(node.target, arg(node.args),
                                          {k: arg(v) for k, v in node.kwargs.items()})
        else:
            result = _emit_torch_op(fx_graph, node, arg, name)
        _bind_outputs(fx_graph, result, node.out_structure, env)
    fx_graph.output(_output_arg(graph.output, arg))
    gm = fx.GraphModule(root, fx_graph, class_name=name)
    # GraphModule copies only the submodules the graph calls, into plain Modules: put back
    # the converted children themselves (containers keep their types, unused ones stay).
    for child_name, child in root.named_children():
        setattr(gm, child_name, child)
    gm.training = module.training
    return gm


def _forward_arg_names(module, n: int) -> list:
    try:
        params = [p for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in params][:n]
    except (TypeError, ValueError):
        names = []
    return names + [f"input_{i}" for i in range(len(names), n)]


def _bind_outputs(fx_graph, result, structure, env) -> None:
    if isinstance(structure, str):
        env[structure] = result
    elif isinstance(structure, (tuple, list)) and not (
            isinstance(structure, tuple) and len(structure) == 2 and structure[0] == "const"):
        for i, s in enumerate(structure):
            _bind_outputs(fx_graph, fx_graph.call_function(operator.getitem, (result, i)), s,
                          env)


def _output_arg(output, arg):
    if isinstance(output, (Ref, tuple, list)):
        return arg(output)
    return output


def _emit_torch_op(fx_graph, node, arg, owner: str):
    """One primitive op as the equivalent torch call."""
    torch = require_torch()
    op = node.target
    kind = type(op).__name__
    args = [arg(a) for a in node.args]
    unary = {"Exp": torch.exp, "Log": torch.log, "Sqrt": torch.sqrt, "Rsqrt": torch.rsqrt,
             "Abs": torch.abs, "Sin": torch.sin, "Cos": torch.cos, "Tanh": torch.tanh,
             "Sigmoid": torch.sigmoid, "Relu": torch.relu, "Expm1": torch.expm1,
             "Log1p": torch.log1p, "Neg": torch.neg, "Clone": torch.clone}
    binary = {"Add": operator.add, "Sub": operator.sub, "Mul": operator.mul,
              "Div": operator.truediv, "Pow": torch.pow, "Matmul": torch.matmul,
              "Maximum": torch.maximum, "Minimum": torch.minimum}
    call = fx_graph.call_function
    if kind in unary:
        return call(unary[kind], (args[0],))
    if kind in binary:
        return call(binary[kind], (args[0], args[1]))
    if kind == "PowScalar":
        return call(torch.pow, (args[0], np.asarray(op.exponent).item()))
    if kind in ("Reshape", "Expand"):
        shape = tuple(int(s) for s in (node.dynamic_shape or op.shape))
        return call(torch.reshape if kind == "Reshape" else _expand, (args[0], shape))
    if kind == "Permute":
        return call(torch.permute, (args[0], tuple(int(d) for d in op.dims)))
    if kind in ("Cat", "Stack"):
        return call(torch.cat if kind == "Cat" else torch.stack, (list(args), int(op.dim)))
    if kind in ("Sum", "Mean", "Amax"):
        dims = tuple(int(d) for d in op.dims) if op.dims is not None else None
        fn = {"Sum": torch.sum, "Mean": torch.mean}.get(kind) or (
            torch.amax if op.np_fn is np.max else torch.amin)
        if dims is None:
            dims = tuple(range(len(node.shapes.get(node.args[0].target, ())))) \
                if isinstance(node.args[0], Ref) and node.args[0].kind == "value" else ()
        return call(fn, (args[0], dims, bool(op.keepdim)))
    if kind in ("Softmax", "LogSoftmax"):
        return call(torch.softmax if kind == "Softmax" else torch.log_softmax,
                    (args[0], int(op.dim)))
    if kind == "Clamp":
        lo = None if op.lo is None else np.asarray(op.lo).item()
        hi = None if op.hi is None else np.asarray(op.hi).item()
        return call(torch.clamp, (args[0], lo, hi))
    if kind == "ToDtype":
        return call(_to_dtype, (args[0], str(np.dtype(op.np_dtype))))
    if kind == "GetItem":
        return call(operator.getitem, (args[0], _torch_index(op.index, arg, node.array_refs)))
    if kind == "Where":
        return call(torch.where, (arg(Ref("const", op.condition)), args[0], args[1]))
    functional = _torch_functional_op(kind, op, args, node, arg)
    if functional is not None:
        return call(*functional)
    raise ConversionError(f"cannot convert {owner}: its forward uses the op {kind} "
                          "(chainrule.ops), which the PyTorch converter does not support")


def _torch_functional_op(kind: str, op, args: list, node, arg):
    """The fused ops behind ``chainrule.nn.functional`` as ``(torch function, args)``."""
    import torch.nn.functional as F
    if kind == "Linear":
        return F.linear, tuple(args)
    if kind == "Gelu":
        return F.gelu, (args[0],)
    if kind == "Erf":
        import torch
        return torch.erf, (args[0],)
    if kind == "LeakyRelu":
        return F.leaky_relu, (args[0], float(op.slope))
    if kind == "Hardtanh":
        return F.hardtanh, (args[0], float(op.lo), float(op.hi))
    if kind == "Elu":
        return F.elu, (args[0], float(op.alpha))
    if kind == "Softplus":
        return F.softplus, (args[0], float(op.beta), float(op.threshold))
    if kind == "Normalize":
        return _normalize, (args[0], tuple(int(a) for a in op.axes),
                            tuple(int(s) for s in op.param_shape), float(op.eps),
                            args[1] if op.has_weight else None,
                            args[1 + op.has_weight] if op.has_bias else None)
    if kind == "Embedding":
        indices = arg(node.array_refs.get("indices", Ref("const", op.indices)))
        return F.embedding, (indices, args[0], op.padding_idx)
    if kind == "IndexSelect":
        import torch
        index = arg(node.array_refs.get("index", Ref("const", op.index)))
        return torch.index_select, (args[0], int(op.dim), index)
    if kind == "Conv2d":
        g = op.g
        return _conv2d, (args[0], args[1], args[2] if len(args) > 2 else None,
                         (g.pl, g.pr, g.pt, g.pb), (g.sh, g.sw), (g.dh, g.dw), int(g.groups))
    if kind == "MaxPool2d":
        g = op.g
        hp, wp = g.padded_hw()
        pads = (g.pw, wp - g.w - g.pw, g.ph, hp - g.h - g.ph)
        return _max_pool2d, (args[0], pads, (g.kh, g.kw), (g.sh, g.sw), (g.dh, g.dw))
    return None


def _normalize(x, axes, param_shape, eps, weight, bias):
    """chainrule's fused Normalize (LayerNorm / BatchNorm with batch statistics) in torch."""
    mean = x.mean(axes, keepdim=True)
    centred = x - mean
    y = centred / (centred.pow(2).mean(axes, keepdim=True) + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(param_shape)
    if bias is not None:
        y = y + bias.reshape(param_shape)
    return y


def _conv2d(x, weight, bias, pads, stride, dilation, groups):
    import torch.nn.functional as F
    if any(pads):
        x = F.pad(x, pads)
    return F.conv2d(x, weight, bias, stride, 0, dilation, groups)


def _max_pool2d(x, pads, kernel, stride, dilation):
    import torch.nn.functional as F
    if any(pads):
        x = F.pad(x, pads, value=float("-inf"))
    return F.max_pool2d(x, kernel, stride, 0, dilation)


def _expand(x, shape):
    return x.expand(*shape)


def _to_dtype(x, numpy_dtype: str):
    import torch
    return x.to(getattr(torch, {"bool": "bool"}.get(numpy_dtype, numpy_dtype)))


def _torch_index(index, arg, array_refs):
    items = []
    for i, item in enumerate(index if isinstance(index, tuple) else (index,)):
        if isinstance(item, np.ndarray):
            items.append(arg(array_refs.get(("index", i), Ref("const", item))))
        elif isinstance(item, np.integer):
            items.append(int(item))
        else:
            items.append(item)
    return tuple(items)


