"""The reshape gate's kernel: a view, and the gradient reshaped back."""

from __future__ import annotations

import chainrule.functional as F
from tests.compiler.equivalence import batches, compare, param


def test_reshape_forward_and_backward() -> None:
    def build():
        w = param(6, 4)
        return [w], lambda x, y: F.cross_entropy(
            F.tanh(F.linear(x, w).reshape(10, 3, 2)).reshape(10, 6), y)

    step = compare(build, batches(3, 10, 4, 6))
    assert "reshape to (10, 3, 2)" in step.source and "reshape to (10, 6)" in step.source
