"""The 8x8 handwritten digits: a real image dataset small enough to ship inside the package.

1,797 grayscale images of the digits 0-9 (the UCI "Optical Recognition of Handwritten Digits"
test set, as scikit-learn ships it; origin and license in ``data/README.md``). Each pixel
counts the "on" pixels of a 4x4 block of a 32x32 bitmap, so raw values are integers 0..16.

The split is fixed and needs no random numbers: **every fifth image (file rows 0, 5, 10, ...)
is in the test set (360 images), the other 1,437 are the training set** (80/20). The same
split comes out on every machine and every NumPy version. It is interleaved, not "first
1,437 / last 360", because the file is ordered by writer: a contiguous tail would test only
on writers never seen in training (an MLP then scores ~92% instead of ~98%).
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable
from importlib import resources
from typing import Any, ClassVar

import numpy as np

import chainrule
from chainrule.utils.data import Dataset

__all__ = ["DIGITS_TEST_SIZE", "DIGITS_TRAIN_SIZE", "Digits", "load_digits"]

DIGITS_TRAIN_SIZE = 1437
DIGITS_TEST_SIZE = 360
_DIGITS_TOTAL = DIGITS_TRAIN_SIZE + DIGITS_TEST_SIZE
_SPLITS = ("train", "test", "all")


@functools.lru_cache(maxsize=1)
def _read_digits_file() -> tuple[np.ndarray, np.ndarray]:
    """Parse the embedded CSV once per process; callers get copies, so the cache stays clean."""
    source = resources.files("chainrule.datasets").joinpath("data", "digits.csv.gz")
    with source.open("rb") as compressed, gzip.open(compressed, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    if table.shape != (_DIGITS_TOTAL, 65):
        raise RuntimeError(
            f"load_digits: the embedded digits.csv.gz has shape {table.shape}, expected "
            f"({_DIGITS_TOTAL}, 65); the package data is damaged, reinstall chainrule"
        )
    pixels = table[:, :64].astype(np.uint8)
    labels = table[:, 64]
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as NumPy arrays, raw values, in file order (no split, no scaling).

    Returns:
        ``(X, y)``: ``X`` is ``float32`` of shape ``(1797, 64)`` with integer values 0..16
        (row-major 8x8 pixels); ``y`` is ``int64`` of shape ``(1797,)`` with labels 0..9.

    Example:
        >>> from chainrule.datasets import load_digits
        >>> X, y = load_digits()
        >>> X.shape, y.shape, float(X.max()), int(y[0])
        ((1797, 64), (1797,), 16.0, 0)
        >>> images = X.reshape(-1, 8, 8) / 16.0      # 8x8 images in [0, 1]
    """
    pixels, labels = _read_digits_file()
    return pixels.astype(np.float32), labels.copy()


class Digits(Dataset):
    """The 8x8 handwritten digits as a map-style dataset of ``(image, label)`` pairs.

    Pixels are scaled from 0..16 to ``[0, 1]`` (``float32``) and shaped ``(1, 8, 8)``, one
    channel first, so the same images feed an MLP (after a flatten) and a CNN.

    Args:
        train: the 1,437 training images (``True``) or the 360 test images (``False``).
        split: ``"train"``, ``"test"`` or ``"all"`` (all 1,797); overrides ``train`` when given.
        transform: applied to each image tensor (``(1, 8, 8)`` float32 in ``[0, 1]``, already
            a tensor, so use ``Normalize`` or ``Lambda`` here, not ``ToTensor``).
        target_transform: applied to each label (a Python ``int``).

    Attributes:
        data: all images of the split as one ``(N, 1, 8, 8)`` float32 tensor.
        targets: all labels of the split as one ``(N,)`` int64 tensor.
        classes: ``["0", "1", ..., "9"]``.

    Shape:
        - ``dataset[i]``: ``(image, label)`` with image ``(1, 8, 8)`` and label an ``int``.

    Example:
        >>> from chainrule.datasets import Digits
        >>> train, test = Digits(train=True), Digits(train=False)
        >>> len(train), len(test)
        (1437, 360)
        >>> image, label = train[0]
        >>> tuple(image.shape), label
        ((1, 8, 8), 0)

        Whole-split tensors skip the per-item Python work when the data fits in memory:

        >>> from chainrule.utils.data import TensorDataset      # doctest: +SKIP
        >>> fast = TensorDataset(train.data, train.targets)      # doctest: +SKIP
    """

    classes: ClassVar[list[str]] = [str(digit) for digit in range(10)]

    def __init__(
        self,
        train: bool = True,
        split: str | None = None,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        if split is None:
            split = "train" if train else "test"
        if split not in _SPLITS:
            raise ValueError(f"Digits: split must be one of {_SPLITS}, got {split!r}")
        self.split = split
        self.train = split == "train"
        self.transform = transform
        self.target_transform = target_transform

        pixels, labels = _read_digits_file()
        is_test = np.arange(_DIGITS_TOTAL) % 5 == 0
        rows = {"train": ~is_test, "test": is_test, "all": slice(0, _DIGITS_TOTAL)}[split]
        # Scale once here rather than per item: 0..16 counts -> [0, 1].
        self._images = (pixels[rows].astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
        self._labels = labels[rows].copy()

    @property
    def data(self) -> chainrule.Tensor:
        return chainrule.from_numpy(self._images.copy())

    @property
    def targets(self) -> chainrule.Tensor:
        return chainrule.from_numpy(self._labels.copy())

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"Digits: index {index} is out of range for {len(self)} images")
        # A copy per item, so a transform that writes in place cannot change the dataset.
        image: Any = chainrule.from_numpy(self._images[index].copy())
        target: Any = int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return (
            f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
            f"    Split: {self.split}"
        )
