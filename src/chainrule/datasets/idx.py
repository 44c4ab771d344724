"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a tiny header followed by a dense array in big-endian byte order::

    bytes 0-1   0x00 0x00                 (always zero)
    byte  2     dtype code                (0x08 uint8, 0x09 int8, 0x0B int16,
                                           0x0C int32, 0x0D float32, 0x0E float64)
    byte  3     number of dimensions n
    4 * n bytes the size of each dimension, big-endian unsigned 32-bit integers
    the rest    prod(sizes) items, row-major, big-endian

The distributed MNIST files are gzipped; :func:`read_idx` recognises gzip by its magic bytes
(not by the file name), so both ``train-images-idx3-ubyte`` and ``...-ubyte.gz`` work.

Every check the reader makes turns a corrupt or truncated file into an :class:`IDXFormatError`
that names the file and says what is wrong, instead of a reshape error from deep inside NumPy.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDX_DTYPES", "IDXFormatError", "read_idx", "write_idx"]

# dtype code -> big-endian NumPy dtype, as in the format's specification (LeCun et al.).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """An IDX file is corrupt, truncated or not an IDX file at all."""


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as file:
        raw = file.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        # EOFError: the gzip stream ends early (an interrupted download);
        # BadGzipFile (an OSError) / zlib.error: damaged compressed bytes or CRC mismatch.
        raise IDXFormatError(
            f"read_idx: {path} is a damaged gzip file ({type(err).__name__}: {err}); "
            "delete it and download it again"
        ) from err


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array in native byte order.

    Args:
        path: the file to read. Gzip compression is detected from the file's first bytes.

    Returns:
        An array whose shape is the dimensions stored in the header and whose dtype is the
        header's dtype in native byte order (``uint8`` for MNIST images and labels).

    Raises:
        IDXFormatError: the file is shorter than its header, does not start with two zero
            bytes, has an unknown dtype code or zero dimensions, or its payload holds more
            or fewer bytes than the dimensions promise. The message names the file.
        FileNotFoundError: the file does not exist.

    Example:
        >>> images = read_idx("data/MNIST/raw/train-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype                                      # doctest: +SKIP
        ((60000, 28, 28), dtype('uint8'))
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXFormatError(
            f"read_idx: {path} is truncated: {len(raw)} bytes, shorter than the 4-byte magic number"
        )
    if raw[0] != 0 or raw[1] != 0:
        raise IDXFormatError(
            f"read_idx: {path} is not an IDX file: magic number starts with bytes "
            f"0x{raw[0]:02x} 0x{raw[1]:02x}, expected 0x00 0x00"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02x} ({d.name})" for c, d in IDX_DTYPES.items())
        raise IDXFormatError(
            f"read_idx: {path} has unknown dtype code 0x{code:02x}; known: {known}"
        )
    if ndim == 0:
        raise IDXFormatError(f"read_idx: {path} declares 0 dimensions, expected at least 1")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IDXFormatError(
            f"read_idx: {path} is truncated: its header declares {ndim} dimensions "
            f"({header_size} header bytes) but the file has only {len(raw)} bytes"
        )
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header_size
    if actual != expected:
        problem = "truncated" if actual < expected else "too long"
        raise IDXFormatError(
            f"read_idx: {path} is {problem}: dimensions {shape} of {dtype.name} need "
            f"{expected} payload bytes, found {actual}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    # astype copies into a writable array in native byte order (frombuffer's view is read-only).
    return data.astype(dtype.newbyteorder("="))


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None
) -> Path:
    """Write a NumPy array as an IDX file (the inverse of :func:`read_idx`).

    Useful for tests and for turning your own images into MNIST-style files.

    Args:
        path: where to write. The file is replaced atomically (temporary file, then rename).
        array: at least 1-D, of dtype uint8, int8, int16, int32, float32 or float64.
        compress: gzip the file; ``None`` (default) means "if the name ends with ``.gz``".

    Returns:
        The path written.

    Raises:
        TypeError: the dtype has no IDX code.
        ValueError: the array is 0-D, or a dimension does not fit in 32 bits.

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
        >>> _ = write_idx(path, np.array([5, 0, 4], dtype=np.uint8))
        >>> read_idx(path)
        array([5, 0, 4], dtype=uint8)
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(
            f"write_idx: dtype {array.dtype} has no IDX code; "
            "use uint8, int8, int16, int32, float32 or float64"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: IDX needs 1 to 255 dimensions, got shape {array.shape}")
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"write_idx: every dimension must be < 2**32, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    content = header + payload
    if compress if compress is not None else path.suffix == ".gz":
        # mtime=0 makes the bytes reproducible, so checksums of written files are stable.
        content = gzip.compress(content, mtime=0)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
