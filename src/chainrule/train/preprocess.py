"""Images -> model inputs, fitted on the training split: the :class:`Preprocessor`.

Each image becomes one vector: its pixels scaled to ``[0, 1]`` (``features='pixels'``) or the
image features of a :class:`~chainrule.features.FeaturePipeline`; then every feature is
standardized with the training split's statistics, ``x' = (x - mean) / std``.
:func:`shift_augment` adds one-pixel shifts of small training sets. A ConvNet takes the
images themselves: :class:`ImagePreprocessor` standardizes each colour channel and keeps
the ``(N, C, H, W)`` layout.

>>> pre = Preprocessor("pixels").fit(train_images)        # doctest: +SKIP
>>> pre.transform(test_images).shape                      # doctest: +SKIP
(359, 64)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.errors import ConfigError, DataError

__all__ = ["ImagePreprocessor", "Preprocessor", "crop_padding", "shift_augment"]


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


def crop_padding(image_size: int) -> int:
    """How far random crops shift an image: 4 pixels for 32x32, 3 for 28x28, 1 for 8x8."""
    return max(1, int(image_size) // 8)


class ImagePreprocessor:
    """Images -> the NCHW float32 inputs of a ConvNet, standardized per colour channel.

    ``x' = (x / 255 - mean_c) / std_c`` with the mean and std of channel ``c`` over every
    pixel of the training split. The images stay images: ``(N, H, W, C)`` uint8 in,
    ``(N, C, H, W)`` out, whose memory is the channels-last input (a transposed view, which
    the image ops read without a copy). :meth:`batch_transform` gives the DataLoader's
    per-batch transform, with augmentation.

    >>> pre = ImagePreprocessor().fit(np.zeros((4, 8, 8, 3), np.uint8))
    >>> pre.transform(np.zeros((2, 8, 8, 3), np.uint8)).shape
    (2, 3, 8, 8)
    """

    features = "pixels"
    on_pixels = True
    pipeline = None

    def __init__(self, image_shape: tuple[int, ...] | None = None, mean: Any = None,
                 std: Any = None) -> None:
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)

    def fit(self, train: np.ndarray, seed: int = 0) -> ImagePreprocessor:
        """The per-channel mean and std of the training images' pixels (in [0, 1])."""
        if np.ndim(train) != 4 or len(train) == 0:
            raise ConfigError(f"a ConvNet needs images (N, H, W, C); this data set has shape "
                              f"{np.shape(train)} (use --model mlp for tables of features)")
        self.image_shape = tuple(int(s) for s in train.shape[1:])
        total = np.zeros(train.shape[-1])
        squares = np.zeros(train.shape[-1])
        for start in range(0, len(train), 4096):  # in blocks: no float64 copy of the set
            block = np.asarray(train[start:start + 4096], dtype=np.float64) / 255.0
            total += block.sum(axis=(0, 1, 2))
            squares += (block * block).sum(axis=(0, 1, 2))
        count = train.size // train.shape[-1]
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
        std[std < 1e-8] = 1.0
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)
        return self

    def fit_transform(self, train: np.ndarray, seed: int = 0) -> np.ndarray:
        return self.fit(train, seed).transform(train)

    def transform(self, images: np.ndarray) -> np.ndarray:
        """``(N, H, W, C)`` uint8 images -> standardized float32 ``(N, C, H, W)``."""
        if self.mean is None or self.std is None:
            raise RuntimeError("ImagePreprocessor.transform: call fit(train_images) first")
        images = np.asarray(images)
        if images.ndim != 4 or tuple(images.shape[1:]) != self.image_shape:
            raise DataError(
                f"the model was trained on images of shape {_fmt_shape(self.image_shape)}, "
                f"these are {_fmt_shape(images.shape[1:])}")
        scale = (1.0 / (255.0 * self.std)).astype(np.float32)
        out = images.astype(np.float32)
        out *= scale
        out -= self.mean / self.std
        return out.transpose(0, 3, 1, 2)

    def batch_transform(self, augment: str = "none"
                        ) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
        """The DataLoader's ``transform``: ``augment`` (``none``, ``crop`` or ``crop-flip``,
        see :mod:`chainrule.data.augment`) each batch, then :meth:`transform` it."""
        from chainrule.data.augment import AUGMENTATIONS, random_crop_flip

        if augment not in AUGMENTATIONS:
            raise ConfigError(f"augment must be one of {', '.join(AUGMENTATIONS)} for image "
                              f"batches, got {augment!r}")
        if augment == "none":
            return lambda batch, rng: self.transform(batch)
        padding = crop_padding(self.image_shape[0] if self.image_shape else 32)
        flip = augment == "crop-flip"
        return lambda batch, rng: self.transform(random_crop_flip(batch, rng, padding, flip))

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint stores: ``image_shape`` and ``normalization`` (per channel)."""
        return {"image_shape": self.image_shape,
                "normalization": None if self.mean is None else {"mean": self.mean,
                                                                 "std": self.std},
                "features": None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        shape = state.get("image_shape")
        self.image_shape = tuple(int(s) for s in shape) if shape is not None else None
        norm = state.get("normalization")
        if norm is None:
            raise DataError("ImagePreprocessor.load_state_dict: the state has no normalization "
                            "statistics")
        self.mean = np.asarray(norm["mean"], dtype=np.float32)
        self.std = np.asarray(norm["std"], dtype=np.float32)
