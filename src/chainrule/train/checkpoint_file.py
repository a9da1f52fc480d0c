"""The bytes of a checkpoint: a safetensors file, read defensively.

A checkpoint is untrusted input (a file from anywhere, edited by anyone): :func:`read_file`
checks the layout byte by byte (header length, JSON header, every tensor's dtype, shape
and offsets against the file's size, with Python integers that cannot overflow) and
memory-maps the file instead of reading it whole, so a corrupt, truncated or hostile file
is refused with a :class:`CheckpointError` naming the file and what is wrong, before
anything of a size the file merely claims is allocated.

>>> metadata, tensors = read_file(Path("runs/demo/checkpoint.safetensors"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError

__all__ = ["DTYPES", "CheckpointError", "read_file", "short_repr"]

#: safetensors' dtype names <-> NumPy dtypes (the ones a checkpoint can hold).
DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16,
    "U8": np.uint8, "BOOL": np.bool_,
}
#: The longest JSON header read: chainrule's are kilobytes, and parsed JSON takes ~10x.
_MAX_HEADER = 8 * 1024 * 1024


class CheckpointError(ChainruleError, ValueError):
    """A checkpoint file that is missing, corrupt, truncated or incompatible."""


def read_file(path: Path) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """Check the safetensors layout byte by byte and return (metadata, tensors).

    The file is memory-mapped, not read whole; each tensor is copied out once its entry is
    checked against the file's size, so memory stays within the size of the tensors.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 8:
                raise CheckpointError(f"{path}: truncated: {size} bytes, too short for a "
                                      "safetensors header (8-byte length + JSON)")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as raw:
                return _parse(path, raw, size)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint here (file not found)") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder without a checkpoint file") from None


def _parse(path: Path, raw: Any, size: int) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    (header_len,) = struct.unpack("<Q", raw[:8])
    if header_len > _MAX_HEADER or 8 + header_len > size:
        raise CheckpointError(
            f"{path}: bad header: it announces a {header_len}-byte JSON header but the file has "
            f"{size} bytes (truncated, or not a safetensors file)"
        )
    try:
        header = json.loads(raw[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: bad header: the JSON header does not parse "
                              f"({type(e).__name__}: {str(e)[:80]})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: bad header: expected a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: bad header: __metadata__ must map names to strings")
    base = 8 + header_len
    available = size - base
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        try:
            dtype = np.dtype(DTYPES[info["dtype"]])
            shape = tuple(_dimension(s) for s in info["shape"])
            start, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: bad header: tensor {name!r} has an invalid "
                                  f"entry {short_repr(info)}") from None
        want = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if end > available:
            raise CheckpointError(
                f"{path}: truncated: tensor {name!r} needs bytes {start}..{end} of the data "
                f"section but only {available} are present"
            )
        if end - start != want or start < 0:
            raise CheckpointError(f"{path}: bad header: tensor {name!r} of shape {shape} "
                                  f"needs {want} bytes, the header gives {end - start}")
        tensors[name] = np.frombuffer(raw, dtype=dtype, count=want // dtype.itemsize,
                                      offset=base + start).reshape(shape).copy()
    return metadata, tensors


def _dimension(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not a dimension: {value!r}")
    return value


def short_repr(obj: Any, limit: int = 200) -> str:
    """``repr(obj)``, cut at ``limit`` characters (metadata can be huge)."""
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."
