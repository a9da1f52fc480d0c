"""HOG speed: chainrule's batched NumPy HOG versus skimage.feature.hog called per image.

Measures both on the same 32x32 RGB uint8 images (CIFAR-10 (JPEG) when available, otherwise
random images of that shape), checks that they agree, and extrapolates to 50,000 images.

    python benchmarks/hog_speed.py [--images 2000] [--data-dir /work/shared/data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from chainrule.features import hog

CONFIGS = {
    "lecture: 8x8 cells, 9 bins, no blocks": dict(cell_size=8, block_size=1, block_norm=None),
    "8x8 cells, 2x2 blocks, L2-Hys": dict(cell_size=8, block_size=2, block_norm="L2-Hys"),
    "4x4 cells, 2x2 blocks, L2-Hys": dict(cell_size=4, block_size=2, block_norm="L2-Hys"),
}


def load_images(n: int, data_dir: str | None) -> tuple[np.ndarray, str]:
    zip_path = Path(data_dir or "/work/shared/data") / "cifar10-jpeg" / "cifar10-jpeg.zip"
    if zip_path.is_file():
        import io
        import zipfile

        from PIL import Image

        with zipfile.ZipFile(zip_path) as archive:
            names = sorted(m for m in archive.namelist() if m.lower().endswith(".jpg"))
            rng = np.random.default_rng(0)
            pick = rng.choice(len(names), min(n, len(names)), replace=False)
            images = [np.asarray(Image.open(io.BytesIO(archive.read(names[i]))).convert("RGB"))
                      for i in pick]
        return np.stack(images), "CIFAR-10 (JPEG)"
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), "random 32x32 RGB"


def skimage_hog(images: np.ndarray, cell_size: int, block_size: int,
                block_norm: str | None) -> np.ndarray:
    from skimage.feature import hog as sk_hog

    # skimage always normalizes blocks; without blocks we time its 1x1 'L1' blocks (the
    # same work: gradients, cell histograms and a per-cell normalization).
    norm = block_norm or "L1"
    floats = images / 255.0
    return np.stack([sk_hog(image, 9, (cell_size, cell_size), (block_size, block_size), norm,
                            channel_axis=-1) for image in floats])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="images per method")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings")
    args = parser.parse_args()
    images, source = load_images(args.images, args.data_dir)
    n = len(images)
    print(f"HOG of {n:,} {source} images, extrapolated to 50,000 (best of {args.repeats})")
    print(f"{'configuration':40s} {'skimage/img':>12s} {'chainrule/img':>14s} "
          f"{'skimage 50k':>12s} {'chainrule 50k':>14s} {'speed-up':>9s}")
    for label, config in CONFIGS.items():
        ours_times, theirs_times = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            ours = hog(images, orientations=9, dtype=np.float64, **config)
            ours_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            theirs = skimage_hog(images, **config)
            theirs_times.append(time.perf_counter() - start)
        if config["block_norm"] is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-9)
        ours_t, theirs_t = min(ours_times) / n, min(theirs_times) / n
        print(f"{label:40s} {theirs_t * 1e6:10.0f}us {ours_t * 1e6:12.1f}us "
              f"{theirs_t * 5e4:11.1f}s {ours_t * 5e4:13.2f}s {theirs_t / ours_t:8.1f}x")


if __name__ == "__main__":
    main()
