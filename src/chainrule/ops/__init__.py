"""Primitive differentiable operations and the functions built on them.

Every array computation of chainrule lives in this package (and the autograd engine): a
second array engine would be added by changing these modules only.
"""
from ._util import ShapeError, normalize_dim, normalize_dims, unbroadcast  # noqa: F401
from .comparison import *  # noqa: F401,F403
from .comparison import (allclose, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,  # noqa
                         eq, equal, ge, gt, isclose, isfinite, isinf, isnan, le, logical_and,
                         logical_not, logical_or, logical_xor, lt, ne)
from .creation import (arange, as_tensor, asarray, empty, empty_like, eye, from_numpy,  # noqa
                       full, full_like, linspace, logspace, new_empty, new_full, new_ones,
                       new_tensor, new_zeros, ones, ones_like, tensor, zeros, zeros_like)
from .elementwise import (abs, absolute, acos, acosh, add, addcdiv, addcmul, arccos,  # noqa
                          arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin, asinh, atan,
                          atan2, atanh, ceil, clamp, clip, clone, cos, cosh, deg2rad, div,
                          divide, exp, expm1, floor, floor_divide, frac, lerp, log, log1p, log2,
                          log10, logaddexp, maximum, minimum, mul, nan_to_num, neg, negative,
                          pow, rad2deg, reciprocal, relu, remainder, round, rsqrt, sigmoid,
                          sign, sin, sinh, sqrt, square, sub, tan, tanh, to_dtype, true_divide,
                          trunc, where)
from .einsum import einsum, tensordot, trace  # noqa: F401
from .function import Function  # noqa: F401
from .indexing import (argwhere, bucketize, gather, getitem, histc, index_add,  # noqa
                       index_put, index_select, masked_fill, masked_select, nonzero, scatter,
                       scatter_add, searchsorted, setitem, take, take_along_dim, unique)
from .inplace import add_, copy_, div_, fill_, inplace, mul_, pow_, sub_, zero_  # noqa: F401
from .nn_ops import erf  # noqa: F401
from .linalg import (addmm, bmm, cdist, cross, dot, ger, inner, kron, matmul, mm,  # noqa
                     mv, outer)
from .printing import format_tensor, set_printoptions  # noqa: F401
from .resize import pixel_shuffle, pixel_unshuffle  # noqa: F401
from .random import (Generator, bernoulli, default_generator, get_rng_state,  # noqa: F401
                     initial_seed, manual_seed, multinomial, normal, rand, rand_like,
                     randint, randint_like, randn, randn_like, random_fill_, randperm, seed,
                     set_rng_state)
from .reduction import (all, amax, amin, aminmax, any, argmax, argmin, argsort,  # noqa: F401
                        count_nonzero, cummax, cummin, cumprod, cumsum, kthvalue, log_softmax,
                        logsumexp, max, mean, median, min, nanmean, nansum, norm, prod, softmax,
                        sort, std, std_mean, sum, sum_to_size, topk, var, var_mean)
from .shape import (atleast_1d, atleast_2d, broadcast_tensors, broadcast_to, cat,  # noqa: F401
                    chunk, concat, concatenate, diag, diagonal, expand, flatten, flip, fliplr,
                    flipud, hstack, meshgrid, movedim, moveaxis, narrow, permute, repeat,
                    repeat_interleave, reshape, roll, select, split, squeeze, stack, swapaxes,
                    swapdims, t, tensor_split, tile, transpose, tril, triu, unbind, unflatten,
                    unsqueeze, view, vstack)


multiply = mul
subtract = sub
from .comparison import greater, greater_equal, less, less_equal, not_equal  # noqa: E402,F401


# What ``from chainrule.ops import *`` (and so ``chainrule.*``) exports: the public functions,
# not the machinery (op classes, helpers) that lives here too.
_MACHINERY = {"Function", "ShapeError", "normalize_dim", "normalize_dims", "unbroadcast",
              "inplace", "format_tensor", "random_fill_", "getitem",
              "setitem", "to_dtype", "new_empty", "new_full", "new_ones",
              "new_tensor", "new_zeros", "default_generator"}
__all__ = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and n not in _MACHINERY
                 and not isinstance(v, type(_util)))
