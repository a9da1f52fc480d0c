"""FeaturePipeline: several extractors side by side, then standardization.

``fit`` learns whatever the extractors learn (the bag-of-words codebook) and the per-feature
mean and standard deviation, on the TRAINING images only; ``transform`` applies the same
recipe to any images::

    f(x) = ([hog(x), color(x), ...] - mean) / std          (float32, shape (N, D))

The recipe is saved as its JSON-able settings, ``config()``, plus its fitted arrays,
``state_dict()`` (codebook, mean, std), so a checkpoint can rebuild it with
``FeaturePipeline.from_config(config, state)`` and ``predict`` applies exactly the features
the model was trained on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from chainrule.checks import check_int, check_real
from chainrule.errors import ConfigError, ShapeError
from chainrule.features._common import as_image_batch, batch_slices
from chainrule.features.bow import BagOfWords
from chainrule.features.color import color_histogram, color_histogram_dim
from chainrule.features.gabor import gabor_bank, gabor_features, gabor_features_dim
from chainrule.features.oriented_gradients import hog, hog_output_shape

__all__ = ["EXTRACTORS", "HOG", "ColorHistogram", "FeaturePipeline", "GaborFeatures"]

_STD_FLOOR = 1e-6


class _Extractor:
    """An image feature with fixed parameters: ``transform(images) -> (N, dim)``."""

    name = ""

    def fit(self, images: np.ndarray, seed: int = 0) -> _Extractor:
        return self

    def config(self) -> dict:
        """JSON-able constructor arguments."""
        return dict(self._config)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Fitted arrays (none: these extractors learn nothing)."""
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        return None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class HOG(_Extractor):
    """:func:`chainrule.features.hog` with fixed parameters (see there)."""

    name = "hog"

    def __init__(self, cell_size: int = 8, orientations: int = 9, block_size: int = 2,
                 block_norm: str | None = "L2-Hys", color: str = "max",
                 transform_sqrt: bool = False) -> None:
        if not isinstance(transform_sqrt, bool):
            raise ValueError(f"hog: transform_sqrt must be true or false, got {transform_sqrt!r}")
        self._config = {"cell_size": check_int("hog", "cell_size", cell_size, low=1, high=256),
                        "orientations": check_int("hog", "orientations", orientations, low=1,
                                                  high=360),
                        "block_size": check_int("hog", "block_size", block_size, low=1,
                                                high=16),
                        "block_norm": block_norm, "color": color,
                        "transform_sqrt": transform_sqrt}
        # Validate now, not at the first transform.
        hog(np.zeros((0, cell_size * block_size, cell_size * block_size, 1), np.uint8),
            **self._config)

    def transform(self, images: np.ndarray) -> np.ndarray:
        return hog(images, **self._config)

    def output_dim(self, image_shape: Sequence[int]) -> int:
        c = self._config
        return int(np.prod(hog_output_shape(tuple(image_shape[:2]), c["cell_size"],
                                            c["orientations"], c["block_size"])))


class ColorHistogram(_Extractor):
    """:func:`chainrule.features.color_histogram` with fixed parameters."""

    name = "color"

    def __init__(self, bins: int = 10, channel: str = "hue") -> None:
        # 'joint' has bins^3 entries: 64^3 is already 262,144 features per image
        high = 64 if channel == "joint" else 256
        self._config = {"bins": check_int("color", "bins", bins, low=1, high=high),
                        "channel": channel}
        color_histogram(np.zeros((0, 1, 1, 3), np.uint8), **self._config)

    def transform(self, images: np.ndarray) -> np.ndarray:
        return color_histogram(images, **self._config)

    def output_dim(self, image_shape: Sequence[int]) -> int:
        return color_histogram_dim(**self._config)


class GaborFeatures(_Extractor):
    """:func:`chainrule.features.gabor_features` with a fixed bank and grid."""

    name = "gabor"

    def __init__(self, frequencies: Sequence[float] = (0.1, 0.2, 0.3), orientations: int = 4,
                 bandwidth: float = 1.0, grid: int = 2) -> None:
        if isinstance(frequencies, (str, bytes)) or not isinstance(frequencies, Sequence) \
                or not 1 <= len(frequencies) <= 16:
            raise ValueError(f"gabor: frequencies must be a list of 1 to 16 numbers, "
                             f"got {frequencies!r}")
        for f in frequencies:
            # below 0.02 cycles/pixel a kernel is hundreds of pixels wide; above 0.5 it aliases
            check_real("gabor", "each frequency", f, low=0.02, high=0.5)
        check_int("gabor", "orientations", orientations, low=1, high=64)
        check_real("gabor", "bandwidth", bandwidth, low=0.5, high=8.0)
        check_int("gabor", "grid", grid, low=1, high=64)
        self.bank = gabor_bank(frequencies, orientations, bandwidth)
        self._config = {"frequencies": [float(f) for f in frequencies],
                        "orientations": int(orientations), "bandwidth": float(bandwidth),
                        "grid": int(grid)}

    def transform(self, images: np.ndarray) -> np.ndarray:
        return gabor_features(images, self.bank, self._config["grid"])

    def output_dim(self, image_shape: Sequence[int]) -> int:
        return gabor_features_dim(self.bank, self._config["grid"])


def _bow_output_dim(self: BagOfWords, image_shape: Sequence[int]) -> int:
    return self.n_words


BagOfWords.output_dim = _bow_output_dim  # the pipeline's extractor protocol

#: Extractor classes by the names ``--features`` accepts.
EXTRACTORS: dict[str, type] = {"hog": HOG, "color": ColorHistogram, "gabor": GaborFeatures,
                               "bow": BagOfWords}


class FeaturePipeline:
    """Concatenated image features, standardized with statistics of the training images.

    Args:
        extractors: objects with ``name``, ``fit(images, seed)``, ``transform(images)``,
            ``output_dim(image_shape)``, ``config()``, ``state_dict()`` and
            ``load_state_dict(state)`` (the classes in ``EXTRACTORS``); names unique.
        standardize: subtract the training mean and divide by the training std per feature.
        batch_size: images per batch (bounds memory: 50,000 CIFAR images stream through).
        progress: rich progress bar (``None``: only when stderr is a terminal).

    >>> import numpy as np
    >>> images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> pipe = FeaturePipeline.from_names(["hog", "color"])
    >>> pipe.fit_transform(images).shape      # 3x3 blocks x 2x2 cells x 9 + 10 hue bins
    (8, 334)
    """

    def __init__(self, extractors: list, standardize: bool = True, batch_size: int = 2048,
                 progress: bool | None = None) -> None:
        if not extractors:
            raise ValueError("FeaturePipeline: give at least one extractor")
        names = [e.name for e in extractors]
        if len(set(names)) != len(names):
            raise ValueError(f"FeaturePipeline: extractor names must be unique, got {names}")
        self.extractors = list(extractors)
        self.standardize = bool(standardize)
        self.batch_size = check_int("FeaturePipeline", "batch_size", batch_size, low=1)
        self.progress = progress
        self.image_shape: tuple[int, int, int] | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @classmethod
    def from_names(cls, names: Sequence[str] | str, **options: object) -> FeaturePipeline:
        """Build from names in ``EXTRACTORS`` ('hog', 'color', 'gabor', 'bow').

        ``options`` holds per-extractor keyword dicts by name (``hog={'cell_size': 4}``) and
        the pipeline's own ``standardize``, ``batch_size``, ``progress``. Unknown names and
        options an extractor does not accept raise :class:`~chainrule.errors.ConfigError`.
        """
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        unknown = [n for n in names if n not in EXTRACTORS]
        if unknown:
            raise ConfigError(f"FeaturePipeline: unknown feature(s) {unknown}; choose from "
                              f"{sorted(EXTRACTORS)} ('pixels' means no pipeline)")
        stray = [k for k in options if k not in EXTRACTORS
                 and k not in ("standardize", "batch_size", "progress")]
        if stray:
            raise ConfigError(f"FeaturePipeline.from_names: unexpected options {stray}")
        extractors = []
        for name in names:
            kwargs = dict(options.get(name) or {})
            try:
                extractors.append(EXTRACTORS[name](**kwargs))
            except (TypeError, ValueError) as e:  # an option the extractor does not take
                raise ConfigError(f"FeaturePipeline: {name} options {kwargs}: {e}") from e
        own = {k: options[k] for k in ("standardize", "batch_size", "progress") if k in options}
        return cls(extractors, **own)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.extractors]

    @property
    def dims(self) -> list[int]:
        """Feature length of each extractor (needs the image shape, known after ``fit``)."""
        if self.image_shape is None:
            raise RuntimeError("FeaturePipeline: call fit(images) first")
        return [e.output_dim(self.image_shape) for e in self.extractors]

    @property
    def output_dim(self) -> int:
        return int(sum(self.dims))

    def _raw(self, images: np.ndarray, description: str) -> np.ndarray:
        """Unstandardized features, batch by batch, into one float32 array."""
        out = np.empty((images.shape[0], self.output_dim), np.float32)
        bounds = np.cumsum([0, *self.dims])
        for part in batch_slices(images.shape[0], self.batch_size, self.progress, description):
            batch = images[part]
            for extractor, lo, hi in zip(self.extractors, bounds[:-1], bounds[1:]):
                out[part, lo:hi] = extractor.transform(batch)
        return out

    def _check(self, images: np.ndarray, op: str) -> np.ndarray:
        x = as_image_batch(images, f"FeaturePipeline.{op}", np.float32, keep_dtype=True)
        if self.image_shape is not None and tuple(x.shape[1:]) != self.image_shape:
            raise ShapeError(f"FeaturePipeline.{op}: fitted on images of shape "
                             f"{self.image_shape}, got {tuple(x.shape[1:])}")
        return x

    def fit(self, images: np.ndarray, seed: int = 0) -> FeaturePipeline:
        """Fit the extractors and the standardization on the training images."""
        self.fit_transform(images, seed)
        return self

    def fit_transform(self, images: np.ndarray, seed: int = 0) -> np.ndarray:
        """``fit`` then ``transform`` on the same images, extracting the features once."""
        self.image_shape = None
        x = self._check(images, "fit")
        self.image_shape = tuple(int(v) for v in x.shape[1:])
        for extractor in self.extractors:
            extractor.fit(x, seed=seed)
        features = self._raw(x, "features (fit)")
        if self.standardize:
            self.mean = features.mean(axis=0, dtype=np.float64).astype(np.float32)
            std = features.std(axis=0, dtype=np.float64)
            self.std = np.where(std < _STD_FLOOR, 1.0, std).astype(np.float32)
            features -= self.mean
            features /= self.std
        return features

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Features of any images with the fitted recipe: float32 ``(N, output_dim)``."""
        if self.image_shape is None:
            raise RuntimeError("FeaturePipeline.transform: call fit(training images) first")
        features = self._raw(self._check(images, "transform"), "features")
        if self.standardize:
            features -= self.mean
            features /= self.std
        return features

    def config(self) -> dict:
        """JSON-able description that, with :meth:`state_dict`, rebuilds the pipeline."""
        config = {
            "version": 1,
            "extractors": [{"name": e.name, "config": e.config()} for e in self.extractors],
            "standardize": self.standardize,
            "batch_size": self.batch_size,
            "image_shape": list(self.image_shape) if self.image_shape is not None else None,
        }
        if self.image_shape is not None:
            config["output_dim"] = self.output_dim
        json.dumps(config)  # fail here, not when the checkpoint is written
        return config

    def state_dict(self) -> dict[str, np.ndarray]:
        """Fitted arrays: ``features.mean``, ``features.std``, ``features.<name>.<array>``.

        The keys carry the ``features.`` prefix so that the arrays can sit beside others in
        one file (``chainrule features`` writes them into its ``.npz``).
        """
        arrays: dict[str, np.ndarray] = {}
        for extractor in self.extractors:
            for key, value in extractor.state_dict().items():
                arrays[f"features.{extractor.name}.{key}"] = np.ascontiguousarray(value)
        if self.mean is not None:
            arrays["features.mean"] = self.mean
            arrays["features.std"] = self.std
        return arrays

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict`'s arrays into a pipeline built from the same config.

        A fitted standardizing pipeline (one that knows its image shape) needs
        ``features.mean`` and ``features.std`` of ``output_dim`` values.
        """
        state = dict(state)
        for extractor in self.extractors:
            prefix = f"features.{extractor.name}."
            extractor.load_state_dict({k[len(prefix):]: np.asarray(v) for k, v in state.items()
                                       if k.startswith(prefix)})
        if self.image_shape is not None and self.standardize:
            if "features.mean" not in state or "features.std" not in state:
                raise ValueError("FeaturePipeline.load_state_dict: a fitted standardizing "
                                 "pipeline needs arrays 'features.mean' and 'features.std'")
            self.mean = np.asarray(state["features.mean"], np.float32)
            self.std = np.asarray(state["features.std"], np.float32)
            if self.mean.shape != (self.output_dim,):
                raise ShapeError(f"FeaturePipeline.load_state_dict: mean has shape "
                                 f"{self.mean.shape}, the config gives "
                                 f"{self.output_dim} features")

    @classmethod
    def from_config(cls, config: dict, state: dict[str, np.ndarray] | None = None
                    ) -> FeaturePipeline:
        """Rebuild a pipeline from :meth:`config` (fitted when ``state`` is given).

        >>> pipe = FeaturePipeline.from_names(["color"]).fit(images)          # doctest: +SKIP
        >>> same = FeaturePipeline.from_config(pipe.config(), pipe.state_dict())  # doctest: +SKIP
        """
        if config.get("version") != 1:
            raise ValueError(f"FeaturePipeline.from_config: unknown config version "
                             f"{config.get('version')!r}")
        extractors = []
        for entry in config["extractors"]:
            if entry["name"] not in EXTRACTORS:
                raise ValueError(f"FeaturePipeline.from_config: unknown extractor "
                                 f"{entry['name']!r}")
            extractors.append(EXTRACTORS[entry["name"]](**entry["config"]))
        pipeline = cls(extractors, standardize=config.get("standardize", True),
                       batch_size=config.get("batch_size", 2048))
        if config.get("image_shape") is not None:
            pipeline.image_shape = tuple(int(v) for v in config["image_shape"])
        pipeline.load_state_dict(state or {})
        return pipeline

    def __repr__(self) -> str:
        return f"FeaturePipeline({self.extractors!r}, standardize={self.standardize})"
