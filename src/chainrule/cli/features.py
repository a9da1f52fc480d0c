"""``chainrule features``: extract image features of a data set into a .npz file."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DESCRIPTION = """\
Extract hand-made image features (the lecture's alternative to learned features) from a data
set and write them to a .npz file: HOG (histogram of oriented gradients), color (hue
histogram), gabor (pooled Gabor filter responses), bow (bag of visual words).

The pipeline is fitted on the TRAINING images only (bag-of-words codebook, per-feature mean and
std), then applied to both splits. The file holds: features, labels (train split),
test_features, test_labels, names (extractor names), classes, config (the pipeline's JSON
config) and the fitted arrays (features.mean, features.std, features.bow.codebook), so
FeaturePipeline.from_config(json.loads(f['config']), f) rebuilds the exact recipe.
"""

EPILOG = """\
examples:
  chainrule features --data cifar10 --features hog,color --out cifar-hog-color.npz
  chainrule features --data ./my_images --features hog,gabor --set hog.cell_size=4
  chainrule features --data cifar10 --features bow --set bow.n_words=200 --limit 5000
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "features", help="extract HOG / color / Gabor / bag-of-words features to a .npz file",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(p)
    add_feature_arguments(
        p,
        features_help="comma-separated extractors from hog, color, gabor, bow (default hog,color)",
        set_help="an extractor option, e.g. hog.cell_size=4, hog.block_norm=L1, color.bins=16, "
                 "gabor.frequencies=[0.1,0.25], bow.n_words=200 (values are JSON; repeatable)",
    )
    p.add_argument("--out", default=None, metavar="FILE",
                   help="output .npz (default features-<data>-<names>.npz)")
    p.add_argument("--no-standardize", action="store_true",
                   help="write raw features (no mean/std standardization)")
    p.add_argument("--batch-size", type=int, default=2048, metavar="N",
                   help="images per extraction batch (bounds memory; default 2048)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
    p.set_defaults(func=run)


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """--data, --data-dir, --limit, --seed: shared with ``chainrule compare``."""
    p.add_argument("--data", default="cifar10", metavar="NAME|PATH",
                   help="cifar10 (default), mnist, fashion-mnist, digits, or a path to an image "
                        "folder / .zip (one sub-folder per class, optional train/ and test/)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="where named data sets are looked for (default $CHAINRULE_DATA or "
                        "~/.chainrule/data)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="use a random subset of N training images (and N/5 test images)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the subset, the bag-of-words sampling and k-means (default 0)")


def add_feature_arguments(p: argparse.ArgumentParser, features_help: str, set_help: str) -> None:
    """--features NAMES and --set NAME.OPTION=VALUE: shared with ``chainrule compare``."""
    p.add_argument("--features", default="hog,color", metavar="NAMES", help=features_help)
    p.add_argument("--set", action="append", default=[], metavar="NAME.OPTION=VALUE",
                   dest="options", help=set_help)


def parse_options(items: list[str]) -> dict[str, dict]:
    """``['hog.cell_size=4', 'color.bins=16']`` -> ``{'hog': {'cell_size': 4}, ...}``."""
    options: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        name, dot, option = key.partition(".")
        if not sep or not dot or not name or not option:
            raise ValueError(f"--set expects NAME.OPTION=VALUE (e.g. hog.cell_size=4), "
                             f"got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        options.setdefault(name, {})[option] = value
    return options


def load_images(data: str, data_dir: str | None, limit: int | None, seed: int):
    """Train/test images and labels (uint8 N,H,W,C) via ``chainrule.data.load``."""
    from chainrule.data import load
    from chainrule.errors import DataError

    dataset = load(data, data_dir, seed=seed)
    if not hasattr(dataset, "train_images"):
        raise DataError(f"{data}: image features need an image data set, this one holds "
                        f"feature vectors")
    parts = {"train": (dataset.train_images, dataset.train_labels),
             "test": (dataset.test_images, dataset.test_labels)}
    if limit is not None:
        if limit < 1:
            raise ValueError(f"--limit must be >= 1, got {limit}")
        rng = np.random.default_rng(seed)
        for split, count in (("train", limit), ("test", max(1, limit // 5))):
            images, labels = parts[split]
            if count < len(images):
                keep = np.sort(rng.choice(len(images), count, replace=False))
                parts[split] = (images[keep], labels[keep])
    return parts, list(dataset.classes), getattr(dataset, "name", str(data))


def save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run(args: argparse.Namespace) -> int:
    from chainrule.features import FeaturePipeline

    names = [n.strip() for n in args.features.split(",") if n.strip()]
    if names == ["pixels"]:
        raise ValueError("--features pixels needs no extraction; pick from hog, color, gabor, bow")
    pipeline = FeaturePipeline.from_names(
        names, **parse_options(args.options), standardize=not args.no_standardize,
        batch_size=args.batch_size, progress=args.progress)
    parts, classes, title = load_images(args.data, args.data_dir, args.limit, args.seed)
    (train_x, train_y), (test_x, test_y) = parts["train"], parts["test"]
    print(f"{title}: {len(train_x):,} train + {len(test_x):,} test images of "
          f"{'x'.join(map(str, train_x.shape[1:]))}; features {','.join(names)}",
          file=sys.stderr)
    start = time.perf_counter()
    train_features = pipeline.fit_transform(train_x, seed=args.seed)
    test_features = pipeline.transform(test_x)
    seconds = time.perf_counter() - start
    out = Path(args.out or f"features-{Path(str(args.data)).name}-{'-'.join(names)}.npz")
    arrays = {
        "features": train_features, "labels": np.asarray(train_y, np.int64),
        "test_features": test_features, "test_labels": np.asarray(test_y, np.int64),
        "names": np.array(names), "classes": np.array(classes),
        "config": np.array(json.dumps(pipeline.get_config())),
        **pipeline.state_arrays(),
    }
    save_npz_atomic(out, arrays)
    print(f"wrote {out}: {train_features.shape[1]} features per image "
          f"({', '.join(f'{n} {d}' for n, d in zip(pipeline.names, pipeline.dims))}) "
          f"in {seconds:.1f} s", file=sys.stderr)
    return 0
