"""Random numbers: one seeded global ``Generator`` (``manual_seed``), PyTorch's functions.

The streams are NumPy's PCG64, so the numbers differ from PyTorch's for the same seed, but
the same seed always gives the same numbers here.
"""
from __future__ import annotations

import json

import numpy as np

from ..autograd import engine
from ..tensor import Tensor
from .creation import _finish, _np_dtype, _size


class Generator:
    """A random number generator: ``Generator().manual_seed(0)``; pass it as ``generator=``."""

    def __init__(self, device="cpu"):
        self._seed = 67280421310721  # PyTorch's default seed
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        self.device = device

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed & 0xFFFFFFFFFFFFFFFF))
        return self

    def seed(self) -> int:
        seed = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor (JSON inside: no pickle)."""
        state = {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}
        raw = json.dumps(state).encode()
        return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, state: Tensor) -> "Generator":
        data = json.loads(bytes(state._data.astype(np.uint8)).decode())
        self._seed = data["seed"]
        self._rng = np.random.Generator(np.random.PCG64())
        self._rng.bit_generator.state = data["bit_generator"]
        return self


default_generator = Generator()


def _rng(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator)._rng


def manual_seed(seed: int) -> Generator:
    """Seed the global generator: the same seed gives the same numbers on every run."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(state: Tensor) -> None:
    default_generator.set_state(state)


def _float_dtype(dtype) -> np.dtype:
    dt = _np_dtype(dtype)
    if dt.kind != "f":
        raise RuntimeError(f"expected a floating point dtype for random floats, got {dt}")
    return dt


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1)."""
    dt = _float_dtype(dtype)
    array = _rng(generator).random(_size(size), dtype=dt if dt != np.float16 else np.float32)
    return _finish(array.astype(dt, copy=False), requires_grad, device, "rand")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal."""
    dt = _float_dtype(dtype)
    array = _rng(generator).standard_normal(_size(size),
                                            dtype=dt if dt != np.float16 else np.float32)
    return _finish(array.astype(dt, copy=False), requires_grad, device, "randn")


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers in [low, high): ``randint(10, (3,))`` or ``randint(2, 10, (3,))``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: missing the size argument, e.g. randint(10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"randint: expects 'from' ({low}) to be less than 'to' ({high})")
    array = _rng(generator).integers(low, high, _size((size,)), dtype=np.int64)
    return _finish(array.astype(_np_dtype(dtype, np.dtype(np.int64))), requires_grad, device,
                   "randint")


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    array = _rng(generator).permutation(int(n)).astype(_np_dtype(dtype, np.dtype(np.int64)))
    return _finish(array, requires_grad, device, "randperm")


def rand_like(input, *, dtype=None, generator=None, requires_grad=False) -> Tensor:
    return rand(input.shape, dtype=dtype or input.dtype, generator=generator,
                requires_grad=requires_grad)


def randn_like(input, *, dtype=None, generator=None, requires_grad=False) -> Tensor:
    return randn(input.shape, dtype=dtype or input.dtype, generator=generator,
                 requires_grad=requires_grad)


def randint_like(input, low, high=None, *, dtype=None, generator=None) -> Tensor:
    return randint(low, high, input.shape, dtype=dtype or input.dtype, generator=generator)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None) -> Tensor:
    """Normal samples; ``mean``/``std`` may be tensors (elementwise) or numbers with ``size``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        z = _rng(generator).standard_normal(shape).astype(ref._data.dtype)
        return Tensor._make((m + s * z).astype(ref._data.dtype))
    dt = _float_dtype(dtype)
    return Tensor._make((mean + std * _rng(generator).standard_normal(_size((size,))))
                        .astype(dt))


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    probs = input._data if p is None else np.full(input._data.shape, p)
    draws = _rng(generator).random(probs.shape) < probs
    return Tensor._make(draws.astype(input._data.dtype))


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Draw category indices with probabilities proportional to the rows of ``input``."""
    probs = np.asarray(input._data, dtype=np.float64)
    rows = probs.reshape(-1, probs.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or "
                           "element < 0")
    sums = rows.sum(axis=1, keepdims=True)
    if (sums <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           "without replacement")
    rng = _rng(generator)
    out = np.stack([rng.choice(rows.shape[1], size=num_samples, replace=replacement,
                               p=r / r.sum()) for r in rows])
    return Tensor._make(out.reshape(probs.shape[:-1] + (num_samples,)).astype(np.int64))


def random_fill_(self: Tensor, kind: str, a, b, generator) -> Tensor:
    """Fill ``self`` in place with random values (the ``uniform_``/``normal_``... methods)."""
    if engine.GRAD_ENABLED and self._requires_grad and self.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation. (Initialise parameters under chainrule.no_grad().)")
    rng = _rng(generator)
    shape, dt = self._data.shape, self._data.dtype
    if kind == "uniform":
        values = rng.uniform(a, b, shape)
    elif kind == "normal":
        values = rng.normal(a, b, shape)
    elif kind == "bernoulli":
        values = rng.random(shape) < a
    elif kind == "exponential":
        values = rng.exponential(1.0 / a, shape)
    elif kind == "integers":
        if b is None:
            a, b = 0, a if a else (2 ** 24 if dt.kind == "f" else np.iinfo(dt).max)
        values = rng.integers(a, b, shape)
    else:
        raise ValueError(f"random_fill_: unknown distribution {kind!r}")
    if engine.GRAD_ENABLED and self._requires_grad:
        from .inplace import copy_
        return copy_(self, Tensor._make(np.asarray(values, dtype=dt)))
    self._data[...] = values
    self._version[0] += 1
    return self


