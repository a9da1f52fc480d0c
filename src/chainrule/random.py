"""chainrule's random numbers: one seeded generator behind ``rand``, ``randn``, layer
initialization, dropout masks and data shuffling.

>>> cr.manual_seed(0)               # the same numbers on every run from here on
>>> cr.randn(2, 3)
"""

from __future__ import annotations

import numpy as np

__all__ = ["get_rng", "get_rng_state", "manual_seed", "set_rng_state"]

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
