"""HOG features of a large image set with Dask: ``map_blocks`` over batches of images.

The images stay a lazy Dask array chunked along the first axis (one chunk = one batch of
whole images); ``cr.features.hog`` runs on each chunk in parallel (threads, processes or a
Dask cluster) and the descriptors come back as an ``(N, D)`` array, chunked the same way.

    python examples/dask_hog_features.py      # 20,000 random 32x32 RGB images
"""

from __future__ import annotations

import dask.array as da
import numpy as np

import chainrule as cr


def hog_features(images: da.Array, cell_size: int = 8, orientations: int = 9) -> da.Array:
    """``(N, H, W, C)`` images chunked along N -> ``(N, D)`` HOG descriptors, lazily."""
    if images.chunks[1:] != tuple((s,) for s in images.shape[1:]):
        images = images.rechunk({1: -1, 2: -1, 3: -1})  # whole images in every chunk
    h, w = images.shape[1:3]
    size = int(np.prod(cr.features.hog_output_shape((h, w), (cell_size, cell_size),
                                                    orientations)))
    return images.map_blocks(cr.features.hog, cell_size=cell_size, orientations=orientations,
                             dtype=np.float32, chunks=(images.chunks[0], (size,)),
                             drop_axis=(2, 3))


def main() -> None:
    rng = da.random.default_rng(0)
    images = rng.integers(0, 256, (20_000, 32, 32, 3), chunks=(2_000, 32, 32, 3),
                          dtype=np.uint8)
    features = hog_features(images)
    print(features)                      # lazy: (20000, 144) in 10 chunks
    result = features.compute()          # the chunks in parallel
    print(result.shape, result.dtype)


if __name__ == "__main__":
    main()
