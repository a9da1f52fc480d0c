"""write_feature_file: a data set's features in one .npz that rebuilds its own pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule.features import FeaturePipeline
from chainrule.train import load_image_splits, write_feature_file

pytest.importorskip("skimage")


def test_file_holds_both_splits_and_the_recipe(tmp_path) -> None:
    parts, classes, _ = load_image_splits("digits", limit=60)
    pipeline = FeaturePipeline.from_names(["gabor"], progress=False)
    out = tmp_path / "sub" / "digits.npz"
    train_features = write_feature_file(out, pipeline, parts, classes, seed=1)
    assert sorted(p.name for p in out.parent.iterdir()) == ["digits.npz"]  # no temp file left
    with np.load(out) as f:
        np.testing.assert_array_equal(f["features"], train_features)
        assert f["test_features"].shape == (12, train_features.shape[1])
        np.testing.assert_array_equal(f["labels"], parts["train"][1])
        assert f["labels"].dtype == np.int64 and f["names"].tolist() == ["gabor"]
        assert f["classes"].tolist() == classes
        rebuilt = FeaturePipeline.from_config(json.loads(str(f["config"])), f)
        np.testing.assert_array_equal(rebuilt.transform(parts["test"][0]), f["test_features"])
