"""Draw the computation graph of a tensor: Graphviz DOT text always, SVG/PNG with ``dot``.

The picture reads in the forward direction: leaves (blue boxes: tensors that require grad,
labelled with their names when given) flow through op nodes (named after their backward
node, e.g. ``MulBackward0``, with their output's shape) into the output (green).
Inputs that need no gradient (data, constants) appear as dashed grey boxes. Every edge is
labelled with the shape of the tensor it carries.

Example:
    >>> y = (W @ x + b).tanh().sum()
    >>> print(to_dot(y, params={"W": W, "b": b, "x": x}))
    >>> draw_graph(y, "graph.svg", params={"W": W, "b": b})   # needs Graphviz's `dot`
"""
from __future__ import annotations

import os
import shutil
import subprocess

from ..autograd.engine import AccumulateGrad
from ..tensor import Tensor

__all__ = ["to_dot", "draw_graph", "to_graphviz", "dot_available"]


def _shape(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _names(params) -> dict:
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    return {id(t): name for name, t in params.items()}


def to_dot(tensors, params=None, show_constants: bool = True, rankdir: str = "TB") -> str:
    """The computation graph behind ``tensors`` (a Tensor or a list) as Graphviz DOT text.

    Args:
        tensors: the output(s) whose history to draw.
        params: ``{name: tensor}`` or a Module (its named_parameters), to label leaves.
        show_constants: draw inputs that need no gradient as dashed boxes.
        rankdir: Graphviz layout direction ("TB" top to bottom, "LR" left to right).

    Returns:
        DOT source text (``digraph``), renderable with ``dot -Tsvg``.
    """
    outputs = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    names = _names(params)
    lines = ["digraph chainrule {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']

    roots = []
    for k, out in enumerate(outputs):
        label = f"output{k if len(outputs) > 1 else ''}\n{_shape(out.shape)} {out.dtype.name}"
        if out.requires_grad:
            label += "\nrequires_grad"
        lines.append(f"  out{k} [label={_quote(label)}, shape=box, style=filled, "
                     'fillcolor="#c8e6c9"];')
        if out.grad_fn is not None:
            roots.append((out.grad_fn, out._output_nr, f"out{k}", tuple(out.shape)))
        elif out.requires_grad:  # the output is itself a leaf
            lines.append(f"  out{k} [fillcolor=\"#bbdefb\"];")

    # Output shapes of every node, from its consumers' record of their inputs.
    shapes: dict = {}
    order, seen = [], set()
    stack = [fn for fn, _, _, _ in roots]
    for fn, nr, _, shape in roots:
        shapes[(fn, nr)] = shape
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        for edge, meta in zip(node.next_functions, getattr(node, "_input_meta", ())):
            if edge is not None:
                if meta is not None:
                    shapes[edge] = tuple(meta[0])
                stack.append(edge[0])

    constants = 0
    for node in order:
        nid = f"n{id(node)}"
        if isinstance(node, AccumulateGrad):
            var = node.variable
            name = names.get(id(var), "leaf")
            label = f"{name}\n{_shape(var.shape)} {var.dtype.name}\nrequires_grad"
            lines.append(f"  {nid} [label={_quote(label)}, shape=box, style=filled, "
                         'fillcolor="#bbdefb"];')
            continue
        n_out = node.n_outputs
        out_meta = node.__dict__.get("_output_meta")
        if n_out != 1 and out_meta is not None:
            out_desc = ", ".join(_shape(m[0]) for m in out_meta)
        else:
            out_desc = _shape(shapes[(node, 0)]) if (node, 0) in shapes else "?"
        label = f"{node.name()}\n-> {out_desc}"
        lines.append(f"  {nid} [label={_quote(label)}, shape=box, style=\"rounded,filled\", "
                     'fillcolor="#eeeeee"];')
        for i, (edge, meta) in enumerate(zip(node.next_functions,
                                             getattr(node, "_input_meta", ()))):
            if edge is None:
                if show_constants:
                    cid = f"c{constants}"
                    constants += 1
                    lines.append(f"  {cid} [label=\"no grad\", shape=box, style=dashed, "
                                 "fontcolor=gray40, color=gray60];")
                    lines.append(f"  {cid} -> {nid} [style=dashed, color=gray60];")
                continue
            child, nr = edge
            shape = tuple(meta[0]) if meta is not None else shapes.get(edge)
            edge_label = _shape(shape) if shape is not None else ""
            if child.n_outputs != 1:
                edge_label = f"out {nr}: {edge_label}"
            lines.append(f"  n{id(child)} -> {nid} [label={_quote(edge_label)}];")
    for fn, nr, out_id, shape in roots:
        lines.append(f"  n{id(fn)} -> {out_id} [label={_quote(_shape(shape))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is installed (needed for SVG/PNG)."""
    return shutil.which("dot") is not None


def draw_graph(tensors, path: str, params=None, format: str | None = None,  # noqa: A002
               **dot_options) -> str:
    """Render the computation graph to ``path`` (SVG, PNG or PDF, from the extension unless
    ``format`` is given) with Graphviz's ``dot`` program; returns ``path``.

    Raises:
        RuntimeError: when ``dot`` is not installed (the DOT text from ``to_dot`` still is).
    """
    fmt = format or os.path.splitext(path)[1].lstrip(".").lower() or "svg"
    if fmt not in ("svg", "png", "pdf", "dot", "gv"):
        raise ValueError(f"draw_graph: unsupported format {fmt!r} (use svg, png, pdf or dot)")
    text = to_dot(tensors, params=params, **dot_options)
    if fmt in ("dot", "gv"):
        with open(path, "w") as f:
            f.write(text)
        return path
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError("draw_graph: rendering to "
                           f"{fmt} needs Graphviz's `dot` program, which is not installed "
                           "(apt-get install graphviz, brew install graphviz, or conda install "
                           "graphviz); to_dot() gives the DOT text without it")
    subprocess.run([dot, f"-T{fmt}", "-o", path], input=text.encode(), check=True,
                   capture_output=True)
    return path


def to_graphviz(tensors, params=None, **dot_options):
    """The graph as a ``graphviz.Source`` (displays inline in Jupyter); needs the optional
    ``graphviz`` Python package (and ``dot`` to render)."""
    try:
        import graphviz
    except ImportError:
        raise ImportError("to_graphviz needs the optional `graphviz` package (pip install "
                          "graphviz); to_dot() gives the DOT text without it") from None
    return graphviz.Source(to_dot(tensors, params=params, **dot_options))
