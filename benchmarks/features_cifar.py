"""The lecture's comparison on CIFAR-10 (JPEG): image features versus learned features.

Trains five models with chainrule (minibatch Adam, cosine learning rate, best validation epoch
kept; the ConvNet as ``chainrule train --model cnn``) and prints their test accuracies and
times:

  linear (softmax) on pixels        course reference ~0.36-0.40
  linear on HOG + hue histogram     ~0.42-0.50
  2-layer net on pixels             ~0.48-0.54
  2-layer net on HOG + hue          ~0.55-0.61
  ConvNet on pixels                 (target: 10 points above the best features model)

    python benchmarks/features_cifar.py [--data-dir /work/shared/data] [--limit N]
        [--epochs 5] [--hidden 256] [--features hog,color] [--no-convnet]
        [--out runs/features-cifar]

Defaults: all 50,000 training images (2,500 of them held out for validation) and the 10,000
test images; HOG with 4x4-pixel cells, 2x2-cell blocks, L2-Hys (1,764 numbers) plus a 10-bin hue
histogram. Writes report.html and metrics.json to --out.
"""

from __future__ import annotations

import argparse
import sys
import time

from chainrule.train import (
    CompareConfig,
    compare_features,
    load_image_splits,
    write_comparison_report,
)
from chainrule.train.compare_report import sample_images

REFERENCE = {("linear", "pixels"): "0.36-0.40", ("linear", "features"): "0.42-0.50",
             ("2-layer", "pixels"): "0.48-0.54", ("2-layer", "features"): "0.55-0.61",
             ("ConvNet", "pixels"): "-"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/work/shared/data")
    parser.add_argument("--limit", type=int, default=None, help="training images (default all)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--features", default="hog,color")
    parser.add_argument("--hog-cell", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--convnet", action=argparse.BooleanOptionalAction, default=True,
                        help="also train the ConvNet on pixels (default: yes)")
    parser.add_argument("--out", default="runs/features-cifar")
    args = parser.parse_args()

    start = time.perf_counter()
    parts, classes, title = load_image_splits("cifar10", args.data_dir, args.limit, args.seed)
    print(f"{title}: {len(parts['train'][0]):,} train + {len(parts['test'][0]):,} test images "
          f"(loaded in {time.perf_counter() - start:.0f} s)", flush=True)
    config = CompareConfig(features=args.features.split(","),
                           options={"hog": {"cell_size": args.hog_cell}}, epochs=args.epochs,
                           hidden=args.hidden, seed=args.seed, convnet=args.convnet)
    metrics = compare_features(parts, classes, config, progress=False,
                               log=lambda m: print(m, flush=True))
    metrics["data"] = title
    write_comparison_report(args.out, metrics, f"Image features vs learned features: {title}",
                            sample_images(*parts["test"]))
    print("\n| model | inputs | input size | test accuracy | course reference | "
          "training time |\n|---|---|---|---|---|---|")
    for r in metrics["results"]:
        kind = "pixels" if r["inputs"] == "pixels" else "features"
        print(f"| {r['model']} | {r['inputs']} | {r['input_dim']:,} | {r['test_accuracy']:.4f} "
              f"| {REFERENCE[(r['model'], kind)]} | {r['train_seconds']:.0f} s |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s; report in {args.out}/report.html",
          file=sys.stderr)


if __name__ == "__main__":
    main()
