"""HOG: parity with skimage.feature.hog, the lecture's 10,800 example, and input errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.features import hog, hog_output_shape

skfeature = pytest.importorskip("skimage.feature")


def _reference(images: np.ndarray, cell, orientations: int, block: int, norm: str,
               **kwargs) -> np.ndarray:
    """skimage's HOG image by image, on the same images (uint8 as they are)."""
    cell = (cell, cell) if np.isscalar(cell) else cell
    rows = []
    for image in images:
        if image.shape[-1] == 1:
            rows.append(skfeature.hog(image[..., 0], orientations, cell, (block, block), norm,
                                      **kwargs))
        else:
            rows.append(skfeature.hog(image, orientations, cell, (block, block), norm,
                                      channel_axis=-1, **kwargs))
    return np.stack(rows)


@pytest.fixture(scope="module")
def images() -> dict[int, np.ndarray]:
    rng = np.random.default_rng(7)
    # Odd sizes: pixels past the last whole cell must be ignored exactly like skimage does.
    return {c: rng.integers(0, 256, (3, 35, 42, c), dtype=np.uint8) for c in (1, 3)}


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("norm", ["L1", "L1-sqrt", "L2", "L2-Hys"])
@pytest.mark.parametrize("block", [1, 2, 3])
def test_matches_skimage_for_every_block_norm_and_size(images, channels, norm, block):
    x = images[channels]
    for cell in (4, (6, 5)):
        ours = hog(x, cell_size=cell, block_size=block, block_norm=norm, dtype=np.float64)
        np.testing.assert_allclose(ours, _reference(x, cell, 9, block, norm), rtol=1e-5,
                                   atol=1e-9)


@pytest.mark.parametrize("orientations", [4, 6, 8, 12])
def test_matches_skimage_for_other_orientation_counts(images, orientations):
    # 4, 8 and 12 bins put an edge on a diagonal: the exact integer path must then follow
    # skimage's float rounding of a/255 - b/255.
    x = images[3]
    ours = hog(x, cell_size=5, orientations=orientations, block_size=2, block_norm="L2",
               dtype=np.float64)
    np.testing.assert_allclose(ours, _reference(x, 5, orientations, 2, "L2"), rtol=1e-5,
                               atol=1e-9)


def test_structured_images_with_ties_and_diagonals_match_skimage():
    # Flat areas, equal channels and 45-degree ramps: the rare cases of the integer path.
    rr, cc = np.mgrid[0:32, 0:32]
    ramp = ((rr + cc) * 4 % 256).astype(np.uint8)
    gray3 = np.repeat(ramp[..., None], 3, axis=-1)
    mixed = np.stack([ramp, ramp.T, np.full_like(ramp, 9)], axis=-1)
    x = np.stack([gray3, mixed, np.zeros_like(gray3)])
    for orientations in (8, 9):
        ours = hog(x, 8, orientations, 2, "L1", dtype=np.float64)
        np.testing.assert_allclose(ours, _reference(x, 8, orientations, 2, "L1"), rtol=1e-5,
                                   atol=1e-9)


def _tied_pixels(images: np.ndarray) -> int:
    """Pixels where two channels have the same gradient magnitude but not the same
    gradient (so the choice between them matters)."""
    x = images.astype(np.int32)
    g_row = np.zeros_like(x)
    g_col = np.zeros_like(x)
    g_row[:, 1:-1] = x[:, 2:] - x[:, :-2]
    g_col[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    square = g_row**2 + g_col**2
    strongest = square.max(axis=-1, keepdims=True)
    top = square == strongest
    first = top.argmax(axis=-1)[..., None]
    same = (np.take_along_axis(g_row, first, -1) == g_row) & (
        np.take_along_axis(g_col, first, -1) == g_col)
    return int((top & ~same & (strongest > 0)).sum())


def test_channel_ties_go_to_the_first_channel_as_in_skimage():
    # Few distinct values: many pixels where channels tie in magnitude with different
    # gradients, e.g. (3, 4) and (5, 0). scikit-image's argmax keeps the first channel.
    rng = np.random.default_rng(5)
    x = rng.choice(np.array([0, 3, 4, 5, 8], np.uint8), size=(40, 16, 16, 3))
    assert _tied_pixels(x) > 500
    for norm in ("L1", "L2-Hys"):
        ours = hog(x, 4, 9, 2, norm, dtype=np.float64)
        np.testing.assert_allclose(ours, _reference(x, 4, 9, 2, norm), rtol=1e-5, atol=1e-9)
        # the rule matters: with the channels in another order the features change
        assert not np.allclose(hog(x[..., ::-1], 4, 9, 2, norm, dtype=np.float64), ours)


def test_random_color_images_match_skimage_where_channels_tie():
    # The CIFAR-sized setting: 32x32 RGB, 8x8 cells, 2x2 L2-Hys blocks. Exact ties between
    # channels occur in some images; every image must still equal scikit-image's HOG.
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (200, 32, 32, 3), dtype=np.uint8)
    assert _tied_pixels(x) > 0
    ours = hog(x, 8, 9, 2, "L2-Hys", dtype=np.float64)
    np.testing.assert_allclose(ours, _reference(x, 8, 9, 2, "L2-Hys"), rtol=1e-5, atol=1e-9)


def test_float_images_gray_option_and_sqrt_match_skimage():
    rng = np.random.default_rng(3)
    x = rng.random((2, 24, 24, 3))
    ours = hog(x, 6, 9, 2, "L2-Hys", dtype=np.float64)
    np.testing.assert_allclose(ours, _reference(x, 6, 9, 2, "L2-Hys"), rtol=1e-5, atol=1e-9)
    ours = hog(x, 6, 9, 2, "L2-Hys", transform_sqrt=True, dtype=np.float64)
    ref = _reference(x, 6, 9, 2, "L2-Hys", transform_sqrt=True)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-9)
    from skimage.color import rgb2gray

    gray = np.stack([rgb2gray(im) for im in x])[..., None]
    ours = hog(x, 6, 9, 1, "L1", color="gray", dtype=np.float64)
    np.testing.assert_allclose(ours, _reference(gray, 6, 9, 1, "L1"), rtol=1e-5, atol=1e-9)


def test_uint8_and_float_inputs_give_the_same_features(images):
    x = images[3]
    np.testing.assert_allclose(hog(x, 8, 9, 2, "L2-Hys"), hog(x / 255.0, 8, 9, 2, "L2-Hys"),
                               rtol=1e-5, atol=1e-7)


def test_lecture_example_320x240_gives_10800_numbers():
    image = np.random.default_rng(0).integers(0, 256, (1, 240, 320, 3), dtype=np.uint8)
    features = hog(image, cell_size=8, orientations=9)
    assert features.shape == (1, 40 * 30 * 9) == (1, 10_800)
    assert hog_output_shape((240, 320), 8, 9) == (30, 40, 1, 1, 9)


def test_unnormalized_cells_are_mean_votes_and_normalize_like_skimage():
    # A vertical step edge: gradient along the columns, orientation 0 -> bin 0 only.
    image = np.zeros((1, 16, 16, 1), np.uint8)
    image[:, :, 8:] = 255
    cells = hog(image, cell_size=8, block_norm=None, dtype=np.float64).reshape(2, 2, 9)
    # Columns 7 and 8 see a difference of 1.0 (in [0, 1] units): 2 columns x 8 rows per cell,
    # averaged over the cell's 64 pixels.
    np.testing.assert_allclose(cells[:, 0, 0], 8 / 64)
    np.testing.assert_allclose(cells[:, 1, 0], 8 / 64)
    assert np.count_nonzero(cells[..., 1:]) == 0
    per_cell_l2 = cells / np.sqrt((cells**2).sum(-1, keepdims=True) + 1e-10)
    np.testing.assert_allclose(hog(image, 8, block_norm="L2", dtype=np.float64),
                               per_cell_l2.reshape(1, -1), rtol=1e-6)


def test_batching_does_not_change_the_result(images):
    x = images[3]
    np.testing.assert_array_equal(hog(x, 4, 9, 2, "L2-Hys"),
                                  hog(x, 4, 9, 2, "L2-Hys", batch_size=1))


def test_bad_inputs_give_clear_errors():
    good = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(cr.ShapeError, match=r"rank 3.*images\[None\]"):
        hog(good[0])
    with pytest.raises(cr.ShapeError, match="channels"):
        hog(np.zeros((2, 16, 16, 4), np.uint8))
    with pytest.raises(cr.ShapeError, match="smaller than"):
        hog(np.zeros((2, 5, 16, 1), np.uint8), cell_size=8)
    with pytest.raises(cr.ShapeError, match="too small"):
        hog(good, cell_size=8, block_size=3, block_norm="L2")
    for dtype in (np.int32, np.bool_, np.complex64):
        with pytest.raises(cr.DataError, match="dtype"):
            hog(good.astype(dtype))
    with pytest.raises(cr.DataError, match=r"\[0, 1\]"):
        hog(good.astype(np.float32) + 2.0)
    with pytest.raises(ValueError, match="block_norm"):
        hog(good, block_norm="L3")
    with pytest.raises(ValueError, match="needs a block_norm"):
        hog(good, block_size=2, block_norm=None)


@pytest.mark.slow
def test_real_cifar_images_match_skimage(shared_data):
    import io
    import zipfile

    Image = pytest.importorskip("PIL.Image")
    path = shared_data / "cifar10-jpeg" / "cifar10-jpeg.zip"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with zipfile.ZipFile(path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))[::997][:50]
        x = np.stack([np.asarray(Image.open(io.BytesIO(archive.read(n))).convert("RGB"))
                      for n in names])
    for orientations, norm in ((9, "L2-Hys"), (8, "L1")):
        ours = hog(x, 4, orientations, 2, norm, dtype=np.float64)
        np.testing.assert_allclose(ours, _reference(x, 4, orientations, 2, norm), rtol=1e-5,
                                   atol=1e-9)
