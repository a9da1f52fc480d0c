"""Exceptions with messages that name the op, what it expected and what it got."""

from __future__ import annotations

__all__ = [
    "ChainruleError", "ConfigError", "DataError", "DeviceError", "DivergenceError",
    "ExportError", "GraphFreedError", "ShapeError",
]


class ChainruleError(Exception):
    """Base class of chainrule's own errors."""


class ShapeError(ChainruleError, RuntimeError, ValueError):
    """Operands whose shapes do not fit the op.

    A ``RuntimeError`` like PyTorch's shape errors, and a ``ValueError`` like NumPy's.
    """


class DataError(ChainruleError, ValueError):
    """A data file that is missing, corrupt or not in the expected format."""


class ConfigError(ChainruleError, ValueError):
    """A setting or command-line option with a value outside what it accepts.

    The message names the setting, the accepted values and the value given.
    """


class DivergenceError(ChainruleError, FloatingPointError):
    """Training diverged: the loss became NaN or infinite.

    The message says where (epoch, step) and what to lower (the learning rate, the
    regularization); a ``FloatingPointError`` like NumPy's own.
    """


class GraphFreedError(ChainruleError, RuntimeError):
    """A backward pass reached a node whose saved values an earlier one freed.

    Pass ``retain_graph=True`` to the earlier ``backward()`` to keep them.
    """


class DeviceError(ChainruleError, RuntimeError):
    """Tensors on different devices in one op, or a device that cannot be used here.

    The message names the op and both devices (move one with ``.to(...)``), or says
    what to install (``--device cuda`` without CuPy).
    """


class ExportError(ChainruleError, ValueError):
    """A model or run that cannot be exported (to ONNX): the message names the layer."""
