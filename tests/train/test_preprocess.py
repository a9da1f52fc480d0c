"""Preprocessor: fit on the training split, state_dict round trips, checkpoints; augmentation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train import CheckpointError, Preprocessor, load_checkpoint, save_checkpoint
from chainrule.train.preprocess import shift_augment

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8),
            rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8))


@pytest.mark.parametrize("features", ["pixels", "hog,color"])
def test_state_dict_round_trip_transforms_identically(images, features: str) -> None:
    train, test = images
    pre = Preprocessor(features).fit(train)
    state = pre.state_dict()
    assert set(state) == {"image_shape", "normalization", "features"}
    assert state["image_shape"] == (16, 16, 3)
    assert state["normalization"]["mean"].dtype == np.float32
    if features == "pixels":
        assert state["features"] is None
    else:
        assert set(state["features"]) == {"config", "arrays"}
        assert set(state["features"]["arrays"]) == {"features.mean", "features.std"}
    restored = Preprocessor(features)
    restored.load_state_dict(state)
    np.testing.assert_array_equal(restored.transform(test), pre.transform(test))
    assert restored.on_pixels == (features == "pixels")


@pytest.mark.parametrize("features", ["pixels", "hog,color"])
def test_checkpoint_round_trip(tmp_path, images, features: str) -> None:
    train, test = images
    pre = Preprocessor(features).fit(train)
    model = nn.MLP(pre.transform(test).shape[1], [3], 2)
    save_checkpoint(tmp_path, model, config={"features": features}, **pre.state_dict())
    ckpt = load_checkpoint(tmp_path)
    if features != "pixels":
        assert ckpt.features["config"]["extractors"][0]["name"] == "hog"
    again = ckpt.preprocessor()
    assert again.features == features and again.image_shape == (16, 16, 3)
    np.testing.assert_array_equal(again.transform(test), pre.transform(test))


def test_fit_transform_is_fit_then_transform(images) -> None:
    train, _ = images
    for features in ("pixels", "hog"):
        a = Preprocessor(features).fit_transform(train)
        np.testing.assert_array_equal(a, Preprocessor(features).fit(train).transform(train))
    standardized = Preprocessor().fit_transform(train)
    np.testing.assert_allclose(standardized.mean(axis=0), 0, atol=1e-5)


def test_a_given_pipeline_is_fitted_and_used(images) -> None:
    from chainrule.features import FeaturePipeline

    train, test = images
    pipeline = FeaturePipeline.from_names(["color"], color={"bins": 4})
    pre = Preprocessor("color", pipeline=pipeline).fit(train)
    assert pre.pipeline is pipeline and pre.transform(test).shape == (5, 4)


def test_tables_pass_through_and_errors(images, tmp_path) -> None:
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    pre = Preprocessor().fit(table)
    assert pre.image_shape is None and pre.transform(table).shape == (4, 3)
    with pytest.raises(cr.ConfigError, match="--features hog needs images"):
        Preprocessor("hog").fit(table)
    train, _ = images
    fitted = Preprocessor().fit(train)
    with pytest.raises(cr.DataError, match="trained on images of shape 16x16x3, these are 8x8x3"):
        fitted.transform(train[:, :8, :8])
    with pytest.raises(cr.DataError, match="no normalization"):
        Preprocessor().load_state_dict({"image_shape": None, "normalization": None,
                                        "features": None})
    save_checkpoint(tmp_path, nn.MLP(2, [], 2))
    with pytest.raises(CheckpointError, match="no normalization statistics"):
        load_checkpoint(tmp_path).preprocessor()


def test_shift_augment_moves_by_one_pixel() -> None:
    image = np.zeros((1, 3, 3, 1), np.uint8)
    image[0, 1, 1, 0] = 9
    moved, labels = shift_augment(image, np.array([4]))
    assert moved.shape == (5, 3, 3, 1) and labels.tolist() == [4] * 5
    where = [tuple(int(v) for v in np.argwhere(m[..., 0] == 9)[0]) for m in moved]
    assert where == [(1, 1), (2, 1), (0, 1), (1, 2), (1, 0)]


def test_image_preprocessor_standardizes_each_channel(images) -> None:
    from chainrule.train import ImagePreprocessor

    train, test = images
    pre = ImagePreprocessor().fit(train)
    out = pre.transform(train)
    assert out.shape == (12, 3, 16, 16) and out.dtype == np.float32
    assert out.transpose(0, 2, 3, 1).flags.c_contiguous  # channels-last memory, NCHW shape
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    state = pre.state_dict()
    assert state["normalization"]["mean"].shape == (3,) and state["features"] is None
    again = ImagePreprocessor()
    again.load_state_dict(state)
    np.testing.assert_array_equal(again.transform(test), pre.transform(test))
    augmented = pre.batch_transform("crop-flip")(train, np.random.default_rng(0))
    assert augmented.shape == out.shape and not np.array_equal(augmented, out)
    np.testing.assert_array_equal(pre.batch_transform("none")(test, None), pre.transform(test))
    with pytest.raises(cr.DataError, match="trained on images of shape 16x16x3"):
        pre.transform(np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(cr.ConfigError, match="a ConvNet needs images"):
        ImagePreprocessor().fit(np.zeros((4, 5)))
    with pytest.raises(cr.ConfigError, match="augment must be one of"):
        pre.batch_transform("shift")
