"""Bag of visual words recovers well-separated patch types."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.features import BagOfWords

pytest.importorskip("sklearn")


def _patch(kind: int, rng: np.random.Generator) -> np.ndarray:
    """An 8x8 gray patch of one of three types, random brightness, contrast and noise."""
    pattern = np.zeros((8, 8))
    if kind == 0:
        pattern[:4] = 1.0          # horizontal edge
    elif kind == 1:
        pattern[:, :4] = 1.0       # vertical edge
    else:
        pattern[:4, :4] = pattern[4:, 4:] = 1.0   # checker
    low = rng.uniform(0.0, 0.3)
    contrast = rng.uniform(0.4, 0.7)
    return np.clip(low + contrast * pattern + rng.normal(0, 0.02, (8, 8)), 0, 1)


def test_recovers_patch_types_and_their_proportions():
    rng = np.random.default_rng(0)
    kinds = rng.integers(0, 3, 300)
    train = np.stack([_patch(k, rng) for k in kinds])[..., None].astype(np.float32)
    bow = BagOfWords(patch_size=8, n_words=3, n_patches=600, stride=8, seed=0).fit(train)
    words = bow.transform(train).argmax(axis=1)
    # Each patch type maps to its own word (a permutation of the labels).
    best = max(np.mean(np.array(p)[kinds] == words) for p in itertools.permutations(range(3)))
    assert best == 1.0

    # 16x16 images made of four tiles: the histogram is the share of each tile type.
    word_of = {k: words[np.argmax(kinds == k)] for k in range(3)}
    tiles = [(0, 0, 1, 2), (2, 2, 2, 1)]
    images = np.zeros((2, 16, 16, 1), np.float32)
    for image, kinds_of_tiles in zip(images, tiles):
        for (r, c), k in zip(itertools.product((0, 8), (0, 8)), kinds_of_tiles):
            image[r : r + 8, c : c + 8, 0] = _patch(k, rng)
    hist = bow.transform(images)
    np.testing.assert_allclose(hist.sum(axis=1), 1.0, rtol=1e-6)
    for row, kinds_of_tiles in zip(hist, tiles):
        expected = np.zeros(3)
        for k in kinds_of_tiles:
            expected[word_of[k]] += 0.25
        np.testing.assert_allclose(row, expected, atol=1e-6)


def test_seeded_fit_is_reproducible_and_state_round_trips():
    images = np.random.default_rng(1).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    a = BagOfWords(patch_size=4, n_words=6, n_patches=400, seed=3).fit(images)
    b = BagOfWords(patch_size=4, n_words=6, n_patches=400, seed=3).fit(images)
    np.testing.assert_array_equal(a.codebook, b.codebook)
    c = BagOfWords(**a.config())
    c.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(c.transform(images), a.transform(images))
    assert a.transform(images).shape == (20, 6)


def test_errors():
    with pytest.raises(RuntimeError, match="fit"):
        BagOfWords(patch_size=4, n_words=2, n_patches=10).transform(np.zeros((1, 8, 8, 1)))
    with pytest.raises(cr.ShapeError, match="smaller than"):
        BagOfWords(patch_size=8, n_words=2, n_patches=10).fit(np.zeros((3, 4, 4, 1)))
    with pytest.raises(ValueError, match="n_patches"):
        BagOfWords(n_words=10, n_patches=5)
    rng = np.random.default_rng(0)
    bow = BagOfWords(patch_size=4, n_words=2, n_patches=20).fit(rng.random((4, 8, 8, 1)))
    with pytest.raises(cr.ShapeError, match="channels"):
        bow.transform(rng.random((2, 8, 8, 3)))
