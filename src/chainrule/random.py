"""chainrule's random numbers: one seeded generator behind ``rand``, ``randn``, layer
initialization, dropout masks and data shuffling.

>>> cr.manual_seed(0)               # the same numbers on every run from here on
>>> cr.randn(2, 3)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["fork_rng", "get_rng", "get_rng_state", "manual_seed", "set_rng_state"]

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's random number generator (``rand``, ``randn``, layer init, dropout)."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_rng() -> np.random.Generator:
    """The generator behind ``cr.rand``/``cr.randn``, init and dropout."""
    return _rng


def get_rng_state() -> dict:
    """The generator's state, to restore with :func:`set_rng_state` (checkpoints)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Put the generator back in a state from :func:`get_rng_state`."""
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
