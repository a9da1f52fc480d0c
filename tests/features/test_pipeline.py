"""FeaturePipeline: concatenation, standardization on training data, config/arrays round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.features import EXTRACTORS, HOG, ColorHistogram, FeaturePipeline, hog

pytest.importorskip("skimage")
pytest.importorskip("sklearn")

BOW = {"patch_size": 4, "n_words": 8, "n_patches": 300}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (30, 16, 16, 3), dtype=np.uint8),
            rng.integers(0, 256, (7, 16, 16, 3), dtype=np.uint8))


def test_concatenates_in_order_and_standardizes_on_training_data(data):
    train, test = data
    pipe = FeaturePipeline.from_names(["hog", "color"], hog={"cell_size": 4}, progress=False)
    features = pipe.fit_transform(train)
    assert pipe.names == ["hog", "color"]
    assert pipe.dims == [3 * 3 * 2 * 2 * 9, 10] and pipe.output_dim == features.shape[1]
    assert features.dtype == np.float32
    varying = pipe.std != 1.0
    np.testing.assert_allclose(features.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(features.std(0)[varying], 1, rtol=1e-3)
    raw = hog(test, cell_size=4, block_size=2, block_norm="L2-Hys")
    np.testing.assert_allclose(pipe.transform(test)[:, :324],
                               (raw - pipe.mean[:324]) / pipe.std[:324], rtol=1e-5, atol=1e-5)


def test_config_and_arrays_round_trip_gives_identical_features(data):
    train, test = data
    pipe = FeaturePipeline.from_names(["hog", "color", "gabor", "bow"], bow=BOW,
                                      gabor={"frequencies": [0.2, 0.35]}, progress=False)
    pipe.fit(train, seed=1)
    config = json.loads(json.dumps(pipe.config()))
    arrays = {k: np.array(v) for k, v in pipe.state_dict().items()}
    assert set(arrays) == {"features.mean", "features.std", "features.bow.codebook"}
    rebuilt = FeaturePipeline.from_config(config, arrays)
    assert rebuilt.names == pipe.names and rebuilt.output_dim == pipe.output_dim
    np.testing.assert_array_equal(rebuilt.transform(test), pipe.transform(test))


def test_fit_and_transform_agree_and_batching_is_invisible(data):
    train, _ = data
    pipe = FeaturePipeline([HOG(cell_size=4), ColorHistogram(bins=5)], batch_size=7,
                           progress=False)
    fitted = pipe.fit_transform(train)
    np.testing.assert_allclose(pipe.transform(train), fitted, rtol=1e-6, atol=1e-6)
    whole = FeaturePipeline([HOG(cell_size=4), ColorHistogram(bins=5)], batch_size=1000,
                            progress=False)
    np.testing.assert_allclose(whole.fit_transform(train), fitted, rtol=1e-5, atol=1e-5)


def test_unstandardized_pipeline_is_the_plain_concatenation(data):
    train, _ = data
    pipe = FeaturePipeline([ColorHistogram(bins=4)], standardize=False, progress=False)
    np.testing.assert_allclose(pipe.fit_transform(train).sum(1), 1.0, rtol=1e-6)
    assert pipe.state_dict() == {}


def test_errors(data):
    train, _ = data
    with pytest.raises(ValueError, match="unknown feature"):
        FeaturePipeline.from_names(["hog", "sift"])
    with pytest.raises(ValueError, match="unique"):
        FeaturePipeline([HOG(), HOG()])
    with pytest.raises(RuntimeError, match="fit"):
        FeaturePipeline.from_names(["color"]).transform(train)
    pipe = FeaturePipeline.from_names("hog,color", hog={"cell_size": 4}).fit(train)
    with pytest.raises(cr.ShapeError, match="fitted on images"):
        pipe.transform(train[:, :12, :12])
    with pytest.raises(cr.ShapeError, match="rank"):
        pipe.transform(train[0])
    with pytest.raises(ValueError, match=r"features\.mean"):
        FeaturePipeline.from_config(pipe.config(), {})
    assert sorted(EXTRACTORS) == ["bow", "color", "gabor", "hog"]


def test_state_dict_and_load_state_dict_round_trip(data):
    train, test = data
    pipe = FeaturePipeline.from_names(["hog", "bow"], hog={"cell_size": 4}, bow=BOW,
                                      progress=False).fit(train, seed=2)
    state = pipe.state_dict()
    rebuilt = FeaturePipeline.from_config(pipe.config(), state)
    assert rebuilt.config() == pipe.config()
    assert set(rebuilt.state_dict()) == set(state)
    for key, value in state.items():
        np.testing.assert_array_equal(rebuilt.state_dict()[key], value)
    halved = dict(state, **{"features.std": state["features.std"] * 2})
    rebuilt.load_state_dict(halved)  # loading replaces what was there
    np.testing.assert_allclose(rebuilt.transform(test), pipe.transform(test) / 2, rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(cr.ShapeError, match="mean has shape"):
        rebuilt.load_state_dict(dict(state, **{"features.mean": state["features.mean"][:3]}))


def test_bad_names_and_options_are_config_errors():
    with pytest.raises(cr.ConfigError, match="unknown feature"):
        FeaturePipeline.from_names(["sift"])
    with pytest.raises(cr.ConfigError, match="unexpected options"):
        FeaturePipeline.from_names(["hog"], sift={"x": 1})
    with pytest.raises(cr.ConfigError, match=r"hog options \{'cel_size': 4\}"):
        FeaturePipeline.from_names(["hog"], hog={"cel_size": 4})
    with pytest.raises(cr.ConfigError, match="color options"):
        FeaturePipeline.from_names(["color"], color={"bins": 0})
