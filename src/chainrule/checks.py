"""Checks of the numbers settings are given: finite, in range, whole.

Optimizers, schedules and feature extractors check their settings with these.

NaN compares false with everything, so ``if lr < 0: raise`` lets ``lr = nan`` through;
these checks ask for the range the value must lie in instead, and name the owner, the
setting, the range and what came.

>>> check_real("ExponentialLR", "gamma", 0.5, low=0.0, low_open=True)
0.5
>>> check_real("ExponentialLR", "gamma", -1.0, low=0.0, low_open=True)
Traceback (most recent call last):
    ...
ValueError: ExponentialLR: gamma must be a finite number > 0, got -1.0
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_int", "check_real", "in_range"]


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def in_range(value: Any, *, low: float | None = None, high: float | None = None,
             low_open: bool = False, high_open: bool = False) -> bool:
    """Whether ``value`` is a finite real number (not a bool) within the bounds given.

    >>> in_range(float("nan"), low=0.0), in_range(0.0, low=0.0)
    (False, True)
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    return bool(ok)


def check_real(owner: str, name: str, value: Any, *, low: float | None = None,
               high: float | None = None, low_open: bool = False,
               high_open: bool = False) -> float:
    """``value`` if it is a finite real number in the range, else a ``ValueError``."""
    if not in_range(value, low=low, high=high, low_open=low_open, high_open=high_open):
        where = _range(low, high, low_open, high_open)
        raise ValueError(f"{owner}: {name} must be a finite number {where}, got {value!r}"
                         .replace(" number , got", " number, got"))
    return value


def check_int(owner: str, name: str, value: Any, *, low: int | None = None,
              high: int | None = None) -> int:
    """``value`` as an int if it is a whole number in ``[low, high]``, else a ``ValueError``."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        whole = True
    if not whole or (low is not None and value < low) or (high is not None and value > high):
        where = f" in [{low}, {high}]" if low is not None and high is not None else \
            f" >= {low}" if low is not None else f" <= {high}" if high is not None else ""
        raise ValueError(f"{owner}: {name} must be a whole number{where}, got {value!r}")
    return int(value)
