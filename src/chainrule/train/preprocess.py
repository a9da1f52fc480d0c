"""Images -> model inputs, fitted on the training split: the :class:`Preprocessor`.

Each image becomes one vector: its pixels scaled to ``[0, 1]`` (``features='pixels'``) or the
image features of a :class:`~chainrule.features.FeaturePipeline`; then every feature is
standardized with the training split's statistics, ``x' = (x - mean) / std``.
:func:`shift_augment` adds one-pixel shifts of small training sets.

>>> pre = Preprocessor("pixels").fit(train_images)        # doctest: +SKIP
>>> pre.transform(test_images).shape                      # doctest: +SKIP
(359, 64)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.errors import ConfigError, DataError

__all__ = ["Preprocessor", "shift_augment"]


class Preprocessor:
    """Images -> model inputs: pixels in [0, 1] or image features, then standardization.

    ``features`` is ``'pixels'`` or comma-separated names of ``chainrule.features.EXTRACTORS``;
    ``pipeline`` is the (unfitted) :class:`~chainrule.features.FeaturePipeline` to use for
    them, built from the names by :meth:`fit` when not given. Fitted on the training split
    only; :meth:`state_dict` is what a checkpoint stores, so evaluate and predict transform
    new images exactly like the training images.

    >>> pre = Preprocessor().fit(np.arange(8, dtype=np.uint8).reshape(2, 2, 2, 1))
    >>> pre.transform(np.full((1, 2, 2, 1), 2, np.uint8)).round(2).tolist()
    [[0.0, -0.5, -1.0, -1.5]]
    """

    def __init__(self, features: str = "pixels", image_shape: tuple[int, ...] | None = None,
                 pipeline: Any = None, standardizer: Any = None) -> None:
        self.features = features
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.pipeline = pipeline
        self.standardizer = standardizer

    @property
    def on_pixels(self) -> bool:
        """Whether the model inputs are the pixels themselves (not image features)."""
        return self.features == "pixels"

    def fit(self, train: np.ndarray, seed: int = 0) -> Preprocessor:
        """Fit the feature pipeline (if any) and the standardization on the training split."""
        self._fit(train, seed)
        return self

    def fit_transform(self, train: np.ndarray, seed: int = 0) -> np.ndarray:
        """:meth:`fit`, then :meth:`transform` of the same images, extracting features once."""
        raw = self._fit(train, seed)
        return self.standardizer.transform(raw)

    def _fit(self, train: np.ndarray, seed: int) -> np.ndarray:
        """Fit; return the training inputs before standardization."""
        from chainrule.data import Standardizer

        if train.ndim == 4:
            self.image_shape = tuple(int(s) for s in train.shape[1:])
        elif not self.on_pixels:
            raise ConfigError(f"--features {self.features} needs images; this data set is a "
                              "table of features (use --features pixels)")
        if self.on_pixels:
            raw = self._raw(train)
        else:
            if self.pipeline is None:
                from chainrule.features import FeaturePipeline

                names = [n.strip() for n in self.features.split(",") if n.strip()]
                self.pipeline = FeaturePipeline.from_names(names)
            raw = np.asarray(self.pipeline.fit_transform(train, seed=seed), dtype=np.float32)
        self.standardizer = Standardizer().fit(raw)
        return raw

    def _raw(self, data: np.ndarray) -> np.ndarray:
        if data.ndim == 2:
            return np.asarray(data, dtype=np.float32)
        if self.image_shape is not None and tuple(data.shape[1:]) != self.image_shape:
            raise DataError(
                f"the model was trained on images of shape {_fmt_shape(self.image_shape)}, "
                f"these are {_fmt_shape(data.shape[1:])}"
            )
        if self.pipeline is not None:
            return np.asarray(self.pipeline.transform(data), dtype=np.float32)
        from chainrule.data import images_to_features

        return images_to_features(data)

    def transform(self, data: np.ndarray) -> np.ndarray:
        """(N, H, W, C) uint8 images (or (N, D) features) -> standardized float32 (N, D)."""
        return self.standardizer.transform(self._raw(data))

    def state_dict(self) -> dict[str, Any]:
        """The fitted state, under the names a checkpoint stores it by.

        ``image_shape`` (of the training images, ``None`` for tables), ``normalization``
        (the standardizer's ``{'mean', 'std'}``) and ``features`` (``None`` on pixels, else
        the pipeline's ``{'config': pipeline.config(), 'arrays': pipeline.state_dict()}``).
        ``save_checkpoint(path, model, **pre.state_dict())`` stores it.
        """
        return {
            "image_shape": self.image_shape,
            "normalization": (self.standardizer.state_dict()
                              if self.standardizer is not None else None),
            "features": (None if self.pipeline is None else
                         {"config": self.pipeline.config(), "arrays": self.pipeline.state_dict()}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (the feature pipeline is rebuilt from it)."""
        from chainrule.data import Standardizer

        shape = state.get("image_shape")
        self.image_shape = tuple(int(s) for s in shape) if shape is not None else None
        doc = state.get("features")
        self.pipeline = None
        if doc is not None:
            from chainrule.features import FeaturePipeline

            self.pipeline = FeaturePipeline.from_config(doc["config"], doc["arrays"])
        if state.get("normalization") is None:
            raise DataError("Preprocessor.load_state_dict: the state has no normalization "
                            "statistics")
        self.standardizer = Standardizer.from_state_dict(state["normalization"])


def shift_augment(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images plus copies moved one pixel up, down, left and right (5x the data).

    A handwritten digit moved by a pixel is still the same digit, but for a fully-connected
    net on pixels it is a different input vector: the copies teach it that small
    translations do not matter. Vacated pixels are 0 (the digits' background).

    >>> imgs, ys = shift_augment(np.zeros((2, 8, 8, 1), np.uint8), np.array([3, 7]))
    >>> imgs.shape, ys.tolist()
    ((10, 8, 8, 1), [3, 7, 3, 7, 3, 7, 3, 7, 3, 7])
    """
    h, w = images.shape[1:3]
    copies = [images]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        moved = np.zeros_like(images)
        moved[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        copies.append(moved)
    return np.concatenate(copies), np.tile(labels, len(copies))


def _fmt_shape(shape: Any) -> str:
    return "x".join(str(int(s)) for s in shape)
