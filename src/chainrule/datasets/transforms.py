"""Image transforms with torchvision's names: ``Compose``, ``ToTensor``, ``Normalize``, ``Lambda``.

A transform is any callable that takes one sample and returns it changed. Datasets apply
``transform`` to each image and ``target_transform`` to each label as it is read, so the
usual torchvision pipeline works unchanged::

    from chainrule.datasets import MNIST, transforms
    to_input = transforms.Compose([
        transforms.ToTensor(),            # uint8 (28, 28) -> float32 (1, 28, 28) in [0, 1]
        transforms.Normalize((0.1307,), (0.3081,)),   # mean 0, std 1 over the training set
    ])
    train = MNIST("data", train=True, transform=to_input)

torchvision hands PIL images to transforms; chainrule has no PIL, so the image-shaped NumPy
array (``(H, W)`` or ``(H, W, C)``) takes the PIL image's place: ``ToTensor`` accepts it and
does what torchvision's ``ToTensor`` does with the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule

__all__ = ["Compose", "Lambda", "Normalize", "ToTensor"]


class Compose:
    """Chain transforms: ``Compose([f, g])(x) == g(f(x))``.

    Args:
        transforms: callables applied in order.

    Example:
        >>> from chainrule.datasets import transforms
        >>> double_then_add = transforms.Compose(
        ...     [transforms.Lambda(lambda x: 2 * x), transforms.Lambda(lambda x: x + 1)])
        >>> double_then_add(3)
        7
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: Any) -> Any:
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def __repr__(self) -> str:
        lines = "".join(f"\n    {transform}" for transform in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class ToTensor:
    """Convert an image array to a ``(C, H, W)`` tensor, scaling ``uint8`` to ``[0, 1]``.

    Exactly torchvision's rule: ``uint8`` pixels are divided by 255 into ``float32``; any other
    dtype keeps its values and dtype (only the axes move). Channels go first because
    convolutions in chainrule (as in PyTorch) expect ``(N, C, H, W)`` batches.

    Shape:
        - Input: ``(H, W)`` (grayscale, gets ``C = 1``) or ``(H, W, C)``, a NumPy array.
        - Output: ``(C, H, W)`` tensor, a fresh copy (changing it leaves the input alone).

    Example:
        >>> import numpy as np
        >>> from chainrule.datasets.transforms import ToTensor
        >>> image = np.array([[0, 255], [51, 102]], dtype=np.uint8)
        >>> tuple(ToTensor()(image).shape)
        (1, 2, 2)
    """

    def __call__(self, picture: np.ndarray) -> chainrule.Tensor:
        if isinstance(picture, chainrule.Tensor):
            raise TypeError(
                f"ToTensor: the input is already a Tensor of shape {tuple(picture.shape)}; "
                "ToTensor converts NumPy images of shape (H, W) or (H, W, C), so drop it here"
            )
        if not isinstance(picture, np.ndarray):
            raise TypeError(
                f"ToTensor: expected a NumPy array of shape (H, W) or (H, W, C), "
                f"got {type(picture).__name__}"
            )
        if picture.ndim == 2:
            picture = picture[:, :, None]
        if picture.ndim != 3:
            raise ValueError(
                f"ToTensor: expected an image of shape (H, W) or (H, W, C), got shape "
                f"{picture.shape}"
            )
        channels_first = picture.transpose(2, 0, 1)
        if channels_first.dtype == np.uint8:
            # Divide in float32 directly, as torchvision does: byte / 255 -> [0, 1].
            array = channels_first.astype(np.float32) / np.float32(255.0)
        else:
            array = np.array(channels_first)  # contiguous copy, dtype kept
        return chainrule.from_numpy(np.ascontiguousarray(array))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """Standardise each channel: ``output[c] = (input[c] - mean[c]) / std[c]``.

    Use the training set's per-channel mean and standard deviation, so inputs have mean
    about 0 and variance about 1, which keeps early-layer activations and gradients in a
    good range (e.g. MNIST: ``Normalize((0.1307,), (0.3081,))``).

    Args:
        mean: one value per channel (or one value for all channels).
        std: one value per channel (or one value for all channels); none may be zero.
        inplace: accepted for torchvision compatibility; a new tensor is always returned.

    Shape:
        - Input: ``(C, H, W)`` or ``(N, C, H, W)``, a floating-point tensor.
        - Output: same shape and dtype as the input.

    Example:
        >>> import chainrule
        >>> from chainrule.datasets.transforms import Normalize
        >>> Normalize((0.5,), (0.25,))(chainrule.ones(1, 2, 2)).tolist()
        [[[2.0, 2.0], [2.0, 2.0]]]
    """

    def __init__(
        self, mean: Sequence[float] | float, std: Sequence[float] | float, inplace: bool = False
    ) -> None:
        self.mean = tuple(float(value) for value in np.atleast_1d(mean))
        self.std = tuple(float(value) for value in np.atleast_1d(std))
        self.inplace = inplace
        if len(self.mean) != len(self.std):
            raise ValueError(
                f"Normalize: mean has {len(self.mean)} values but std has {len(self.std)}"
            )
        if any(value == 0.0 for value in self.std):
            raise ValueError(f"Normalize: std {self.std} contains zero, which would divide by zero")

    def __call__(self, tensor: chainrule.Tensor) -> chainrule.Tensor:
        if not isinstance(tensor, chainrule.Tensor):
            raise TypeError(
                f"Normalize: expected a Tensor, got {type(tensor).__name__}; "
                "put ToTensor() before Normalize in Compose"
            )
        if not tensor.dtype.is_floating_point:
            raise TypeError(
                f"Normalize: expected a floating-point tensor, got {tensor.dtype}; "
                "ToTensor() turns uint8 images into float32"
            )
        if tensor.dim() < 3:
            raise ValueError(
                f"Normalize: expected a tensor of shape (C, H, W) or (N, C, H, W), "
                f"got shape {tuple(tensor.shape)}"
            )
        channels = tensor.shape[-3]
        if len(self.mean) not in (1, channels):
            raise ValueError(
                f"Normalize: {len(self.mean)} mean/std values for a tensor with {channels} "
                f"channels (shape {tuple(tensor.shape)}); give 1 or {channels} values"
            )
        # (C, 1, 1) broadcasts over the height and width of every channel.
        mean = chainrule.tensor(self.mean, dtype=tensor.dtype).reshape(-1, 1, 1)
        std = chainrule.tensor(self.std, dtype=tensor.dtype).reshape(-1, 1, 1)
        return (tensor - mean) / std

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Wrap any function as a transform (for steps with no class of their own).

    Args:
        function: called with the sample, returns the transformed sample.

    Example:
        >>> from chainrule.datasets.transforms import Lambda
        >>> flatten = Lambda(lambda image: image.reshape(-1))   # (1, 8, 8) -> (64,) for an MLP
    """

    def __init__(self, function: Callable[[Any], Any]) -> None:
        if not callable(function):
            raise TypeError(f"Lambda: expected a callable, got {type(function).__name__}")
        self.function = function

    def __call__(self, sample: Any) -> Any:
        return self.function(sample)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
