"""Reductions and dim-wise ops against PyTorch: sum/mean/var/std over dims (negative, tuples,
keepdim, correction), max/min (values and indices), amax/amin (ties share the gradient), prod
(with zeros), logsumexp, norm (p = 2, 1, inf, 3), cumsum, cumprod, cummax/cummin (ties, NaN),
softmax/log_softmax, sort/topk."""
import pytest
from conformance import Case, T, ints, params, pos, run_case, spec, strided

X = spec(3, 4, 5)

CASES = [
    Case("sum_all", lambda m, x: x.sum(), [X]),
    Case("sum_dim", lambda m, x: m.sum(x, 1), [X]),
    Case("sum_negdim_keep", lambda m, x: x.sum(-1, keepdim=True), [X]),
    Case("sum_dims_tuple", lambda m, x: x.sum((0, -1)), [X]),
    Case("sum_T", lambda m, x: x.sum(0), [T(3, 4)]),
    Case("sum_0d", lambda m, x: x.sum(), [spec()]),
    Case("sum_0d_dim", lambda m, x: x.sum(0), [spec()]),
    Case("sum_size1", lambda m, x: x.sum(1), [spec(3, 1, 2)]),
    Case("sum_int", lambda m, n: n.sum(1), [ints(3, 4)]),
    Case("sum_dtype", lambda m, x: x.sum(0, dtype=m.float64), [spec(2, 3)]),
    Case("mean_all", lambda m, x: x.mean(), [X]),
    Case("mean_dims_keep", lambda m, x: m.mean(x, (0, 2), keepdim=True), [X]),
    Case("mean_negdim", lambda m, x: x.mean(-2), [strided(3, 4)]),
    Case("var_all", lambda m, x: x.var(), [X]),
    Case("var_dim", lambda m, x: x.var(1), [X]),
    Case("var_dims_keep_corr0", lambda m, x: m.var(x, (0, -1), keepdim=True, correction=0),
         [X]),
    Case("var_unbiased_false", lambda m, x: x.var(-1, unbiased=False), [T(3, 4)]),
    Case("var_corr2", lambda m, x: x.var(0, correction=2), [spec(5, 3)]),
    Case("std_all", lambda m, x: x.std(), [X]),
    Case("std_dim_keep", lambda m, x: m.std(x, 2, keepdim=True), [X]),
    Case("std_corr0", lambda m, x: x.std((0, 1), correction=0), [X]),
    Case("max_all", lambda m, x: x.max(), [X]),
    Case("min_all", lambda m, x: m.min(x), [T(3, 4)]),
    Case("max_all_ties", lambda m, x: x.max(), [spec(3, 4, domain="ties")], fd=False),
    Case("max_dim", lambda m, x: tuple(m.max(x, 1)), [X]),
    Case("max_dim_keep", lambda m, x: tuple(x.max(-1, keepdim=True)), [X]),
    Case("min_dim", lambda m, x: tuple(x.min(0)), [strided(4, 3)]),
    Case("min_dim_keep", lambda m, x: tuple(m.min(x, dim=-2, keepdim=True)), [X]),
    Case("max_dim_values", lambda m, x: x.max(dim=1).values * 2, [X]),
    Case("max_dim_indices", lambda m, x: x.max(dim=1).indices, [X]),
    Case("amax", lambda m, x: m.amax(x, 1), [X]),
    Case("amax_dims_keep", lambda m, x: x.amax((0, -1), keepdim=True), [X]),
    Case("amax_ties", lambda m, x: x.amax(-1), [spec(4, 5, domain="ties")], fd=False),
    Case("amin", lambda m, x: m.amin(x, -1), [T(3, 4)]),
    Case("amin_all_ties", lambda m, x: x.amin(), [spec(3, 3, domain="ties")], fd=False),
    Case("argmax", lambda m, x: (x.argmax(), x.argmax(1), x.argmin(-1, keepdim=True)), [X]),
    Case("prod_all", lambda m, x: x.prod(), [spec(2, 3)]),
    Case("prod_dim", lambda m, x: m.prod(x, 1), [X]),
    Case("prod_dim_keep", lambda m, x: x.prod(-1, keepdim=True), [T(3, 4)]),
    Case("prod_zeros", lambda m, x: x.prod(1), [spec(4, 5, domain="zeros")]),
    Case("prod_zeros_all", lambda m, x: x.prod(), [spec(2, 3, domain="zeros")]),
    Case("prod_int", lambda m, n: n.prod(0), [ints(3, 2)]),
    Case("logsumexp", lambda m, x: m.logsumexp(x, 1), [X]),
    Case("logsumexp_dims_keep", lambda m, x: x.logsumexp((0, -1), keepdim=True), [X]),
    Case("logsumexp_large", lambda m, x: (x * 500).logsumexp(-1), [spec(3, 4)]),
    Case("norm", lambda m, x: x.norm(), [X]),
    Case("norm_p2_dim", lambda m, x: m.norm(x, 2, dim=1), [X]),
    Case("norm_p1", lambda m, x: x.norm(p=1, dim=-1), [spec(3, 4, domain="away0")]),
    Case("norm_inf", lambda m, x: x.norm(p=float("inf"), dim=(0, 1), keepdim=True),
         [spec(3, 4, 2)]),
    Case("norm_p3", lambda m, x: x.norm(p=3, dim=0), [T(3, 4)]),
    Case("norm_p3_all", lambda m, x: m.norm(x, 3), [spec(2, 3, domain="away0")]),
    Case("cumsum", lambda m, x: x.cumsum(1), [X]),
    Case("cumsum_negdim", lambda m, x: m.cumsum(x, -1), [T(3, 4)]),
    Case("cumsum_int", lambda m, n: n.cumsum(0), [ints(5)]),
    Case("cumprod", lambda m, x: x.cumprod(1), [X]),
    Case("cumprod_negdim", lambda m, x: m.cumprod(x, -2), [T(3, 4)]),
    Case("cumprod_int", lambda m, n: n.cumprod(0), [ints(5)]),
    Case("cummax", lambda m, x: tuple(m.cummax(x, 1)), [X]),
    Case("cummax_negdim_T", lambda m, x: tuple(x.cummax(-2)), [T(4, 3)]),
    # Ties: the later index wins, so the gradient goes there (no finite differences at ties).
    Case("cummax_ties", lambda m, x: tuple(m.cummax(x, 0)), [spec(6, 3, domain="ties")],
         fd=False),
    Case("cummin", lambda m, x: tuple(x.cummin(dim=1)), [strided(3, 5)]),
    Case("cummin_ties", lambda m, x: tuple(m.cummin(x, -1)), [spec(2, 7, domain="ties")],
         fd=False),
    Case("cummax_0d", lambda m, x: tuple(m.cummax(x, 0)), [spec()]),
    Case("cummin_int", lambda m, n: tuple(n.cummin(0)), [ints(6)]),
    Case("softmax", lambda m, x: m.softmax(x, 1), [X]),
    Case("softmax_negdim", lambda m, x: x.softmax(-1), [T(3, 4)]),
    Case("softmax_large", lambda m, x: (x * 300).softmax(0), [spec(4, 3)], fd=False),
    Case("log_softmax", lambda m, x: m.log_softmax(x, -1), [X]),
    Case("log_softmax_dim0", lambda m, x: x.log_softmax(0), [strided(4, 3)]),
    Case("sort", lambda m, x: tuple(m.sort(x, 1)), [X]),
    Case("sort_desc", lambda m, x: tuple(x.sort(dim=-1, descending=True)), [T(3, 4)]),
    Case("topk", lambda m, x: tuple(m.topk(x, 2, dim=1)), [X]),
    Case("topk_smallest", lambda m, x: tuple(x.topk(3, dim=-1, largest=False)), [spec(2, 5)]),
    Case("topk_values", lambda m, x: x.topk(1).values.sum(), [pos(3, 4)]),
    Case("median_dim", lambda m, x: tuple(x.median(1)), [spec(3, 5)]),
    Case("median_all", lambda m, x: x.median(), [spec(3, 5)]),
    Case("median_all_ties", lambda m, x: x.median(), [spec(3, 4, domain="ties")], fd=False),
    Case("std_of_constant", lambda m, x: (x * 0).std(1) + (x * 0 + 1).std(), [spec(2, 3)]),
]


@pytest.mark.parametrize("case,dtype", params(CASES))
def test_reduction(case, dtype):
    run_case(case, dtype)



@pytest.mark.parametrize("row", [[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 2.0, 3.0, 4.0, 5.0],
                                 [0.0, 0.0, 3.0, 4.0, 5.0], [1.0, 2.0, 0.0, 4.0, 0.0],
                                 [1.5, -2.0, 0.5, 4.0, 1.0]])
def test_cumprod_gradients_through_zeros_as_torch(row):
    """Before a slice's first zero the usual formula, at it the product of the others, after
    it exactly 0; the second derivative matches too, through the zeros; and an inf upstream
    gradient in a row without zeros. (Past a zero an inf upstream gradient makes the earlier
    gradients NaN here, finite in PyTorch: see Cumprod.backward.)"""
    import numpy as np
    import torch

    import chainrule
    upstream = np.arange(1.0, 6.0)[None]
    if 0.0 not in row:
        upstream[0, 4] = np.inf
    results = []
    for lib in (chainrule, torch):
        x = lib.tensor(np.array([row]), requires_grad=True)
        (d,) = lib.autograd.grad(lib.cumprod(x, 1), x, lib.tensor(np.arange(1.0, 6.0)[None]),
                                 create_graph=True)
        (h,) = lib.autograd.grad((d * d).sum(), x)
        (k,) = lib.autograd.grad(lib.cumprod(x, 1), x, lib.tensor(upstream))
        results.append([d.detach().numpy(), h.numpy(), k.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0)


def test_cummax_cummin_nan_and_second_derivatives():
    """From a NaN on the running extreme is NaN at the last NaN's index, as torch's; the
    gradient is a scatter-add, itself differentiable."""
    import numpy as np
    import torch

    import chainrule
    from chainrule.autograd import gradgradcheck
    x = [[1.0, 3.0, float("nan"), 4.0, float("nan"), 7.0], [2.0, 2.0, 1.0, 5.0, 5.0, 0.0]]
    for name in ("cummax", "cummin"):
        ours, theirs = getattr(chainrule, name)(chainrule.tensor(x), 1), \
            getattr(torch, name)(torch.tensor(x), 1)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    a = chainrule.tensor(np.random.default_rng(0).standard_normal((3, 5)), requires_grad=True)
    gradgradcheck(lambda t: chainrule.cummax(t * t, 1).values, [a])
