"""``chainrule features``: extract image features of a data set into a .npz file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from chainrule.cli.arguments import (
    add_command,
    add_data_arguments,
    add_feature_arguments,
    check_data_options,
    check_option,
    feature_names,
    parse_options,
)
from chainrule.errors import ConfigError

DESCRIPTION = """\
Extract hand-made image features (the lecture's alternative to learned features) from a data
set and write them to a .npz file: HOG (histogram of oriented gradients), color (hue
histogram), gabor (pooled Gabor filter responses), bow (bag of visual words).

The pipeline is fitted on the TRAINING images only (bag-of-words codebook, per-feature mean and
std), then applied to both splits. The file holds: features, labels (train split),
test_features, test_labels, names (extractor names), classes, config (the pipeline's JSON
config) and the fitted arrays (features.mean, features.std, features.bow.codebook), so
FeaturePipeline.from_config(json.loads(str(f['config'])), f) rebuilds the exact recipe.
"""

EPILOG = """\
examples:
  chainrule features --data cifar10 --features hog,color --out cifar-hog-color.npz
  chainrule features --data ./my_images --features hog,gabor --set hog.cell_size=4
  chainrule features --data cifar10 --features bow --set bow.n_words=200 --limit 5000
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "features", DESCRIPTION, EPILOG,
                    help="extract HOG / color / Gabor / bag-of-words features to a .npz file")
    add_data_arguments(p)
    add_feature_arguments(
        p,
        features_help="comma-separated extractors from hog, color, gabor, bow (default hog,color)",
        set_help="an extractor option, e.g. hog.cell_size=4, hog.block_norm=L1, color.bins=16, "
                 "gabor.frequencies=[0.1,0.25], bow.n_words=200 (values are JSON; repeatable)",
    )
    p.add_argument("--out", default=None, metavar="FILE",
                   help="output .npz (default features-<data>-<names>.npz); an existing file "
                        "is refused unless --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace the --out file")
    p.add_argument("--no-standardize", action="store_true",
                   help="write raw features (no mean/std standardization)")
    p.add_argument("--batch-size", type=int, default=2048, metavar="N",
                   help="images per extraction batch (bounds memory; default 2048)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chainrule.features import FeaturePipeline
    from chainrule.train import load_image_splits, write_feature_file

    check_data_options(args)
    check_option("--batch-size", args.batch_size, low=1)
    names = feature_names(args.features)
    if names == ["pixels"]:
        raise ConfigError("--features pixels needs no extraction; pick from hog, color, gabor, "
                          "bow")
    pipeline = FeaturePipeline.from_names(
        names, **parse_options(args.options, names), standardize=not args.no_standardize,
        batch_size=args.batch_size, progress=args.progress)
    out = Path(args.out or f"features-{Path(str(args.data)).name}-{'-'.join(names)}.npz")
    if out.exists() and not args.overwrite:  # before the extraction, which may take hours
        raise ConfigError(f"{out} exists already: pass --overwrite to replace it, or another "
                          "--out")
    parts, classes, title = load_image_splits(args.data, args.data_dir, args.limit, args.seed,
                                              size=args.image_size)
    train_x, test_x = parts["train"][0], parts["test"][0]
    print(f"{title}: {len(train_x):,} train + {len(test_x):,} test images of "
          f"{'x'.join(map(str, train_x.shape[1:]))}; features {','.join(names)}",
          file=sys.stderr)
    start = time.perf_counter()
    train_features = write_feature_file(out, pipeline, parts, classes, seed=args.seed)
    seconds = time.perf_counter() - start
    print(f"wrote {out}: {train_features.shape[1]} features per image "
          f"({', '.join(f'{n} {d}' for n, d in zip(pipeline.names, pipeline.dims))}) "
          f"in {seconds:.1f} s", file=sys.stderr)
    return 0
