"""Autograd semantics against PyTorch: backward/grad arguments, accumulation, freed graphs,
grad mode, deep graphs, higher-order derivatives (Hessian-vector products and a full MLP
Hessian), in-place safety through version counters, views, hooks, retain_grad, detach/.data."""
import numpy as np
import pytest
import torch
from conformance import T, assert_close, make_inputs, pos, spec

import chainrule


def _pair(values, requires_grad=True):
    """The same float64 values as a chainrule and a torch leaf."""
    a = np.array(values, dtype=np.float64)
    return (chainrule.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


# -- backward and grad -----------------------------------------------------------------------

def test_backward_with_gradient_argument():
    (x, tx) = _pair([[1.0, -2.0, 3.0], [0.5, 0.0, 2.0]])
    g = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    (x.exp() * x).backward(chainrule.tensor(g))
    (tx.exp() * tx).backward(torch.tensor(g))
    assert_close("backward(gradient)", "x.grad", x.grad, tx.grad)


def test_nonscalar_backward_without_gradient_raises():
    x = chainrule.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).sum().backward()  # scalar: fine
    (x[:1, :1] * 2).backward()  # one element (not 0-d): also fine, as in PyTorch
    np.testing.assert_array_equal(x.grad.numpy(), [[4, 2, 2], [2, 2, 2]])


def test_backward_gradient_shape_mismatch_raises():
    x = chainrule.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape"):
        (x * 2).backward(chainrule.ones(3, 2))


def test_grad_accumulates_over_backward_calls():
    x, tx = _pair([1.0, 2.0, 3.0])
    for _ in range(2):
        (x ** 3).sum().backward()
        (tx ** 3).sum().backward()
    assert_close("accumulate", "x.grad", x.grad, tx.grad)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * np.array([1.0, 4.0, 9.0]))
    x.grad = None  # zero_grad's way
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 1])


def test_retain_graph_allows_second_backward():
    x, tx = _pair([0.5, -1.0])
    y, ty = (x.sigmoid() * x).sum(), (tx.sigmoid() * tx).sum()
    y.backward(retain_graph=True)
    y.backward()
    ty.backward(retain_graph=True)
    ty.backward()
    assert_close("retain_graph", "x.grad", x.grad, tx.grad)


def test_second_backward_through_freed_graph_raises():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        chainrule.ones(3).sum().backward()


def test_autograd_grad_returns_without_accumulating():
    x, tx = _pair([1.0, 2.0, -1.0])
    w, tw = _pair([0.5, 0.5, 2.0])
    (gx, gw) = chainrule.autograd.grad((x * w).sin().sum(), (x, w))
    (tgx, tgw) = torch.autograd.grad((tx * tw).sin().sum(), (tx, tw))
    assert_close("grad", "dx", gx, tgx)
    assert_close("grad", "dw", gw, tgw)
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


def test_autograd_grad_grad_outputs():
    x, tx = _pair([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([[1.0, -1.0], [0.5, 2.0]])
    (g,) = chainrule.autograd.grad(x ** 2, x, grad_outputs=chainrule.tensor(v))
    (tg,) = torch.autograd.grad(tx ** 2, tx, grad_outputs=torch.tensor(v))
    assert_close("grad_outputs", "dx", g, tg)


def test_autograd_grad_several_outputs():
    x, tx = _pair([1.0, 2.0])
    outs = [x.exp().sum(), (x * 3).sum()]
    touts = [tx.exp().sum(), (tx * 3).sum()]
    assert_close("grad", "dx", chainrule.autograd.grad(outs, x)[0],
                 torch.autograd.grad(touts, tx)[0])


def test_autograd_grad_allow_unused():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    unused = chainrule.tensor([3.0], requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        chainrule.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = chainrule.autograd.grad(y, [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])


def test_autograd_grad_create_graph():
    x, tx = _pair([0.3, -1.2, 2.0])
    (g,) = chainrule.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad((tx ** 3).sum(), tx, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (g.sin().sum()).backward()
    (tg.sin().sum()).backward()
    assert_close("create_graph", "x.grad", x.grad, tx.grad)


def test_backward_inputs_argument():
    x, tx = _pair([1.0, 2.0])
    w, tw = _pair([3.0, 4.0])
    (x * w).sum().backward(inputs=[x])
    (tx * tw).sum().backward(inputs=[tx])
    assert_close("inputs=", "x.grad", x.grad, tx.grad)
    assert w.grad is None and tw.grad is None


# -- grad mode -------------------------------------------------------------------------------

def test_grad_mode_context_managers():
    x = chainrule.ones(2, requires_grad=True)
    with chainrule.no_grad():
        assert not chainrule.is_grad_enabled()
        y = x * 2
        with chainrule.enable_grad():
            z = x * 2
    assert chainrule.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    with chainrule.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with chainrule.set_grad_enabled(True):
        assert (x * 2).requires_grad
    with chainrule.autograd.no_grad():
        assert not (x + 1).requires_grad


def test_grad_mode_decorators():
    x = chainrule.ones(2, requires_grad=True)

    @chainrule.no_grad()
    def off():
        return x * 2

    @chainrule.enable_grad()
    def on():
        return x * 2

    @chainrule.set_grad_enabled(False)
    def off_too():
        return x * 2

    assert not off().requires_grad
    assert not off_too().requires_grad
    with chainrule.no_grad():
        assert on().requires_grad
    assert chainrule.is_grad_enabled()


def test_set_grad_enabled_as_function():
    try:
        chainrule.set_grad_enabled(False)
        assert not chainrule.is_grad_enabled()
    finally:
        chainrule.set_grad_enabled(True)
    assert chainrule.is_grad_enabled()


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError), chainrule.no_grad():
        raise ValueError
    assert chainrule.is_grad_enabled()


def test_chain_of_100000_ops():
    x = chainrule.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])


# -- higher order ---------------------------------------------------------------------------

HVP_CASES = {
    "elementwise": (lambda m, x: (x.sin() * x.exp() + x.tanh() ** 3 + x.sigmoid() / (x * x + 1)
                                  ).sum(), [spec(3, 4)]),
    "log_sqrt_pow": (lambda m, x: (x.log() * x.sqrt() + x ** 2.5 + x.rsqrt()).sum(), [pos(5)]),
    "binary_broadcast": (lambda m, x, y: ((x * y) / (y * y + 1) - x ** y.abs()).sum(),
                         [pos(2, 3), spec(3)]),
    "matmul": (lambda m, a, b: ((a @ b).tanh() @ b.t()).pow(2).sum(), [spec(3, 4), spec(4, 2)]),
    "matmul_batched": (lambda m, a, b: (a @ b).sin().sum(), [spec(2, 3, 4), T(4, 3)]),
    "reductions": (lambda m, x: x.softmax(-1).pow(2).sum() + x.logsumexp(0).sum()
                   + x.var(1).sum() + x.std() + x.mean(0).exp().sum() + x.norm()
                   + x.log_softmax(0).max() + x.prod(1).sum(), [spec(3, 4)]),
    "prod_with_zeros": (lambda m, x: x.prod(1).sum() + x.prod(0).pow(2).sum() + x.prod(),
                        [spec(4, 3, domain="zeros")]),
    "prod_without_zeros": (lambda m, x: x.prod(1).exp().sum() + x.prod(), [spec(3, 2)]),
    "max_amax_cumsum": (lambda m, x: (x.amax(1) ** 2).sum() + (x.max(0).values ** 3).sum()
                        + x.cumsum(1).sin().sum(), [spec(3, 4)]),
    "shape": (lambda m, x: (x.t().reshape(2, 6).unsqueeze(0).expand(2, 2, 6).flip(-1)
                            .permute(2, 0, 1).flatten(1) ** 2).sin().sum()
              + m.cat([x, x * x], 1).repeat(2, 1).pow(3).sum()
              + m.stack([x, x.exp()]).transpose(0, 1).pow(2).sum(), [spec(3, 4)]),
    "indexing": (lambda m, x: (x[1:, ::2] ** 3).sum() + (x[m.tensor([0, 0, 2])] ** 2).exp().sum()
                 + x.gather(1, m.tensor([[0, 0], [1, 3], [2, 2]])).pow(3).sum()
                 + x.index_select(1, m.tensor([3, 3])).sin().sum()
                 + x.masked_fill(x > 0, 0.0).pow(2).sum(), [spec(3, 4)]),
    "where_clamp_relu": (lambda m, x: (m.where(x > 0, x ** 3, x ** 2).sum()
                                       + x.clamp(-0.5, 0.5).pow(2).sum()
                                       + x.relu().pow(3).sum()
                                       + m.maximum(x, x * 0.5).pow(2).sum()),
                         [spec(3, 4, domain="away0")]),
}


@pytest.mark.parametrize("name", sorted(HVP_CASES))
def test_second_derivatives_match_torch(name):
    """Hessian-vector products: d/dx <d f/dx, v> via create_graph, against torch."""
    fn, specs = HVP_CASES[name]
    xs, txs = make_inputs(specs, "float64")
    rng = np.random.default_rng(7)
    vs = [rng.standard_normal(x.shape) for x in xs]
    grads = chainrule.autograd.grad(fn(chainrule, *xs), xs, create_graph=True)
    tgrads = torch.autograd.grad(fn(torch, *txs), txs, create_graph=True)
    for g, tg in zip(grads, tgrads):
        assert_close(name, "first derivative", g, tg)
    hv = chainrule.autograd.grad(sum((g * chainrule.tensor(v)).sum() for g, v in zip(grads, vs)),
                                 xs)
    thv = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(tgrads, vs)), txs)
    for i, (h, th) in enumerate(zip(hv, thv)):
        assert_close(name, f"Hessian-vector product for input {i}", h, th)


def test_third_derivative():
    x, tx = _pair([0.3, 1.5])
    def d3(m, lib_grad, x):
        y = (x.sin() * x ** 3).sum()
        (g,) = lib_grad(y, x, create_graph=True)
        (g2,) = lib_grad(g.sum(), x, create_graph=True)
        return lib_grad(g2.sum(), x)[0]
    assert_close("third derivative", "d3", d3(chainrule, chainrule.autograd.grad, x),
                 d3(torch, torch.autograd.grad, tx))


def _mlp_loss(m, params, x, y):
    w1, b1, w2, b2 = params
    h = (x @ w1.t() + b1).tanh()
    out = h @ w2.t() + b2
    return ((out - y) ** 2).mean() + 0.1 * out.softmax(-1).max(1).values.sum()


def test_mlp_hessian_against_torch_functional_hessian():
    """The full Hessian of a small MLP's loss w.r.t. all its parameters (flattened), built
    row by row with autograd.grad(create_graph=True), against torch.autograd.functional."""
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    sizes = [int(np.prod(s)) for s in shapes]
    theta = rng.standard_normal(sum(sizes)) * 0.7
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))

    def unflatten(m, flat):
        out, start = [], 0
        for s, n in zip(shapes, sizes):
            out.append(flat[start:start + n].reshape(s))
            start += n
        return out

    flat = chainrule.tensor(theta, requires_grad=True)
    loss = _mlp_loss(chainrule, unflatten(chainrule, flat), chainrule.tensor(x),
                     chainrule.tensor(y))
    (g,) = chainrule.autograd.grad(loss, flat, create_graph=True)
    n = flat.shape[0]
    rows = [chainrule.autograd.grad(g[i], flat, retain_graph=True)[0].numpy() for i in range(n)]
    hessian = np.stack(rows)

    want = torch.autograd.functional.hessian(
        lambda f: _mlp_loss(torch, unflatten(torch, f), torch.tensor(x), torch.tensor(y)),
        torch.tensor(theta)).numpy()
    np.testing.assert_allclose(hessian, want, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-12)


# -- in-place safety (version counters) ------------------------------------------------------

def test_modifying_saved_output_raises():
    x = chainrule.randn(3, requires_grad=True)
    y = x.sigmoid()  # saves its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_saved_input_raises():
    x = chainrule.randn(3, requires_grad=True)
    a = x * 1
    b = a * a  # saves a
    a.add_(1)
    with pytest.raises(RuntimeError, match="inplace"):
        b.sum().backward()


def test_modifying_input_through_a_view_raises():
    x = chainrule.randn(4, requires_grad=True)
    a = x * 1
    b = a.exp().sum() + (a * a).sum()
    a[1:].zero_()  # a's version moves through the view
    with pytest.raises(RuntimeError, match="inplace"):
        b.backward()


def test_mul_on_nonleaf_matches_torch():
    x, tx = _pair([1.0, -2.0, 0.5])
    y, ty = x.sin(), tx.sin()  # sin saves its input, not its output: y may change
    y.mul_(x)
    ty.mul_(tx)
    y.sum().backward()
    ty.sum().backward()
    assert_close("mul_", "x.grad", x.grad, tx.grad)
    assert y.grad_fn is not None and ty.grad_fn is not None


def test_inplace_on_leaf_requiring_grad_raises():
    x = chainrule.ones(3, requires_grad=True)
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(),
               lambda: x.__setitem__(0, 5.0), lambda: x[1:].fill_(0)):
        with pytest.raises(RuntimeError, match="leaf"):
            op()


def test_parameter_update_under_no_grad_keeps_the_leaf():
    a = chainrule.tensor([1.0, 2.0], requires_grad=True)
    ident, data = id(a), a.detach().numpy()
    (a * a).sum().backward()
    lr = 0.1
    with chainrule.no_grad():
        a -= lr * a.grad
    assert id(a) == ident and a.is_leaf and a.requires_grad and a.grad_fn is None
    np.testing.assert_allclose(a.detach().numpy(), [0.8, 1.6])
    assert np.shares_memory(a.detach().numpy(), data)
    a.grad = None
    (a * 3).sum().backward()  # still a working leaf
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


def test_views_write_through():
    for m in (chainrule, torch):
        t = m.zeros(3, 4)
        t[1][2] += 1
        t[:, 0::2] = m.tensor([[1.0, 2.0]])
        t[2].mul_(3)
        t.view(12)[11] = 7.0
        v = t.t()
        v[0, 1] = -1.0
        if m is torch:
            want = t.numpy()
        else:
            got = t.numpy()
    np.testing.assert_array_equal(got, want)


def test_inplace_on_view_rebases_gradients():
    a, ta = _pair([1.0, 2.0, 3.0, 4.0])
    x, tx = a * 1, ta * 1
    x[1:3].mul_(3)
    tx[1:3].mul_(3)
    (x * x).sum().backward()
    (tx * tx).sum().backward()
    assert_close("view mul_", "a.grad", a.grad, ta.grad)
    np.testing.assert_allclose(a.grad.numpy(), [2, 36, 54, 8])


def test_inplace_on_view_then_use_view_and_base():
    a, ta = _pair([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    for m, base in ((chainrule, a), (torch, ta)):
        x = base.sin()
        col = x[:, 1]
        col.add_(base[:, 0] ** 2)
        (col.sin().sum() + x.pow(2).sum()).backward()
    assert_close("view add_", "a.grad", a.grad, ta.grad)


# -- hooks and retain_grad ---------------------------------------------------------------------

def test_register_hook_on_nonleaf_and_leaf():
    results = []
    for m in (chainrule, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        x.register_hook(lambda g: g + 1)
        y = x * x
        y.register_hook(lambda g, seen=seen: seen.append(g.clone()) or g * 10)
        y.sum().backward()
        results.append((x.grad.numpy().copy(), seen[0].numpy().copy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_hook_handle_remove():
    x = chainrule.tensor([1.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 100)
    handle.remove()
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


def test_register_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        chainrule.ones(2).register_hook(lambda g: g)


@pytest.mark.parametrize("order", ["retain_first", "hook_first"])
def test_retain_grad_with_hooks_matches_torch(order):
    got = []
    for m in (chainrule, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        if order == "retain_first":
            y.retain_grad()
            y.register_hook(lambda g: g * 10)
        else:
            y.register_hook(lambda g: g * 10)
            y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        z.backward()
        assert y.retains_grad and not y.is_leaf
        got.append((y.grad.numpy().copy(), x.grad.numpy().copy()))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])


def test_nonleaf_grad_is_none_without_retain_grad():
    x = chainrule.tensor([1.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.grad is None and not y.retains_grad


# -- detach and .data -----------------------------------------------------------------------------

def test_detach_shares_memory_and_cuts_graph():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    d[0] = 10.0  # writes into y's memory (as in PyTorch)
    assert y[0].item() == 10.0


def test_detach_modification_is_caught_by_version_counter():
    for m in (chainrule, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()  # saves its output
        y.detach().zero_()
        with pytest.raises(RuntimeError, match="inplace"):
            y.sum().backward()


def test_data_semantics():
    for m in (chainrule, torch):
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = a * 2
        d = a.data
        assert not d.requires_grad and d.is_leaf
        d.mul_(10)  # not tracked, and does not raise for a leaf
        assert a.tolist() == [10.0, 20.0] and b.tolist() == [2.0, 4.0]
        a.data = m.tensor([5.0, 6.0])
        assert a.requires_grad and a.is_leaf
        (a * a).sum().backward()
        assert a.grad.tolist() == [10.0, 12.0]
        a.data = m.zeros(3)  # may change the shape
        assert a.shape == (3,) and a.requires_grad


def test_view_made_before_base_changed_sees_new_history():
    """``v = y[0]`` made before ``y`` changed in place: v's gradient goes through the change."""
    leaves = _pair([[1.0, 2.0], [3.0, 4.0]])
    for x in leaves:
        y = x * 1
        v = y[0]
        y.mul_(x)  # v's values (and history) are now x[0] ** 2
        (v * 3).sum().backward()
    assert_close("stale view", "x.grad", leaves[0].grad, leaves[1].grad)
    np.testing.assert_allclose(leaves[0].grad.numpy(), [[6.0, 12.0], [0.0, 0.0]])


def test_view_of_buffer_filled_later_carries_gradient():
    # torch gives x.grad = 2 * 2 * x: the view sees the history its base got in place.
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    buffer = chainrule.zeros(2, 2)
    row = buffer[1]
    buffer[1] = x ** 2
    (row * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


@pytest.mark.parametrize("op", ["abs", "relu"])
def test_second_derivative_of_piecewise_linear_is_zero_not_an_error(op):
    # PyTorch keeps sgn(x) / the relu mask attached to x (with derivative 0), so the gradient
    # of a purely piecewise-linear function can be differentiated again, giving zeros.
    results = []
    for lib in (chainrule, torch):
        x = lib.tensor([-2.0, 0.5, 3.0], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(getattr(x, op)().sum(), x, create_graph=True)
        assert g.requires_grad
        (h,) = lib.autograd.grad(g.sum(), x)
        results.append(h.clone().tolist())  # (torch's zeros here have lazily made storage)
    assert results[0] == results[1] == [0.0, 0.0, 0.0]


def test_stale_view_as_second_input_keeps_the_first_inputs_graph():
    # The refreshed view must not switch recording off for an input seen before it.
    w = chainrule.tensor([3.0], requires_grad=True)
    buffer = chainrule.zeros(2)
    view = buffer[0:1]
    buffer.add_(1.0)  # the view is now stale, and its base has no history
    y = w * view
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0])
