"""Devices: where a tensor's data lives, named as in PyTorch (``'cpu'``, ``'cuda:0'``).

>>> cr.Device("cuda:1")
device(type='cuda', index=1)
>>> cr.tensor([1.0, 2.0]).device == "cpu"
True
"""

from __future__ import annotations

from chainrule.errors import DeviceError

__all__ = ["CPU", "Device", "is_device_name"]


class Device:
    """Where a tensor's data lives: which library holds it, and which GPU.

    ``'cpu'`` (NumPy), ``'cuda'`` or ``'cuda:N'`` (CuPy on GPU ``N``; plain ``'cuda'``
    means the current GPU), and ``'array_api_strict'`` (the array API standard's
    reference library, on the CPU: what the portability tests run on). A Device equals
    its name, so ``t.device == 'cpu'`` works.

    >>> str(Device("cpu")), Device("cuda") == "cuda"
    ('cpu', True)
    """

    __slots__ = ("index", "type")

    #: The device types chainrule runs on.
    TYPES = ("cpu", "cuda", "array_api_strict")

    def __init__(self, spec: str | Device, index: int | None = None) -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise DeviceError(f"device: expected a name like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, number = spec.strip().lower().partition(":")
        if kind not in self.TYPES or (number and (not number.isdigit() or kind != "cuda")):
            raise DeviceError(
                f"device: unknown device {spec!r}; chainrule runs on 'cpu' (NumPy), 'cuda' or "
                "'cuda:N' (CuPy on an NVIDIA GPU) and 'array_api_strict' (portability tests)"
            )
        self.type = kind
        self.index = int(number) if number else index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        tail = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{tail})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Device(other)
            except DeviceError:
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def includes(self, other: Device) -> bool:
        """Whether ``other`` is this device, or one of its kind when no index is named
        (``'cuda'`` includes ``'cuda:0'``): where ``.to(self)`` has nothing to move."""
        return self.type == other.type and (self.index is None or self.index == other.index)


#: The CPU: NumPy arrays.
CPU = Device("cpu")


def is_device_name(spec: object) -> bool:
    """Whether ``spec`` names a device (``'cuda:0'``, a Device) rather than a dtype
    (``'float64'``): how ``.to(...)`` tells its arguments apart."""
    if isinstance(spec, Device):
        return True
    return isinstance(spec, str) and spec.partition(":")[0].strip().lower() in Device.TYPES
