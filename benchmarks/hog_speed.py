"""HOG speed: chainrule's batched NumPy HOG versus skimage.feature.hog called per image.

Two image sizes: 32x32 RGB (CIFAR-10 (JPEG) when available, otherwise random images) and
the lecture's 320x240 (the same photos enlarged, otherwise random), each in the lecture's
setting (8x8 cells, 9 bins, no blocks) and with 2x2 L2-Hys blocks. Both are timed in one
process on the same uint8 images; the script checks that they give the same numbers
(rtol 1e-5: scikit-image on the uint8 image as it is) and prints the time per image and
the speed-up.

    python benchmarks/hog_speed.py                  # 2,000 small and 100 large images (~2 min)
    python benchmarks/hog_speed.py --quick          # 300 and 20 (~20 s)
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
}


def load_images(n: int, data_dir: str | None, size: tuple[int, int] = (32, 32)
                ) -> tuple[np.ndarray, str]:
    """``n`` RGB uint8 images of ``size`` (width, height): CIFAR-10 photos (enlarged
    bilinearly past 32x32) when the JPEG zip is found, otherwise uniform noise."""
    zip_path = Path(data_dir or "/work/shared/data") / "cifar10-jpeg" / "cifar10-jpeg.zip"
    if zip_path.is_file():
        import io
        import zipfile

        from PIL import Image

        with zipfile.ZipFile(zip_path) as archive:
            names = sorted(m for m in archive.namelist() if m.lower().endswith(".jpg"))
            rng = np.random.default_rng(0)
            pick = rng.choice(len(names), min(n, len(names)), replace=False)
            images = []
            for i in pick:
                image = Image.open(io.BytesIO(archive.read(names[i]))).convert("RGB")
                if image.size != size:
                    image = image.resize(size, Image.Resampling.BILINEAR)
                images.append(np.asarray(image))
        return np.stack(images), "CIFAR-10 (JPEG)" + (" enlarged" if size != (32, 32) else "")
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, size[1], size[0], 3), dtype=np.uint8), "random RGB"


def skimage_hog(images: np.ndarray, cell_size: int, block_size: int,
                block_norm: str | None) -> np.ndarray:
    """skimage image by image, on each uint8 image as it is. Without blocks it times its
    1x1 'L1' blocks (skimage always normalizes; the same work: gradients, cell histograms
    and a per-cell normalization)."""
    from skimage.feature import hog as sk_hog

    norm = block_norm or "L1"
    return np.stack([sk_hog(image, 9, (cell_size, cell_size), (block_size, block_size), norm,
                            channel_axis=-1) for image in images])


def best_time(fn: object, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="32x32 images (default 2000)")
    parser.add_argument("--large-images", type=int, default=100,
                        help="320x240 images (default 100)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings")
    parser.add_argument("--quick", action="store_true", help="300 and 20 images, best of 2")
    args = parser.parse_args()
    if args.quick:
        args.images, args.large_images, args.repeats = 300, 20, 2
    started = time.perf_counter()
    print(f"{'images':34s} {'configuration':38s} {'skimage/img':>12s} {'chainrule/img':>14s} "
          f"{'speed-up':>9s}")
    for size, count in (((32, 32), args.images), ((320, 240), args.large_images)):
        images, source = load_images(count, args.data_dir, size)
        label = f"{len(images):,} {source} {size[0]}x{size[1]}"
        for name, config in CONFIGS.items():
            def ours(images: np.ndarray = images, config: dict = config) -> np.ndarray:
                return hog(images, orientations=9, dtype=np.float64, **config)

            def theirs(images: np.ndarray = images, config: dict = config) -> np.ndarray:
                return skimage_hog(images, **config)

            ours(images[:2])  # tables made once, as in a real run
            ours_t = best_time(ours, args.repeats) / len(images)
            theirs_t = best_time(theirs, args.repeats) / len(images)
            if config["block_norm"] is not None:
                np.testing.assert_allclose(ours(), theirs(), rtol=1e-5, atol=1e-9)
            print(f"{label:34s} {name:38s} {theirs_t * 1e6:10.0f}us {ours_t * 1e6:12.1f}us "
                  f"{theirs_t / ours_t:8.1f}x", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s; the L2-Hys results agree with "
          "scikit-image's to rtol 1e-5")


if __name__ == "__main__":
    main()
