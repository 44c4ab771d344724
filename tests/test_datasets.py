"""Tests of chainrule.datasets: embedded data, toy sets, IDX files, MNIST loading and download.

Nothing here touches the network: IDX files are written by the tests, and downloads are
served by a fake ``urllib.request.urlopen``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import datasets
from chainrule.datasets import (
    MNIST,
    ChecksumError,
    Digits,
    DownloadError,
    FashionMNIST,
    IDXFormatError,
    read_idx,
    transforms,
    write_idx,
)


def as_array(tensor: chainrule.Tensor) -> np.ndarray:
    return np.asarray(tensor.numpy())


# ----------------------------------------------------------------------------- digits


def test_digits_split_sizes_and_item_shape():
    train, test, everything = Digits(train=True), Digits(train=False), Digits(split="all")
    assert (len(train), len(test), len(everything)) == (1437, 360, 1797)
    image, label = train[0]
    assert tuple(image.shape) == (1, 8, 8)
    assert image.dtype == chainrule.float32
    assert isinstance(label, int) and label == 1  # file rows 0, 1, 2, ...; row 0 is a test row
    assert tuple(train.data.shape) == (1437, 1, 8, 8)
    assert train.targets.dtype == chainrule.int64


def test_digits_values_scaled_to_unit_interval():
    data = as_array(Digits(split="all").data)
    assert data.dtype == np.float32
    assert data.min() == 0.0 and data.max() == 1.0
    # 0..16 counts / 16: every value is a multiple of 1/16.
    np.testing.assert_array_equal(data * 16, np.round(data * 16))


def test_digits_split_is_deterministic_and_partitions_the_data():
    first, second = Digits(train=True), Digits(train=True)
    np.testing.assert_array_equal(as_array(first.data), as_array(second.data))
    np.testing.assert_array_equal(as_array(first.targets), as_array(second.targets))
    everything = as_array(Digits(split="all").data)
    test_rows = np.arange(1797) % 5 == 0
    np.testing.assert_array_equal(as_array(first.data), everything[~test_rows])
    np.testing.assert_array_equal(as_array(Digits(train=False).data), everything[test_rows])
    # The split= argument wins over train=.
    assert len(Digits(train=True, split="test")) == 360
    for split in (first, Digits(train=False)):
        assert set(as_array(split.targets).tolist()) == set(range(10))


def test_digits_transforms_and_errors():
    dataset = Digits(
        train=False,
        transform=transforms.Lambda(lambda image: image.reshape(64)),
        target_transform=lambda label: label + 100,
    )
    image, label = dataset[-1]
    assert tuple(image.shape) == (64,) and label >= 100
    with pytest.raises(IndexError, match="out of range"):
        dataset[360]
    with pytest.raises(ValueError, match="split"):
        Digits(split="validation")


def test_load_digits_raw_arrays():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    train_rows = np.arange(1797) % 5 != 0
    np.testing.assert_array_equal(X[train_rows].reshape(-1, 1, 8, 8) / 16,
                                  as_array(Digits().data))
    X[0, 0] = 99.0  # callers get copies: the next call is unaffected
    assert datasets.load_digits()[0][0, 0] == 0


# ----------------------------------------------------------------------------- toy sets


@pytest.mark.parametrize(
    ("function", "expected"),
    [(datasets.xor, [0, 1, 1, 0]), (datasets.and_, [0, 0, 0, 1]), (datasets.or_, [0, 1, 1, 1])],
)
def test_logic_gates(function, expected):
    X, y = function()
    assert X.dtype == chainrule.float32 and y.dtype == chainrule.int64
    assert X.tolist() == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert y.tolist() == expected
    assert datasets.logic_gate("NAND")[1].tolist() == [1, 1, 1, 0]
    with pytest.raises(ValueError, match="unknown gate"):
        datasets.logic_gate("implies")


@pytest.mark.parametrize("make", [datasets.two_moons, datasets.spirals])
def test_toy_sets_are_seeded_and_ignore_global_rngs(make):
    X1, y1 = make(150, noise=0.1, seed=7)
    np.random.seed(123)
    np.random.rand(10)
    chainrule.manual_seed(99)
    X2, y2 = make(150, noise=0.1, seed=7)
    np.testing.assert_array_equal(as_array(X1), as_array(X2))
    np.testing.assert_array_equal(as_array(y1), as_array(y2))
    X3, _ = make(150, noise=0.1, seed=8)
    assert not np.array_equal(as_array(X1), as_array(X3))
    assert tuple(X1.shape) == (150, 2) and X1.dtype == chainrule.float32
    assert tuple(y1.shape) == (150,) and y1.dtype == chainrule.int64


def test_two_moons_geometry():
    X, y = datasets.two_moons(101, noise=0.0, seed=0)
    points, labels = as_array(X), as_array(y)
    assert np.bincount(labels).tolist() == [50, 51]
    upper, lower = points[labels == 0], points[labels == 1]
    # Without noise, class 0 is on the unit circle and class 1 on the shifted circle.
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert np.any(np.diff(labels) < 0)  # shuffled, so minibatches mix the classes
    with pytest.raises(ValueError, match="noise"):
        datasets.two_moons(10, noise=-1.0)


def test_spirals_classes_and_radius():
    X, y = datasets.spirals(302, classes=4, noise=0.3, seed=1)
    assert np.bincount(as_array(y)).tolist() == [76, 76, 75, 75]
    assert np.hypot(*as_array(X).T).max() <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="classes"):
        datasets.spirals(10, classes=1)


# ----------------------------------------------------------------------------- IDX files


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["array-idx", "array-idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    path = write_idx(tmp_path / name, array)
    loaded = read_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)
    loaded[0, 0, 0] = 1  # writable, native-order copy
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")


def test_idx_header_layout(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    # magic 0x00000801 (uint8, 1 dim), size 3 big-endian, then the bytes.
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    int_path = write_idx(tmp_path / "ints", np.array([[1, 256]], dtype=np.int32))
    assert int_path.read_bytes()[2:4] == bytes([0x0C, 2])
    assert int_path.read_bytes()[-8:] == bytes([0, 0, 0, 1, 0, 0, 1, 0])  # big-endian payload


def _write_raw(path: Path, content: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00", "shorter than the 4-byte magic"),
        (b"\x01\x02\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", "not an IDX file"),
        (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01" + b"\x05", "unknown dtype code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02", "header declares 3 dimensions"),
        (b"\x00\x00\x08\x02" + b"\x00\x00\x00\x02\x00\x00\x00\x03" + bytes(5), "truncated"),
        (b"\x00\x00\x08\x01" + b"\x00\x00\x00\x02" + bytes(3), "too long"),
        (b"\x00\x00\x0c\x01" + b"\x00\x00\x00\x02" + bytes(7), "need 8 payload bytes, found 7"),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_idx_corrupt_files_raise_clear_errors(tmp_path, content, message, compress):
    path = _write_raw(tmp_path / "broken-idx1-ubyte", content, compress)
    with pytest.raises(IDXFormatError, match=message) as info:
        read_idx(path)
    assert "broken-idx1-ubyte" in str(info.value)


def test_idx_damaged_gzip_and_missing_file(tmp_path):
    good = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(range(200)))
    cut = _write_raw(tmp_path / "cut.gz", good[: len(good) // 2])  # interrupted download
    with pytest.raises(IDXFormatError, match="damaged gzip") as info:
        read_idx(cut)
    assert "cut.gz" in str(info.value)
    flipped = bytearray(good)
    flipped[-6] ^= 0xFF  # inside the CRC/size trailer
    with pytest.raises(IDXFormatError, match="damaged gzip"):
        read_idx(_write_raw(tmp_path / "flipped.gz", bytes(flipped)))
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent")


def test_write_idx_rejects_unsupported_arrays(tmp_path):
    with pytest.raises(TypeError, match="no IDX code"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "x", np.array(3, dtype=np.uint8))


# ----------------------------------------------------------------------------- MNIST


def _fake_mnist_files(rng: np.random.Generator, train_count: int = 6, test_count: int = 4):
    """Gzipped IDX bytes for the four MNIST files, small but of the real layout."""
    files = {}
    for prefix, count in (("train", train_count), ("t10k", test_count)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        for kind, array, dims in (("images", images, 3), ("labels", labels, 1)):
            header = bytes([0, 0, 8, dims]) + np.asarray(array.shape, ">u4").tobytes()
            files[f"{prefix}-{kind}-idx{dims}-ubyte.gz"] = gzip.compress(header + array.tobytes())
    return files


@pytest.fixture
def mnist_root(tmp_path):
    """A root folder with fake MNIST files in MNIST/raw/, and the arrays they hold."""
    files = _fake_mnist_files(np.random.default_rng(0))
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, content in files.items():
        (raw / name).write_bytes(content)
    return tmp_path


def test_mnist_reads_idx_files_like_torchvision(mnist_root):
    raw = mnist_root / "MNIST" / "raw"
    images = read_idx(raw / "train-images-idx3-ubyte.gz")
    labels = read_idx(raw / "train-labels-idx1-ubyte.gz")
    train = MNIST(mnist_root, train=True)
    assert len(train) == 6 and len(MNIST(str(mnist_root), train=False)) == 4
    image, label = train[2]
    assert tuple(image.shape) == (1, 28, 28) and image.dtype == chainrule.float32
    np.testing.assert_allclose(as_array(image)[0], images[2] / 255.0, rtol=1e-6)
    assert isinstance(label, int) and label == int(labels[2])
    assert tuple(train.data.shape) == (6, 28, 28) and train.data.dtype == chainrule.uint8
    assert as_array(train.targets).tolist() == labels.tolist()
    assert train.classes[0] == "0 - zero" and train.class_to_idx["9 - nine"] == 9
    assert "Number of datapoints: 6" in repr(train)


def test_mnist_transform_gets_the_uint8_image(mnist_root):
    seen = []
    pipeline = transforms.Compose(
        [
            transforms.Lambda(lambda picture: seen.append(picture) or picture),
            transforms.ToTensor(),
            transforms.Normalize((0.5,), (0.25,)),
        ]
    )
    dataset = MNIST(mnist_root, transform=pipeline, target_transform=lambda t: -t)
    image, label = dataset[0]
    assert seen[0].dtype == np.uint8 and seen[0].shape == (28, 28)
    np.testing.assert_allclose(
        as_array(image)[0], (seen[0] / 255.0 - 0.5) / 0.25, rtol=1e-5, atol=1e-6
    )
    assert label <= 0


def test_mnist_accepts_extracted_files_and_fashion_folder(tmp_path):
    files = _fake_mnist_files(np.random.default_rng(1))
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, content in files.items():
        (raw / name.removesuffix(".gz")).write_bytes(gzip.decompress(content))  # as extracted
    dataset = FashionMNIST(tmp_path, train=False)
    assert len(dataset) == 4 and dataset.classes[9] == "Ankle boot"
    with pytest.raises(RuntimeError, match="not found"):
        MNIST(tmp_path)  # the MNIST folder is empty


def test_mnist_missing_and_inconsistent_files(tmp_path, mnist_root):
    with pytest.raises(RuntimeError, match="download=True") as info:
        MNIST(tmp_path / "nowhere", train=True)
    assert str(Path(tmp_path, "nowhere", "MNIST", "raw")) in str(info.value)
    assert "train-labels-idx1-ubyte.gz" in str(info.value)

    raw = mnist_root / "MNIST" / "raw"
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))  # 4 images
    with pytest.raises(IDXFormatError, match="4 images but .* 3 labels"):
        MNIST(mnist_root, train=False)
    content = (raw / "train-images-idx3-ubyte.gz").read_bytes()
    (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(gzip.decompress(content)[:-10]))
    with pytest.raises(IDXFormatError, match="train-images-idx3-ubyte.gz is truncated"):
        MNIST(mnist_root, train=True)


# ----------------------------------------------------------------------------- download


class FakeNetwork:
    """Stands in for urllib.request.urlopen: serves bytes by URL, or fails like an offline host."""

    def __init__(self, pages: dict[str, bytes]):
        self.pages = pages
        self.requested: list[str] = []

    def __call__(self, request, timeout=None):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        self.requested.append(url)
        if url not in self.pages:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return io.BytesIO(self.pages[url])


@pytest.fixture
def served_mnist(monkeypatch):
    """Fake MNIST files on the second mirror only, with MNIST's digests set to match them."""
    files = _fake_mnist_files(np.random.default_rng(2))
    digests = [(name, hashlib.sha256(content).hexdigest()) for name, content in files.items()]
    monkeypatch.setattr(MNIST, "resources", digests)
    network = FakeNetwork({MNIST.mirrors[1] + name: content for name, content in files.items()})
    monkeypatch.setattr(urllib.request, "urlopen", network)
    return files, network


def test_download_verifies_caches_and_loads(tmp_path, served_mnist):
    files, network = served_mnist
    dataset = MNIST(tmp_path, train=True, download=True)
    assert len(dataset) == 6
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(path.name for path in raw.iterdir()) == sorted(files)  # no temporary left
    assert (raw / "t10k-images-idx3-ubyte.gz").read_bytes() == files["t10k-images-idx3-ubyte.gz"]
    assert any(url.startswith(MNIST.mirrors[0]) for url in network.requested)  # mirror 1 failed
    count = len(network.requested)
    MNIST(tmp_path, train=False, download=True)
    assert len(network.requested) == count  # cached: no second download


def test_download_rejects_a_bad_checksum(tmp_path, served_mnist, monkeypatch):
    files, _ = served_mnist
    wrong = [(name, "0" * 64) for name in files]
    monkeypatch.setattr(MNIST, "resources", wrong)
    with pytest.raises(ChecksumError, match="failed its checksum") as info:
        MNIST(tmp_path, download=True)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    raw = tmp_path / "MNIST" / "raw"
    assert list(raw.iterdir()) == []  # neither the file nor a temporary is left behind


def test_download_offline_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", FakeNetwork({}))
    with pytest.raises(DownloadError, match="offline") as info:
        FashionMNIST(tmp_path, download=True)
    message = str(info.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert all(name in message for name, _ in FashionMNIST.resources)
    assert FashionMNIST.mirrors[0] in message
    assert list((tmp_path / "FashionMNIST" / "raw").iterdir()) == []


def test_download_file_skips_a_verified_file(tmp_path, monkeypatch):
    content = b"already here"
    target = tmp_path / "file.bin"
    target.write_bytes(content)
    network = FakeNetwork({})
    monkeypatch.setattr(urllib.request, "urlopen", network)
    datasets.download_file(
        "https://example.invalid/file.bin", target, hashlib.sha256(content).hexdigest()
    )
    assert network.requested == []


# ----------------------------------------------------------------------------- transforms


def test_to_tensor_matches_torchvision_rule():
    torch = pytest.importorskip("torch")
    picture = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 14  # (H, W, C)
    result = transforms.ToTensor()(picture)
    assert tuple(result.shape) == (3, 2, 3) and result.dtype == chainrule.float32
    expected = torch.from_numpy(picture).permute(2, 0, 1).float().div(255).numpy()
    np.testing.assert_array_equal(as_array(result), expected)
    gray = transforms.ToTensor()(np.array([[0, 255], [51, 102]], dtype=np.uint8))
    np.testing.assert_allclose(as_array(gray), [[[0.0, 1.0], [0.2, 0.4]]], rtol=1e-6)


def test_to_tensor_keeps_other_dtypes_and_rejects_bad_input():
    values = np.array([[0.5, 2.0]], dtype=np.float64)
    result = transforms.ToTensor()(values)
    assert result.dtype == chainrule.float64 and as_array(result).tolist() == [[[0.5, 2.0]]]
    with pytest.raises(TypeError, match="already a Tensor"):
        transforms.ToTensor()(result)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, C\)"):
        transforms.ToTensor()(np.zeros((1, 2, 3, 4), dtype=np.uint8))
    with pytest.raises(TypeError, match="NumPy array"):
        transforms.ToTensor()([[1, 2]])


def test_normalize_per_channel_numbers():
    image = chainrule.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 2, 2))
    result = transforms.Normalize((1.0, 2.0, 3.0), (0.5, 2.0, 4.0))(image)
    expected = [
        [[-2.0, 0.0], [2.0, 4.0]],  # (x - 1) / 0.5
        [[1.0, 1.5], [2.0, 2.5]],  # (x - 2) / 2
        [[1.25, 1.5], [1.75, 2.0]],  # (x - 3) / 4
    ]
    np.testing.assert_allclose(as_array(result), expected)
    assert result.dtype == chainrule.float32
    batch = chainrule.from_numpy(np.ones((2, 3, 1, 1), dtype=np.float32))
    np.testing.assert_allclose(
        as_array(transforms.Normalize(0.5, 0.5)(batch)), np.ones((2, 3, 1, 1))
    )


def test_normalize_errors():
    with pytest.raises(ValueError, match="zero"):
        transforms.Normalize((0.0,), (0.0,))
    with pytest.raises(ValueError, match="mean has 2 values but std has 1"):
        transforms.Normalize((0.0, 1.0), (1.0,))
    image = chainrule.from_numpy(np.zeros((3, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="3 channels"):
        transforms.Normalize((0.0, 0.0), (1.0, 1.0))(image)
    with pytest.raises(TypeError, match="ToTensor"):
        transforms.Normalize((0.0,), (1.0,))(np.zeros((1, 2, 2), dtype=np.float32))


def test_compose_and_lambda_apply_in_order():
    pipeline = transforms.Compose(
        [transforms.Lambda(lambda x: x * 2), transforms.Lambda(lambda x: x + 1)]
    )
    assert pipeline(3) == 7
    assert "Lambda" in repr(pipeline)
    with pytest.raises(TypeError, match="callable"):
        transforms.Lambda(3)


# ----------------------------------------------------------------------------- text


def test_shakespeare_text_is_embedded():
    text = datasets.shakespeare_text()
    assert 1_000_000 < len(text) < 1_100_000 and text.isascii()
    assert text.startswith("HAMLET, PRINCE OF DENMARK")
    assert datasets.shakespeare_text(["macbeth"]).startswith("MACBETH")
    assert "To be, or not to be" in text
    with pytest.raises(ValueError, match="unknown plays"):
        datasets.shakespeare_text(["king_arthur"])


def test_char_corpus_vocabulary_split_and_windows():
    text = datasets.shakespeare_text(["tempest"])
    corpus = datasets.CharCorpus(text, val_fraction=0.1)
    assert corpus.chars == sorted(set(text)) and corpus.vocab_size == len(set(text))
    assert corpus.decode(corpus.encode(text[:500])) == text[:500]
    train, val = as_array(corpus.train_data), as_array(corpus.val_data)
    assert len(train) + len(val) == len(text) and abs(len(val) - len(text) * 0.1) <= 1
    assert corpus.decode(val) == text[len(train) :]
    windows = corpus.sequences("train", seq_len=50)
    assert len(windows) == (len(train) - 1) // 50
    x, y = windows[3]
    assert x.dtype == chainrule.int64 and tuple(x.shape) == (50,)
    np.testing.assert_array_equal(as_array(x)[1:], as_array(y)[:-1])  # target = input shifted
    assert corpus.decode(x) == text[150:200] and corpus.decode(y) == text[151:201]
    with pytest.raises(KeyError, match="not in the vocabulary"):
        corpus.encode("\u00e9")
    with pytest.raises(ValueError, match="ids must be in"):
        corpus.decode([corpus.vocab_size])
    with pytest.raises(IndexError):
        windows[len(windows)]
