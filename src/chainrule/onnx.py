"""``chainrule.onnx.export``: ONNX export with ``torch.onnx.export``'s calling form.

    import chainrule as torch
    torch.onnx.export(model, (x,), "model.onnx", input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17)

It is a thin layer over :func:`chainrule.interop.export_onnx`, which does the work (tracing,
one ONNX operator per layer, atomic write). As in PyTorch, axes are static unless named in
``dynamic_axes``, and the model is exported in inference mode.
"""
from __future__ import annotations

from typing import Any

from .interop.onnx_export import OnnxExportError, export_onnx

__all__ = ["OnnxExportError", "export"]

_IGNORED = {"verbose", "do_constant_folding", "dynamo", "report", "verify", "optimize",
            "operator_export_type", "external_data", "profile", "dump_exported_program",
            "artifacts_dir", "fallback", "custom_opsets", "export_modules_as_functions",
            "autograd_inlining", "keep_initializers_as_inputs"}


def export(model, args, f=None, export_params: bool = True, *, kwargs: dict | None = None,
           input_names=None, output_names=None, opset_version: int | None = None,
           dynamic_axes: dict | None = None, training: Any = None, **options) -> None:
    """Export ``model`` to ONNX, called as ``torch.onnx.export``.

    Args:
        model: the chainrule Module.
        args: the example input: a Tensor or a tuple of Tensors (positional arguments).
        f: a path, or a binary file-like object.
        export_params: must be True (the weights are stored in the file).
        input_names, output_names: names of the graph's inputs and outputs.
        opset_version: the ONNX opset (default 17; 17 or newer).
        dynamic_axes: ``{name: {axis: label}}`` or ``{name: [axes]}``: the axes whose size may
            change (e.g. the batch). All other axes are fixed to the example's sizes.
        training: only inference export is supported (None or TrainingMode.EVAL).

    Raises:
        OnnxExportError: naming the layer or op that cannot be exported; nothing is written.
    """
    unknown = set(options) - _IGNORED
    if unknown:
        raise TypeError(f"chainrule.onnx.export: unexpected keyword arguments {sorted(unknown)}")
    if f is None:
        raise TypeError("chainrule.onnx.export: f (a path or a file object) is required")
    if not export_params:
        raise ValueError("chainrule.onnx.export: export_params=False is not supported (the "
                         "weights are always stored in the file)")
    if kwargs:
        raise ValueError("chainrule.onnx.export: keyword arguments to forward are not "
                         "supported; pass the inputs positionally in args")
    if training is not None and "EVAL" not in str(training).upper():
        raise ValueError(f"chainrule.onnx.export: training={training!r} is not supported; "
                         "the export is of inference (eval mode)")
    if isinstance(args, list):
        args = tuple(args)
    if isinstance(args, tuple) and args and isinstance(args[-1], dict):
        if args[-1]:
            raise ValueError("chainrule.onnx.export: keyword arguments to forward (a dict at "
                             "the end of args) are not supported")
        args = args[:-1]
    export_onnx(model, args, f, dynamic_batch=False, opset=opset_version or 17,
                input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes)
