"""Graduate to PyTorch and ONNX: state-dict interchange, model conversion and ONNX export.

    >>> from chainrule.interop import to_torch, from_torch, export_onnx
    >>> torch_model = to_torch(model)              # train on GPUs with PyTorch
    >>> model = from_torch(torch_model)            # and back, exactly
    >>> export_onnx(model, example, "model.onnx")  # serve with ONNX Runtime

Where things are:

- ``torch_convert``: state dicts both ways, layer-by-layer conversion, ``to_torch`` /
  ``from_torch`` over Sequential / ModuleList / ModuleDict trees;
- ``tracing``: records a forward (layer calls and primitive ops) as a straight-line graph;
- ``to_fx``: a traced chainrule subclass as a ``torch.fx.GraphModule``;
  ``from_fx``: a torch subclass (via ``torch.fx.symbolic_trace``) replayed in chainrule;
- ``onnx_export`` (driver), ``onnx_layers`` / ``onnx_recurrent`` (one emitter per layer),
  ``onnx_ops`` (one emitter per primitive op). ``chainrule.onnx.export`` is PyTorch's
  calling form on top.

PyTorch and ONNX are optional extras (``pip install chainrule[torch]``,
``chainrule[onnx]``): they are imported only when a function here needs them.
"""
from .onnx_export import OnnxExportError, build_onnx_model, export_onnx
from .torch_convert import (
                            SUPPORTED_LAYERS,
                            ConversionError,
                            from_torch,
                            from_torch_state_dict,
                            load_torch_checkpoint,
                            to_torch,
                            to_torch_state_dict,
)
from .tracing import TraceError, trace

__all__ = ["SUPPORTED_LAYERS", "ConversionError", "OnnxExportError", "TraceError",
           "build_onnx_model", "export_onnx", "from_torch", "from_torch_state_dict",
           "load_torch_checkpoint", "to_torch", "to_torch_state_dict", "trace"]
