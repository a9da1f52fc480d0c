"""``chainrule evaluate``: test accuracy, per-class precision/recall and confusion of a run."""

from __future__ import annotations

import argparse
import json

from chainrule.cli.arguments import add_command, add_device_argument, add_run_argument

DESCRIPTION = """\
Evaluate a trained run on a test split: accuracy, precision and recall per class, and the
confusion matrix (rows: true class, columns: predicted class). The images go through the same
preprocessing as in training (features, normalization), as stored in the checkpoint.
By default the test split of the data set the run was trained on is used. With --data,
another data set's test split is used; its classes are matched to the run's by name (all
of them or some, in any order), and an image folder is read at the run's image size.
"""

EPILOG = """\
examples:
  chainrule evaluate runs/20260101-120000-digits
  chainrule evaluate runs/mnist-mlp --data ~/my-digits/     (one folder per class: 0/ ... 9/)
  chainrule evaluate runs/demo --json > eval.json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "evaluate", DESCRIPTION, EPILOG,
                    help="evaluate a trained run on a test set")
    add_run_argument(p)
    p.add_argument("--data", default=None, metavar="NAME|PATH",
                   help="data set to take the test split from (default: the run's own); same "
                        "names and paths as 'chainrule train --data'; its classes must be the "
                        "run's or some of them (matched by name); image folders are resized "
                        "to the run's image size")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="where named data sets are looked for (default: the run's, else "
                        "$CHAINRULE_DATA or ~/.chainrule/data)")
    p.add_argument("--json", action="store_true",
                   help="print the evaluation as JSON (accuracy, per class, confusion matrix)")
    add_device_argument(p, "runs")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chainrule.train import evaluate_run

    ev = evaluate_run(args.run, data=args.data, data_dir=args.data_dir, device=args.device)
    if args.json:
        print(json.dumps(ev.to_dict(), indent=2))
        return 0
    print(ev.summary())
    print()
    print("confusion matrix (rows: true class, columns: predicted class)")
    width = max(len(str(int(ev.confusion.max()))), *(len(n) for n in ev.class_names), 3)
    print(" " * (width + 1) + " ".join(f"{n[:width]:>{width}}" for n in ev.class_names))
    for name, row in zip(ev.class_names, ev.confusion):
        print(f"{name[:width]:>{width}} " + " ".join(f"{int(v):>{width}}" for v in row))
    print()
    print(f"test accuracy: {ev.accuracy:.2%} "
          f"({int(ev.confusion.trace())}/{ev.num_examples})")
    return 0
