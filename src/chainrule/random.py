"""chainrule's random numbers: seeded generators behind ``rand``, ``randn``, layer
initialization, dropout masks and data shuffling, one per device.

The CPU draws from a NumPy generator; a GPU from CuPy's generator on that GPU, so
random numbers are made where they are used. ``cr.manual_seed`` seeds all of them
(``array_api_strict``, a CPU library, uses the CPU's generator).

>>> cr.manual_seed(0)               # the same numbers on every run from here on
>>> cr.randn(2, 3)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule import backend, cuda
from chainrule.devices import CPU, Device

__all__ = ["fork_rng", "get_rng", "get_rng_state", "manual_seed", "normal", "random",
           "set_rng_state", "standard_normal", "uniform"]

_rng = np.random.default_rng()
_seed: int | None = None
#: GPU generators by device, made on first use from the last seed.
_device_rngs: dict[Device, Any] = {}


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's random number generators (``rand``, ``randn``, init, dropout) on
    every device; returns the CPU's generator."""
    global _rng, _seed
    _rng = np.random.default_rng(seed)
    _seed = int(seed)
    _device_rngs.clear()
    return _rng


def get_rng(device: Any = None) -> Any:
    """The generator behind ``cr.rand``/``cr.randn``, init and dropout on ``device``
    (default: the CPU's NumPy generator; a GPU: CuPy's)."""
    if device is None:
        return _rng
    dev = Device(device)
    if dev.type != "cuda":
        return _rng
    if dev.index is None:
        dev = Device("cuda", cuda.current_index(dev))
    gen = _device_rngs.get(dev)
    if gen is None:
        gen = _device_rngs[dev] = backend.generator(dev, _seed)
    return gen


def _on(device: Any) -> tuple[Any, Device]:
    """The generator drawing for ``device``, and the device its numbers must go to."""
    dev = CPU if device is None else Device(device)
    return get_rng(dev), dev


def random(shape: tuple, device: Any = None) -> Any:
    """Uniform samples in [0, 1) (float64) on ``device``."""
    gen, dev = _on(device)
    return backend.to_device(gen.random(shape, dtype=np.float64), dev)


def standard_normal(shape: tuple, device: Any = None) -> Any:
    """Standard normal samples (float64) on ``device``."""
    gen, dev = _on(device)
    return backend.to_device(gen.standard_normal(shape), dev)


def uniform(shape: tuple, low: float = 0.0, high: float = 1.0, device: Any = None) -> Any:
    """Samples of ``U(low, high)`` (float64) on ``device``."""
    gen, dev = _on(device)
    if gen is _rng:
        return backend.to_device(_rng.uniform(low, high, size=shape), dev)
    return low + (high - low) * gen.random(shape, dtype=np.float64)


def normal(shape: tuple, mean: float = 0.0, std: float = 1.0, device: Any = None) -> Any:
    """Samples of ``N(mean, std^2)`` (float64) on ``device``."""
    gen, dev = _on(device)
    if gen is _rng:
        return backend.to_device(_rng.normal(mean, std, size=shape), dev)
    return mean + std * gen.standard_normal(shape, dtype=np.float64)


def get_rng_state() -> dict:
    """The CPU generator's state, to restore with :func:`set_rng_state` (checkpoints).

    GPU generators are not included: a run resumed on a GPU draws new dropout masks.
    """
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Put the CPU generator back in a state from :func:`get_rng_state`."""
    _rng.bit_generator.state = state


@contextmanager
def fork_rng(seed: int | None = None, state: dict | None = None) -> Iterator[np.random.Generator]:
    """Run a block with a generator of its own, seeded with ``seed`` or restored from
    ``state``, and put the outer one back afterwards, untouched (PyTorch's
    ``torch.random.fork_rng``): a scikit-learn ``fit`` is reproducible without changing
    the user's random numbers.

    >>> with fork_rng(seed=0) as rng:
    ...     w = cr.randn(3)        # the same three numbers on every run
    """
    global _rng
    outer = _rng
    inner: Any = np.random.default_rng(seed)
    if state is not None:
        inner.bit_generator.state = state
    _rng = inner
    try:
        yield inner
    finally:
        _rng = outer
