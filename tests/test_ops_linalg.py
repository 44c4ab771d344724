"""Matrix products against PyTorch: matmul for every rank combination PyTorch allows (1-D
operands, batched with broadcasting, 1-D x 3-D), on non-contiguous inputs; mm/bmm/mv/dot/
outer/addmm."""
import pytest
from conformance import Case, T, params, run_case, spec, strided

CASES = [
    Case("matmul_1d_1d", lambda m, a, b: a @ b, [spec(4), spec(4)]),
    Case("matmul_2d_2d", lambda m, a, b: a @ b, [spec(3, 4), spec(4, 2)]),
    Case("matmul_1d_2d", lambda m, a, b: m.matmul(a, b), [spec(4), spec(4, 2)]),
    Case("matmul_2d_1d", lambda m, a, b: a.matmul(b), [spec(3, 4), spec(4)]),
    Case("matmul_batched", lambda m, a, b: a @ b, [spec(2, 3, 4), spec(2, 4, 5)]),
    Case("matmul_batched_broadcast", lambda m, a, b: a @ b, [spec(2, 1, 3, 4), spec(3, 4, 2)]),
    Case("matmul_3d_2d", lambda m, a, b: a @ b, [spec(2, 3, 4), spec(4, 5)]),
    Case("matmul_2d_3d", lambda m, a, b: a @ b, [spec(3, 4), spec(2, 4, 5)]),
    Case("matmul_1d_3d", lambda m, a, b: a @ b, [spec(4), spec(2, 4, 3)]),
    Case("matmul_3d_1d", lambda m, a, b: a @ b, [spec(2, 3, 4), spec(4)]),
    Case("matmul_T", lambda m, a, b: a @ b, [T(3, 4), T(4, 2)]),
    Case("matmul_strided", lambda m, a, b: a @ b, [strided(3, 4), spec(4, 3)]),
    Case("matmul_size1", lambda m, a, b: a @ b, [spec(1, 4), spec(4, 1)]),
    Case("matmul_self", lambda m, a: a @ a.t(), [spec(3, 4)]),
    Case("mm", lambda m, a, b: m.mm(a, b), [spec(3, 4), spec(4, 2)]),
    Case("bmm", lambda m, a, b: a.bmm(b), [spec(2, 3, 4), T(2, 4, 3)]),
    Case("mv", lambda m, a, b: m.mv(a, b), [spec(3, 4), spec(4)]),
    Case("dot", lambda m, a, b: a.dot(b), [spec(5), strided(5)]),
    Case("outer", lambda m, a, b: m.outer(a, b), [spec(3), spec(4)]),
    Case("addmm", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2),
         [spec(2), spec(3, 4), spec(4, 2)]),
    Case("linear_layer", lambda m, x, w, b: (x @ w.t() + b).relu().sum(-1),
         [spec(5, 3), spec(4, 3), spec(4)], fd=False),
]


@pytest.mark.parametrize("case,dtype", params(CASES))
def test_linalg(case, dtype):
    run_case(case, dtype)
