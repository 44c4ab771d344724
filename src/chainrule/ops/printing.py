"""``repr`` of tensors in PyTorch's style: ``tensor([1., 2.], requires_grad=True)``."""
from __future__ import annotations

import numpy as np

from .. import _dtype

_options = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Set how tensors print (PyTorch's ``set_printoptions``)."""
    if profile == "full":
        _options.update(threshold=np.inf)
    elif profile == "short":
        _options.update(precision=2, edgeitems=2)
    elif profile == "default":
        _options.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            _options[key] = value
    _options["sci_mode"] = sci_mode


def format_tensor(t) -> str:
    data = t._data
    prefix = "tensor("
    if data.size == 0:
        body = "[]" if data.ndim == 1 else f"[], size={tuple(data.shape)}"
    else:
        kwargs = {}
        if data.dtype.kind == "f":
            finite = data[np.isfinite(data)]
            big = finite.size and (np.abs(finite).max() >= 1e8 or
                                   0 < np.abs(finite[finite != 0]).min(initial=1) < 1e-4)
            sci = _options["sci_mode"] if _options["sci_mode"] is not None else bool(big)
            kwargs["formatter"] = {"float_kind": (lambda v: f"{v:.{_options['precision']}e}")
                                   if sci else None}
            if not sci:
                kwargs.pop("formatter")
                integral = finite.size and np.all(finite == np.round(finite))
                kwargs["precision"] = 0 if integral else _options["precision"]
                kwargs["floatmode"] = "fixed" if not integral else "unique"
        body = np.array2string(data, separator=", ", prefix=prefix,
                               threshold=_options["threshold"], edgeitems=_options["edgeitems"],
                               max_line_width=_options["linewidth"], **kwargs)
    extras = []
    default_dtypes = (_dtype.get_default_dtype().np, np.dtype(np.int64), np.dtype(np.bool_))
    if data.dtype not in default_dtypes:
        extras.append(f"dtype=chainrule.{_dtype.from_numpy_dtype(data.dtype).name}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
