"""Color histograms: normalized, right bins, HSV via scikit-image, errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.features import color_histogram

pytest.importorskip("skimage")


def _solid(rgb: tuple[int, int, int], size: int = 6) -> np.ndarray:
    image = np.zeros((1, size, size, 3), np.uint8)
    image[...] = rgb
    return image


def test_histograms_sum_to_one_and_are_float32():
    images = np.random.default_rng(0).integers(0, 256, (5, 13, 9, 3), dtype=np.uint8)
    for channel, dim in (("hue", 10), ("saturation", 10), ("value", 10), ("joint", 1000)):
        h = color_histogram(images, bins=10, channel=channel)
        assert h.shape == (5, dim) and h.dtype == np.float32
        np.testing.assert_allclose(h.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(("rgb", "hue_bin"), [((255, 0, 0), 0), ((0, 255, 0), 3),
                                              ((0, 0, 255), 6), ((255, 0, 255), 8)])
def test_pure_colors_land_in_their_hue_bin(rgb, hue_bin):
    h = color_histogram(_solid(rgb), bins=10)[0]
    expected = np.zeros(10, np.float32)
    expected[hue_bin] = 1.0
    np.testing.assert_array_equal(h, expected)


def test_counts_match_skimage_hsv_histogram():
    from skimage.color import rgb2hsv

    images = np.random.default_rng(1).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    ours = color_histogram(images, bins=7, channel="saturation")
    for image, row in zip(images, ours):
        s = rgb2hsv(image / np.float32(255))[..., 1].ravel()
        counts = np.bincount(np.minimum((s * 7).astype(int), 6), minlength=7)
        np.testing.assert_allclose(row, counts / s.size, rtol=1e-6)


def test_half_red_half_blue_and_joint_bins():
    image = _solid((255, 0, 0), 4)
    image[:, 2:] = (0, 0, 255)
    np.testing.assert_allclose(color_histogram(image, bins=6)[0], [0.5, 0, 0, 0, 0.5, 0])
    joint = color_histogram(_solid((255, 0, 0)), bins=4, channel="joint")[0]
    # hue 0, saturation 1 (last bin), value 1 (last bin): index (0 * 4 + 3) * 4 + 3
    assert joint[15] == 1.0 and joint.sum() == 1.0


def test_gray_images_only_have_value_and_errors_are_clear():
    gray = np.full((2, 4, 4, 1), 0.55, np.float32)
    np.testing.assert_allclose(color_histogram(gray, bins=10, channel="value")[:, 5], 1.0)
    with pytest.raises(cr.ShapeError, match="needs RGB"):
        color_histogram(gray)
    with pytest.raises(cr.ShapeError, match="rank"):
        color_histogram(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(cr.DataError, match="dtype"):
        color_histogram(np.zeros((1, 4, 4, 3), np.int64))
    with pytest.raises(ValueError, match="channel"):
        color_histogram(_solid((1, 2, 3)), channel="chroma")
    with pytest.raises(ValueError, match="bins"):
        color_histogram(_solid((1, 2, 3)), bins=0)
