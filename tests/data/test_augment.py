"""random_crop_flip: crops of the zero-padded images, mirrored at random, one gather."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data.augment import random_crop_flip
from chainrule.errors import DataError


def test_each_image_is_a_shifted_window_of_itself_maybe_mirrored() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(1, 255, (64, 6, 5, 3), dtype=np.uint8)  # no zeros: padding shows
    out = random_crop_flip(images, np.random.default_rng(1), padding=2)
    assert out.shape == images.shape and out.dtype == np.uint8
    mirrored = 0
    for src, got in zip(images, out):
        padded = np.pad(src, ((2, 2), (2, 2), (0, 0)))
        matches = [(dy, dx, flip) for dy in range(5) for dx in range(5) for flip in (0, 1)
                   if np.array_equal(got, (padded[dy:dy + 6, dx:dx + 5])[:, ::-1 if flip else 1])]
        assert matches, "not a crop of the padded image"
        mirrored += matches[0][2]
    assert 16 < mirrored < 48  # about half


def test_no_flip_and_no_padding() -> None:
    images = np.arange(2 * 3 * 4 * 1, dtype=np.uint8).reshape(2, 3, 4, 1)
    np.testing.assert_array_equal(random_crop_flip(images, np.random.default_rng(0), 0, False),
                                  images)
    same_seed = [random_crop_flip(images, np.random.default_rng(5), 1) for _ in range(2)]
    np.testing.assert_array_equal(*same_seed)


def test_errors() -> None:
    with pytest.raises(DataError, match=r"random_crop_flip: expected a batch of images"):
        random_crop_flip(np.zeros((3, 4, 4)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="padding must be >= 0"):
        random_crop_flip(np.zeros((1, 4, 4, 1)), np.random.default_rng(0), padding=-1)
