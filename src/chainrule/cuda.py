"""``cr.cuda``: whether a GPU can be used, how many there are, waiting for one.

chainrule runs on an NVIDIA GPU through CuPy, an optional dependency
(``pip install 'chainrule[cuda12]'`` or ``'chainrule[cuda13]'``). Nothing here imports
CuPy until it is needed, so chainrule starts on machines without it.

>>> cr.cuda.is_available()       # False without CuPy, a driver or a GPU
False
"""

from __future__ import annotations

from typing import Any

from chainrule.devices import Device
from chainrule.errors import DeviceError

__all__ = ["INSTALL_HINT", "cupy", "current_index", "device_count", "is_available",
           "synchronize"]

#: What ``--device cuda`` on a machine without CuPy tells the user to install.
INSTALL_HINT = (
    "CuPy is not installed: pip install 'chainrule[cuda12]' (CUDA 12) or "
    "'chainrule[cuda13]' (CUDA 13), on a machine with an NVIDIA GPU"
)


def cupy() -> Any:
    """The ``cupy`` module, or a :class:`DeviceError` saying what to install."""
    try:
        import cupy
    except ImportError:
        raise DeviceError(f"cuda: {INSTALL_HINT}") from None
    return cupy


def device_count() -> int:
    """How many CUDA GPUs CuPy can use (0 without CuPy, a driver or a GPU)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no CuPy, no driver, no GPU: all mean none
        return 0


def is_available() -> bool:
    """Whether a CUDA GPU can be used (CuPy installed, a driver and a GPU present)."""
    return device_count() > 0


def current_index(device: Device) -> int:
    """The GPU number ``device`` names (plain ``'cuda'``: the current one), checked."""
    cp = cupy()
    count = device_count()
    if count == 0:
        raise DeviceError(f"{device}: CuPy is installed but no CUDA GPU (or driver) was found")
    index = cp.cuda.runtime.getDevice() if device.index is None else device.index
    if not 0 <= index < count:
        found = f"{count} CUDA GPU" + ("" if count == 1 else "s")
        raise DeviceError(f"{device}: no such GPU ({found} found)")
    return index


def synchronize(device: Any = "cuda") -> None:
    """Wait until the GPU has finished the work queued on it (GPU work is asynchronous)."""
    cp = cupy()
    with cp.cuda.Device(current_index(Device(device))):
        cp.cuda.get_current_stream().synchronize()
