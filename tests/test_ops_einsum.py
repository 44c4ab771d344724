"""einsum against PyTorch: matrix products, batches, transposes, sums, outer products,
diagonals and traces (repeated letters), ellipses (broadcast, right-aligned), the implicit
output, three or more operands, size-1 broadcasting; values, gradients, finite differences,
second derivatives; errors. Also the other products and helpers built on existing ops
(tensordot, trace, diag, kron, cross, cdist, ...)."""
import numpy as np
import pytest
import torch
from conformance import Case, T, params, run_case, spec, strided

import chainrule
from chainrule.autograd import gradgradcheck


def E(equation):
    return lambda m, *xs: m.einsum(equation, *xs)


CASES = [
    Case("matmul", E("ij,jk->ik"), [spec(3, 4), spec(4, 5)]),
    Case("matmul_implicit", E("ij,jk"), [spec(2, 3), T(3, 4)]),
    Case("batched", E("bij,bjk->bik"), [spec(2, 3, 4), strided(2, 4, 3)]),
    Case("transpose", E("ij->ji"), [spec(3, 4)]),
    Case("implicit_sorted", E("ba"), [spec(3, 4)]),
    Case("sum_all", E("ij->"), [spec(3, 4)]),
    Case("sum_rows", E("ij->i"), [spec(3, 4)]),
    Case("outer", E("i,j->ij"), [spec(3), spec(4)]),
    Case("dot", E("i,i->"), [spec(5), spec(5)]),
    Case("hadamard", E("ij,ij->ij"), [spec(3, 4), spec(3, 4)]),
    Case("broadcast_size1", E("ij,ij->ij"), [spec(1, 4), spec(3, 4)]),
    Case("diagonal", E("ii->i"), [spec(4, 4)]),
    Case("trace", E("ii"), [spec(4, 4)]),
    Case("diag_batch", E("bii->b"), [spec(2, 3, 3)]),
    Case("repeated_three", E("iij->j"), [spec(3, 3, 2)]),
    Case("ellipsis", E("...ij,...jk->...ik"), [spec(2, 3, 4), spec(4, 2)]),
    Case("ellipsis_right_aligned", E("...j,...j->..."), [spec(2, 1, 3), spec(4, 3)]),
    Case("ellipsis_implicit", E("...ij"), [spec(2, 3, 4)]),
    Case("ellipsis_transpose", E("i...->...i"), [spec(3, 2, 4)]),
    Case("three_operands", E("ij,jk,kl->il"), [spec(2, 3), spec(3, 4), spec(4, 2)]),
    Case("bilinear", E("bi,oij,bj->bo"), [spec(2, 3), spec(4, 3, 5), spec(2, 5)]),
    Case("attention_scores", E("bhqd,bhkd->bhqk"), [spec(2, 2, 3, 4), spec(2, 2, 5, 4)]),
    Case("summed_only_in_one", E("ij,k->ik"), [spec(2, 3), spec(4)]),
    Case("list_of_operands", lambda m, a, b: m.einsum("ij,jk->ik", [a, b]),
         [spec(2, 3), spec(3, 2)]),
]


@pytest.mark.parametrize("case,dtype", params(CASES))
def test_einsum(case, dtype):
    run_case(case, dtype)


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("bii,bj->bj", [(2, 3, 3), (2, 4)]),
    ("...ij,...j->...i", [(2, 3, 4), (4,)]),
])
def test_einsum_second_derivatives(equation, shapes):
    rng = np.random.default_rng(0)
    xs = [chainrule.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert gradgradcheck(lambda *a: chainrule.einsum(equation, *a), xs)


@pytest.mark.parametrize("call,error,message", [
    (lambda: chainrule.einsum("ij,jk->ik", chainrule.ones(2, 3), chainrule.ones(4, 2)),
     RuntimeError, "subscript 'j' has size 3 in one operand and 4"),
    (lambda: chainrule.einsum("ij,j", chainrule.ones(2, 3)), RuntimeError,
     "2 operands in the equation"),
    (lambda: chainrule.einsum("ijk", chainrule.ones(2, 3)), RuntimeError,
     "name 3 dimensions, but the operand has 2"),
    (lambda: chainrule.einsum("i,i", chainrule.ones(3), chainrule.ones(3).double()),
     RuntimeError, "expected operands of one dtype"),
    (lambda: chainrule.einsum("ij->ik", chainrule.ones(2, 3)), RuntimeError,
     "must be distinct letters that appear"),
    (lambda: chainrule.einsum("i1->i", chainrule.ones(2, 3)), RuntimeError,
     "invalid subscripts"),
])
def test_einsum_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_einsum_matches_torch_in_float32_on_a_large_product():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((64, 128)), rng.standard_normal((128, 32))
    ours = chainrule.einsum("ik,kj->ij", chainrule.tensor(a), chainrule.tensor(b))
    theirs = torch.einsum("ik,kj->ij", torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


# -- functions built on einsum and on the shape/reduction ops ------------------------------------
def _with_nans(x):
    return x.masked_fill(x > 0.5, float("nan"))


BUILT = [
    Case("trace", lambda m, x: m.trace(x) + x.trace(), [spec(4, 4)]),
    Case("trace_rect", lambda m, x: m.trace(x), [T(3, 5)]),
    Case("tensordot_int", lambda m, a, b: m.tensordot(a, b, dims=2),
         [spec(2, 3, 4), spec(3, 4, 5)]),
    Case("tensordot_lists", lambda m, a, b: m.tensordot(a, b, dims=([0, -1], [2, 0])),
         [spec(2, 3, 4), spec(4, 5, 2)]),
    Case("tensordot_0", lambda m, a, b: m.tensordot(a, b, dims=0), [spec(2), spec(3)]),
    Case("diag_vector", lambda m, v: m.diag(v), [spec(4)]),
    Case("diag_vector_offset", lambda m, v: m.diag(v, -2) + m.diag(v, 2).t(), [spec(3)]),
    Case("diag_matrix", lambda m, x: x.diag(1) + m.diag(x, -1)[:2].sum(), [spec(3, 4)]),
    Case("meshgrid_ij", lambda m, a, b: tuple(m.meshgrid(a, b, indexing="ij")),
         [spec(3), spec(4)]),
    Case("meshgrid_xy", lambda m, a, b, c: tuple(m.meshgrid([a, b, c], indexing="xy")),
         [spec(2), spec(3), spec(4)]),
    Case("repeat_interleave_int", lambda m, x: m.repeat_interleave(x, 2, dim=1), [spec(2, 3)]),
    Case("repeat_interleave_flat", lambda m, x: x.repeat_interleave(3), [T(2, 3)]),
    Case("repeat_interleave_counts",
         lambda m, x: x.repeat_interleave(m.tensor([2, 0, 1]), dim=-1), [spec(2, 3)]),
    Case("nansum", lambda m, x: m.nansum(_with_nans(x), 1), [spec(3, 4)]),
    Case("nansum_all_method", lambda m, x: _with_nans(x).nansum(), [spec(3, 4)]),
    Case("nanmean", lambda m, x: m.nanmean(_with_nans(x), 0, keepdim=True), [spec(3, 4)]),
]


@pytest.mark.parametrize("case,dtype", params(BUILT))
def test_built_on_einsum_and_shape_ops(case, dtype):
    run_case(case, dtype)


def test_built_ops_errors():
    with pytest.raises(RuntimeError, match="trace: expected a matrix"):
        chainrule.trace(chainrule.ones(3))
    with pytest.raises(RuntimeError, match="diag: supports 1-D or 2-D"):
        chainrule.diag(chainrule.ones(2, 2, 2))
    with pytest.raises(RuntimeError, match="both dimension lists should have the same length"):
        chainrule.tensordot(chainrule.ones(2, 3), chainrule.ones(3, 2), dims=([1], [0, 1]))
    with pytest.raises(RuntimeError, match="repeat_interleave: repeats must be"):
        chainrule.repeat_interleave(chainrule.ones(3), chainrule.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="meshgrid: indexing must be"):
        chainrule.meshgrid(chainrule.ones(2), indexing="yx")
    np.testing.assert_array_equal(chainrule.repeat_interleave(chainrule.tensor([2, 0, 3])).numpy(),
                                  torch.repeat_interleave(torch.tensor([2, 0, 3])).numpy())


PRODUCTS = [
    Case("cross_dim", lambda m, a, b: m.cross(a, b, dim=1), [spec(4, 3), spec(4, 3)]),
    Case("cross_default_dim_broadcast", lambda m, a, b: m.cross(a, b), [spec(3, 2), spec(3, 1)]),
    Case("cross_method_negdim", lambda m, a, b: a.cross(b, dim=-1), [strided(2, 3), spec(1, 3)]),
    Case("kron", lambda m, a, b: m.kron(a, b), [spec(2, 3), spec(4, 2)]),
    Case("kron_ranks", lambda m, a, b: a.kron(b), [spec(3), spec(2, 2, 2)]),
    Case("cdist", lambda m, a, b: m.cdist(a, b), [spec(4, 3), spec(5, 3)]),
    Case("cdist_batch_broadcast", lambda m, a, b: m.cdist(a, b), [spec(2, 1, 3, 4), T(3, 6, 4)]),
    Case("cdist_matmul_rows_over_25", lambda m, a, b: m.cdist(a, b), [spec(27, 3), spec(2, 3)]),
    Case("cdist_matmul_forced", lambda m, a, b: m.cdist(
        a, b, compute_mode="use_mm_for_euclid_dist"), [strided(3, 4), spec(2, 4)]),
    Case("cdist_no_matmul", lambda m, a, b: m.cdist(
        a, b, compute_mode="donot_use_mm_for_euclid_dist"), [spec(30, 2), spec(3, 2)]),
    Case("cdist_p1", lambda m, a, b: m.cdist(a, b, p=1), [spec(2, 3, 4), spec(2, 2, 4)]),
    Case("cdist_p0", lambda m, a, b: m.cdist(a, b, p=0), [spec(3, 4), spec(2, 4)]),
    Case("cdist_p_half", lambda m, a, b: m.cdist(a, b, p=0.5), [spec(3, 4), spec(2, 4)]),
    Case("cdist_p3", lambda m, a, b: m.cdist(a, b, p=3), [spec(3, 4), spec(2, 4)]),
    Case("cdist_pinf", lambda m, a, b: m.cdist(a, b, p=float("inf")), [spec(3, 4), spec(2, 4)]),
]


@pytest.mark.filterwarnings("ignore:Using (torch|chainrule).cross without specifying the dim")
@pytest.mark.parametrize("case,dtype", params(PRODUCTS))
def test_cross_and_kron(case, dtype):
    run_case(case, dtype)


@pytest.mark.parametrize("p", [0, 0.5, 1, 1.5, 2, 3, float("inf")])
@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary",
                                  "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"])
def test_cdist_gradients_where_distances_or_differences_are_zero(p, mode):
    """PyTorch's gradients at the kinks: zero where two rows coincide, zero for p < 1 where
    one coordinate coincides, and with p = inf the whole gradient to each tied coordinate."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 30, 3)), rng.standard_normal((5, 3))
    b[0] = a[0, 0]  # distance zero
    b[1, 0] = a[1, 1, 0]  # one coordinate difference zero
    b[2] = a[0, 2] + np.array([1.0, -1.0, 0.5])  # p = inf: two coordinates tie
    upstream = rng.standard_normal((2, 30, 5))

    def run(lib):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        (lib.cdist(x, y, p=p, compute_mode=mode) * lib.tensor(upstream)).sum().backward()
        return lib.cdist(x, y, p=p, compute_mode=mode).detach().numpy(), x.grad.numpy(), \
            y.grad.numpy()
    for ours, theirs in zip(run(chainrule), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_cdist_second_derivatives_and_errors():
    a, b = np.random.default_rng(1).standard_normal((2, 3, 2))
    inputs = [chainrule.tensor(v, requires_grad=True) for v in (a, b)]
    gradgradcheck(lambda x, y: chainrule.cdist(x, y, p=3), inputs)
    x = chainrule.ones(2, 3)
    for call, message in [
            (lambda: chainrule.cdist(chainrule.ones(3), x), "at least 2D tensors, X1 got: 1D"),
            (lambda: chainrule.cdist(x, chainrule.ones(2, 4)), "same number of columns"),
            (lambda: chainrule.cdist(x, x, p=-1), "non-negative p"),
            (lambda: chainrule.cdist(x.long(), x.long()), "floating-point dtypes"),
            (lambda: chainrule.cdist(x, x.double()), "of one dtype"),
            (lambda: chainrule.cdist(chainrule.ones(2, 2, 3), chainrule.ones(3, 2, 3)),
             "broadcast")]:
        with pytest.raises(RuntimeError, match=message):
            call()
    with pytest.raises(ValueError, match="not a valid value for compute_mode"):
        chainrule.cdist(x, x, compute_mode="fast")


@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True, "dim": 0},
                                {"dim": 1, "return_counts": True}])
def test_unique_matches_torch(kw):
    a = np.array([[3, 1, 2, 1], [3, 1, 2, 1], [0, 5, 5, 0]])
    ours = chainrule.unique(chainrule.tensor(a), **kw)
    theirs = torch.unique(torch.tensor(a), **kw)
    ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]


def test_cross_errors():
    with pytest.warns(UserWarning, match="without specifying the dim"), \
            pytest.raises(RuntimeError, match="cross: no dimension of size 3"):
        chainrule.cross(chainrule.ones(2, 2), chainrule.ones(2, 2))
    with pytest.raises(RuntimeError, match="cross: inputs must have the same number"):
        chainrule.cross(chainrule.ones(2, 3), chainrule.ones(3))
    with pytest.raises(RuntimeError, match="cross: dimension 0 does not have size 3"):
        chainrule.cross(chainrule.ones(2, 3), chainrule.ones(2, 3), dim=0)
