"""Read a legacy (pre-1.6, non-zip) PyTorch checkpoint into numpy arrays,
without torch.

The legacy layout is five pickles in a row, then the raw storages:
magic number, protocol version, system info, the object (its tensors refer to
storages by a persistent id), the list of storage keys in file order; then for
each key an int64 element count followed by the little-endian data.
"""
from __future__ import annotations

import pickle
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np

_MAGIC = 0x1950A86A20F9469CFC6C
_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    pass


class _Storage:
    def __init__(self, dtype):
        self.dtype = dtype
        self.data: np.ndarray | None = None


def _rebuild_tensor(storage: _Storage, offset, size, stride, *_ignored):
    return ("tensor", storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise CheckpointError(f"checkpoint refers to {module}.{name}, which this reader does not load")

    def persistent_load(self, pid):
        kind, dtype, key, _location, _numel = pid[:5]
        if kind != "storage":
            raise CheckpointError(f"unknown persistent id {kind!r}")
        return self.storages.setdefault(key, _Storage(dtype))


class _PlainUnpickler(pickle.Unpickler):
    """The header pickles hold plain values only (numbers, strings, lists,
    dicts): any class or function in them is refused, never imported."""

    def find_class(self, module, name):
        raise CheckpointError(f"checkpoint header refers to {module}.{name}; a header holds plain values only")


def _plain(f):
    return _PlainUnpickler(f).load()


def load_legacy_checkpoint(path: str | Path) -> "OrderedDict[str, np.ndarray]":
    """The checkpoint's state dict as name -> float/int numpy array."""
    path = Path(path)
    with path.open("rb") as f:
        if _plain(f) != _MAGIC:
            raise CheckpointError(f"{path}: not a legacy PyTorch checkpoint (bad magic number)")
        if _plain(f) != _PROTOCOL:
            raise CheckpointError(f"{path}: unsupported PyTorch protocol version")
        info = _plain(f)
        if not isinstance(info, dict) or not info.get("little_endian", True):
            raise CheckpointError(f"{path}: big-endian checkpoints are not supported")
        storages: dict = {}
        obj = _Unpickler(f, storages).load()
        keys = _plain(f)
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            storage = storages[key]
            nbytes = count * np.dtype(storage.dtype).itemsize
            storage.data = np.frombuffer(f.read(nbytes), dtype=storage.dtype, count=count)
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for name, value in obj.items():
        if not (isinstance(value, tuple) and value and value[0] == "tensor"):
            continue
        _, storage, offset, size, stride = value
        itemsize = storage.data.itemsize
        arr = np.lib.stride_tricks.as_strided(
            storage.data[offset:], shape=size, strides=[s * itemsize for s in stride])
        out[name] = np.array(arr)  # own the memory, C order
    return out
