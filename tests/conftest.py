"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed() -> None:
    """Every test starts from the same random state."""
    cr.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002  (tests that use the legacy global generator)


@pytest.fixture
def shared_data() -> Path:
    """The real data sets beside the project (skips when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
