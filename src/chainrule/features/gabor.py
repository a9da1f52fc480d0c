"""Gabor filter banks: oriented, band-pass edge and texture detectors of several sizes.

A Gabor kernel is a Gaussian envelope times a complex sinusoid along direction ``theta``::

    x' =  x cos(theta) + y sin(theta)      y' = -x sin(theta) + y cos(theta)
    g(x, y) = exp(-(x'^2 / sx^2 + y'^2 / sy^2) / 2) / (2 pi sx sy) * exp(i (2 pi f x' + offset))

with ``sx = sy = sqrt(ln 2 / 2) / pi * (2^b + 1) / (2^b - 1) / f`` for bandwidth ``b``
(identical to ``skimage.filters.gabor_kernel``). Features of an image are the magnitudes of
its responses ``|I * g|``, pooled over a ``grid x grid`` partition of the image: the mean and
the energy (mean of the squared magnitude) per region and per filter.

The filtering is one batched FFT per frequency: the image is reflect-padded by the kernel
radius, so the FFT's circular convolution equals the linear one on the image itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from chainrule.features._common import (
    as_image_batch,
    batch_slices,
    default_batch_size,
    to_gray,
)

__all__ = ["GaborBank", "gabor_bank", "gabor_features", "gabor_kernel"]


def _sigma_prefactor(bandwidth: float) -> float:
    b = bandwidth
    return 1.0 / np.pi * math.sqrt(math.log(2) / 2.0) * (2.0**b + 1) / (2.0**b - 1)


def gabor_kernel(
    frequency: float,
    theta: float = 0.0,
    bandwidth: float = 1.0,
    sigma_x: float | None = None,
    sigma_y: float | None = None,
    n_stds: float = 3,
    offset: float = 0.0,
) -> np.ndarray:
    """Complex 2-D Gabor kernel, equal to ``skimage.filters.gabor_kernel`` with the same args.

    The kernel spans ``n_stds`` standard deviations of the rotated envelope (at least 1
    pixel) on each side of its center, so it is ``(2 y0 + 1, 2 x0 + 1)``.

    >>> k = gabor_kernel(0.25, theta=0.0)
    >>> k.shape, k.dtype
    ((15, 15), dtype('complex128'))
    """
    if not frequency > 0:
        raise ValueError(f"gabor_kernel: frequency must be > 0 (cycles per pixel), got {frequency}")
    if sigma_x is None:
        sigma_x = _sigma_prefactor(bandwidth) / frequency
    if sigma_y is None:
        sigma_y = _sigma_prefactor(bandwidth) / frequency
    ct, st = math.cos(theta), math.sin(theta)
    x0 = math.ceil(max(abs(n_stds * sigma_x * ct), abs(n_stds * sigma_y * st), 1))
    y0 = math.ceil(max(abs(n_stds * sigma_y * ct), abs(n_stds * sigma_x * st), 1))
    y, x = np.meshgrid(np.arange(-y0, y0 + 1), np.arange(-x0, x0 + 1), indexing="ij", sparse=True)
    rot_x = x * ct + y * st
    rot_y = -x * st + y * ct
    g = np.exp(-0.5 * (rot_x**2 / sigma_x**2 + rot_y**2 / sigma_y**2)
               + 1j * (2 * np.pi * frequency * rot_x + offset))
    g *= 1 / (2 * np.pi * sigma_x * sigma_y)
    return g


@dataclass(frozen=True)
class GaborBank:
    """A bank of Gabor kernels: every frequency at ``orientations`` angles ``k pi / orientations``.

    ``kernels[i]`` has parameters ``params[i] = (frequency, theta)``; the order is frequency
    major, orientation minor.
    """

    frequencies: tuple[float, ...]
    orientations: int
    bandwidth: float = 1.0
    n_stds: float = 3.0
    kernels: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)
    params: tuple[tuple[float, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.frequencies or any(not f > 0 for f in self.frequencies):
            raise ValueError(f"gabor_bank: frequencies must be positive, got {self.frequencies}")
        if int(self.orientations) != self.orientations or self.orientations < 1:
            raise ValueError(f"gabor_bank: orientations must be a positive int, "
                             f"got {self.orientations!r}")
        params = tuple((float(f), k * math.pi / self.orientations)
                       for f in self.frequencies for k in range(self.orientations))
        kernels = tuple(gabor_kernel(f, theta, self.bandwidth, n_stds=self.n_stds)
                        for f, theta in params)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "kernels", kernels)

    def __len__(self) -> int:
        return len(self.kernels)

    def config(self) -> dict:
        """JSON-able parameters that rebuild the bank with ``gabor_bank(**config)``."""
        return {"frequencies": list(self.frequencies), "orientations": int(self.orientations),
                "bandwidth": float(self.bandwidth), "n_stds": float(self.n_stds)}


def gabor_bank(
    frequencies: Sequence[float] = (0.1, 0.2, 0.3),
    orientations: int = 4,
    bandwidth: float = 1.0,
    n_stds: float = 3.0,
) -> GaborBank:
    """Gabor kernels at each frequency (cycles per pixel; lower = larger filter) and angle.

    >>> bank = gabor_bank((0.1, 0.25), orientations=4)
    >>> len(bank), bank.params[1]
    (8, (0.1, 0.7853981633974483))
    """
    return GaborBank(tuple(float(f) for f in frequencies), int(orientations), float(bandwidth),
                     float(n_stds))


def gabor_features_dim(bank: GaborBank, grid: int = 2) -> int:
    """Length of one image's Gabor features: ``len(bank) * grid * grid * 2``."""
    return len(bank) * grid * grid * 2


def _region_bounds(size: int, grid: int) -> np.ndarray:
    return np.linspace(0, size, grid + 1).round().astype(int)


def _fft_module():  # scipy.fft is faster and works in single precision; NumPy's is the fallback
    try:
        import scipy.fft as fft

        return fft, fft.next_fast_len
    except ImportError:
        return np.fft, lambda n, real=False: n


def gabor_responses(images: np.ndarray, bank: GaborBank, dtype: type = np.float32) -> np.ndarray:
    """Magnitudes ``|I * g|`` of every kernel on the luminance: ``(N, len(bank), H, W)``.

    Convolution (not correlation), like ``scipy.ndimage.convolve(..., mode='mirror')``:
    borders are reflected without repeating the edge pixel (NumPy's ``'reflect'`` padding).
    ``dtype=np.float32`` runs the FFTs in single precision (relative error ~1e-6).
    """
    x = to_gray(as_image_batch(images, "gabor_responses", np.float64)).astype(dtype)
    n, h, w = x.shape
    fft, fast_len = _fft_module()
    complex_dtype = np.result_type(dtype, np.complex64)
    out = np.empty((n, len(bank), h, w), dtype)
    index = 0
    for frequency in dict.fromkeys(f for f, _ in bank.params):
        group = [k for k, (f, _) in zip(bank.kernels, bank.params) if f == frequency]
        radius = max(max(k.shape) for k in group) // 2
        size = 2 * radius + 1
        padded = np.pad(x, ((0, 0), (radius, radius), (radius, radius)), mode="reflect")
        # Circular convolution at any length >= the padded size leaves the outputs
        # [2r, 2r + H) unwrapped: they are the linear convolution centered on the image.
        shape = (fast_len(padded.shape[1]), fast_len(padded.shape[2]))
        spectrum = fft.fft2(padded, s=shape, axes=(1, 2))
        for kernel in group:
            centered = np.zeros((size, size), complex_dtype)
            top, left = (size - kernel.shape[0]) // 2, (size - kernel.shape[1]) // 2
            centered[top : top + kernel.shape[0], left : left + kernel.shape[1]] = kernel
            response = fft.ifft2(spectrum * fft.fft2(centered, s=shape), axes=(1, 2))
            out[:, index] = np.abs(response[:, 2 * radius : 2 * radius + h,
                                            2 * radius : 2 * radius + w])
            index += 1
    return out


def gabor_features(
    images: np.ndarray,
    bank: GaborBank | None = None,
    grid: int = 2,
    batch_size: int | None = None,
    progress: bool | None = False,
) -> np.ndarray:
    """Pooled Gabor responses of a batch of images: ``(N, len(bank) * grid * grid * 2)`` float32.

    For each kernel ``g`` and region ``R`` of a ``grid x grid`` partition, two numbers:
    ``mean_R |I * g|`` and the energy ``mean_R |I * g|^2``. Layout:
    ``(kernel, region_row, region_col, [mean, energy])``. Color images are converted to
    luminance first.

    >>> import numpy as np
    >>> gabor_features(np.zeros((2, 32, 32, 3), np.uint8), gabor_bank((0.25,), 4)).shape
    (2, 32)
    """
    bank = bank if bank is not None else gabor_bank()
    if int(grid) != grid or grid < 1:
        raise ValueError(f"gabor_features: grid must be a positive int, got {grid!r}")
    x = as_image_batch(images, "gabor_features", np.float32, min_size=(grid, grid),
                       keep_dtype=True)
    n, h, w, _ = x.shape
    rows, cols = _region_bounds(h, grid), _region_bounds(w, grid)
    out = np.empty((n, gabor_features_dim(bank, grid)), np.float32)
    size = batch_size or default_batch_size((h, w, len(bank) * 4))
    for part in batch_slices(n, size, progress, "Gabor"):
        magnitude = gabor_responses(x[part], bank)
        pooled = np.empty((magnitude.shape[0], len(bank), grid, grid, 2))
        for i in range(grid):
            for j in range(grid):
                region = magnitude[:, :, rows[i] : rows[i + 1], cols[j] : cols[j + 1]]
                pooled[:, :, i, j, 0] = region.mean(axis=(2, 3))
                pooled[:, :, i, j, 1] = (region**2).mean(axis=(2, 3))
        out[part] = pooled.reshape(pooled.shape[0], -1)
    return out
