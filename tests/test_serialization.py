"""Tests for chainrule.save / chainrule.load: round-trips, corruption, safety, atomicity."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import pickle
import struct
import zipfile
from collections import OrderedDict, namedtuple
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule
from chainrule import serialization
from chainrule.serialization import CheckpointError, load, save

HAS_TENSOR = hasattr(chainrule, "Tensor") and hasattr(chainrule, "from_numpy")
needs_tensor = pytest.mark.skipif(not HAS_TENSOR, reason="chainrule.Tensor not available yet")


# ----------------------------------------------------------------------------- helpers


def roundtrip(obj, **load_kwargs):
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    return load(buffer, **load_kwargs)


def assert_same(expected, actual, where="obj"):
    """Exact structural equality: same types, same order, same dtypes/shapes/values."""
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if HAS_TENSOR and isinstance(expected, chainrule.Tensor):
        assert actual.dtype.name == expected.dtype.name, where
        assert tuple(actual.shape) == tuple(expected.shape), where
        assert actual.requires_grad == expected.requires_grad, where
        assert_same(expected.detach().numpy(), actual.detach().numpy(), where)
    elif isinstance(expected, (np.ndarray, np.generic)):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, where
        assert np.array_equal(actual, expected, equal_nan=expected.dtype.kind in "fc"), where
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys or their order differ"
        for key in expected:
            assert type(key) is type(next(k for k in actual if k == key))
            assert_same(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_same(e, a, f"{where}[{i}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual), where
    else:
        assert actual == expected, where
        if isinstance(expected, float):  # -0.0 must stay -0.0
            assert math.copysign(1, actual) == math.copysign(1, expected), where


def craft(header: dict, data: bytes = b"", version: int = 1) -> bytes:
    """Build a checkpoint by hand from the documented format (independent of save)."""
    header_bytes = json.dumps(header).encode()
    preamble = struct.pack("<16sIQ32s", b"\x89CHAINRULE-CKPT\n", version, len(header_bytes),
                           hashlib.sha256(header_bytes).digest())
    padding = b"\0" * (-(len(preamble) + len(header_bytes)) % 64)
    return preamble + header_bytes + padding + data


def crafted_header(root, arrays=(), data_size=0):
    return {"format": "chainrule-checkpoint", "version": 1, "data_size": data_size,
            "arrays": list(arrays), "root": root}


@pytest.fixture
def no_unpickling(monkeypatch):
    """Make any attempt to unpickle fail the test loudly."""
    def forbidden(*args, **kwargs):
        raise AssertionError("load tried to unpickle")
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)


# ----------------------------------------------------------------------------- round-trips

TENSOR_DTYPES = ["float32", "float64", "int64", "int32", "bool"]
SHAPES = [(), (0,), (2, 0, 3), (5,), (3, 4), (2, 3, 4)]


@needs_tensor
@pytest.mark.parametrize("dtype", TENSOR_DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_tensor_roundtrip(dtype, shape):
    rng = np.random.default_rng(0)
    values = np.asarray(rng.standard_normal(shape) * 10).astype(dtype)
    tensor = chainrule.from_numpy(values)
    loaded = roundtrip(tensor)
    assert_same(tensor, loaded)
    assert loaded.dtype == getattr(chainrule, dtype)


@needs_tensor
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_requires_grad_is_preserved(dtype):
    tensor = chainrule.tensor([[1.0, -2.0], [3.5, 0.0]], dtype=getattr(chainrule, dtype),
                              requires_grad=True)
    loaded = roundtrip({"w": tensor, "frozen": tensor.detach()})
    assert loaded["w"].requires_grad and not loaded["frozen"].requires_grad
    assert loaded["w"].is_leaf
    assert_same({"w": tensor, "frozen": tensor.detach()}, loaded)


@needs_tensor
def test_non_contiguous_tensors():
    base = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    views = {"transposed": base.transpose(2, 0, 1), "strided": base[:, ::2, 1::3],
             "reversed": base[::-1], "broadcast": np.broadcast_to(base[0, 0], (4, 5))}
    tensors = {name: chainrule.from_numpy(view) for name, view in views.items()}
    loaded = roundtrip(tensors)
    for name, view in views.items():
        np.testing.assert_array_equal(loaded[name].numpy(), view)
        assert loaded[name].is_contiguous()
        assert tuple(loaded[name].shape) == view.shape


@needs_tensor
def test_views_made_by_tensor_ops_and_non_leaf_tensors():
    x = chainrule.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    saved = {"t": x.detach().transpose(0, 1), "sliced": x.detach()[:, ::2], "y": x * 2}
    loaded = roundtrip(saved)
    assert_same(saved["t"], loaded["t"])
    assert_same(saved["sliced"], loaded["sliced"])
    assert loaded["y"].requires_grad and loaded["y"].is_leaf  # history is not saved
    np.testing.assert_array_equal(loaded["y"].detach().numpy(), np.arange(12.0).reshape(3, 4) * 2)


@pytest.mark.skipif(not hasattr(getattr(chainrule, "nn", None), "Parameter"),
                    reason="chainrule.nn.Parameter not available yet")
def test_parameter_roundtrips_as_parameter():
    weight = chainrule.nn.Parameter(chainrule.tensor([[1.0, 2.0]]))
    frozen = chainrule.nn.Parameter(chainrule.tensor([3.0]), requires_grad=False)
    loaded = roundtrip([weight, frozen])
    assert [type(p) for p in loaded] == [chainrule.nn.Parameter] * 2
    assert loaded[0].requires_grad and not loaded[1].requires_grad
    assert loaded[0].detach().numpy().tolist() == [[1.0, 2.0]]


def test_public_names():
    assert chainrule.save is save and chainrule.load is load


@needs_tensor
def test_loaded_tensor_is_independent_and_writable():
    tensor = chainrule.from_numpy(np.ones(3, dtype=np.float32))
    loaded = roundtrip(tensor)
    loaded.numpy()[0] = 5.0  # the array behind it is owned and writable, not a file buffer
    assert tensor.numpy()[0] == 1.0


@needs_tensor
def test_size_roundtrips_as_size():
    shape = chainrule.zeros(2, 3).shape
    loaded = roundtrip({"shape": shape, "plain": (2, 3)})
    assert type(loaded["shape"]) is type(shape) and loaded["shape"] == (2, 3)
    assert type(loaded["plain"]) is tuple


@needs_tensor
def test_shared_tensor_stays_shared():
    weight = chainrule.tensor([1.0, 2.0])
    loaded = roundtrip({"encoder.weight": weight, "decoder.weight": weight})
    assert loaded["encoder.weight"] is loaded["decoder.weight"]


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int16", "uint16", "int32",
                                   "uint32", "int64", "uint64", "float16", "float32",
                                   "float64", "complex64", "complex128"])
def test_numpy_array_roundtrip(dtype):
    values = (np.arange(-6, 6).reshape(3, 4) * 7).astype(dtype)
    for array in [values, values.T, values[::-1, ::3], values[0, 0].reshape(()), values[:0]]:
        assert_same(array.copy(), roundtrip(array))


def test_big_endian_array_loads_with_same_values():
    array = np.arange(5, dtype=">i4")
    loaded = roundtrip(array)
    assert loaded.dtype == np.int32 and loaded.tolist() == array.tolist()


def test_numpy_scalars():
    obj = [np.float32(1.5), np.int64(-3), np.bool_(True), np.float64("nan")]
    assert_same(obj, roundtrip(obj))


@pytest.mark.parametrize("value", [0, 1, -7, 2**100, -(2**70), 0.0, -0.0, 1.0, 1e-300,
                                   float("nan"), float("inf"), float("-inf"), True, False,
                                   "", "héllo ∂L/∂x 🐍", "\ud800", None])
def test_python_scalars(value):
    assert_same(value, roundtrip(value))


def test_nested_containers_keep_types_and_order():
    obj = {
        "z": 1, "a": [1, (2, 3), [], ()], 3: {"inner": OrderedDict([("b", 1), ("a", 2)])},
        -1: None, 2.5: "float key", True: "bool key", None: "none key",
        "odict": OrderedDict([(10, [1.0]), (2, {})]),
        "tuple": ((), ([],), {"x": (None,)}),
    }
    loaded = roundtrip(obj)
    assert_same(obj, loaded)
    assert type(loaded["odict"]) is OrderedDict and type(loaded[3]) is dict


@needs_tensor
def test_model_and_optimizer_state_dicts_roundtrip_exactly():
    rng = np.random.default_rng(1)

    def t(*shape):
        return chainrule.from_numpy(rng.standard_normal(shape).astype(np.float32))

    model_state = OrderedDict([("0.weight", t(8, 4)), ("0.bias", t(8)),
                               ("bn.running_mean", t(8)), ("bn.num_batches_tracked",
                                                           chainrule.tensor(17)),
                               ("2.weight", t(2, 8)), ("2.bias", t(2))])
    optimizer_state = {
        "state": {0: {"step": chainrule.tensor(3.0), "exp_avg": t(8, 4), "exp_avg_sq": t(8, 4)},
                  1: {"step": chainrule.tensor(3.0), "exp_avg": t(8), "exp_avg_sq": t(8)}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "maximize": False, "foreach": None,
                          "params": [0, 1, 2, 3]}],
    }
    checkpoint = {"model": model_state, "optimizer": optimizer_state, "epoch": 12,
                  "best_loss": 0.0123}
    assert_same(checkpoint, roundtrip(checkpoint))


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.builds(np.array, st.lists(st.floats(width=32), max_size=4), dtype=st.just(np.float32)),
    lambda children: st.lists(children, max_size=3)
    | st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(st.integers() | st.text(max_size=3), children, max_size=3),
    max_leaves=12))
@settings(max_examples=150, deadline=None)
def test_random_nested_structures_roundtrip(obj):
    assert_same(obj, roundtrip(obj))


# ----------------------------------------------------------------------------- files


def test_paths_and_file_objects(tmp_path):
    obj = {"x": np.arange(4.0), "n": 3}
    save(obj, tmp_path / "a.ckpt")  # PathLike
    save(obj, str(tmp_path / "b.ckpt"))  # str
    with open(tmp_path / "c.ckpt", "wb") as handle:  # file object
        save(obj, handle)
    for name in ["a.ckpt", "b.ckpt", "c.ckpt"]:
        assert_same(obj, load(tmp_path / name))
        assert_same(obj, load(str(tmp_path / name)))
        with open(tmp_path / name, "rb") as handle:
            assert_same(obj, load(handle))


def test_two_checkpoints_in_one_stream():
    buffer = io.BytesIO()
    save([1, np.ones(2)], buffer)
    save({"second": np.zeros(3)}, buffer)
    buffer.seek(0)
    assert_same([1, np.ones(2)], load(buffer))  # reads exactly one checkpoint
    assert_same({"second": np.zeros(3)}, load(buffer))


def test_format_is_as_documented():
    data = io.BytesIO()
    save({"a": np.arange(3, dtype=np.int64), "b": np.ones((2, 2), dtype=np.float32)}, data)
    raw = data.getvalue()
    magic, version, header_size, header_sha = struct.unpack("<16sIQ32s", raw[:60])
    assert magic == b"\x89CHAINRULE-CKPT\n" and version == 1
    header_bytes = raw[60:60 + header_size]
    assert hashlib.sha256(header_bytes).digest() == header_sha
    header = json.loads(header_bytes)
    data_start = 60 + header_size + (-(60 + header_size) % 64)
    assert len(raw) == data_start + header["data_size"]
    for entry in header["arrays"]:
        assert entry["offset"] % 64 == 0 and (data_start + entry["offset"]) % 64 == 0
        blob = raw[data_start + entry["offset"]:data_start + entry["offset"] + entry["nbytes"]]
        assert hashlib.sha256(blob).hexdigest() == entry["sha256"]
    first = header["arrays"][0]
    blob = raw[data_start:data_start + first["nbytes"]]
    assert np.frombuffer(blob, dtype="<i8").tolist() == [0, 1, 2]
    assert header["root"]["$"] == "dict"


def sample_checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    save({"w": np.arange(10, dtype=np.float32), 1: [np.array([True, False]), 2.5]}, buffer)
    return buffer.getvalue()


def test_truncated_file_raises_clear_error(tmp_path):
    raw = sample_checkpoint_bytes()
    path = tmp_path / "model.ckpt"
    for cut in [0, 10, 59, 60, 100, len(raw) // 2, len(raw) - 1]:
        path.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match="model.ckpt") as error:
            load(path)
        assert "truncated" in str(error.value) or "empty" in str(error.value) or cut < 60
        with pytest.raises(CheckpointError):
            load(io.BytesIO(raw[:cut]))


def test_trailing_garbage_in_file_is_rejected(tmp_path):
    path = tmp_path / "model.ckpt"
    path.write_bytes(sample_checkpoint_bytes() + b"extra")
    with pytest.raises(CheckpointError, match="trailing"):
        load(path)


def test_every_single_flipped_byte_is_detected(tmp_path):
    raw = sample_checkpoint_bytes()
    path = tmp_path / "flipped.ckpt"
    for position in range(len(raw)):
        damaged = bytearray(raw)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(CheckpointError, match="flipped.ckpt"):
            load(path)
        with pytest.raises(CheckpointError):
            load(io.BytesIO(bytes(damaged)))


def test_flipped_data_byte_names_the_array(tmp_path):
    raw = bytearray(sample_checkpoint_bytes())
    raw[-1] ^= 0xFF  # the last byte of the last array
    path = tmp_path / "m.ckpt"
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"array \d+ .*SHA-256"):
        load(path)


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "text").write_text("hello, I am not a checkpoint at all, not even close ......")
    for name in ["empty", "text"]:
        with pytest.raises(CheckpointError, match=name):
            load(tmp_path / name)


def test_newer_format_version_is_refused():
    raw = craft(crafted_header(1), version=2)
    with pytest.raises(CheckpointError, match="version 2"):
        load(io.BytesIO(raw))


def test_text_mode_file_objects_are_refused(tmp_path):
    with open(tmp_path / "t", "w") as handle, pytest.raises(TypeError, match="binary"):
        save([1], handle)
    with open(tmp_path / "t", "r") as handle, pytest.raises(TypeError, match="binary"):
        load(handle)


# ----------------------------------------------------------------------------- safety


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def test_pickle_file_is_never_unpickled(tmp_path, no_unpickling):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(str(marker)))  # pickle.dumps is not patched
    (tmp_path / "evil.pt").write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle"):
        load(tmp_path / "evil.pt", weights_only=False)
    assert not marker.exists()


def test_pytorch_style_zip_is_never_unpickled(tmp_path, no_unpickling):
    marker = tmp_path / "pwned"
    with zipfile.ZipFile(tmp_path / "evil.pt", "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(CheckpointError, match="PyTorch"):
        load(tmp_path / "evil.pt", weights_only=False)
    assert not marker.exists()


def test_pickle_bytes_inside_a_valid_container_are_never_unpickled(no_unpickling, tmp_path):
    marker = tmp_path / "pwned"
    blob = pickle.dumps(_Exploit(str(marker)))
    entry = {"dtype": "|O", "shape": [len(blob)], "offset": 0, "nbytes": len(blob),
             "sha256": hashlib.sha256(blob).hexdigest()}
    raw = craft(crafted_header({"$": "ndarray", "array": 0}, [entry], len(blob)), blob)
    with pytest.raises(CheckpointError, match="dtype"):
        load(io.BytesIO(raw), weights_only=False)
    # the same bytes declared as uint8 load as inert data
    entry["dtype"] = "|u1"
    raw = craft(crafted_header({"$": "ndarray", "array": 0}, [entry], len(blob)), blob)
    assert load(io.BytesIO(raw)).tobytes() == blob
    assert not marker.exists()


@pytest.mark.parametrize("class_path", ["os:system", "builtins:exec", "subprocess:Popen"])
def test_crafted_object_node_cannot_call_anything(class_path):
    node = {"$": "object", "class": class_path, "state": "echo pwned > /tmp/chainrule_pwned"}
    raw = craft(crafted_header(node))
    with pytest.raises(CheckpointError, match="weights_only"):
        load(io.BytesIO(raw))  # weights_only=True imports nothing
    with pytest.raises(CheckpointError, match="__chainrule_restore__"):
        load(io.BytesIO(raw), weights_only=False)


@pytest.mark.parametrize("root", [{"$": "eval", "code": "1"}, {"$": "dict", "items": [[[1], 2]]},
                                  {"$": "tensor", "array": 5}, {"a": 1}])
def test_malformed_nodes_are_rejected(root):
    with pytest.raises(CheckpointError):
        load(io.BytesIO(craft(crafted_header(root))))


def test_serialization_module_does_not_use_pickle():
    source = Path(serialization.__file__).read_text()
    assert "import pickle" not in source and "pickle." not in source


# ----------------------------------------------------------------------------- atomic writes


def test_failure_during_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    save({"version": 1, "w": np.ones(1000)}, path)
    original = path.read_bytes()

    real_write = serialization._write_checkpoint

    def crash_halfway(f, header, arrays):
        real_write(io.BytesIO(), header, arrays)
        f.write(b"partial bytes")
        raise OSError("No space left on device")

    monkeypatch.setattr(serialization, "_write_checkpoint", crash_halfway)
    with pytest.raises(OSError, match="No space"):
        save({"version": 2, "w": np.zeros(1000)}, path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.ckpt"]
    assert load(path)["version"] == 1


@pytest.mark.parametrize("failure", [OSError("fsync failed"), KeyboardInterrupt()])
def test_failure_before_rename_cleans_up(tmp_path, monkeypatch, failure):
    path = tmp_path / "model.ckpt"
    save([1], path)

    def broken_fsync(fd):
        raise failure

    monkeypatch.setattr(serialization.os, "fsync", broken_fsync)
    with pytest.raises(type(failure)):
        save([2], path)
    assert os.listdir(tmp_path) == ["model.ckpt"] and load(path) == [1]


def test_new_file_appears_only_when_complete(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(serialization.os, "replace", broken_replace)
    with pytest.raises(OSError):
        save([1], tmp_path / "new.ckpt")
    assert os.listdir(tmp_path) == []


def test_save_leaves_no_temporary_files(tmp_path):
    for step in range(3):
        save({"step": step}, tmp_path / "ckpt")
    assert os.listdir(tmp_path) == ["ckpt"] and load(tmp_path / "ckpt") == {"step": 2}


# ----------------------------------------------------------------------------- unsupported


class Plain:
    pass


Point = namedtuple("Point", "x y")


@pytest.mark.parametrize("obj, name", [
    ({1, 2}, "set"), (Plain(), "Plain"), ({"a": [object()]}, "object"), (1 + 2j, "complex"),
    (Point(1, 2), "Point"), (b"bytes", "bytes"), (np.array(["a"]), "dtype"),
    (np.array([None]), "dtype"), ({(1, 2): 3}, "tuple"),
])
def test_unsupported_types_raise_type_error_naming_them(tmp_path, obj, name):
    with pytest.raises(TypeError, match=name):
        save(obj, tmp_path / "x.ckpt")
    assert os.listdir(tmp_path) == []  # nothing written, not even a temporary file


def test_reference_cycle_is_a_clear_error():
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="cycle"):
        save(loop, io.BytesIO())


def test_repeated_container_without_cycle_is_fine():
    shared = [1, 2]
    assert roundtrip([shared, shared]) == [[1, 2], [1, 2]]


def test_pickle_module_argument_is_refused():
    with pytest.raises(TypeError, match="pickle"):
        save([1], io.BytesIO(), pickle_module=pickle)
    with pytest.raises(TypeError, match="pickle"):
        load(io.BytesIO(), pickle_module=pickle)


# ----------------------------------------------------------------------------- whole objects


class Restorable:
    """A module-like class that opts in to whole-object checkpoints."""

    init_calls = 0

    def __init__(self, size):
        Restorable.init_calls += 1
        self.weights = np.full(size, 0.5)
        self.name = "layer"

    def state_dict(self):
        return OrderedDict([("weights", self.weights), ("name", self.name)])

    def __chainrule_restore__(self, state):
        self.weights, self.name = state["weights"], state["name"]


class NoRestoreHook:
    def state_dict(self):
        return {}


def test_whole_object_needs_weights_only_false():
    model = Restorable(3)
    buffer = io.BytesIO()
    save({"model": model, "epoch": 1}, buffer)
    buffer.seek(0)
    with pytest.raises(CheckpointError, match="weights_only=False"):
        load(buffer)
    buffer.seek(0)
    calls_before = Restorable.init_calls
    loaded = load(buffer, weights_only=False)
    assert type(loaded["model"]) is Restorable and loaded["epoch"] == 1
    np.testing.assert_array_equal(loaded["model"].weights, model.weights)
    assert loaded["model"].name == "layer"
    assert Restorable.init_calls == calls_before  # rebuilt without running the constructor


def test_safe_globals_context_and_add_safe_globals():
    buffer = io.BytesIO()
    save(Restorable(2), buffer)
    raw = buffer.getvalue()
    with serialization.safe_globals([Restorable]):
        assert Restorable in serialization.get_safe_globals()
        assert type(load(io.BytesIO(raw))) is Restorable
    assert Restorable not in serialization.get_safe_globals()
    with pytest.raises(CheckpointError):
        load(io.BytesIO(raw))
    serialization.add_safe_globals([(Restorable, "test_serialization.Restorable")])
    try:
        assert type(load(io.BytesIO(raw))) is Restorable
    finally:
        serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []


def test_objects_that_cannot_be_rebuilt_are_refused_at_save():
    with pytest.raises(TypeError, match="NoRestoreHook.*__chainrule_restore__"):
        save(NoRestoreHook(), io.BytesIO())

    class Local(Restorable):
        pass

    with pytest.raises(TypeError, match="not importable"):
        save(Local(1), io.BytesIO())


# ----------------------------------------------------------------------------- load options


@pytest.mark.parametrize("map_location", [None, "cpu", "cpu:0", {"cuda:0": "cpu"},
                                          lambda storage, location: storage])
def test_cpu_map_locations_are_accepted(map_location):
    obj = {"a": np.ones(2), "b": [1]}
    assert_same(obj, roundtrip(obj, map_location=map_location))
    assert_same(obj, roundtrip(obj, map_location=map_location, weights_only=None))


@pytest.mark.parametrize("map_location", ["cuda", "cuda:1", {"cpu": "cuda:0"}, "mps"])
def test_gpu_map_locations_raise(map_location):
    with pytest.raises(RuntimeError, match="CPU only"):
        roundtrip([1], map_location=map_location)


def test_torch_devices_as_map_location():
    torch = pytest.importorskip("torch")
    assert roundtrip([1], map_location=torch.device("cpu")) == [1]
    with pytest.raises(RuntimeError, match="cuda"):
        roundtrip([1], map_location=torch.device("cuda", 0))
    if hasattr(chainrule, "device"):
        assert roundtrip([1], map_location=chainrule.device("cpu")) == [1]


@needs_tensor
def test_map_location_function_sees_each_tensor():
    seen = []

    def remember(tensor, location):
        seen.append(location)
        return tensor

    loaded = roundtrip({"a": chainrule.tensor([1.0]), "b": chainrule.tensor([2])},
                       map_location=remember)
    assert seen == ["cpu", "cpu"] and loaded["b"].numpy().tolist() == [2]


@needs_tensor
def test_values_match_pytorch_state_dict():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).state_dict()
    state = OrderedDict((name, chainrule.from_numpy(value.numpy().copy()))
                        for name, value in reference.items())
    loaded = roundtrip(state)
    assert list(loaded) == list(reference)
    for name, value in reference.items():
        restored = torch.from_numpy(np.asarray(loaded[name].numpy()))
        assert restored.dtype == value.dtype and torch.equal(restored, value), name
