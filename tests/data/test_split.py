"""Stratified splits, Standardizer (training statistics only), images_to_features, digits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import (
    Standardizer,
    images_to_features,
    load_digits,
    stratified_split_indices,
    train_val_split,
)


def test_stratified_split_keeps_class_proportions() -> None:
    y = np.repeat([0, 1, 2], [500, 300, 200])
    X = np.arange(1000)
    X_tr, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.1, seed=3)
    assert np.bincount(y_val).tolist() == [50, 30, 20]
    assert np.bincount(y_tr).tolist() == [450, 270, 180]
    np.testing.assert_array_equal(y[X_tr], y_tr)  # rows stay paired with their labels
    assert not set(X_tr) & set(X_val) and len(X_tr) + len(X_val) == 1000


def test_split_is_seeded() -> None:
    y = np.tile(np.arange(4), 50)
    a = stratified_split_indices(y, 0.25, seed=7)[1]
    b = stratified_split_indices(y, 0.25, seed=7)[1]
    c = stratified_split_indices(y, 0.25, seed=8)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unstratified_and_edge_fractions() -> None:
    y = np.array([0] * 90 + [1] * 10)
    _, held = stratified_split_indices(y, 0.2, seed=0, stratify=False)
    assert len(held) == 20
    keep, held = stratified_split_indices(y, 0.0)
    assert len(held) == 0 and len(keep) == 100
    with pytest.raises(ValueError, match="fraction"):
        stratified_split_indices(y, 1.0)
    with pytest.raises(cr.DataError, match="X has 3 samples but y has 2"):
        train_val_split(np.zeros(3), np.zeros(2))


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
       fraction=st.floats(0.05, 0.9), seed=st.integers(0, 100))
def test_split_sizes_property(sizes: list[int], fraction: float, seed: int) -> None:
    y = np.repeat(np.arange(len(sizes)), sizes)
    keep, held = stratified_split_indices(y, fraction, seed=seed)
    n = len(y)
    expected = min(max(round(fraction * n), 1), n - 1) if n >= 2 else round(fraction * n)
    assert len(held) == expected and len(keep) + len(held) == n
    assert len(np.intersect1d(keep, held)) == 0
    per_class = np.bincount(y[held], minlength=len(sizes))
    # each class is within one sample of its proportional share, give or take the nudges
    # that keep a class of >= 2 on both sides (each nudge moves one sample between classes)
    share = fraction * np.array(sizes) * expected / max(fraction * n, 1e-9)
    sizes_arr = np.array(sizes)
    nudges = int(np.sum((sizes_arr >= 2) & ((share < 1) | (share > sizes_arr - 1))))
    assert np.all(np.abs(per_class - share) <= 1 + max(nudges, 1))


def test_standardizer_uses_training_statistics_only() -> None:
    rng = np.random.default_rng(0)
    X_train = rng.normal(5.0, 2.0, (500, 3)).astype(np.float32)
    X_train[:, 2] = 7.0  # constant feature: only centred, not divided by ~0
    X_test = rng.normal(-3.0, 10.0, (50, 3)).astype(np.float32)
    s = Standardizer().fit(X_train)
    Z = s.transform(X_train)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1, atol=1e-4)
    assert s.std[2] == 1.0
    np.testing.assert_allclose(s.transform(X_test), (X_test - X_train.mean(0)) / s.std, rtol=1e-5)
    assert abs(s.transform(X_test)[:, 0].mean()) > 2  # test data keeps its shift: no refit
    restored = Standardizer.from_state_dict(s.state_dict())
    np.testing.assert_array_equal(restored.transform(X_test), s.transform(X_test))
    np.testing.assert_allclose(s.inverse_transform(s.transform(X_test)), X_test, rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(cr.DataError, match="fitted on 3 features"):
        s.transform(np.zeros((2, 4)))
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(X_test)
    with pytest.raises(cr.DataError, match="missing 'std'"):
        Standardizer.from_state_dict({"mean": np.zeros(3)})


def test_images_to_features() -> None:
    images = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3) * 7
    X = images_to_features(images)
    assert X.shape == (2, 18) and X.dtype == np.float32
    np.testing.assert_allclose(X[1], images[1].reshape(-1) / 255, rtol=1e-6)


def test_digits() -> None:
    ds = load_digits()
    from sklearn.datasets import load_digits as sk

    raw = sk()
    assert ds.train_images.shape == (1438, 8, 8, 1) and ds.test_images.shape == (359, 8, 8, 1)
    assert ds.train_images.dtype == np.uint8 and ds.train_images.max() == 255
    # values 0..16 map to round(v * 255 / 16) exactly
    values = sorted(set(np.unique(ds.train_images)) | set(np.unique(ds.test_images)))
    assert values == [round(v * 255 / 16 + 1e-9) for v in range(17)]
    # stratified 20 % test split: every class keeps its share
    counts = np.bincount(raw.target)
    np.testing.assert_allclose(np.bincount(ds.test_labels), counts * 0.2, atol=1)
    # the same images with the same labels as scikit-learn's
    all_images = np.concatenate([ds.train_images, ds.test_images])[..., 0]
    all_labels = np.concatenate([ds.train_labels, ds.test_labels])
    scaled = np.rint(raw.images * 255 / 16).astype(np.uint8)
    order_ours = np.lexsort(all_images.reshape(len(all_images), -1).T)
    order_ref = np.lexsort(scaled.reshape(len(scaled), -1).T)
    np.testing.assert_array_equal(all_images[order_ours], scaled[order_ref])
    np.testing.assert_array_equal(all_labels[order_ours], raw.target[order_ref])
    np.testing.assert_array_equal(load_digits().test_labels, ds.test_labels)  # seeded
    assert len(load_digits(test_fraction=0.5).test_labels) == 898


def test_digits_are_read_without_importing_scikit_learn() -> None:
    import subprocess
    import sys

    code = ("import sys; from chainrule.data.digits import load_digits; load_digits(); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_digits_through_scikit_learn_where_its_file_moved(monkeypatch, tmp_path) -> None:
    import importlib.util

    from chainrule.data import digits

    spec = importlib.util.find_spec("sklearn")
    moved = type(spec)(spec.name, spec.loader, origin=spec.origin, is_package=True)
    moved.submodule_search_locations = [str(tmp_path)]  # no datasets/data/digits.csv.gz
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: moved)
    ds = load_digits()
    monkeypatch.undo()
    reference = load_digits()
    np.testing.assert_array_equal(ds.train_images, reference.train_images)
    np.testing.assert_array_equal(ds.test_labels, reference.test_labels)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(cr.DataError, match="scikit-learn"):
        digits.load_digits()
