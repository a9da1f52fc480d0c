"""Bag of visual words: the lecture's two-step, data-driven image feature.

Step 1 (``fit``): extract random patches from the training images, normalize each one's
contrast, and cluster them with k-means (scikit-learn) into a codebook of ``n_words``
"visual words". Step 2 (``transform``): cut each image into a dense grid of patches, assign
each patch to its nearest word, and describe the image by the normalized histogram of its
words (sums to 1). Patch normalization (brightness and contrast invariance)::

    p <- (p - mean(p)) / sqrt(var(p) + eps)
"""

from __future__ import annotations

import numpy as np

from chainrule.checks import check_int, check_real, in_range
from chainrule.errors import ShapeError
from chainrule.features._common import as_image_batch, batch_slices

__all__ = ["BagOfWords"]


def _normalize_patches(patches: np.ndarray, eps: float) -> np.ndarray:
    centered = patches - patches.mean(axis=-1, keepdims=True)
    return centered / np.sqrt((centered**2).mean(axis=-1, keepdims=True) + eps)


class BagOfWords:
    """Bag-of-visual-words encoder: ``fit`` learns the codebook, ``transform`` encodes images.

    Args:
        patch_size: side of the square patches, in pixels.
        n_words: codebook size (k of k-means); the feature length.
        n_patches: random training patches clustered by ``fit``.
        stride: step of the dense patch grid in ``transform`` (default ``patch_size // 2``).
        eps: contrast-normalization constant (images in [0, 1]).
        seed: seed of the patch sampling and of k-means.

    >>> import numpy as np
    >>> images = np.random.default_rng(0).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    >>> bow = BagOfWords(patch_size=4, n_words=5, n_patches=500).fit(images)
    >>> bow.transform(images).shape
    (20, 5)
    """

    name = "bow"

    def __init__(
        self,
        patch_size: int = 8,
        n_words: int = 100,
        n_patches: int = 10_000,
        stride: int | None = None,
        eps: float = 0.01,
        seed: int = 0,
    ) -> None:
        for label, value, high in (("patch_size", patch_size, 64), ("n_words", n_words, 10_000),
                                   ("n_patches", n_patches, 1_000_000)):
            if not in_range(value, low=1, high=high) or int(value) != value:
                raise ValueError(f"BagOfWords: {label} must be a positive int <= {high:,}, "
                                 f"got {value!r}")
        if stride is not None and (not in_range(stride, low=1, high=64) or int(stride) != stride):
            raise ValueError(f"BagOfWords: stride must be a positive int <= 64, got {stride!r}")
        check_real("BagOfWords", "eps", eps, low=0.0)
        check_int("BagOfWords", "seed", seed, low=0)
        if n_patches < n_words:
            raise ValueError(f"BagOfWords: n_patches ({n_patches}) must be >= n_words ({n_words})")
        self.patch_size = int(patch_size)
        self.n_words = int(n_words)
        self.n_patches = int(n_patches)
        self.stride = int(stride) if stride is not None else max(1, self.patch_size // 2)
        self.eps = float(eps)
        self.seed = int(seed)
        self.codebook: np.ndarray | None = None

    def _check(self, images: np.ndarray, op: str) -> np.ndarray:
        p = self.patch_size
        return as_image_batch(images, f"BagOfWords.{op}", np.float32, min_size=(p, p),
                              keep_dtype=True)

    def fit(self, images: np.ndarray, seed: int | None = None) -> BagOfWords:
        """Cluster ``n_patches`` random normalized patches into the codebook (k-means)."""
        from sklearn.cluster import MiniBatchKMeans

        x = self._check(images, "fit")
        seed = self.seed if seed is None else int(seed)
        n, h, w, c = x.shape
        rng = np.random.default_rng(seed)
        p = self.patch_size
        which = rng.integers(0, n, self.n_patches)
        top = rng.integers(0, h - p + 1, self.n_patches)
        left = rng.integers(0, w - p + 1, self.n_patches)
        offsets = np.arange(p)
        rows = (top[:, None] + offsets)[:, :, None]
        cols = (left[:, None] + offsets)[:, None, :]
        patches = x[which[:, None, None], rows, cols].reshape(self.n_patches, -1)
        patches = patches.astype(np.float32)
        if x.dtype == np.uint8:
            patches /= 255.0
        patches = _normalize_patches(patches, self.eps)
        kmeans = MiniBatchKMeans(n_clusters=self.n_words, random_state=seed, n_init=1,
                                 batch_size=2048)
        kmeans.fit(patches)
        self.codebook = kmeans.cluster_centers_.astype(np.float32)
        self._image_channels = c
        return self

    def dense_patches(self, images: np.ndarray) -> np.ndarray:
        """Normalized patches on the dense grid: ``(N, n_patches_per_image, p * p * C)``."""
        x = self._check(images, "dense_patches")
        x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
        p, s = self.patch_size, self.stride
        windows = np.lib.stride_tricks.sliding_window_view(x, (p, p), axis=(1, 2))
        windows = windows[:, ::s, ::s]  # (N, rows, cols, C, p, p)
        n = windows.shape[0]
        patches = np.moveaxis(windows, 3, -1).reshape(n, -1, p * p * x.shape[-1])
        return _normalize_patches(patches, self.eps)

    def transform(
        self, images: np.ndarray, batch_size: int = 1024, progress: bool | None = False
    ) -> np.ndarray:
        """Each image as the normalized histogram of its patches' nearest words, ``(N, n_words)``.

        Nearest word by squared distance ``|p|^2 - 2 p.w + |w|^2``; histogram / patch count.
        """
        if self.codebook is None:
            raise RuntimeError("BagOfWords.transform: call fit(images) first (no codebook yet)")
        x = self._check(images, "transform")
        if self.codebook.shape[1] != self.patch_size**2 * x.shape[-1]:
            raise ShapeError(
                f"BagOfWords.transform: the codebook was fitted on patches of "
                f"{self.codebook.shape[1]} values, images with {x.shape[-1]} channels give "
                f"{self.patch_size**2 * x.shape[-1]}"
            )
        out = np.empty((x.shape[0], self.n_words), np.float32)
        word_norms = (self.codebook**2).sum(axis=1)
        for part in batch_slices(x.shape[0], batch_size, progress, "bag of words"):
            patches = self.dense_patches(x[part])
            m, k, d = patches.shape
            scores = patches.reshape(-1, d) @ self.codebook.T
            words = (word_norms - 2 * scores).argmin(axis=1).reshape(m, k)
            index = words + (np.arange(m) * self.n_words)[:, None]
            counts = np.bincount(index.ravel(), minlength=m * self.n_words)
            out[part] = counts.reshape(m, self.n_words) / np.float32(k)
        return out

    def fit_transform(self, images: np.ndarray, seed: int | None = None) -> np.ndarray:
        return self.fit(images, seed).transform(images)

    def config(self) -> dict:
        """JSON-able constructor arguments (the codebook is in :meth:`state_dict`)."""
        return {"patch_size": self.patch_size, "n_words": self.n_words,
                "n_patches": self.n_patches, "stride": self.stride, "eps": self.eps,
                "seed": self.seed}

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted ``{'codebook': (n_words, patch values)}`` (empty before ``fit``)."""
        return {} if self.codebook is None else {"codebook": self.codebook}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict`'s codebook."""
        if "codebook" in state:
            codebook = np.asarray(state["codebook"], np.float32)
            if codebook.shape[0] != self.n_words:
                raise ShapeError(f"BagOfWords: codebook has {codebook.shape[0]} words, "
                                 f"the config says n_words={self.n_words}")
            self.codebook = codebook

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"BagOfWords({args})"
