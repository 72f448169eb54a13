"""Read a PyTorch state dict saved in the legacy (pre-1.6, non-zip) format, without torch.

Why: the ImageNet weights we use ship as such a file, and installing torch (~800 MB) to read
18.8 MB of floats is not worth it. Plain `pickle.load` is not an option either: a pickle can
call any importable function, so a tampered weights file would run code. The unpickler here
resolves only the handful of globals a state dict needs, each mapped to a local stand-in that
merely records arguments, and refuses everything else before anything is called.

Layout written by `torch.save(..., _use_new_zipfile_serialization=False)` (torch's `_legacy_save`):

1. pickle: the magic number 0x1950a86a20f9469cfc6c
2. pickle: the protocol version 1001
3. pickle: sys_info dict (`little_endian`, `type_sizes`, ...)
4. pickle: the object (here an OrderedDict name -> tensor); each storage is written as a
   persistent id `("storage", storage_type, key, location, numel, view_metadata)` and each
   tensor as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
   backward_hooks)`
5. pickle: the list of storage keys, in the order their data follows
6. for each key: the element count as 8-byte little-endian int64, then the raw elements
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np

LEGACY_MAGIC_NUMBER: Final = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION: Final = 1001

# torch storage class name -> numpy dtype of its elements (little-endian, as checked in sys_info).
# BFloat16Storage is left out on purpose: numpy has no bfloat16.
_STORAGE_DTYPES: Final[dict[str, str]] = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}
_ZIP_MAGIC: Final = b"PK\x03\x04"
_SHA256_HEX_LENGTH: Final = 64


class TorchLegacyReadError(Exception):
    """Base class of everything `read_state_dict` raises about the file's content."""


class TorchLegacyFormatError(TorchLegacyReadError, ValueError):
    """The file is not a well-formed legacy PyTorch state dict."""


class ForbiddenGlobalError(TorchLegacyReadError, pickle.UnpicklingError):
    """The pickle references a global outside the small allow-list a state dict needs."""


class ChecksumMismatchError(TorchLegacyReadError, ValueError):
    """The file's sha256 differs from the expected one."""


@dataclass(frozen=True, slots=True)
class _StorageType:
    """Stand-in for a `torch.XxxStorage` class: only its element dtype matters."""

    name: str
    dtype: np.dtype[Any]


@dataclass(frozen=True, slots=True)
class _StorageRef:
    """A storage as referenced by a persistent id: a root storage, or a view into one."""

    root_key: str
    storage_type: _StorageType
    root_numel: int
    view_offset: int
    view_numel: int


@dataclass(frozen=True, slots=True)
class _TensorRef:
    """What `_rebuild_tensor_v2` would build: a strided view of a storage, resolved later."""

    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _is_int(value: object) -> bool:
    # bool is an int subclass; a True/False where a size belongs is malformed.
    return isinstance(value, int) and not isinstance(value, bool)


def _int_tuple(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(_is_int(v) and v >= 0 for v in value):
        raise TorchLegacyFormatError(f"tensor {what} must be a tuple of non-negative ints, got {value!r}")
    return value


def _rebuild_tensor_v2(
    storage: object,
    storage_offset: object,
    size: object,
    stride: object,
    requires_grad: object,
    backward_hooks: object,
    metadata: object = None,
) -> _TensorRef:
    """Local stand-in for `torch._utils._rebuild_tensor_v2`: validates and records, nothing more."""
    del requires_grad, backward_hooks, metadata  # irrelevant for plain arrays
    if not isinstance(storage, _StorageRef):
        raise TorchLegacyFormatError(f"tensor storage must come from a persistent id, got {type(storage)}")
    if not isinstance(storage_offset, int) or isinstance(storage_offset, bool) or storage_offset < 0:
        raise TorchLegacyFormatError(
            f"tensor storage offset must be a non-negative int, got {storage_offset!r}"
        )
    shape = _int_tuple(size, "size")
    strides = _int_tuple(stride, "stride")
    if len(shape) != len(strides):
        raise TorchLegacyFormatError(f"tensor size {shape} and stride {strides} differ in length")
    return _TensorRef(storage=storage, offset=storage_offset, shape=shape, stride=strides)


_STORAGE_TYPES: Final[dict[str, _StorageType]] = {
    name: _StorageType(name, np.dtype(code)) for name, code in _STORAGE_DTYPES.items()
}

# The complete allow-list: (module, name) -> local object. Anything else is refused.
_ALLOWED_GLOBALS: Final[dict[tuple[str, str], object]] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    **{("torch", name): storage_type for name, storage_type in _STORAGE_TYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only allow-listed globals and (optionally) storage persistent ids."""

    def __init__(self, file: BinaryIO, *, allow_globals: bool, allow_storages: bool) -> None:
        super().__init__(file)
        self._allow_globals = allow_globals
        self._allow_storages = allow_storages
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        # Called for every GLOBAL / STACK_GLOBAL opcode, before anything could be called.
        target = _ALLOWED_GLOBALS.get((module, name)) if self._allow_globals else None
        if target is None:
            raise ForbiddenGlobalError(
                f"refusing to load global {module}.{name}: a legacy PyTorch state dict only needs "
                f"{sorted(f'{m}.{n}' for m, n in _ALLOWED_GLOBALS)}; "
                "this file is not a plain state dict or has been tampered with"
            )
        return target

    def persistent_load(self, pid: Any) -> Any:
        if not self._allow_storages:
            raise TorchLegacyFormatError(f"unexpected persistent id {pid!r} outside the main pickle")
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise TorchLegacyFormatError(f"unsupported persistent id {pid!r} (expected a storage)")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType):
            raise TorchLegacyFormatError(f"persistent id has no storage type: {pid!r}")
        if not isinstance(key, str) or not _is_int(numel) or numel < 0:
            raise TorchLegacyFormatError(f"malformed storage persistent id {pid!r}")
        known = self.storages.get(key)
        if known is not None and (known.storage_type != storage_type or known.root_numel != numel):
            raise TorchLegacyFormatError(f"storage {key} is declared twice with different type or size")
        if view_metadata is None:
            ref = _StorageRef(key, storage_type, numel, 0, numel)
        else:
            # Old torch pickled storage slices as (view_key, offset, view_numel) into the root.
            if not (isinstance(view_metadata, tuple) and len(view_metadata) == 3):
                raise TorchLegacyFormatError(f"malformed storage view metadata {view_metadata!r}")
            _view_key, view_offset, view_numel = view_metadata
            if not (_is_int(view_offset) and _is_int(view_numel) and view_offset >= 0 and view_numel >= 0):
                raise TorchLegacyFormatError(f"malformed storage view metadata {view_metadata!r}")
            if view_offset + view_numel > numel:
                raise TorchLegacyFormatError(f"storage view {view_metadata!r} exceeds its storage of {numel}")
            ref = _StorageRef(key, storage_type, numel, view_offset, view_numel)
        self.storages.setdefault(key, _StorageRef(key, storage_type, numel, 0, numel))
        return ref


def _load_pickle(
    stream: BinaryIO, what: str, *, allow_globals: bool = False
) -> tuple[Any, dict[str, _StorageRef]]:
    unpickler = _RestrictedUnpickler(stream, allow_globals=allow_globals, allow_storages=allow_globals)
    try:
        value = unpickler.load()
    except TorchLegacyReadError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
    ) as error:
        raise TorchLegacyFormatError(f"cannot read the {what} pickle: {error}") from error
    return value, unpickler.storages


def sha256_of_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(data: bytes, expected: str, path: Path) -> None:
    expected = expected.strip().lower()
    if len(expected) != _SHA256_HEX_LENGTH or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(f"expected_sha256 must be 64 hex digits, got {expected!r}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ChecksumMismatchError(
            f"sha256 of {path} is {actual}, expected {expected}: the file is corrupt, truncated or not "
            "the one this code was written for"
        )


def _read_header(stream: BinaryIO) -> None:
    magic, _ = _load_pickle(stream, "magic number")
    if magic != LEGACY_MAGIC_NUMBER:
        raise TorchLegacyFormatError(f"wrong magic number {magic!r}: not a legacy PyTorch file")
    protocol, _ = _load_pickle(stream, "protocol version")
    if protocol != LEGACY_PROTOCOL_VERSION:
        raise TorchLegacyFormatError(f"unsupported legacy protocol version {protocol!r}")
    sys_info, _ = _load_pickle(stream, "sys_info")
    if not isinstance(sys_info, dict):
        raise TorchLegacyFormatError(f"sys_info must be a dict, got {type(sys_info)}")
    if sys_info.get("little_endian") is not True:
        raise TorchLegacyFormatError("only files written on little-endian machines are supported")


def _read_storages(stream: BinaryIO, storages: dict[str, _StorageRef]) -> dict[str, np.ndarray[Any, Any]]:
    keys, _ = _load_pickle(stream, "storage key list")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise TorchLegacyFormatError("the storage key list must be a list of strings")
    if len(set(keys)) != len(keys) or set(keys) != set(storages):
        raise TorchLegacyFormatError(
            f"the storage key list ({len(keys)} keys) does not match the {len(storages)} storages "
            "referenced by the tensors"
        )
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for key in keys:
        ref = storages[key]
        header = stream.read(8)
        if len(header) != 8:
            raise TorchLegacyFormatError(f"file ends before the data of storage {key}")
        (count,) = struct.unpack("<q", header)
        if count != ref.root_numel:
            raise TorchLegacyFormatError(
                f"storage {key} holds {count} elements, the pickle declared {ref.root_numel}"
            )
        dtype = ref.storage_type.dtype
        nbytes = count * dtype.itemsize
        raw = stream.read(nbytes)
        if len(raw) != nbytes:
            raise TorchLegacyFormatError(f"file ends inside the data of storage {key}")
        arrays[key] = np.frombuffer(raw, dtype=dtype)
    if stream.read(1):
        raise TorchLegacyFormatError("unexpected bytes after the last storage")
    return arrays


def _materialise(name: str, ref: _TensorRef, storage: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    view = storage[ref.storage.view_offset : ref.storage.view_offset + ref.storage.view_numel]
    numel = math.prod(ref.shape)  # Python ints: a crafted huge shape cannot overflow to 0
    if numel > 0:
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
        if last >= view.size:
            raise TorchLegacyFormatError(
                f"tensor {name!r} (offset {ref.offset}, size {ref.shape}, stride {ref.stride}) "
                f"reaches past its storage of {view.size} elements"
            )
    itemsize = view.dtype.itemsize
    strided = np.lib.stride_tricks.as_strided(
        view[ref.offset :] if numel > 0 else view[:0],
        shape=ref.shape,
        strides=tuple(s * itemsize for s in ref.stride),
        writeable=False,
    )
    # Copy: a contiguous array in native byte order that owns its memory (not the file buffer).
    return np.array(strided, dtype=view.dtype.newbyteorder("="), order="C", copy=True)


def parse_state_dict(data: bytes) -> dict[str, np.ndarray[Any, Any]]:
    """Parse the bytes of a legacy PyTorch state dict into name -> numpy array (no torch, no code run)."""
    if data.startswith(_ZIP_MAGIC):
        raise TorchLegacyFormatError(
            "this is a zip-based PyTorch file (the torch >= 1.6 default), "
            "not the legacy format this reader supports"
        )
    stream = io.BytesIO(data)
    _read_header(stream)
    obj, storages = _load_pickle(stream, "state dict", allow_globals=True)
    if not isinstance(obj, dict):
        raise TorchLegacyFormatError(
            f"expected a state dict (mapping name -> tensor), got {type(obj).__name__}"
        )
    for name, value in obj.items():
        if not isinstance(name, str) or not isinstance(value, _TensorRef):
            raise TorchLegacyFormatError(
                f"state dict entry {name!r} is not a named tensor ({type(value).__name__})"
            )
    arrays = _read_storages(stream, storages)
    return {name: _materialise(name, ref, arrays[ref.storage.root_key]) for name, ref in obj.items()}


def read_state_dict(
    path: str | os.PathLike[str], expected_sha256: str | None = None
) -> dict[str, np.ndarray[Any, Any]]:
    """Read a legacy (pre-1.6) PyTorch state dict file into name -> numpy array.

    With `expected_sha256`, the bytes read are checked before parsing and a mismatch raises
    ChecksumMismatchError. Unknown pickle globals raise ForbiddenGlobalError; other structural
    problems raise TorchLegacyFormatError.
    """
    file_path = Path(path)
    # One read: the checksum covers exactly the bytes that are parsed.
    data = file_path.read_bytes()
    if expected_sha256 is not None:
        _check_sha256(data, expected_sha256, file_path)
    return parse_state_dict(data)
