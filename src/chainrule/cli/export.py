"""``chainrule export``: a trained run as a standard ONNX model."""

from __future__ import annotations

import argparse

from chainrule.cli.arguments import add_command, add_run_argument

DESCRIPTION = """\
Export a trained run as an ONNX model (a standard graph any ONNX runtime can run). The
graph includes the run's preprocessing: it takes images of the training shape, batch first
(N, H, W, C), with pixels in [0, 1] (8-bit pixels divided by 255), flattens and
standardizes them with the training statistics, and gives the class scores (N, classes),
or with --probabilities their softmax. The batch size is free. The class names are in the
model's metadata (class_names). Runs on image features (--features hog, ...) compute those
in NumPy and do not export. Needs the onnx package: pip install 'chainrule[onnx]'.
"""

EPILOG = """\
examples:
  chainrule export runs/20260101-120000-digits --onnx digits.onnx
  chainrule export runs/mnist --onnx mnist.onnx --probabilities
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "export", DESCRIPTION, EPILOG,
                    help="export a trained run as an ONNX model")
    add_run_argument(p)
    p.add_argument("--onnx", required=True, metavar="FILE",
                   help="the ONNX file to write (e.g. model.onnx)")
    p.add_argument("--probabilities", action="store_true",
                   help="output class probabilities (a softmax at the end) instead of scores")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chainrule.onnx import export_run

    path = export_run(args.run, args.onnx, probabilities=args.probabilities)
    print(f"wrote {path}")
    return 0
