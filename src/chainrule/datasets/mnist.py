"""MNIST and Fashion-MNIST, read from the original IDX files, with torchvision's interface.

Files live where torchvision keeps them, ``<root>/<ClassName>/raw/``, so a folder that
torchvision has already filled works here unchanged (gzipped or extracted files both work)::

    data/MNIST/raw/train-images-idx3-ubyte.gz     train-labels-idx1-ubyte.gz
                   t10k-images-idx3-ubyte.gz      t10k-labels-idx1-ubyte.gz

``download=True`` fetches the four gzipped files, checks each against its SHA-256 digest
(below) and writes it atomically. The digests were cross-checked against several independent
published manifests, some of which list each file's SHA-256 next to the MD5 that torchvision
uses (MNIST: f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...; Fashion-MNIST: 8d4fb7e6...,
25c81989..., bef4ecab..., bb300cfd...), and all agree.

Items differ from torchvision in one way only: torchvision returns PIL images, and chainrule
has no PIL. Without a ``transform`` an image comes out as a float32 tensor ``(1, 28, 28)`` in
``[0, 1]`` (what ``transforms.ToTensor()`` would make of the PIL image). With a ``transform``,
the transform receives the raw ``(28, 28)`` uint8 NumPy array in the PIL image's place, so
torchvision pipelines such as ``Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])`` run as
they are.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

import chainrule
from chainrule.utils.data import Dataset

from .download import ChecksumError, DownloadError, download_file
from .idx import IDXFormatError, read_idx
from .transforms import ToTensor

__all__ = ["MNIST", "FashionMNIST"]

_to_tensor = ToTensor()


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grayscale.

    Args:
        root: folder holding ``MNIST/raw/`` (created by ``download=True``).
        train: the training files (``train-*``) or the test files (``t10k-*``).
        transform: applied to each image, given as a ``(28, 28)`` uint8 NumPy array.
            Without one, the image is returned as a float32 tensor ``(1, 28, 28)`` in ``[0, 1]``.
        target_transform: applied to each label (a Python ``int``).
        download: fetch the files into ``root`` if they are not there yet (checked by SHA-256).

    Attributes:
        data: all images, a ``(N, 28, 28)`` uint8 tensor (as in torchvision).
        targets: all labels, a ``(N,)`` int64 tensor.
        classes: class names, index = label.

    Raises:
        RuntimeError: the files are missing and ``download`` is false (the message says
            where to put them), or a download failed (:class:`DownloadError`,
            :class:`ChecksumError`).
        IDXFormatError: a file is truncated or corrupt (the message names the file).

    Example (needs the network once, then reads the cached files)::

        from chainrule.datasets import MNIST, transforms
        to_input = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        train = MNIST("data", train=True, download=True, transform=to_input)
        image, label = train[0]          # image: (1, 28, 28) float32, label: 5
    """

    mirrors: ClassVar[list[str]] = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ]
    # (file name, SHA-256 of the gzipped file as distributed).
    resources: ClassVar[list[tuple[str, str]]] = [
        (
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    ]
    classes: ClassVar[list[str]] = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]

    def __init__(
        self,
        root: str | os.PathLike[str],
        train: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        download: bool = False,
    ) -> None:
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        self._images, self._labels = self._load()

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def data(self) -> chainrule.Tensor:
        return chainrule.from_numpy(self._images)

    @property
    def targets(self) -> chainrule.Tensor:
        return chainrule.from_numpy(self._labels)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self.classes)}

    def _split_files(self) -> tuple[str, str]:
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _find(self, stem: str) -> Path | None:
        """The gzipped or the extracted file (torchvision keeps both), whichever exists."""
        for name in (f"{stem}.gz", stem):
            candidate = Path(self.raw_folder, name)
            if candidate.is_file():
                return candidate
        return None

    def _check_exists(self) -> bool:
        return all(self._find(name.removesuffix(".gz")) is not None for name, _ in self.resources)

    def _missing_message(self, stems: list[str]) -> str:
        urls = "\n".join(f"  {self.mirrors[0]}{stem}.gz" for stem in stems)
        return (
            f"{type(self).__name__}: dataset not found in {os.path.abspath(self.raw_folder)}. "
            "Pass download=True to fetch it, or download these files yourself and put them "
            f"in that folder (gzipped or extracted):\n{urls}"
        )

    def download(self) -> None:
        """Fetch the four files into :attr:`raw_folder` unless they are all there already."""
        if self._check_exists():
            return
        for file, sha256 in self.resources:
            try:
                download_file(
                    [mirror + file for mirror in self.mirrors],
                    Path(self.raw_folder, file),
                    sha256,
                )
            except ChecksumError:
                raise
            except DownloadError as err:
                stems = [name.removesuffix(".gz") for name, _ in self.resources]
                raise DownloadError(f"{err}\n\n{self._missing_message(stems)}") from err

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        name = type(self).__name__
        image_stem, label_stem = self._split_files()
        image_path, label_path = self._find(image_stem), self._find(label_stem)
        if image_path is None or label_path is None:
            # Only this split's two files are needed, so a folder with just the test files works.
            missing = [
                stem
                for stem, path in ((image_stem, image_path), (label_stem, label_path))
                if path is None
            ]
            raise RuntimeError(self._missing_message(missing))
        images, labels = read_idx(image_path), read_idx(label_path)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise IDXFormatError(
                f"{name}: {image_path} should hold uint8 images of shape (N, H, W), "
                f"got {images.dtype} of shape {images.shape}"
            )
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise IDXFormatError(
                f"{name}: {label_path} should hold uint8 labels of shape (N,), "
                f"got {labels.dtype} of shape {labels.shape}"
            )
        if len(images) != len(labels):
            raise IDXFormatError(
                f"{name}: {image_path} has {len(images)} images but {label_path} has "
                f"{len(labels)} labels"
            )
        if labels.size and labels.max() >= len(self.classes):
            raise IDXFormatError(
                f"{name}: {label_path} contains label {int(labels.max())}, "
                f"expected 0..{len(self.classes) - 1}"
            )
        return images, labels.astype(np.int64)

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(
                f"{type(self).__name__}: index {index} is out of range for {len(self)} images"
            )
        # The (H, W) uint8 array stands where torchvision would hand over a PIL image.
        image: Any = self._images[index]
        target: Any = int(self._labels[index])
        image = self.transform(image) if self.transform is not None else _to_tensor(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return (
            f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
            f"    Root location: {self.root}\n    Split: {'Train' if self.train else 'Test'}"
        )


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando Research): 28x28 grayscale photos of 10 kinds of clothing.

    A drop-in replacement for MNIST (same sizes, same file format), but harder: a linear
    model reaches about 84% test accuracy instead of 92%. Same arguments and attributes as
    :class:`MNIST`; files live in ``<root>/FashionMNIST/raw/``. Dataset license: MIT.

    Example (needs the network once)::

        from chainrule.datasets import FashionMNIST
        test = FashionMNIST("data", train=False, download=True)
        test.classes[test[0][1]]         # 'Ankle boot'
    """

    mirrors: ClassVar[list[str]] = [
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ]
    resources: ClassVar[list[tuple[str, str]]] = [
        (
            "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    ]
    classes: ClassVar[list[str]] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
