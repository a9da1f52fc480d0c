"""The window geometry of the image ops (ops/_windows.py)."""

from __future__ import annotations

import pytest

from chainrule.errors import ShapeError
from chainrule.ops._windows import output_size, pair


def test_output_size_is_pytorchs_formula() -> None:
    assert output_size("op", (1, 1, 32, 32), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)) == (32, 32)
    assert output_size("op", (1, 1, 7, 7), (3, 3), (2, 2), ((0, 0), (0, 0)), (1, 1)) == (3, 3)
    assert output_size("op", (1, 1, 8, 8), (3, 3), (2, 2), ((0, 0), (0, 0)), (1, 1),
                       ceil_mode=True) == (4, 4)
    assert output_size("op", (1, 1, 5, 5), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1),
                       ceil_mode=True) == (3, 3)
    with pytest.raises(ShapeError, match=r"op: input of shape \(1, 1, 4, 4\) is too small for a "
                                         r"3x3 kernel \(padded size 4x4, window 5x5\)"):
        output_size("op", (1, 1, 4, 4), (3, 3), (1, 1), ((0, 0), (0, 0)), (2, 2))


def test_pair() -> None:
    assert pair(3, "kernel_size", "op") == (3, 3) and pair((2, 1), "stride", "op") == (2, 1)
    with pytest.raises(ValueError, match=r"op: stride must be an int or a pair of ints"):
        pair((1, 2, 3), "stride", "op")
    with pytest.raises(ValueError, match=r"op: padding must be >= 0"):
        pair(-1, "padding", "op", minimum=0)
