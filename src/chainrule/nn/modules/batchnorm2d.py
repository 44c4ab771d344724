"""``BatchNorm2d``: batch normalisation of image feature maps, one mean/variance per channel.

The statistics, running averages and the fused normalise op are the shared batch-norm core
(``_BatchNorm`` in ``normalization.py``); this layer only fixes the input rank to 4-D.
"""
from __future__ import annotations

from ...tensor import Tensor
from .normalization import _BatchNorm

__all__ = ["BatchNorm2d"]


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` input, per channel ``C``.

    Training: normalise each channel with the mean and (biased) variance over the batch and
    both spatial dims (``N*H*W`` values), then scale by ``weight`` and shift by ``bias``;
    update ``running_mean``/``running_var`` with ``momentum`` (unbiased variance).
    Evaluation (``eval()``): use the running statistics, so a single image gives the same
    answer as inside a batch.

    Args:
        num_features: C. eps: added to the variance (1e-5). momentum: running-average factor
            (0.1; None = cumulative average). affine: learn weight (init 1) and bias (init 0).
        track_running_stats: keep running statistics (True).

    Example:
        >>> bn = nn.BatchNorm2d(16)
        >>> bn(chainrule.randn(8, 16, 10, 10)).shape
        chainrule.Size([8, 16, 10, 10])
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(f"BatchNorm2d: expected 4D input (N, C, H, W), got "
                             f"{input.dim()}D input of shape {list(input.shape)}")
