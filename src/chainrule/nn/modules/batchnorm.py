"""PyTorch's module path for batch normalisation, ``torch.nn.modules.batchnorm``.

chainrule defines these layers in ``normalization.py`` (BatchNorm1d) and ``batchnorm2d.py``
(BatchNorm2d); this module gathers them under PyTorch's dotted path, so that
``from torch.nn.modules.batchnorm import BatchNorm1d, _BatchNorm`` in a script run by
``python -m chainrule.compat`` finds the same classes as ``chainrule.nn.BatchNorm1d``.
"""
from .batchnorm2d import BatchNorm2d
from .normalization import BatchNorm1d, _BatchNorm, _NormBase

__all__ = ["BatchNorm1d", "BatchNorm2d"]
_ = (_BatchNorm, _NormBase)  # re-exported for isinstance checks, as in PyTorch
