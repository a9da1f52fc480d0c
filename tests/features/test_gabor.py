"""Gabor kernels equal scikit-image's; batched FFT filtering equals direct convolution."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.features import gabor_bank, gabor_features, gabor_kernel
from chainrule.features.gabor import gabor_responses

skfilters = pytest.importorskip("skimage.filters")


@pytest.mark.parametrize("frequency", [0.05, 0.1, 0.25, 0.4])
@pytest.mark.parametrize("bandwidth", [0.5, 1.0, 2.0])
def test_kernels_equal_skimage(frequency, bandwidth):
    for theta in np.linspace(0, math.pi, 7):
        ours = gabor_kernel(frequency, theta, bandwidth)
        theirs = skfilters.gabor_kernel(frequency, theta=theta, bandwidth=bandwidth)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    ours = gabor_kernel(frequency, 0.3, sigma_x=2.0, sigma_y=4.0, n_stds=2, offset=0.5)
    theirs = skfilters.gabor_kernel(frequency, 0.3, sigma_x=2.0, sigma_y=4.0, n_stds=2,
                                    offset=0.5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_bank_order_and_config():
    bank = gabor_bank((0.1, 0.3), orientations=3)
    assert len(bank) == 6
    assert bank.params[4] == (0.3, math.pi / 3)
    np.testing.assert_array_equal(bank.kernels[4], skfilters.gabor_kernel(0.3, math.pi / 3))
    assert gabor_bank(**bank.config()) == bank


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fft_filtering_equals_direct_convolution(dtype):
    from scipy import ndimage

    rng = np.random.default_rng(0)
    images = rng.random((2, 20, 27, 1))
    bank = gabor_bank((0.1, 0.3), orientations=4)
    responses = gabor_responses(images, bank, dtype=dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for i, kernel in enumerate(bank.kernels):
        real = ndimage.convolve(images[1, ..., 0], kernel.real, mode="mirror")
        imag = ndimage.convolve(images[1, ..., 0], kernel.imag, mode="mirror")
        np.testing.assert_allclose(responses[1, i], np.hypot(real, imag), atol=tol)


def test_pooled_features_are_region_means_and_energies():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    bank = gabor_bank((0.25,), orientations=2)
    features = gabor_features(images, bank, grid=2)
    assert features.shape == (3, 2 * 2 * 2 * 2) and features.dtype == np.float32
    magnitude = gabor_responses(images, bank)
    pooled = features.reshape(3, 2, 2, 2, 2)  # kernel, region row, region col, stat
    region = magnitude[:, 1, 8:, :8]          # kernel 1, bottom-left region
    np.testing.assert_allclose(pooled[:, 1, 1, 0, 0], region.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(pooled[:, 1, 1, 0, 1], (region**2).mean(axis=(1, 2)), rtol=1e-5)


def test_oriented_stripes_excite_the_matching_orientation():
    # Stripes varying along x: the theta = 0 filter (carrier along x) responds most.
    x = np.arange(32)
    stripes = (0.5 + 0.5 * np.cos(2 * np.pi * 0.25 * x))[None, None, :, None]
    images = np.broadcast_to(stripes, (1, 32, 32, 1)).copy()
    bank = gabor_bank((0.25,), orientations=4)
    energy = gabor_features(images, bank, grid=1).reshape(4, 2)[:, 1]
    assert energy.argmax() == 0 and energy[0] > 10 * energy[2]


def test_errors():
    with pytest.raises(ValueError, match="frequency"):
        gabor_kernel(0.0)
    with pytest.raises(ValueError, match="frequencies"):
        gabor_bank((-0.1,))
    with pytest.raises(cr.ShapeError, match="rank"):
        gabor_features(np.zeros((8, 8, 1), np.uint8))
    with pytest.raises(cr.DataError, match="dtype"):
        gabor_features(np.zeros((1, 8, 8, 1), np.int16))
