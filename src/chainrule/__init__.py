"""chainrule: a deep-learning framework on NumPy with PyTorch's API, made to show its work.

    import chainrule as torch
    x = torch.randn(3, requires_grad=True)
    (x ** 2).sum().backward()      # x.grad == 2 * x
"""
from __future__ import annotations

from ._malloc import tune_malloc as _tune_malloc

_tune_malloc()  # reuse freed array memory between steps (see _malloc.py)

from . import _dtype  # noqa: E402
from ._device import device
from ._dtype import (bool_ as bool, dtype, finfo, float16, float32, float64,  # noqa
                     get_default_dtype, iinfo, int8, int16, int32, int64, set_default_dtype,
                     uint8)
from .tensor import Size, Tensor
from . import ops
from .ops import *  # noqa: F401,F403  (the functional API: chainrule.add, chainrule.cat, ...)
from .ops import (abs, all, any, default_generator, max, min, pow, round, sum)  # noqa: F401,A004
from . import autograd
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ._threads import get_num_threads, set_num_threads

float = float32  # noqa: A001 - PyTorch's aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16

__version__ = "0.1.0"


def is_tensor(obj) -> "bool":
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> "int":
    return input.numel()


def is_floating_point(input: Tensor) -> "bool":
    return input.is_floating_point()


from . import accelerator, cuda, serialization  # noqa: E402,F401
from .serialization import load, save  # noqa: E402,F401
from . import nn, optim, utils  # noqa: E402,F401  (torch.nn, torch.optim, torch.utils)
from . import onnx  # noqa: E402,F401  (torch.onnx.export)
from .autograd import grad_mode as _grad_mode  # noqa: E402,F401
from ._device import CPU as _cpu  # noqa: E402


def set_default_device(device) -> None:  # noqa: F811 - PyTorch's parameter name
    """Only the CPU exists here; anything else raises a clear error."""
    from ._device import check_device
    check_device(device, "set_default_device")


def get_default_device():
    return _cpu


# For PyTorch scripts (see docs/compat.md): legacy type names, torch.amp / torch.backends,
# compile and determinism switches, and out= on the common top-level functions.
from . import _out_arg, amp, backends  # noqa: E402,F401
from ._legacy_types import (BoolTensor, ByteTensor, CharTensor, DoubleTensor,  # noqa: E402,F401
                            FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor)
from ._script_shims import (are_deterministic_algorithms_enabled, compile,  # noqa: E402,F401
                            use_deterministic_algorithms)
from .amp import autocast  # noqa: E402,F401

_out_arg.install(globals())
