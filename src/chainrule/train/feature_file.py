"""Image features of a data set in one ``.npz`` file (what ``chainrule features`` writes).

The pipeline is fitted on the training images only and applied to both splits. The file
holds ``features``, ``labels`` (train split), ``test_features``, ``test_labels``, ``names``
(extractor names), ``classes``, ``config`` (the pipeline's JSON :meth:`config`) and the
pipeline's :meth:`state_dict` (``features.mean``, ``features.std``,
``features.bow.codebook``), so ``FeaturePipeline.from_config(json.loads(str(f['config'])), f)``
rebuilds the exact recipe.

>>> parts, classes, _ = load_image_splits("cifar10")                          # doctest: +SKIP
>>> pipe = FeaturePipeline.from_names(["hog", "color"])                       # doctest: +SKIP
>>> write_feature_file("cifar-hog.npz", pipe, parts, classes).shape           # doctest: +SKIP
(50000, 334)
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import numpy as np

from chainrule.atomic import atomic_open
from chainrule.train.inputs import ImageSplits

if TYPE_CHECKING:
    from chainrule.features import FeaturePipeline

__all__ = ["write_feature_file"]


def write_feature_file(path: str | os.PathLike, pipeline: FeaturePipeline, parts: ImageSplits,
                       classes: list[str], seed: int = 0) -> np.ndarray:
    """Fit ``pipeline`` on the training images, write both splits' features to ``path``.

    ``pipeline`` is an unfitted :class:`~chainrule.features.FeaturePipeline`; the file is
    written atomically. Returns the training features ``(N, pipeline.output_dim)``.
    """
    (train_x, train_y), (test_x, test_y) = parts["train"], parts["test"]
    train_features = pipeline.fit_transform(train_x, seed=seed)
    test_features = pipeline.transform(test_x)
    arrays = {
        "features": train_features, "labels": np.asarray(train_y, np.int64),
        "test_features": test_features, "test_labels": np.asarray(test_y, np.int64),
        "names": np.array(pipeline.names), "classes": np.array(classes),
        "config": np.array(json.dumps(pipeline.config())),
        **pipeline.state_dict(),
    }
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)
    return train_features
