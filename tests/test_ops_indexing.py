"""Indexing against PyTorch: basic slicing (steps, negatives, None, Ellipsis), integer-array
and boolean-mask indexing (repeated indices accumulate), ``__setitem__`` (the gradient reaches
both the value and the untouched rest), index_put/index_put_ (accumulate: repeats add up),
gather/scatter/scatter_add, index_select, index_add, masked_fill, take_along_dim."""
import numpy as np
import pytest
from conformance import Case, T, params, pos, run_case, spec, strided

X = spec(4, 5)
X3 = spec(3, 4, 5)

GATHER_IDX = np.array([[0, 2, 2], [1, 0, 4], [3, 3, 0], [4, 1, 1]])  # repeats on purpose
MASK = np.array([[True, False, True, True, False]] * 2 + [[False] * 5] + [[True] * 5])


def _setitem(index, value_fn=None):
    """``y = x * 1; y[index] = value``: a non-leaf written in place, as a table row's fn."""
    def fn(m, x, v=None):
        y = x * 1
        y[index(m) if callable(index) else index] = v if value_fn is None else value_fn(m, v)
        return y
    return fn


def _t(m, a):
    return m.tensor(a)


CASES = [
    # -- basic indexing (views) ----------------------------------------------------------
    Case("int", lambda m, x: x[1], [X]),
    Case("int_negative", lambda m, x: x[-1, -2], [X]),
    Case("slice", lambda m, x: x[1:3], [X]),
    Case("slice_step", lambda m, x: x[::2, 1::2], [X]),
    Case("slice_negative", lambda m, x: x[-3:-1, :-2], [X]),
    Case("slice_none", lambda m, x: x[None, :, None, 1], [X]),
    Case("ellipsis", lambda m, x: x[..., 1:3], [X3]),
    Case("ellipsis_int", lambda m, x: x[1, ..., -1], [X3]),
    Case("slice_T", lambda m, x: x[1:, ::2], [T(4, 5)]),
    Case("slice_strided", lambda m, x: x[:, 1:3], [strided(3, 4)]),
    Case("index_0d_tensor", lambda m, x: x[m.tensor(2)], [X]),
    Case("iterate_rows", lambda m, x: [r * (i + 1) for i, r in enumerate(x)], [spec(3, 2)]),
    # -- advanced indexing (copies) ----------------------------------------------------------
    Case("int_array", lambda m, x: x[_t(m, [0, 2, 3])], [X]),
    Case("int_array_repeats", lambda m, x: x[_t(m, [1, 1, 3, 1])], [X]),
    Case("int_list", lambda m, x: x[[0, 0, 2]], [X]),
    Case("int_array_2d", lambda m, x: x[_t(m, [[0, 1], [1, 1]])], [X]),
    Case("int_array_pair", lambda m, x: x[_t(m, [0, 1, 1]), _t(m, [2, 2, 4])], [X]),
    Case("int_array_negative", lambda m, x: x[:, _t(m, [-1, 0, -1])], [X3]),
    Case("int_array_slice_mix", lambda m, x: x[1:, _t(m, [0, 0])], [X3]),
    Case("int_array_T", lambda m, x: x[_t(m, [3, 0, 3])], [T(4, 5)]),
    # an int and an array separated by a slice: PyTorch applies the int first (NumPy would
    # move the indexed dim to the front)
    Case("int_then_array_apart", lambda m, x: x[0, :, _t(m, [1, 1, 4])], [X3]),
    Case("array_int_array", lambda m, x: x[_t(m, [0, 2]), 1, _t(m, [4, 4])], [X3]),
    Case("bool_mask", lambda m, x: x[x > 0], [X]),
    Case("bool_mask_rows", lambda m, x: x[_t(m, [True, False, True, True])], [X]),
    Case("bool_mask_const", lambda m, x: x[_t(m, MASK)], [X]),
    Case("masked_select", lambda m, x: m.masked_select(x, x > 0), [T(3, 4)]),
    Case("take", lambda m, x: m.take(x, _t(m, [0, 7, 7, 19])), [X]),
    # -- __setitem__ on a non-leaf ---------------------------------------------------------
    Case("setitem_int", _setitem(1), [X, spec(5)]),
    Case("setitem_slice", _setitem((slice(None), slice(0, None, 2))), [X, spec(4, 3)]),
    Case("setitem_broadcast_value", _setitem((slice(1, 3),)), [X, spec(5)]),
    Case("setitem_scalar", lambda m, x: _setitem((0, slice(1, 3)))(m, x, 2.5), [X]),
    Case("setitem_0d_value", _setitem((Ellipsis, 2)), [X, spec()]),
    Case("setitem_int_array", _setitem(lambda m: _t(m, [0, 3])), [X, spec(2, 5)]),
    Case("setitem_mask", _setitem(lambda m: _t(m, MASK)), [X, spec()]),
    Case("setitem_value_expr", _setitem((slice(None), 1), lambda m, v: v.exp()), [X, spec(4)]),
    Case("setitem_T", _setitem((1,)), [T(4, 5), spec(5)]),
    Case("setitem_int_then_array_apart", _setitem(lambda m: (1, slice(None), _t(m, [0, 3]))),
         [X3, spec(4, 2)]),
    # -- gather / scatter / index_select / masked_fill / take_along_dim ----------------------
    Case("gather", lambda m, x: x.gather(1, _t(m, GATHER_IDX)), [X]),
    Case("gather_dim0", lambda m, x: m.gather(x, 0, _t(m, GATHER_IDX[:3, :2])), [X]),
    Case("gather_negdim", lambda m, x: x.gather(-1, _t(m, GATHER_IDX[:2])), [T(4, 5)]),
    # scatter with repeated targets is undefined (last write wins): unique targets per row
    Case("scatter", lambda m, x, s: x.scatter(1, _t(m, [[0, 2], [4, 1], [3, 0], [1, 4]]), s),
         [X, spec(4, 2)]),
    Case("scatter_unique", lambda m, x, s: m.scatter(x, 0, _t(m, [[0, 1, 2, 3, 0],
                                                                 [3, 2, 1, 0, 1]]), s),
         [X, spec(2, 5)]),
    Case("scatter_value", lambda m, x: x.scatter(1, _t(m, [[0], [2], [4], [1]]), 1.5), [X]),
    Case("scatter_add", lambda m, x, s: x.scatter_add(1, _t(m, GATHER_IDX), s),
         [X, spec(4, 3)]),
    Case("scatter_add_small_index", lambda m, x, s: m.scatter_add(x, 0, _t(m, [[0, 0], [3, 0]]),
                                                                 s),
         [X, spec(2, 2)]),
    Case("index_select", lambda m, x: x.index_select(1, _t(m, [4, 0, 0, 2])), [X]),
    Case("index_select_negdim", lambda m, x: m.index_select(x, -1, _t(m, [1, 1])), [X3]),
    Case("index_add", lambda m, x, s: x.index_add(0, _t(m, [1, 1, 3]), s, alpha=2),
         [X, spec(3, 5)]),
    Case("index_put", lambda m, x, v: m.index_put(x, (_t(m, [0, 3, 2]), _t(m, [4, 0, 4])), v),
         [X, spec(3)]),
    Case("index_put_accumulate_repeats", lambda m, x, v: x.index_put(
        (_t(m, [1, 1, 3, 1]), _t(m, [2, 2, 0, 2])), v, accumulate=True), [X, spec(4)]),
    Case("index_put_accumulate_broadcast_rows", lambda m, x, v: m.index_put(
        x, (_t(m, [2, 0, 2]),), v, accumulate=True), [T(4, 5), spec(5)]),
    Case("index_put_mask", lambda m, x, v: x.index_put((_t(m, MASK),), v), [X, spec()]),
    Case("index_put__inplace", lambda m, x, v: (x * 1).index_put_(
        (_t(m, [3, 0]), _t(m, [1, 1])), v, accumulate=True), [X, spec(2)]),
    Case("masked_fill", lambda m, x: x.masked_fill(x > 0.5, -1.0), [X]),
    Case("masked_fill_broadcast", lambda m, x: m.masked_fill(x, _t(m, MASK[0]), 0.0),
         [T(4, 5)]),
    Case("masked_fill_tensor_value", lambda m, x, v: x.masked_fill(_t(m, MASK), v),
         [X, spec()]),
    Case("take_along_dim", lambda m, x: m.take_along_dim(x, _t(m, GATHER_IDX[:, :1]), 1),
         [X]),
    Case("take_along_dim_argsort", lambda m, x: x.take_along_dim(x.argsort(-1), dim=-1),
         [X3]),
    Case("take_along_dim_flat", lambda m, x: m.take_along_dim(x, _t(m, [3, 3, 0])), [pos(2, 3)]),
    Case("take_along_dim_broadcast", lambda m, x: m.take_along_dim(x, _t(m, [[[1]], [[0]]]), 0),
         [spec(2, 3, 4)]),
]


@pytest.mark.parametrize("case,dtype", params(CASES))
def test_indexing(case, dtype):
    run_case(case, dtype)


@pytest.mark.parametrize("op", ["scatter", "scatter_add"])
def test_scatter_src_larger_than_index(op):
    """Only src[:index.shape] is used; torch's backward rejects this case, so the gradient
    is checked by finite differences (the unused part of src gets zero)."""
    import torch
    from conformance import assert_close, gradcheck, make_inputs

    import chainrule

    (x, src), (tx, tsrc) = make_inputs([spec(4, 5), spec(3, 4)], "float64")
    index = [[0, 0], [3, 1]]
    out = getattr(x, op)(0, chainrule.tensor(index), src)
    want = getattr(tx, op)(0, torch.tensor(index), tsrc)
    assert_close(op, "output", out, want)
    gradcheck(lambda a, b: getattr(a, op)(0, chainrule.tensor(index), b), [x, src])
    assert np.all(src.grad.numpy()[2:] == 0) and np.all(src.grad.numpy()[:, 2:] == 0)


@pytest.mark.parametrize("row_shape", [(), (5,), (3, 4)])
def test_add_rows_at_many_rows_matches_np_add_at(row_shape):
    """The sort-and-reduceat path of index_add/embedding gradients (64 or more rows) adds
    like np.add.at: repeated indices sum, and a negative index hits the same row as its
    positive twin."""
    from chainrule.ops.indexing import add_rows_at
    rng = np.random.default_rng(0)
    index = rng.integers(-7, 7, 300)
    rows = rng.standard_normal((300,) + row_shape)
    base = rng.standard_normal((7,) + row_shape)
    expected = base.copy()
    np.add.at(expected, index, rows)
    got = base.copy()
    add_rows_at(got, index, rows)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_scatter_backward_gives_exact_zeros_where_src_went():
    """The gradient of scatter's input is 0 wherever src overwrote it, even for an inf or NaN
    upstream gradient, as in PyTorch (a product with a 0/1 mask would give NaN)."""
    import torch

    import chainrule
    upstream = np.array([[np.inf, np.nan, 1.0], [np.inf, -np.inf, np.nan]])
    results = []
    for lib in (chainrule, torch):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        y = x.scatter(1, lib.tensor([[0], [2]]), lib.tensor([[9.0], [9.0]], dtype=lib.float64))
        (g,) = lib.autograd.grad(y, x, lib.tensor(upstream))
        results.append(g.numpy())
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("seq,values,kw", [
    ([[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]], [[3, 6, 9], [3, 6, 9]], {}),
    ([[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]], [[3, 6, 9], [3, 6, 9]], {"right": True}),
    ([[1.5, 3.25, 5.0], [2.0, 2.0, 8.5]], [[3.25, 9.0], [2.0, 0.0]], {"side": "right"}),
    ([1, 3, 5, 7, 9], [[0, 10], [5, 5]], {}),
    ([1, 3, 5, 7, 9], [[0, 10], [5, 5]], {"out_int32": True, "right": True}),
    ([5, 1, 3], [2, 4], {"sorter": [1, 2, 0]}),
])
def test_searchsorted_matches_torch(seq, values, kw):
    import torch

    import chainrule
    ours_kw = {k: chainrule.tensor(v) if k == "sorter" else v for k, v in kw.items()}
    theirs_kw = {k: torch.tensor(v) if k == "sorter" else v for k, v in kw.items()}
    ours = chainrule.searchsorted(chainrule.tensor(seq), chainrule.tensor(values), **ours_kw)
    theirs = torch.searchsorted(torch.tensor(seq), torch.tensor(values), **theirs_kw)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


def test_bucketize_matches_torch_and_errors():
    import torch

    import chainrule
    for right in (False, True):
        ours = chainrule.bucketize(chainrule.tensor([[0.5, 3.0, 9.5]]),
                                   chainrule.tensor([1.0, 3, 5, 7, 9]), right=right)
        theirs = torch.bucketize(torch.tensor([[0.5, 3.0, 9.5]]),
                                 torch.tensor([1.0, 3, 5, 7, 9]), right=right)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="searchsorted: the sequence must be 1-D"):
        chainrule.searchsorted(chainrule.ones(2, 5), chainrule.ones(2))
    with pytest.raises(RuntimeError, match="bucketize: boundaries must be 1-D"):
        chainrule.bucketize(chainrule.ones(2), chainrule.ones(2, 2))
    with pytest.raises(RuntimeError, match="side must be 'left' or 'right'"):
        chainrule.searchsorted(chainrule.ones(3), chainrule.ones(2), right=True, side="left")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("args", [(), (7,), (7, -1, 1.5), (3, 0.5, 0.5), (10, 0, 1), (5, 2, 3)])
def test_histc_matches_torch(dtype, args):
    """Same counts as torch.histc: NaN and out-of-range values skipped, the last bin closed,
    bin edges hit exactly (a float32 linspace), min == max meaning the data's range."""
    import torch

    import chainrule
    rng = np.random.default_rng(len(args))
    for x in (rng.standard_normal(1000), np.linspace(0, 1, 1001), np.arange(1000) / 333 - 1):
        x = x.astype(dtype)
        if len(args) == 3 and args[1] != args[2]:
            x[::97] = np.nan  # with an explicit range NaN is skipped (else torch raises)
        theirs = torch.histc(torch.tensor(x), *args).numpy()
        ours = chainrule.histc(chainrule.tensor(x), *args)
        assert ours.dtype == getattr(chainrule, dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs)
        np.testing.assert_array_equal(chainrule.tensor(x).histc(*args).numpy(), theirs)


def test_histc_edge_cases_and_errors():
    import chainrule
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    assert not chainrule.histc(x, 3).requires_grad  # not differentiable
    np.testing.assert_array_equal(chainrule.histc(chainrule.tensor([3.0, 3.0]), 4).numpy(),
                                  [0, 0, 2, 0])  # an empty range widened by 1 on each side
    np.testing.assert_array_equal(chainrule.histc(chainrule.zeros(0), 3).numpy(), [0, 0, 0])
    with pytest.raises(NotImplementedError, match="histc: not implemented for .*int64"):
        chainrule.histc(chainrule.tensor([1, 2]), 3)
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        chainrule.histc(x, 0)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        chainrule.histc(x, 3, min=3, max=1)
    with pytest.raises(RuntimeError, match="is not finite"):
        chainrule.histc(chainrule.tensor([1.0, float("inf")]), 3)
    with pytest.raises(RuntimeError, match="is not finite"):
        chainrule.histc(chainrule.tensor([1.0, float("nan")]), 3)
