"""FeatureTransformer: rows as images, pixel ranges, the features of chainrule.features, and
a HOG + MLP pipeline on digits."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from chainrule.errors import ConfigError, ShapeError
from chainrule.features import hog
from chainrule.sklearn import FeatureTransformer, MLPClassifier
from chainrule.sklearn.features import infer_image_shape

DIGIT_HOG = {"hog": {"cell_size": 4}}


@pytest.mark.parametrize(("n", "shape"), [(64, (8, 8, 1)), (3072, (32, 32, 3)), (27, (3, 3, 3)),
                                          (10, (1, 10, 1)), (1, (1, 1, 1))])
def test_infer_image_shape(n: int, shape: tuple) -> None:
    assert infer_image_shape(n) == shape


def test_rows_become_images_and_hog_matches_chainrule_features() -> None:
    X, _ = load_digits(return_X_y=True)
    hog_t = FeatureTransformer("hog", image_shape=(8, 8), value_range=(0, 16),
                               options=DIGIT_HOG, standardize=False)
    out = hog_t.fit_transform(X[:20])
    expected = hog(X[:20].reshape(20, 8, 8, 1) / 16, cell_size=4, block_size=2,
                   block_norm="L2-Hys")
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32 and hog_t.n_features_out_ == 36
    assert list(hog_t.get_feature_names_out()[:2]) == ["hog0", "hog1"]


def test_value_range_is_learned_and_clipped() -> None:
    X = np.array([[0.0, 10.0, 20.0, 40.0]])
    t = FeatureTransformer("hog", options={"hog": {"cell_size": 1, "block_size": 1}}).fit(X)
    assert t.value_range_ == (0.0, 40.0) and t.image_shape_ == (2, 2, 1)
    np.testing.assert_allclose(t._images(np.array([[-5.0, 20.0, 40.0, 80.0]])).ravel(),
                               [0.0, 0.5, 1.0, 1.0])


def test_several_extractors_side_by_side() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 255, (12, 16 * 16 * 3))
    t = FeatureTransformer("hog,color", value_range=(0, 255)).fit(X)
    assert t.image_shape_ == (16, 16, 3)
    assert t.transform(X).shape == (12, 36 + 10)
    assert t.get_feature_names_out()[-1] == "color9"


def test_errors_name_the_problem() -> None:
    X = np.zeros((3, 64))
    with pytest.raises(ShapeError, match=r"image_shape \(7, 7\) does not hold the 64 values"):
        FeatureTransformer(image_shape=(7, 7)).fit(X)
    with pytest.raises(ConfigError, match="unknown feature"):
        FeatureTransformer("sift").fit(X)
    with pytest.raises(ValueError, match="low < high"):
        FeatureTransformer(value_range=(1, 1)).fit(X)


def test_hog_then_mlp_pipeline_on_digits() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    pipe = Pipeline([
        ("hog", FeatureTransformer("hog", image_shape=(8, 8), value_range=(0, 16),
                                   options={"hog": {"cell_size": 2}})),
        ("mlp", MLPClassifier(hidden=(64,), epochs=20, lr=1e-2)),
    ])
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.9
    assert pipe.named_steps["mlp"].n_features_in_ == pipe.named_steps["hog"].n_features_out_
