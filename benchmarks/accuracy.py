"""Accuracy benchmarks: the runs behind the accuracy table in docs/training.md.

Each run goes through :func:`chainrule.train.train_run`, the code path of ``chainrule train``,
with the settings below (seed 0), and is measured on the data set's test split:

=============  ===========================================  ========
data           model (all ReLU MLPs on raw pixels)          target
=============  ===========================================  ========
digits         ``chainrule train`` defaults                 >= 98%
mnist          784 -> 512 -> 512 -> 10, dropout 0.2, shifts >= 98.3%
fashion-mnist  784 -> 512 -> 512 -> 10, dropout 0.2         >= 89.5%
cifar10 (JPEG) 3072 -> 500 -> 10                            >= 50%
=============  ===========================================  ========

Usage::

    python benchmarks/accuracy.py                         # all four, data in ../shared/data
    python benchmarks/accuracy.py --only digits mnist --data-dir ~/data --out runs/bench

Each run folder (checkpoint, metrics.json, report.html) goes under ``--out``; a summary is
printed as a Markdown table and written to ``<out>/accuracy.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from chainrule.train import TrainConfig, train_run

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: name -> (settings, target accuracy). ``data`` paths are relative to --data-dir.
RUNS: dict[str, tuple[dict, float]] = {
    "digits": ({}, 0.98),
    "mnist": (dict(data="mnist", hidden=[512, 512], dropout=0.2, reg=0.0, optimizer="adam",
                   lr=1e-3, lr_schedule="cosine", epochs=4, batch_size=128,
                   val_fraction=0.05, augment="shift"), 0.983),
    "fashion-mnist": (dict(data="fashion-mnist", hidden=[512, 512], dropout=0.2, reg=0.0,
                           optimizer="adam", lr=1e-3, lr_schedule="cosine", epochs=12,
                           batch_size=128, val_fraction=0.05), 0.895),
    "cifar10": (dict(data="cifar10-jpeg/cifar10-jpeg.zip", hidden=[500], dropout=0.1,
                     reg=1e-4, optimizer="adam", lr=5e-4, lr_schedule="cosine", epochs=10,
                     batch_size=128, val_fraction=0.05), 0.50),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA,
                        help=f"folder with mnist/, fashion-mnist/, cifar10-jpeg/ "
                             f"(default {DEFAULT_DATA})")
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks"))
    parser.add_argument("--epochs", type=int, default=None, help="override every run's epochs")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    results = {}
    summary_path = args.out / "accuracy.json"
    if summary_path.exists():
        results = json.loads(summary_path.read_text())
    for name in args.only:
        settings, target = RUNS[name]
        settings = dict(settings)
        if "data" in settings and settings["data"] not in ("mnist", "fashion-mnist"):
            settings["data"] = str(args.data_dir / settings["data"])
        elif "data" in settings:
            settings["data_dir"] = str(args.data_dir)
        if args.epochs is not None:
            settings["epochs"] = args.epochs
        cfg = TrainConfig(**settings)
        print(f"== {name}: {cfg.to_dict()}", flush=True)
        start = time.perf_counter()
        result = train_run(cfg, out=args.out / name, progress=not args.quiet)
        seconds = time.perf_counter() - start
        acc = result.evaluation.accuracy
        results[name] = {
            "test_accuracy": acc, "target": target, "passed": acc >= target,
            "seconds": seconds, "epochs": len(result.history),
            "best_epoch": result.history.best_epoch, "config": cfg.to_dict(),
        }
        print(f"== {name}: test accuracy {acc:.2%} (target {target:.1%}) in {seconds:.0f}s",
              flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(results, indent=2) + "\n")
    print("\n| data | model | test accuracy | target | time |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        c = r["config"]
        arch = " -> ".join(str(h) for h in c["hidden"]) or "linear"
        print(f"| {name} | hidden {arch}, dropout {c['dropout']}, {c['optimizer']}, "
              f"{r['epochs']} epochs | {r['test_accuracy']:.2%} | {r['target']:.1%} | "
              f"{r['seconds']:.0f} s |")
    return 0 if all(r["passed"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
