"""ConvNet accuracy benchmarks: the runs behind the ConvNet table of docs/training.md.

Each run is ``chainrule train --model cnn`` (through :func:`chainrule.train.train_run`, seed
0) with the settings below, measured on the data set's test split, with its wall time
(loading, training, evaluation, report):

=============  =================================================================  ========
data           ConvNet (3x3 conv + batch norm + ReLU blocks, global average pool)  target
=============  =================================================================  ========
cifar10 (JPEG) the defaults of ``--model cnn`` (blocks sized for 32x32), crop-flip  >= 75%
mnist          the defaults (blocks sized for 28x28), random crops                 >= 99.3%
fashion-mnist  the defaults, random crops and mirror images                        >= 92%
=============  =================================================================  ========

and, for CIFAR-10, a wall-time target of 30 minutes on the 2-core machine.

Usage::

    python benchmarks/convnet_accuracy.py                      # all three, ~1 hour in all
    python benchmarks/convnet_accuracy.py --only cifar10       # the 30-minute run
    python benchmarks/convnet_accuracy.py --quick              # 1 epoch each: ~10 minutes

Data is looked for in ``../shared/data`` (``--data-dir``). Each run folder goes under
``--out``; a Markdown table is printed and ``<out>/convnet_accuracy.json`` written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from chainrule.train import TrainConfig, train_run

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: name -> (settings, target accuracy, wall-time target in seconds or None). ``data``
#: paths are relative to --data-dir.
RUNS: dict[str, tuple[dict, float, float | None]] = {
    "cifar10": (dict(data="cifar10-jpeg/cifar10-jpeg.zip"), 0.75, 1800.0),
    "mnist": (dict(data="mnist", epochs=8), 0.993, None),
    "fashion-mnist": (dict(data="fashion-mnist", augment="crop-flip"), 0.92, None),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA,
                        help=f"folder with mnist/, fashion-mnist/, cifar10-jpeg/ "
                             f"(default {DEFAULT_DATA})")
    parser.add_argument("--out", type=Path, default=Path("runs/convnet-benchmarks"))
    parser.add_argument("--epochs", type=int, default=None, help="override every run's epochs")
    parser.add_argument("--quick", action="store_true", help="one epoch per run (a smoke run)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    results = {}
    summary_path = args.out / "convnet_accuracy.json"
    if summary_path.exists():
        results = json.loads(summary_path.read_text())
    for name in args.only:
        settings, target, seconds_target = RUNS[name]
        settings = {"model": "cnn", **settings}
        if settings["data"] in ("mnist", "fashion-mnist"):
            settings["data_dir"] = str(args.data_dir)
        else:
            settings["data"] = str(args.data_dir / settings["data"])
        if args.epochs is not None or args.quick:
            settings["epochs"] = 1 if args.quick else args.epochs
        cfg = TrainConfig(**settings)
        print(f"== {name}: {cfg.to_dict()}", flush=True)
        start = time.perf_counter()
        result = train_run(cfg, out=args.out / name, overwrite=True,  # a rerun replaces it
                           progress=not args.quiet)
        seconds = time.perf_counter() - start
        acc = result.evaluation.accuracy
        passed = acc >= target and (seconds_target is None or seconds <= seconds_target)
        results[name] = {
            "test_accuracy": acc, "target": target, "seconds_target": seconds_target,
            "passed": passed, "seconds": seconds, "epochs": len(result.history),
            "epoch_seconds": result.history.seconds, "config": cfg.to_dict(),
            "architecture": " ".join(str(b) for b in json.loads(result.metrics.read_text())
                                     ["model"]["architecture"]["blocks"]),
        }
        print(f"== {name}: test accuracy {acc:.2%} (target {target:.1%}) in {seconds:.0f}s",
              flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(results, indent=2) + "\n")
    print("\n| data | ConvNet | epochs | test accuracy | target | wall time |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        limit = f" (<= {r['seconds_target'] / 60:.0f} min)" if r["seconds_target"] else ""
        print(f"| {name} | {r['architecture']} | {r['epochs']} | {r['test_accuracy']:.2%} | "
              f"{r['target']:.1%}{limit} | {r['seconds']:.0f} s |")
    return 0 if all(r["passed"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
