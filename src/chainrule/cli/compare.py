"""``chainrule compare``: the lecture's comparison of image features and learned features.

The comparison itself is :func:`chainrule.train.compare_features`; its report is
:func:`chainrule.train.write_comparison_report`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chainrule.cli.arguments import (
    add_command,
    add_data_arguments,
    add_feature_arguments,
    check_data_options,
    feature_names,
    parse_options,
)

DESCRIPTION = """\
Run the lecture's comparison of hand-made image features with features learned end to end:

  1. linear classifier (softmax) on pixels
  2. linear classifier on image features (default HOG + hue histogram)
  3. 2-layer net on pixels (the hidden layer learns its own features)
  4. 2-layer net on image features
  5. a ConvNet on pixels (convolutions learn the features end to end; --no-convnet: skip)

Pixels are scaled to [0, 1] and standardized; features come from a FeaturePipeline fitted on
the training split only. Models 1-4 train with minibatch Adam, the ConvNet as 'chainrule
train --model cnn' does; each keeps the epoch with the best accuracy on a held-out
validation split of the training images, and is scored on the test split. The output
folder gets metrics.json and report.html (self-contained: a table of test accuracies and
times, a picture of HOG cells, the Gabor filter bank); a folder that holds a comparison
already is refused unless --overwrite.
"""

EPILOG = """\
examples:
  chainrule compare --data cifar10 --data-dir /data            # CIFAR-10, all 50,000 images
  chainrule compare --data cifar10 --limit 5000 --epochs 5      # a quick look
  chainrule compare --data ./my_images --features hog,color,gabor --out runs/compare
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "compare", DESCRIPTION, EPILOG,
                    help="linear / 2-layer nets on pixels vs image features, and a ConvNet "
                         "(report)")
    add_data_arguments(p)
    add_feature_arguments(
        p,
        features_help="image features for models 2 and 4: comma-separated from hog, color, "
                      "gabor, bow (default hog,color)",
        set_help="an extractor option, e.g. hog.cell_size=8 (JSON values; repeatable). "
                 "Default here: hog.cell_size=4, since CIFAR's 32x32 images hold only 4x4 of "
                 "the lecture's 8x8-pixel cells",
    )
    p.add_argument("--epochs", type=int, default=10, help="epochs per model (default 10)")
    p.add_argument("--hidden", type=int, default=500,
                   help="hidden units of the 2-layer nets (default 500)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default 1e-3 for 2-layer nets, 3e-4 for linear)")
    p.add_argument("--reg", type=float, default=None, metavar="LAMBDA",
                   help="L2 strength on the weights (default 1e-3 linear, 1e-4 2-layer)")
    p.add_argument("--batch-size", type=int, default=200, help="minibatch size (default 200)")
    p.add_argument("--val-fraction", type=float, default=0.05,
                   help="share of the training images held out for validation (default 0.05)")
    p.add_argument("--convnet", action=argparse.BooleanOptionalAction, default=True,
                   help="also train the ConvNet on pixels (default: yes)")
    p.add_argument("--conv", nargs="+", default=None, metavar="BLOCK",
                   help="the ConvNet's blocks, e.g. --conv 32 32 pool 64 64 pool (default: "
                        "sized for the images)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder for report.html and metrics.json (default "
                        "runs/compare-<date-time>-<data>/); one that holds a comparison or a "
                        "run already is refused unless --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the comparison in --out")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chainrule.train import (
        CompareConfig,
        compare_features,
        default_run_dir,
        load_image_splits,
        write_comparison_report,
    )
    from chainrule.train.compare_report import sample_images
    from chainrule.train.run_folder import RunFolder

    check_data_options(args)
    config = CompareConfig(
        features=feature_names(args.features),
        options=parse_options(args.options, feature_names(args.features)),
        epochs=args.epochs, hidden=args.hidden, lr=args.lr, reg=args.reg,
        batch_size=args.batch_size, val_fraction=args.val_fraction, seed=args.seed,
        convnet=args.convnet, conv=" ".join(args.conv) if args.conv else None)
    out = Path(args.out) if args.out else default_run_dir(f"compare-{Path(args.data).stem}")
    folder = RunFolder(out, overwrite=args.overwrite)
    folder.check()  # before hours of training: a taken folder is refused at once
    parts, classes, title = load_image_splits(args.data, args.data_dir, args.limit, args.seed,
                                              size=args.image_size)

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    log(f"{title}: {len(parts['train'][0]):,} train + {len(parts['test'][0]):,} test images")
    metrics = compare_features(parts, classes, config, progress=args.progress, log=log)
    metrics["data"] = title
    with folder:
        report = write_comparison_report(out, metrics,
                                         f"Image features vs learned features: {title}",
                                         sample_images(*parts["test"]))
    log(f"wrote {report} and {report.parent / 'metrics.json'}")
    return 0
