"""``FeatureTransformer``: chainrule's image features as a scikit-learn transformer.

scikit-learn passes tables, so each row of ``X`` is one image, flattened
(``H * W * C`` pixel values, the layout of scikit-learn's ``load_digits().data``): the
transformer turns rows back into images, scales their pixels into ``[0, 1]``, and runs a
:class:`~chainrule.features.FeaturePipeline` (concatenated extractors, standardized).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from chainrule.errors import ShapeError

__all__ = ["FeatureTransformer", "infer_image_shape"]

FLOATS = (np.float64, np.float32)


def infer_image_shape(n_values: int) -> tuple[int, int, int]:
    """The image shape ``(H, W, C)`` of a row of ``n_values`` pixels: a square gray image
    when ``n_values`` is a square, else a square RGB one when a third of it is, else one
    row of gray pixels.

    >>> infer_image_shape(64), infer_image_shape(3072), infer_image_shape(10)
    ((8, 8, 1), (32, 32, 3), (1, 10, 1))
    """
    side = math.isqrt(n_values)
    if side * side == n_values:
        return side, side, 1
    if n_values % 3 == 0:
        side = math.isqrt(n_values // 3)
        if 3 * side * side == n_values:
            return side, side, 3
    return 1, n_values, 1


class FeatureTransformer(TransformerMixin, BaseEstimator):
    """Image features (HOG, colour histogram, Gabor, bag of words) of flattened images.

    Parameters
    ----------
    features:
        Names from ``chainrule.features.EXTRACTORS`` (``"hog"``, ``"color"``, ``"gabor"``,
        ``"bow"``), comma-separated or as a list; their features are concatenated.
    image_shape:
        ``(H, W)`` (gray) or ``(H, W, C)`` of one image; ``None``: inferred from the number
        of columns at ``fit`` (:func:`infer_image_shape`).
    value_range:
        ``(low, high)`` of the pixel values, mapped linearly onto ``[0, 1]`` (values outside
        are clipped): ``(0, 255)`` for 8-bit pixels, ``(0, 16)`` for scikit-learn's digits;
        ``None``: the smallest and largest value of the training data.
    options:
        Settings per extractor, e.g. ``{"hog": {"cell_size": 4}}`` (see
        :meth:`~chainrule.features.FeaturePipeline.from_names`).
    standardize:
        Standardize each feature with the training data's mean and standard deviation.
    seed:
        Seed of the bag of words' patch sampling and k-means.

    Fitted attributes: ``pipeline_`` (the :class:`~chainrule.features.FeaturePipeline`),
    ``image_shape_``, ``value_range_``, ``n_features_in_``, ``n_features_out_``.

    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> hog = FeatureTransformer("hog", image_shape=(8, 8), value_range=(0, 16),
    ...                          options={"hog": {"cell_size": 4}})
    >>> hog.fit_transform(X).shape        # 1 block x 2 x 2 cells x 9 orientations
    (1797, 36)
    """

    def __init__(self, features: str | Sequence[str] = "hog",
                 image_shape: Sequence[int] | None = None,
                 value_range: tuple[float, float] | None = None,
                 options: dict[str, dict] | None = None, standardize: bool = True,
                 seed: int = 0) -> None:
        self.features = features
        self.image_shape = image_shape
        self.value_range = value_range
        self.options = options
        self.standardize = standardize
        self.seed = seed

    def _names(self) -> list[str]:
        if isinstance(self.features, str):
            return [n.strip() for n in self.features.split(",") if n.strip()]
        return list(self.features)

    def _shape(self, n_values: int) -> tuple[int, int, int]:
        if self.image_shape is None:
            return infer_image_shape(n_values)
        shape = tuple(int(s) for s in self.image_shape)
        shape = (*shape, 1) if len(shape) == 2 else shape
        if len(shape) != 3 or math.prod(shape) != n_values:
            raise ShapeError(f"FeatureTransformer: image_shape {tuple(self.image_shape)} does "
                             f"not hold the {n_values} values of a row of X")
        return shape  # type: ignore[return-value]

    def _images(self, X: np.ndarray) -> np.ndarray:
        """Rows of X -> images ``(N, H, W, C)`` with pixels in ``[0, 1]``."""
        low, high = self.value_range_
        images = (X.astype(np.float64) - low) / (high - low)
        np.clip(images, 0.0, 1.0, out=images)
        return images.reshape((len(X), *self.image_shape_))

    def fit(self, X: Any, y: Any = None) -> FeatureTransformer:
        """Learn the image shape, the pixel range and the extractors' state (the
        bag-of-words codebook, the standardization) from training images."""
        self._fit(X)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """``fit(X).transform(X)``, extracting the features once."""
        return self._fit(X)

    def _fit(self, X: Any) -> np.ndarray:
        from chainrule.features import FeaturePipeline

        X = validate_data(self, X, dtype=FLOATS)
        self.image_shape_ = self._shape(X.shape[1])
        if self.value_range is None:
            low, high = float(X.min()), float(X.max())
        else:
            low, high = (float(v) for v in self.value_range)
        if not high > low:
            if self.value_range is not None:
                raise ValueError(f"FeatureTransformer: value_range must be (low, high) with "
                                 f"low < high, got {self.value_range}")
            high = low + 1.0
        self.value_range_ = (low, high)
        self.pipeline_ = FeaturePipeline.from_names(self._names(), standardize=self.standardize,
                                                    progress=False, **(self.options or {}))
        features = self.pipeline_.fit_transform(self._images(X), seed=self.seed)
        self.n_features_out_ = features.shape[1]
        return features

    def transform(self, X: Any) -> np.ndarray:
        """The features of each row of ``X``: float32 ``(n_samples, n_features_out_)``."""
        check_is_fitted(self, "pipeline_")
        X = validate_data(self, X, dtype=FLOATS, reset=False)
        return self.pipeline_.transform(self._images(X))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``hog0, hog1, ..., color0, ...``: each extractor's name and the feature's index."""
        check_is_fitted(self, "pipeline_")
        names = [f"{name}{i}" for name, dim in zip(self.pipeline_.names, self.pipeline_.dims)
                 for i in range(dim)]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # features are float32, whatever X was
        return tags
