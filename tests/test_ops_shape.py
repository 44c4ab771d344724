"""Shape ops against PyTorch: reshape/view/flatten/unflatten, squeeze/unsqueeze,
permute/transpose/t, expand/repeat, cat/stack, split/chunk/narrow, flip/roll, tril/triu.

Non-contiguous inputs matter here: reshape of a transposed tensor must copy, and gradients of
views must land in the right elements of the base."""
import pytest
from conformance import Case, T, params, run_case, spec, strided

X = spec(2, 3, 4)

CASES = [
    Case("reshape", lambda m, x: x.reshape(4, 6), [X]),
    Case("reshape_infer", lambda m, x: m.reshape(x, (-1, 2)), [X]),
    Case("reshape_T", lambda m, x: x.reshape(-1), [T(3, 4)]),
    Case("reshape_0d", lambda m, x: x.reshape(1, 1), [spec()]),
    Case("reshape_to_0d", lambda m, x: x.reshape(()), [spec(1, 1)]),
    Case("view", lambda m, x: x.view(6, 4), [X]),
    Case("view_infer", lambda m, x: x.view(2, -1) * 2, [X]),
    Case("view_as", lambda m, x, y: x.view_as(y), [spec(2, 6), spec(3, 4)]),
    Case("flatten", lambda m, x: x.flatten(), [X]),
    Case("flatten_range", lambda m, x: m.flatten(x, 1), [X]),
    Case("flatten_negdims", lambda m, x: x.flatten(-3, -2), [spec(2, 3, 4, 2)]),
    Case("flatten_T", lambda m, x: x.flatten(), [T(3, 4)]),
    Case("unflatten", lambda m, x: x.unflatten(1, (2, 2)), [spec(3, 4)]),
    Case("unflatten_negdim", lambda m, x: x.unflatten(-1, (2, -1)), [X]),
    Case("squeeze_all", lambda m, x: x.squeeze(), [spec(1, 3, 1, 2)]),
    Case("squeeze_dim", lambda m, x: x.squeeze(-2), [spec(1, 3, 1, 2)]),
    Case("squeeze_noop", lambda m, x: m.squeeze(x, 1), [spec(1, 3, 1, 2)]),
    Case("unsqueeze", lambda m, x: x.unsqueeze(0), [X]),
    Case("unsqueeze_negdim", lambda m, x: m.unsqueeze(x, -1), [T(2, 3)]),
    Case("unsqueeze_0d", lambda m, x: x.unsqueeze(0), [spec()]),
    Case("permute", lambda m, x: x.permute(2, 0, 1), [X]),
    Case("permute_negdims", lambda m, x: m.permute(x, (-1, 0, -2)), [X]),
    Case("transpose", lambda m, x: x.transpose(0, 2), [X]),
    Case("transpose_negdims", lambda m, x: m.transpose(x, -1, -2), [X]),
    Case("t", lambda m, x: x.t(), [spec(3, 4)]),
    Case("t_1d", lambda m, x: m.t(x), [spec(3)]),
    Case("T_property", lambda m, x: x.T * 1, [spec(3, 4)]),
    Case("mT_property", lambda m, x: x.mT * 1, [X]),
    Case("movedim", lambda m, x: m.movedim(x, 0, -1), [X]),
    Case("expand", lambda m, x: x.expand(3, 4), [spec(3, 1)]),
    Case("expand_new_dims", lambda m, x: x.expand(2, -1, 4), [spec(3, 1)]),
    Case("expand_0d", lambda m, x: x.expand(2, 3), [spec()]),
    Case("expand_as", lambda m, x, y: x.expand_as(y), [spec(1, 4), spec(3, 4)]),
    Case("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), [spec(4)]),
    Case("repeat", lambda m, x: x.repeat(2, 3), [spec(2, 3)]),
    Case("repeat_new_dims", lambda m, x: x.repeat(2, 1, 2), [T(2, 3)]),
    Case("tile", lambda m, x: m.tile(x, (2,)), [spec(2, 3)]),
    Case("cat", lambda m, x, y: m.cat([x, y]), [spec(2, 3), spec(4, 3)]),
    Case("cat_dim1", lambda m, x, y, z: m.cat((x, y, z), dim=1),
         [spec(2, 3), T(2, 2), spec(2, 1)]),
    Case("cat_negdim", lambda m, x, y: m.cat([x, y], -1), [X, spec(2, 3, 1)]),
    Case("cat_mixed_grad", lambda m, x, n: m.cat([x, n.double() if x.dtype == m.float64
                                                  else n.float()], 0),
         [spec(2, 3), spec(2, 3, domain="int", grad=False)]),
    Case("stack", lambda m, x, y: m.stack([x, y]), [spec(2, 3), spec(2, 3)]),
    Case("stack_negdim", lambda m, x, y: m.stack([x, y], -1), [spec(2, 3), T(2, 3)]),
    Case("stack_0d", lambda m, x, y: m.stack([x, y]), [spec(), spec()]),
    Case("split", lambda m, x: x.split(2, dim=1), [spec(3, 5)]),
    Case("split_sizes", lambda m, x: m.split(x, [1, 3], dim=-1), [X]),
    Case("split_partial_use", lambda m, x: x.split(2)[1] * 3, [spec(5, 2)]),
    Case("chunk", lambda m, x: x.chunk(3, dim=-1), [spec(2, 7)]),
    Case("chunk_T", lambda m, x: m.chunk(x, 2), [T(4, 3)]),
    Case("unbind", lambda m, x: x.unbind(1), [spec(2, 3)]),
    Case("narrow", lambda m, x: x.narrow(1, 1, 2), [X]),
    Case("narrow_negdim", lambda m, x: m.narrow(x, -1, 0, 3), [strided(3, 4)]),
    Case("select", lambda m, x: x.select(1, -1), [X]),
    Case("flip", lambda m, x: x.flip(0), [X]),
    Case("flip_dims", lambda m, x: m.flip(x, (0, -1)), [T(3, 4)]),
    Case("roll", lambda m, x: x.roll(1, 0), [spec(4, 3)]),
    Case("roll_multi", lambda m, x: m.roll(x, (1, -2), (0, -1)), [X]),
    Case("roll_flat", lambda m, x: x.roll(3), [spec(3, 4)]),
    Case("tril", lambda m, x: x.tril(), [spec(4, 4)]),
    Case("tril_offset", lambda m, x: m.tril(x, -1), [T(4, 3)]),
    Case("triu", lambda m, x: m.triu(x), [spec(3, 4)]),
    Case("triu_offset_batched", lambda m, x: x.triu(1), [spec(2, 3, 3)]),
    Case("diagonal", lambda m, x: x.diagonal(), [spec(3, 3)]),
    Case("diagonal_offset", lambda m, x: x.diagonal(1), [spec(3, 4)]),
    Case("diagonal_neg_offset_batched", lambda m, x: m.diagonal(x, -1, -2, -1),
         [spec(2, 4, 3)]),
    Case("diagonal_dims_reversed", lambda m, x: x.diagonal(0, 2, 0), [T(3, 2, 3)]),
    Case("view_chain", lambda m, x: x.t().reshape(2, 6).unsqueeze(0).expand(3, 2, 6).sum(0),
         [spec(4, 3)]),
]


@pytest.mark.parametrize("case,dtype", params(CASES))
def test_shape(case, dtype):
    run_case(case, dtype)
