"""The backprop trace on two affine layers, checked against hand (NumPy) computation."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule.autograd import trace
from chainrule.autograd.functional import jacobian

RNG = np.random.default_rng(3)
X, W1, B1, W2, B2 = (RNG.standard_normal(s) for s in [(3,), (4, 3), (4,), (2, 4), (2,)])


def network(activation: bool):
    """y = W2 z + b2 with z = tanh(W1 x + b1) (or z = W1 x + b1); keeps every intermediate."""
    p = {k: chainrule.tensor(v, requires_grad=True)
         for k, v in dict(x=X, W1=W1, b1=B1, W2=W2, b2=B2).items()}
    t = {}
    t["a1"] = p["W1"] @ p["x"]
    t["h"] = t["a1"] + p["b1"]
    t["z"] = t["h"].tanh() if activation else t["h"]
    t["a2"] = p["W2"] @ t["z"]
    t["y"] = t["a2"] + p["b2"]
    return p, t


def by_hand(activation: bool):
    """The same network in NumPy, with L = |y|^2 / 2 so that dL/dy = y."""
    h = W1 @ X + B1
    z = np.tanh(h) if activation else h
    y = W2 @ z + B2
    g_y = y
    g_z = W2.T @ g_y
    dz_dh = 1 - z ** 2 if activation else np.ones(4)
    g_h = dz_dh * g_z
    return dict(h=h, z=z, y=y, g_y=g_y, g_z=g_z, g_h=g_h, dz_dh=dz_dh,
                g_x=W1.T @ g_h, g_W1=np.outer(g_h, X), g_W2=np.outer(g_y, z))


@pytest.mark.parametrize("activation", [False, True], ids=["affine-affine", "affine-tanh-affine"])
def test_shapes_and_norms_by_hand(activation):
    p, t = network(activation)
    ref = by_hand(activation)
    tr = trace(t["y"], gradient=t["y"].detach(), jacobians=True, names=p)
    norm = np.linalg.norm

    row = tr.row_of(t["y"])  # y = a2 + b2
    assert row.output_shape == (2,) and row.grad_shape == (2,)
    assert row.jacobian_shapes == ((2, 2), (2, 2))
    assert row.grad_norm == pytest.approx(norm(ref["g_y"]), rel=1e-12)

    row = tr.row_of(t["a2"])  # a2 = W2 @ z
    assert row.input_shapes == ((2, 4), (4,))
    assert row.jacobian_shapes == ((2, 8), (2, 4))
    np.testing.assert_allclose(row.jacobians[1].numpy(), W2, rtol=1e-12)  # d a2 / d z = W2
    # d a2[i] / d W2[j, k] = [i == j] z[k]
    np.testing.assert_allclose(row.jacobians[0].numpy(), np.kron(np.eye(2), ref["z"][None]),
                               rtol=1e-12)

    if activation:
        row = tr.row_of(t["z"])  # z = tanh(h)
        assert row.output_shape == (4,) and row.jacobian_shapes == ((4, 4),)
        assert row.grad_norm == pytest.approx(norm(ref["g_z"]), rel=1e-12)
        np.testing.assert_allclose(row.jacobians[0].numpy(), np.diag(ref["dz_dh"]), rtol=1e-12)

    row = tr.row_of(t["h"])  # h = a1 + b1
    assert row.grad_norm == pytest.approx(norm(ref["g_h"]), rel=1e-12)
    np.testing.assert_allclose(row.jacobians[0].numpy(), np.eye(4))

    row = tr.row_of(t["a1"])  # a1 = W1 @ x
    assert row.jacobian_shapes == ((4, 12), (4, 3))
    np.testing.assert_allclose(row.jacobians[1].numpy(), W1, rtol=1e-12)

    for name, key in (("x", "g_x"), ("W1", "g_W1"), ("W2", "g_W2"), ("b1", "g_h"),
                      ("b2", "g_y")):
        leaf = tr.row_of(p[name])
        assert leaf.op == "AccumulateGrad" and leaf.name == name
        assert leaf.grad_norm == pytest.approx(norm(ref[key]), rel=1e-12)
        np.testing.assert_allclose(p[name].grad.numpy(), ref[key], rtol=1e-12)


@pytest.mark.parametrize("activation", [False, True], ids=["affine-affine", "affine-tanh-affine"])
def test_jacobian_is_the_product_of_local_jacobians(activation):
    p, t = network(activation)
    ref = by_hand(activation)
    tr = trace(t["y"], gradient=chainrule.ones(2, dtype=chainrule.float64), jacobians=True)
    chain = tr.chain(p["x"])
    shapes = [shape for _, shape in chain.factors()]
    expected = [(2, 2), (2, 4)] + ([(4, 4)] if activation else []) + [(4, 4), (4, 3)]
    assert shapes == expected
    assert shapes[0][0] == 2 and shapes[-1][1] == 3  # [len(y), len(x)] overall
    full = chain.matrix().numpy()
    # by hand: dy/dx = W2 diag(tanh') W1
    np.testing.assert_allclose(full, W2 @ np.diag(ref["dz_dh"]) @ W1, rtol=1e-12)
    # and the same as the functional Jacobian
    b = {k: v.detach() for k, v in p.items()}
    f = (lambda x: b["W2"] @ (b["W1"] @ x + b["b1"]).tanh() + b["b2"]) if activation else \
        (lambda x: b["W2"] @ (b["W1"] @ x + b["b1"]) + b["b2"])
    np.testing.assert_allclose(full, jacobian(f, b["x"]).numpy(), rtol=1e-12)
    text = str(chain)
    assert text.startswith("J [2 x 3] = ") and "[4 x 3]" in text


def test_visiting_order_is_topological_and_complete():
    p, t = network(activation=True)
    loss = (t["y"] ** 2).sum()
    tr = trace(loss)
    nodes = [r.node for r in tr.rows]
    # 7 ops (y^2, sum, tanh and twice matmul, add) and 5 leaves
    assert len(nodes) == len(set(nodes)) == 7 + 5
    position = {n: i for i, n in enumerate(nodes)}
    for node in nodes:
        for edge in node.next_functions:
            if edge is not None:
                assert position[edge[0]] > position[node]  # inputs after their consumers
    assert [r.step for r in tr.rows] == list(range(len(nodes)))
    assert tr.rows[0].op == loss.grad_fn.name() and tr.rows[0].grad_norm == 1.0


def test_table_and_data():
    p, t = network(activation=False)
    tr = trace(t["y"].sum(), names=p)
    text = str(tr)
    assert text.splitlines()[0].split()[:5] == ["step", "op", "output", "grad", "in"]
    assert "[2 x 8]" in text and "[4 x 12]" in text and "AccumulateGrad (W1)" in text
    data = [r.as_dict() for r in tr.rows]
    assert all(set(d) >= {"op", "output_shape", "grad_shape", "grad_norm", "jacobian_shapes"}
               for d in data)
    assert tr.rows[0].jacobians is None  # only with jacobians=True


def test_context_manager_records_each_pass_and_removes_hooks():
    x = chainrule.tensor([1.0, 2.0, 3.0], dtype=chainrule.float64, requires_grad=True)
    with trace() as tr:
        (x * x).sum().backward()
        (3 * x).sum().backward()
    assert [r.pass_index for r in tr.rows] == [0, 0, 0, 1, 1, 1]
    leaf_rows = [r for r in tr.rows if r.op == "AccumulateGrad"]
    assert [r.grad_norm for r in leaf_rows] == pytest.approx(
        [np.linalg.norm([2, 4, 6]), np.linalg.norm([3, 3, 3])])
    n = len(tr.rows)
    (x * x).sum().backward()  # outside the block: not recorded
    assert len(tr.rows) == n
    assert "1.2" in str(tr)  # pass.step labels when there are several passes


def test_trace_with_create_graph_keeps_gradients_differentiable():
    x = chainrule.tensor([0.5, -1.0], dtype=chainrule.float64, requires_grad=True)
    tr = trace((x ** 3).sum(), create_graph=True, jacobians=True)
    assert x.grad.requires_grad
    (g2,) = chainrule.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 6 * x.detach().numpy())
    assert all(not r.jacobians or not any(j.requires_grad for j in r.jacobians if j is not None)
               for r in tr.rows)


def test_broadcast_and_multi_path():
    x = chainrule.tensor(RNG.standard_normal(3), requires_grad=True)
    b = chainrule.tensor(RNG.standard_normal((2, 1)), requires_grad=True)
    y = (x * b + x)  # x reaches y along two paths; b is broadcast
    tr = trace(y, gradient=chainrule.ones(2, 3, dtype=chainrule.float64), jacobians=True)
    mul = tr.row_of(y.grad_fn.next_functions[0][0])
    assert mul.jacobian_shapes == ((6, 3), (6, 2))
    chain = tr.chain(x)
    assert len(chain.paths) == 2 and str(chain).startswith("sum over 2 paths")
    np.testing.assert_allclose(chain.matrix().numpy(),
                               jacobian(lambda v: v * b.detach() + v, x.detach()).reshape(6, 3)
                               .numpy(), rtol=1e-12)
