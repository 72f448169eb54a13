"""The legacy PyTorch reader, on files written here in torch's legacy layout (no torch needed).

The writer mirrors torch's `_legacy_save`: magic number, protocol version and sys_info pickles,
the object pickled with storages as persistent ids and tensors reduced to
`torch._utils._rebuild_tensor_v2`, the sorted storage key list, then each storage as an int64
element count followed by its raw little-endian elements.
"""

from __future__ import annotations

import hashlib
import pickle
import struct
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from types import FunctionType
from typing import Any, ClassVar

import numpy as np
import pytest

from greenr.model.torch_legacy_reader import (
    LEGACY_MAGIC_NUMBER,
    LEGACY_PROTOCOL_VERSION,
    ChecksumMismatchError,
    ForbiddenGlobalError,
    TorchLegacyFormatError,
    read_state_dict,
)


class FakeFloatStorage:
    """Stands for torch.FloatStorage (pickled as the global `torch FloatStorage`)."""


class FakeLongStorage:
    """Stands for torch.LongStorage."""


class FakeDoubleStorage:
    """Stands for torch.DoubleStorage."""


def fake_rebuild_tensor_v2(*args: object) -> None:
    """Stands for torch._utils._rebuild_tensor_v2; never called, only pickled by name."""


_STORAGE_CLASSES: dict[str, type] = {
    "<f4": FakeFloatStorage,
    "<i8": FakeLongStorage,
    "<f8": FakeDoubleStorage,
}


class FakeStorage:
    """A storage: a flat array of elements under a key, optionally seen through a legacy view."""

    def __init__(
        self, key: str, data: np.ndarray[Any, Any], view: tuple[str, int, int] | None = None
    ) -> None:
        self.key = key
        self.data = np.ascontiguousarray(data.ravel())
        self.view = view


class FakeTensor:
    """Reduces exactly like a torch tensor in the legacy format."""

    def __init__(
        self, storage: FakeStorage, offset: int, shape: tuple[int, ...], stride: tuple[int, ...]
    ) -> None:
        self.args = (storage, offset, shape, stride)

    def __reduce_ex__(self, protocol: object) -> tuple[object, tuple[object, ...]]:
        storage, offset, shape, stride = self.args
        return fake_rebuild_tensor_v2, (storage, offset, shape, stride, False, OrderedDict())


class EvilReduce:
    """An object whose unpickling would call a forbidden callable."""

    def __init__(self, func: Callable[..., object], *args: object) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


class LegacyPickler(pickle._Pickler):
    """Pure-Python pickler (its `save_global` can be overridden) writing torch's names as GLOBALs.

    The C pickler insists on importing a global's module to check it; torch is not installed,
    so names such as `torch FloatStorage` are written directly as GLOBAL opcodes instead.
    """

    def __init__(self, file: Any, names: dict[object, tuple[str, str]]) -> None:
        super().__init__(file, protocol=2)
        self.names = names

    def persistent_id(self, obj: object) -> object:
        if isinstance(obj, FakeStorage):
            storage_class = _STORAGE_CLASSES[obj.data.dtype.str]
            return ("storage", storage_class, obj.key, "cpu", obj.data.size, obj.view)
        return None

    def save_global(self, obj: object, name: str | None = None) -> None:
        module, qualname = self.names[obj]
        self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode())  # type: ignore[attr-defined]
        self.memoize(obj)  # type: ignore[attr-defined]

    # The base class dispatches plain functions to its own save_global, bypassing the override.
    dispatch: ClassVar[dict[type, Callable[..., None]]] = {
        **pickle._Pickler.dispatch,
        FunctionType: save_global,
    }


DEFAULT_NAMES: dict[object, tuple[str, str]] = {
    OrderedDict: ("collections", "OrderedDict"),
    fake_rebuild_tensor_v2: ("torch._utils", "_rebuild_tensor_v2"),
    FakeFloatStorage: ("torch", "FloatStorage"),
    FakeLongStorage: ("torch", "LongStorage"),
    FakeDoubleStorage: ("torch", "DoubleStorage"),
}


def _collect_storages(obj: object) -> dict[str, FakeStorage]:
    found: dict[str, FakeStorage] = {}
    values = obj.values() if isinstance(obj, dict) else [obj]
    for value in values:
        if isinstance(value, FakeTensor):
            storage = value.args[0]
            assert isinstance(storage, FakeStorage)
            found[storage.key] = storage
    return found


def write_legacy(
    path: Path,
    obj: object,
    *,
    names: dict[object, tuple[str, str]] | None = None,
    sys_info: object = None,
) -> Path:
    """Write `obj` as torch's `_legacy_save` would (protocol 2, sorted storage keys)."""
    info = (
        sys_info
        if sys_info is not None
        else {
            "protocol_version": LEGACY_PROTOCOL_VERSION,
            "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 8},
        }
    )
    with path.open("wb") as handle:
        pickle.dump(LEGACY_MAGIC_NUMBER, handle, protocol=2)
        pickle.dump(LEGACY_PROTOCOL_VERSION, handle, protocol=2)
        pickle.dump(info, handle, protocol=2)
        LegacyPickler(handle, {**DEFAULT_NAMES, **(names or {})}).dump(obj)
        storages = _collect_storages(obj)
        keys = sorted(storages)
        pickle.dump(keys, handle, protocol=2)
        for key in keys:
            data = storages[key].data
            handle.write(struct.pack("<q", data.size))
            handle.write(data.astype(data.dtype.newbyteorder("<")).tobytes())
    return path


def _contiguous(storage: FakeStorage, shape: tuple[int, ...], offset: int = 0) -> FakeTensor:
    strides: list[int] = []
    step = 1
    for size in reversed(shape):
        strides.insert(0, step)
        step *= size
    return FakeTensor(storage, offset, shape, tuple(strides))


@pytest.fixture
def sample_state_dict() -> tuple[OrderedDict[str, object], dict[str, np.ndarray[Any, Any]]]:
    """A state dict covering the layouts torch writes, with the arrays expected back."""
    rng = np.random.default_rng(7)
    conv = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    matrix = rng.standard_normal((3, 5)).astype(np.float32)
    shared = rng.standard_normal(10).astype(np.float32)
    doubles = rng.standard_normal(6)
    sliced = rng.standard_normal(12).astype(np.float32)

    shared_storage = FakeStorage("20", shared)
    matrix_storage = FakeStorage("30", matrix)
    tensors: OrderedDict[str, object] = OrderedDict()
    tensors["conv.weight"] = _contiguous(FakeStorage("10", conv), conv.shape)
    # A transposed (non-contiguous) tensor: (5, 3) with strides (1, 5) over a (3, 5) buffer.
    tensors["linear.weight_t"] = FakeTensor(matrix_storage, 0, (5, 3), (1, 5))
    # Two tensors sharing one storage at different offsets.
    tensors["bn.weight"] = _contiguous(shared_storage, (4,), offset=0)
    tensors["bn.bias"] = _contiguous(shared_storage, (6,), offset=4)
    tensors["bn.num_batches_tracked"] = FakeTensor(
        FakeStorage("40", np.array([123], dtype=np.int64)), 0, (), ()
    )
    tensors["double.values"] = _contiguous(FakeStorage("50", doubles), (2, 3))
    tensors["empty"] = FakeTensor(FakeStorage("60", np.zeros(0, dtype=np.float32)), 0, (0, 3), (3, 1))
    # A legacy storage view: elements 4..11 of storage "70", seen as a (2, 4) tensor.
    tensors["view.weight"] = _contiguous(FakeStorage("70", sliced, view=("71", 4, 8)), (2, 4))
    # torch attaches `_metadata` to state dicts: it is pickled with a BUILD opcode.
    tensors._metadata = OrderedDict({"": {"version": 1}})  # type: ignore[attr-defined]

    expected: dict[str, np.ndarray[Any, Any]] = {
        "conv.weight": conv,
        "linear.weight_t": matrix.T,
        "bn.weight": shared[:4],
        "bn.bias": shared[4:],
        "bn.num_batches_tracked": np.array(123, dtype=np.int64),
        "double.values": doubles.reshape(2, 3),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "view.weight": sliced[4:12].reshape(2, 4),
    }
    return tensors, expected


def test_round_trip_matches_arrays(
    tmp_path: Path, sample_state_dict: tuple[OrderedDict[str, object], dict[str, np.ndarray[Any, Any]]]
) -> None:
    tensors, expected = sample_state_dict
    path = write_legacy(tmp_path / "sample.pth", tensors)

    loaded = read_state_dict(path)

    assert list(loaded) == list(expected)
    for name, array in expected.items():
        got = loaded[name]
        assert got.dtype == array.dtype, name
        assert got.shape == array.shape, name
        np.testing.assert_array_equal(got, array, err_msg=name)
        assert got.flags["C_CONTIGUOUS"], name
        assert got.flags["OWNDATA"], name


def test_checksum_is_verified(
    tmp_path: Path, sample_state_dict: tuple[OrderedDict[str, object], dict[str, np.ndarray[Any, Any]]]
) -> None:
    path = write_legacy(tmp_path / "sample.pth", sample_state_dict[0])
    good = hashlib.sha256(path.read_bytes()).hexdigest()

    assert set(read_state_dict(path, expected_sha256=good.upper())) == set(sample_state_dict[1])
    with pytest.raises(ChecksumMismatchError, match=r"sha256 of .* is"):
        read_state_dict(path, expected_sha256="0" * 64)
    with pytest.raises(ValueError, match="64 hex digits"):
        read_state_dict(path, expected_sha256="abc")


def test_checksum_mismatch_on_modified_byte(
    tmp_path: Path, sample_state_dict: tuple[OrderedDict[str, object], dict[str, np.ndarray[Any, Any]]]
) -> None:
    path = write_legacy(tmp_path / "sample.pth", sample_state_dict[0])
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # flip bits of the last float: still parses, but is not the same file
    path.write_bytes(bytes(data))

    with pytest.raises(ChecksumMismatchError):
        read_state_dict(path, expected_sha256=good)


def _marker_command(marker: Path) -> str:
    return f"touch {marker}"


def test_forbidden_global_in_state_dict_is_refused(tmp_path: Path) -> None:
    import os

    marker = tmp_path / "pwned"
    evil: OrderedDict[str, object] = OrderedDict()
    evil["weight"] = EvilReduce(os.system, _marker_command(marker))
    path = write_legacy(tmp_path / "evil.pth", evil, names={os.system: ("os", "system")})

    with pytest.raises(ForbiddenGlobalError, match=r"refusing to load global os\.system"):
        read_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("builtins", "eval"),
        ("posix", "system"),
        ("torch.nn.modules.conv", "Conv2d"),  # a whole pickled model, not a state dict
        ("torch._utils", "_rebuild_parameter"),
        ("collections", "defaultdict"),
    ],
)
def test_any_global_outside_the_allow_list_is_refused(tmp_path: Path, module: str, name: str) -> None:
    def target() -> None:
        raise AssertionError("never called")

    payload: OrderedDict[str, object] = OrderedDict()
    payload["x"] = EvilReduce(target)
    path = write_legacy(tmp_path / "evil.pth", payload, names={target: (module, name)})

    with pytest.raises(ForbiddenGlobalError, match=f"{module}.{name}"):
        read_state_dict(path)


def test_global_in_header_pickle_is_refused(tmp_path: Path) -> None:
    import os

    path = tmp_path / "evil_header.pth"
    with path.open("wb") as handle:
        pickle.dump(LEGACY_MAGIC_NUMBER, handle, protocol=2)
        pickle.dump(LEGACY_PROTOCOL_VERSION, handle, protocol=2)
        # Even allow-listed names are refused outside the main pickle.
        LegacyPickler(handle, {os.getcwd: ("collections", "OrderedDict")}).dump(EvilReduce(os.getcwd))

    with pytest.raises(ForbiddenGlobalError):
        read_state_dict(path)


def test_zip_format_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "new_format.pth"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)

    with pytest.raises(TorchLegacyFormatError, match="zip-based"):
        read_state_dict(path)


def test_wrong_magic_number(tmp_path: Path) -> None:
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps(42, protocol=2))

    with pytest.raises(TorchLegacyFormatError, match="magic number"):
        read_state_dict(path)


def test_truncated_file(
    tmp_path: Path, sample_state_dict: tuple[OrderedDict[str, object], dict[str, np.ndarray[Any, Any]]]
) -> None:
    path = write_legacy(tmp_path / "sample.pth", sample_state_dict[0])
    path.write_bytes(path.read_bytes()[:-3])

    with pytest.raises(TorchLegacyFormatError, match="file ends"):
        read_state_dict(path)


def test_tensor_reaching_past_its_storage(tmp_path: Path) -> None:
    tensors: OrderedDict[str, object] = OrderedDict()
    tensors["w"] = FakeTensor(FakeStorage("1", np.zeros(4, dtype=np.float32)), 2, (3,), (1,))
    path = write_legacy(tmp_path / "bad.pth", tensors)

    with pytest.raises(TorchLegacyFormatError, match="reaches past its storage"):
        read_state_dict(path)


def test_big_endian_files_are_refused(tmp_path: Path) -> None:
    info = {"protocol_version": LEGACY_PROTOCOL_VERSION, "little_endian": False, "type_sizes": {}}
    path = write_legacy(tmp_path / "be.pth", OrderedDict(), sys_info=info)

    with pytest.raises(TorchLegacyFormatError, match="little-endian"):
        read_state_dict(path)
