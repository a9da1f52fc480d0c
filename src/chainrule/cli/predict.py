"""``chainrule predict``: classify PNG/JPEG files with a trained run."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from chainrule.cli.arguments import add_command, add_device_argument, add_run_argument
from chainrule.errors import ConfigError

DESCRIPTION = """\
Classify image files with a trained run and print the top classes with their probabilities
(the softmax of the class scores). Each file is converted the way the training images were:
to grayscale or RGB, resized to the training image size, scaled to [0, 1], turned into the
same features and standardized with the training statistics stored in the checkpoint.

Each image is compared with the training images first: a warning says when its background
is the other way round (the digit data sets are light ink on a dark background: for a dark
drawing on white paper, add --invert) or when its drawing is much smaller or larger than
theirs (add --fit to crop the image to the drawing).

A file that cannot be read (not an image, missing, too many pixels) is reported on stderr,
one line each; the other files are still classified, and the exit status is 1.
"""

EPILOG = """\
examples:
  chainrule predict runs/20260101-120000-digits seven.png
  chainrule predict runs/cifar cat.jpg ship.jpg --top 5
  chainrule predict runs/digits drawing.png --invert --fit --json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "predict", DESCRIPTION, EPILOG,
                    help="classify PNG/JPEG images with a trained run")
    add_run_argument(p)
    p.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files to classify")
    p.add_argument("--top", type=int, default=3, metavar="K",
                   help="how many classes to show per image (default 3)")
    p.add_argument("--invert", action="store_true",
                   help="invert the gray levels first (dark drawing on white -> light on dark)")
    p.add_argument("--fit", action="store_true",
                   help="crop each image to its drawing first, with the margin the training "
                        "images have around theirs")
    p.add_argument("--json", action="store_true",
                   help="print the predictions as JSON (warnings go to stderr)")
    add_device_argument(p, "runs")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chainrule.train import predict_files

    if args.top < 1:
        raise ConfigError(f"--top must be >= 1, got {args.top}")
    from chainrule.train.inference import ImageWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ImageWarning)
        results = predict_files(args.run, args.images, top=args.top, invert=args.invert,
                                fit=args.fit, device=args.device)
    for w in caught:
        if issubclass(w.category, ImageWarning):
            print(f"chainrule predict: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if args.json:
        print(json.dumps([
            {"image": r.path, "error": r.error} if r.error is not None else
            {"image": r.path, "prediction": r.top[0][0],
             "top": [{"class": c, "probability": p} for c, p in r.top]}
            for r in results
        ], indent=2))
    else:
        for r in results:
            if r.top is not None:
                ranked = "  ".join(f"{c} {p:.1%}" for c, p in r.top)
                print(f"{r.path}: {r.top[0][0]}  ({ranked})")
    sys.stdout.flush()
    failed = [r for r in results if r.error is not None]
    for r in failed:  # every file that could not be read, one line each; the rest predicted
        print(f"chainrule predict: error: {r.error}", file=sys.stderr)
    return 1 if failed else 0
