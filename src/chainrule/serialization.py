"""Saving and loading checkpoints without pickle: ``chainrule.save`` and ``chainrule.load``.

PyTorch checkpoints are pickles, and unpickling a file from a stranger can run any code.
A chainrule checkpoint is data only: a JSON description of the object tree plus raw array
bytes, so loading never imports or calls anything unless you pass ``weights_only=False``.

File format, version 1 (all integers little-endian)::

    offset  size  field
    0       16    magic  b"\\x89CHAINRULE-CKPT\\n"  (the 0x89 and \\n catch text-mode mangling)
    16      4     uint32 format version (1)
    20      8     uint64 H, length of the header in bytes
    28      32    SHA-256 of the header bytes
    60      H     header: UTF-8 JSON (below)
    ...           zero padding up to a multiple of 64, then the data section: each array's
                  bytes in C order, little-endian, starting at a multiple of 64 (zero padded)

The header is ``{"format": "chainrule-checkpoint", "version": 1, "data_size": N,
"arrays": [{"dtype": "<f4", "shape": [2, 3], "offset": 0, "nbytes": 24, "sha256": "..."}],
"root": NODE}``, where ``offset`` counts from the start of the data section and NODE is:

    null / true / false / JSON number / JSON string    the same Python value
    [NODE, ...]                                          list
    {"$": "tuple", "items": [NODE, ...]}                 tuple
    {"$": "size", "items": [int, ...]}                   chainrule.Size (a tensor's shape)
    {"$": "dict" | "odict", "items": [[KEY, NODE], ...]} dict / OrderedDict, in order;
                                                         KEY is a str, int, float, bool or null
    {"$": "float", "value": "nan" | "inf" | "-inf"}      non-finite float (JSON has none)
    {"$": "tensor", "array": i, "requires_grad": b, "parameter": b}   chainrule Tensor
    {"$": "ndarray", "array": i}                         NumPy array
    {"$": "numpy_scalar", "array": i}                    NumPy scalar (a 0-d array's item)
    {"$": "object", "class": "pkg.module:QualName", "state": NODE}   whole object (opt-in)

A truncated, padded or tampered file fails a length check or a SHA-256 check and raises
:class:`CheckpointError` (a ``RuntimeError``) naming the file and what is wrong. The same
tensor object saved twice is stored once and loads as one object (tied weights stay tied).

Whole objects (e.g. a model) are an opt-in, as in PyTorch >= 2.6. An object is saved as
``{class path, state}`` when its class is importable by its dotted path and defines
``__chainrule_restore__(self, state)``; the state is ``obj.__chainrule_getstate__()`` where
the class defines it (``nn.Module`` does: its attributes, parameters, buffers and submodules,
so a whole model round-trips) and ``obj.state_dict()`` otherwise.
Loading creates it with ``cls.__new__(cls)`` (no constructor runs) and then calls
``obj.__chainrule_restore__(state)``. Because loading must import the class by name, it
needs ``weights_only=False`` (trust the file) or the class allow-listed with
:func:`add_safe_globals` / :func:`safe_globals`. Saving ``model.state_dict()`` and calling
``model.load_state_dict(chainrule.load(path))`` remains the recommended way.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import math
import os
import secrets
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Union

import numpy as np

__all__ = [
    "CheckpointError",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "load",
    "safe_globals",
    "save",
]

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]

MAGIC = b"\x89CHAINRULE-CKPT\n"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<16sIQ32s")  # magic, version, header length, header SHA-256
_ALIGN = 64  # array offsets are multiples of 64 so a future reader can memory-map them
_CHUNK = 1 << 24  # read at most 16 MiB at a time: a lying length cannot allocate terabytes
# Only plain numeric dtypes: an "object" dtype would let a file smuggle in Python objects.
_DTYPES = frozenset(
    ["|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8",
     "<c8", "<c16"]
)
_RESTORE_HOOK = "__chainrule_restore__"
_GETSTATE_HOOK = "__chainrule_getstate__"  # optional: what to save instead of state_dict()


class CheckpointError(RuntimeError):
    """A checkpoint file is not valid: truncated, corrupted, foreign or refused as unsafe."""


# ----------------------------------------------------------------------------- allow-list

_safe_globals: list[type] = []


def add_safe_globals(classes: Iterable[type | tuple[type, str]]) -> None:
    """Allow these classes to be loaded as whole objects even with ``weights_only=True``.

    Args:
        classes: classes (or PyTorch-style ``(cls, "module.Name")`` pairs) you trust.

    Example:
        >>> add_safe_globals([MyModel])      # doctest: +SKIP
        >>> model = chainrule.load("model.ckpt")   # doctest: +SKIP
    """
    for entry in classes:
        cls = entry[0] if isinstance(entry, tuple) else entry
        if not isinstance(cls, type):
            raise TypeError(f"add_safe_globals: expected classes, got {type(cls).__name__}")
        _safe_globals.append(cls)


def get_safe_globals() -> list[type]:
    """Return the classes currently allow-listed for ``weights_only=True`` loading."""
    return list(_safe_globals)


def clear_safe_globals() -> None:
    """Remove every class from the ``weights_only=True`` allow-list."""
    _safe_globals.clear()


@contextlib.contextmanager
def safe_globals(classes: Iterable[type | tuple[type, str]]) -> Iterator[None]:
    """Context manager: allow-list ``classes`` for loading only inside the ``with`` block.

    Example:
        >>> with safe_globals([MyModel]):            # doctest: +SKIP
        ...     model = chainrule.load("model.ckpt")
    """
    before = list(_safe_globals)
    add_safe_globals(classes)
    try:
        yield
    finally:
        _safe_globals[:] = before


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# ----------------------------------------------------------------------------- encoding


def _chainrule_types() -> tuple[Any, Any, Any]:
    """(Tensor, Parameter, Size) classes, looked up when needed: this module is imported by
    chainrule/__init__.py, so importing chainrule at module level would be circular."""
    import chainrule

    nn = getattr(chainrule, "nn", None)
    return (getattr(chainrule, "Tensor", None), getattr(nn, "Parameter", None),
            getattr(chainrule, "Size", None))


class _Encoder:
    """Turns an object tree into (JSON node, list of little-endian contiguous arrays)."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.array_index: dict[int, int] = {}  # id(tensor or ndarray) -> index in arrays
        self.keep_alive: list[Any] = []  # so ids in array_index are not reused mid-encode
        self.open_containers: set[int] = set()  # ids on the current path, to catch cycles
        self.tensor_cls, self.parameter_cls, self.size_cls = _chainrule_types()

    def add_array(self, owner: Any, array: np.ndarray) -> int:
        if id(owner) in self.array_index:
            return self.array_index[id(owner)]
        little_endian = array.dtype.newbyteorder("<")
        if little_endian.str not in _DTYPES:
            raise TypeError(f"save: arrays of dtype {array.dtype} cannot be saved; "
                            f"supported: bool, integer, float and complex dtypes")
        self.arrays.append(np.asarray(array, dtype=little_endian, order="C"))  # keeps 0-d
        self.keep_alive.append(owner)
        self.array_index[id(owner)] = len(self.arrays) - 1
        return len(self.arrays) - 1

    def key(self, key: Any) -> Any:
        if key is None or type(key) in (str, int, bool):
            return key
        if type(key) is float and math.isfinite(key):
            return key
        raise TypeError(f"save: dict keys must be str, int, float, bool or None, "
                        f"got a key of type {type(key).__qualname__}")

    def encode(self, obj: Any) -> Any:
        kind = type(obj)
        if obj is None or kind in (bool, int, str):
            return obj
        if kind is float:
            return obj if math.isfinite(obj) else {"$": "float", "value": repr(obj)}
        if self.tensor_cls is not None and isinstance(obj, self.tensor_cls):
            return self.encode_tensor(obj)
        if kind is np.ndarray:
            return {"$": "ndarray", "array": self.add_array(obj, obj)}
        if isinstance(obj, np.generic):
            return {"$": "numpy_scalar", "array": self.add_array(obj, np.asarray(obj))}
        if kind is self.size_cls:
            return {"$": "size", "items": [int(n) for n in obj]}
        if kind in (list, tuple, dict, OrderedDict):
            if id(obj) in self.open_containers:
                raise ValueError("save: the object contains a reference cycle "
                                 f"(a {kind.__name__} that contains itself)")
            self.open_containers.add(id(obj))
            try:
                if kind is list:
                    return [self.encode(item) for item in obj]
                if kind is tuple:
                    return {"$": "tuple", "items": [self.encode(item) for item in obj]}
                tag = "odict" if kind is OrderedDict else "dict"
                items = [[self.key(k), self.encode(v)] for k, v in obj.items()]
                return {"$": tag, "items": items}
            finally:
                self.open_containers.discard(id(obj))
        return self.encode_object(obj)

    def encode_tensor(self, tensor: Any) -> dict[str, Any]:
        kind = type(tensor)
        is_parameter = self.parameter_cls is not None and kind is self.parameter_cls
        if kind is not self.tensor_cls and not is_parameter:
            raise TypeError(f"save: cannot save a tensor subclass {kind.__qualname__}; "
                            f"convert it to a plain Tensor first")
        array = np.asarray(tensor.detach().numpy())  # a view; add_array copies if strided
        return {"$": "tensor", "array": self.add_array(tensor, array),
                "requires_grad": bool(tensor.requires_grad), "parameter": is_parameter}

    def encode_object(self, obj: Any) -> dict[str, Any]:
        cls = type(obj)
        name = cls.__qualname__
        getstate = getattr(obj, _GETSTATE_HOOK, None)
        if not callable(getstate) and not callable(getattr(obj, "state_dict", None)):
            raise TypeError(f"save: cannot save an object of type {cls.__module__}.{name}; "
                            f"supported: Tensor, numpy arrays, dict, OrderedDict, list, tuple, "
                            f"int, float, bool, str, None")
        if _import_class(_class_path(cls)) is not cls:
            raise TypeError(f"save: cannot save a whole {name}: its class is not importable "
                            f"as {cls.__module__}.{name}; save obj.state_dict() instead")
        if not callable(getattr(cls, _RESTORE_HOOK, None)):
            raise TypeError(f"save: cannot save a whole {name}: its class does not define "
                            f"{_RESTORE_HOOK}(self, state_dict), so it could not be rebuilt "
                            f"without its constructor; save obj.state_dict() instead")
        state = getstate() if callable(getstate) else obj.state_dict()
        return {"$": "object", "class": _class_path(cls), "state": self.encode(state)}


def _import_class(path: str) -> Any:
    """Import ``"pkg.module:Qual.Name"``; None where it does not resolve."""
    module_name, _, qualname = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return target


def _array_bytes(array: np.ndarray) -> memoryview:
    """The raw bytes of a contiguous array, without a copy (works for 0-d and empty)."""
    return memoryview(array.reshape(-1).view(np.uint8))


def _padding(position: int) -> int:
    return -position % _ALIGN


def _build_header(root: Any, arrays: list[np.ndarray]) -> bytes:
    table, offset = [], 0
    for array in arrays:
        offset += _padding(offset)
        table.append({"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset,
                      "nbytes": array.nbytes,
                      "sha256": hashlib.sha256(_array_bytes(array)).hexdigest()})
        offset += array.nbytes
    header = {"format": "chainrule-checkpoint", "version": FORMAT_VERSION,
              "data_size": offset, "arrays": table, "root": root}
    return json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _write_checkpoint(f: IO[bytes], header: bytes, arrays: list[np.ndarray]) -> None:
    f.write(_PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header), hashlib.sha256(header).digest()))
    f.write(header)
    f.write(b"\0" * _padding(_PREAMBLE.size + len(header)))
    written = 0
    for array in arrays:
        f.write(b"\0" * _padding(written))
        written += _padding(written)
        f.write(_array_bytes(array))
        written += array.nbytes


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2) -> None:
    """Save ``obj`` (tensors, arrays, nested dicts/lists/tuples, numbers, strings) to ``f``.

    Saving to a path is atomic: the bytes go to a temporary file in the same directory,
    which is flushed, fsynced and then renamed over ``f``; a crash mid-write leaves the
    previous checkpoint intact and the temporary file is removed on error.

    Args:
        obj: what to save; see the module docstring for the supported types.
        f: a path (``str`` or ``os.PathLike``) or a binary file object open for writing.
        pickle_module: accepted for PyTorch compatibility; must be None (no pickle here).
        pickle_protocol: accepted for PyTorch compatibility and ignored.

    Raises:
        TypeError: ``obj`` contains a type that cannot be saved (the message names it).

    Example:
        >>> chainrule.save({"model": model.state_dict(), "epoch": 3}, "ckpt.pt")  # doctest: +SKIP
    """
    del pickle_protocol
    if pickle_module is not None:
        raise TypeError("save: chainrule checkpoints never use pickle; pickle_module must be None")
    encoder = _Encoder()  # encode first: an unsupported type fails before any file is touched
    root = encoder.encode(obj)
    header = _build_header(root, encoder.arrays)
    if not isinstance(f, (str, os.PathLike)):
        if isinstance(f, io.TextIOBase) or not callable(getattr(f, "write", None)):
            raise TypeError(f"save: f must be a path or a binary file object, got {f!r}")
        _write_checkpoint(f, header, encoder.arrays)
        return
    path = os.path.abspath(os.fspath(f))
    directory, name = os.path.split(path)
    tmp_path = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never clobber someone else's file; mode 0o666 lets the umask decide, as open() does
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as tmp:
            _write_checkpoint(tmp, header, encoder.arrays)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); not possible or needed on Windows."""
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# ----------------------------------------------------------------------------- decoding


def _read_exact(f: IO[bytes], size: int, what: str, fail: Callable[[str], Exception]) -> bytes:
    parts, remaining = [], size
    while remaining > 0:
        part = f.read(min(remaining, _CHUNK))
        if not part:
            raise fail(f"file is truncated: {what} needs {size} bytes, only "
                       f"{size - remaining} remain")
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _read_padding(f: IO[bytes], size: int, fail: Callable[[str], Exception]) -> None:
    # Padding carries no data, but it must be zero so that every byte of the file is checked.
    if _read_exact(f, size, "padding", fail).strip(b"\0"):
        raise fail("padding bytes are not zero (the file is corrupted or was modified)")


def _read_array_into(f: IO[bytes], array: np.ndarray, what: str,
                     fail: Callable[[str], Exception]) -> None:
    target = _array_bytes(array)
    done = 0
    while done < len(target):
        chunk = target[done:done + _CHUNK]
        if hasattr(f, "readinto"):
            count = f.readinto(chunk)
        else:
            data = f.read(len(chunk))
            count = len(data)
            chunk[:count] = data
        if not count:
            raise fail(f"file is truncated: {what} needs {len(target)} bytes, only {done} remain")
        done += count


def _check_array_entry(entry: Any, index: int, expected_offset: int,
                       fail: Callable[[str], Exception]) -> np.dtype:
    if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES:
        raise fail(f"array {index} has a missing or unsupported dtype")
    dtype = np.dtype(entry["dtype"])
    shape = entry.get("shape")
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        raise fail(f"array {index} has an invalid shape {shape!r}")
    nbytes = math.prod(shape) * dtype.itemsize
    if entry.get("nbytes") != nbytes or entry.get("offset") != expected_offset:
        raise fail(f"array {index} has an inconsistent size or offset")
    return dtype


class _Decoder:
    """Turns a JSON node back into Python objects, enforcing ``weights_only``."""

    def __init__(self, arrays: list[np.ndarray], weights_only: bool, map_fn: Callable | None,
                 fail: Callable[[str], Exception]) -> None:
        self.arrays, self.weights_only, self.map_fn, self.fail = arrays, weights_only, map_fn, fail
        self.made: dict[tuple[str, int], Any] = {}  # one object per array: shared stays shared

    def array(self, node: dict[str, Any]) -> tuple[int, np.ndarray]:
        index = node.get("array")
        if type(index) is not int or not 0 <= index < len(self.arrays):
            raise self.fail(f"a {node['$']} refers to array {index!r}, which does not exist")
        return index, self.arrays[index]

    def key(self, key: Any) -> Any:
        if key is None or type(key) in (str, int, float, bool):
            return key
        raise self.fail(f"invalid dict key {key!r}")

    def decode(self, node: Any) -> Any:
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(item) for item in node]
        if type(node) is not dict:
            raise self.fail(f"unexpected {type(node).__name__} in the header")
        tag, items = node.get("$"), node.get("items")
        if tag in ("dict", "odict", "tuple") and type(items) is not list:
            raise self.fail(f"a {tag} node has no item list")
        if tag == "tuple":
            return tuple(self.decode(item) for item in items)
        if tag in ("dict", "odict"):
            if not all(type(pair) is list and len(pair) == 2 for pair in items):
                raise self.fail(f"a {tag} node has malformed items")
            pairs = ((self.key(k), self.decode(v)) for k, v in items)
            return OrderedDict(pairs) if tag == "odict" else dict(pairs)
        if tag == "size" and type(items) is list and all(type(n) is int for n in items):
            import chainrule

            return chainrule.Size(items)
        if tag == "float" and node.get("value") in ("nan", "inf", "-inf"):
            return float(node["value"])
        if tag in ("tensor", "ndarray", "numpy_scalar"):
            return self.decode_array(tag, node)
        if tag == "object":
            return self.decode_object(node)
        raise self.fail(f"unknown node {str(node)[:80]!r} in the header")

    def decode_array(self, tag: str, node: dict[str, Any]) -> Any:
        index, array = self.array(node)
        if (tag, index) in self.made:
            return self.made[(tag, index)]
        if tag == "ndarray":
            result: Any = array
        elif tag == "numpy_scalar":
            result = array[()]
        else:
            result = self.make_tensor(array, bool(node.get("requires_grad")),
                                      bool(node.get("parameter")))
        self.made[(tag, index)] = result
        return result

    def make_tensor(self, array: np.ndarray, requires_grad: bool, parameter: bool) -> Any:
        import chainrule

        tensor = chainrule.from_numpy(array)
        if parameter:
            tensor = chainrule.nn.Parameter(tensor, requires_grad=requires_grad)
        elif requires_grad and hasattr(tensor, "requires_grad_"):
            tensor.requires_grad_(True)
        elif requires_grad:
            tensor.requires_grad = True
        if self.map_fn is not None:
            mapped = self.map_fn(tensor, "cpu")
            tensor = tensor if mapped is None else mapped
        return tensor

    def decode_object(self, node: dict[str, Any]) -> Any:
        path = node.get("class")
        if type(path) is not str:
            raise self.fail("an object node has no class path")
        allowed = {_class_path(cls): cls for cls in _safe_globals}
        if path in allowed:
            cls = allowed[path]  # allow-listed: use the class object itself, import nothing
        elif self.weights_only:
            raise self.fail(
                f"Weights only load failed: the file contains a whole {path} object. Loading it "
                f"imports that class by name, so it needs weights_only=False (only if you trust "
                f"the file) or the class allow-listed with "
                f"chainrule.serialization.safe_globals([{path.rpartition(':')[2]}])")
        else:
            cls = _import_class(path)
        if not isinstance(cls, type) or not callable(getattr(cls, _RESTORE_HOOK, None)):
            raise self.fail(f"{path} is not a class with a {_RESTORE_HOOK} method; "
                            f"refusing to rebuild it")
        state = self.decode(node.get("state"))
        obj = cls.__new__(cls)  # constructor-free, like unpickling; the hook restores state
        getattr(obj, _RESTORE_HOOK)(state)
        return obj


def _map_function(map_location: Any) -> Callable | None:
    """Check ``map_location``; every saved tensor lives on the CPU, so only CPU targets work."""
    if map_location is None:
        return None
    if callable(map_location) and not isinstance(map_location, (str, dict)):
        return map_location  # PyTorch's fn(storage, location); here fn(tensor, "cpu")
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for target in targets:
        device = str(target)
        if device.split(":")[0] != "cpu":
            raise RuntimeError(f"load: map_location asks for device {device!r}, but chainrule "
                               f"runs on the CPU only; use map_location='cpu' or None")
    return None


def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = True, mmap: bool | None = None) -> Any:
    """Load an object saved with :func:`save`.

    Args:
        f: a path (``str`` or ``os.PathLike``) or a binary file object open for reading.
        map_location: None, ``"cpu"``, a CPU device, a dict of device names (values must be
            CPU), or a function ``fn(tensor, "cpu")`` returning a tensor or None. Asking for
            any other device (e.g. ``"cuda"``) raises ``RuntimeError``.
        pickle_module: accepted for PyTorch compatibility; must be None (no pickle here).
        weights_only: True (the default, as in PyTorch >= 2.6) loads only tensors, arrays
            and plain containers/numbers/strings, plus whole objects of allow-listed
            classes. False also rebuilds whole saved objects, importing their classes by
            name, which can run code: use it only for files you trust. None means True.
        mmap: accepted for PyTorch compatibility and ignored.

    Returns:
        The saved object: dict, OrderedDict, list, tuple, Tensor, ndarray, number, str, None.

    Raises:
        CheckpointError: (a RuntimeError) the file is truncated, corrupted, not a chainrule
            checkpoint, or holds an object that ``weights_only`` does not allow.

    Example:
        >>> model.load_state_dict(chainrule.load("ckpt.pt", map_location="cpu"))  # doctest: +SKIP
    """
    del mmap
    if pickle_module is not None:
        raise TypeError("load: chainrule checkpoints never use pickle; pickle_module must be None")
    map_fn = _map_function(map_location)
    weights_only = True if weights_only is None else bool(weights_only)
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(name, "rb") as stream:
            return _load_stream(stream, name, map_fn, weights_only, whole_file=True)
    if isinstance(f, io.TextIOBase) or not callable(getattr(f, "read", None)):
        raise TypeError(f"load: f must be a path or a binary file object, got {f!r}")
    name = str(getattr(f, "name", f"<{type(f).__name__}>"))
    return _load_stream(f, name, map_fn, weights_only, whole_file=False)


def _load_stream(f: IO[bytes], name: str, map_fn: Callable | None, weights_only: bool,
                 whole_file: bool) -> Any:
    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"load: {name!r} is not a valid chainrule checkpoint: {problem}")

    start = f.read(_PREAMBLE.size)
    if start[:4] == b"PK\x03\x04":
        raise fail("it looks like a PyTorch checkpoint (a zip of pickles); chainrule never "
                   "unpickles. Load it with torch.load(..., weights_only=True) and re-save the "
                   "tensors with chainrule.save")
    if start[:1] == b"\x80":
        raise fail("it looks like a pickle file; chainrule never unpickles")
    if len(start) < _PREAMBLE.size or start[:16] != MAGIC:
        raise fail("wrong magic bytes or file too short" if start else "the file is empty")
    _, version, header_size, header_sha = _PREAMBLE.unpack(start)
    if version != FORMAT_VERSION:
        raise fail(f"format version {version} is not supported (this chainrule reads version "
                   f"{FORMAT_VERSION}; the file is corrupted or from a newer chainrule)")
    header_bytes = _read_exact(f, header_size, "the header", fail)
    if hashlib.sha256(header_bytes).digest() != header_sha:
        raise fail("the header's SHA-256 does not match (the file is corrupted or was modified)")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise fail(f"the header is not valid JSON ({error})") from None
    if not isinstance(header, dict) or header.get("format") != "chainrule-checkpoint":
        raise fail("the header does not describe a chainrule checkpoint")
    table, data_size = header.get("arrays"), header.get("data_size")
    if type(table) is not list or type(data_size) is not int:
        raise fail("the header has no valid array table")
    data_start = _PREAMBLE.size + header_size + _padding(_PREAMBLE.size + header_size)

    if whole_file:  # check the length before allocating anything a lying header asks for
        expected, actual = data_start + data_size, os.fstat(f.fileno()).st_size
        if actual != expected:
            problem = "truncated" if actual < expected else "has unexpected trailing bytes"
            raise fail(f"file is {problem}: expected {expected} bytes, found {actual}")
    _read_padding(f, data_start - _PREAMBLE.size - header_size, fail)

    arrays, position = [], 0
    for index, entry in enumerate(table):
        offset = position + _padding(position)
        dtype = _check_array_entry(entry, index, offset, fail)
        _read_padding(f, offset - position, fail)
        array = np.empty(entry["shape"], dtype=dtype)
        _read_array_into(f, array, f"array {index}", fail)
        if hashlib.sha256(_array_bytes(array)).hexdigest() != entry.get("sha256"):
            raise fail(f"array {index} (dtype {dtype}, shape {tuple(array.shape)}) fails its "
                       f"SHA-256 check (the file is corrupted or was modified)")
        if not dtype.isnative:
            array = array.astype(dtype.newbyteorder("="))
        arrays.append(array)
        position = offset + array.nbytes
    if position != data_size:
        raise fail(f"the array table covers {position} bytes but data_size says {data_size}")
    try:
        return _Decoder(arrays, weights_only, map_fn, fail).decode(header.get("root"))
    except RecursionError:
        raise fail("the object tree is nested too deeply") from None
