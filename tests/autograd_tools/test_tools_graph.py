"""Computation-graph drawings: DOT text always, SVG/PNG when Graphviz's `dot` exists."""
from __future__ import annotations

import re
import shutil

import pytest

import chainrule
from chainrule import nn
from chainrule.autograd import Function
from chainrule.viz.graph import dot_available, draw_graph, to_dot


def small_graph():
    W = chainrule.randn(4, 3, requires_grad=True)
    b = chainrule.zeros(4, requires_grad=True)
    x = chainrule.randn(3)  # data: needs no gradient
    y = (W @ x + b).tanh().sum()
    return W, b, x, y


def node_labels(dot: str) -> dict:
    return dict(re.findall(r'^\s*(\w+) \[label="([^"]*)"', dot, flags=re.M))


def test_dot_has_ops_shapes_and_grad_flags():
    W, b, x, y = small_graph()
    dot = to_dot(y, params={"W": W, "b": b})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    labels = node_labels(dot)
    ops = {label.split("\\n")[0]: label for label in labels.values()}
    for op in (y.grad_fn.name(), "TanhBackward0", "AddBackward0", "MatmulBackward0"):
        assert op in ops, (op, list(ops))
    assert ops["TanhBackward0"].endswith("-> [4]")
    assert "W\\n[4, 3] float32\\nrequires_grad" in labels.values()
    assert "b\\n[4] float32\\nrequires_grad" in labels.values()
    assert any(label == "no grad" for label in labels.values())  # x, which needs no grad
    assert any(label.startswith("output\\n[] float32") for label in labels.values())
    assert '[label="[4, 3]"]' in dot  # the edge carrying W


def test_every_edge_connects_declared_nodes():
    W, b, x, y = small_graph()
    dot = to_dot(y)
    declared = set(node_labels(dot))
    for src, dst in re.findall(r"^\s*(\w+) -> (\w+)", dot, flags=re.M):
        assert src in declared and dst in declared


class Halves(Function):
    @staticmethod
    def forward(ctx, x):
        return x[:3] * 1, x[3:] * 1

    @staticmethod
    def backward(ctx, grad_first, grad_second):
        return chainrule.cat([grad_first, grad_second])


def test_module_names_multi_output_and_several_outputs():
    model = nn.Linear(3, 2)
    out = model(chainrule.randn(5, 3))
    dot = to_dot(out, params=model)
    assert "weight\\n[2, 3]" in dot and "bias\\n[2]" in dot
    x = chainrule.randn(6, requires_grad=True)
    a, b = Halves.apply(x)  # one node with two outputs
    dot = to_dot([a * 2, b.exp()], show_constants=False)
    assert "output0" in dot and "output1" in dot and "no grad" not in dot
    assert "out 1: [3]" in dot  # the second output of the split node
    assert "HalvesBackward\\n-> [3], [3]" in dot


def test_quotes_in_names_are_escaped():
    p = chainrule.ones(2, requires_grad=True)
    dot = to_dot(p * 2, params={'weird "name"\\': p})
    assert 'weird \\"name\\"\\\\' in dot


def test_dot_file_without_graphviz(tmp_path):
    W, b, x, y = small_graph()
    path = draw_graph(y, str(tmp_path / "g.dot"))
    assert open(path).read() == to_dot(y)
    with pytest.raises(ValueError, match="unsupported format"):
        draw_graph(y, str(tmp_path / "g.jpg2"))


def test_missing_dot_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    W, b, x, y = small_graph()
    assert not dot_available()
    with pytest.raises(RuntimeError, match="Graphviz's `dot` program"):
        draw_graph(y, str(tmp_path / "g.svg"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
@pytest.mark.parametrize("ext,magic", [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_render_with_dot(tmp_path, ext, magic):
    W, b, x, y = small_graph()
    path = draw_graph(y, str(tmp_path / f"graph.{ext}"), params={"W": W, "b": b})
    with open(path, "rb") as f:
        head = f.read(64)
    assert head.lstrip().startswith(magic)
    if ext == "svg":
        text = open(path).read()
        assert "TanhBackward0" in text and "requires_grad" in text
