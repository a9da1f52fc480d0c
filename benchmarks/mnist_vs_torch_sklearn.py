"""MNIST time-to-accuracy: chainrule vs PyTorch vs scikit-learn's MLPClassifier.

The same run in all three: pixels scaled to [0, 1] and standardized with the training set's
per-pixel mean and std; a 784 -> H -> 10 ReLU MLP (H = 512 by default); softmax loss; Adam
(lr 1e-3, PyTorch's defaults otherwise); minibatches of 128, reshuffled every epoch; no
regularization. After every epoch the test accuracy is measured (not timed); the clock counts
training only. Reported per library: the median seconds per epoch (robust to other jobs on a
shared machine), the time until the test accuracy first reaches ``--target``, and the final
accuracy; then the ratios chainrule / other for both times.

Usage::

    python benchmarks/mnist_vs_torch_sklearn.py                       # data in ../shared/data
    python benchmarks/mnist_vs_torch_sklearn.py --epochs 5 --hidden 256 --target 0.975

Needs torch and scikit-learn (``pip install 'chainrule[dev]'``). All three use the same
machine and thread settings (NumPy/BLAS and torch default threads, unless OMP_NUM_THREADS).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import chainrule as cr

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ds = cr.data.load("mnist", data_dir=data_dir)
    X = cr.data.images_to_features(ds.train_images)
    Xt = cr.data.images_to_features(ds.test_images)
    scaler = cr.data.Standardizer().fit(X)
    return scaler.transform(X), ds.train_labels, scaler.transform(Xt), ds.test_labels


def run_chainrule(X, y, Xt, yt, hidden: int, epochs: int, batch: int, seed: int) -> list:
    from chainrule import nn, optim
    from chainrule.train import Trainer, evaluate

    cr.manual_seed(seed)
    model = nn.MLP(X.shape[1], [hidden], 10)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
                      batch_size=batch, seed=seed, keep_best=False, progress=False)
    curve, clock = [], 0.0
    for epoch in range(1, epochs + 1):
        trainer.fit((X, y), None, epochs=epoch)
        clock += trainer.history.seconds[-1]
        curve.append((clock, evaluate(model, Xt, yt).accuracy))
        print(f"  chainrule epoch {epoch}: {clock:7.1f}s  test {curve[-1][1]:.4f}", flush=True)
    return curve


def run_torch(X, y, Xt, yt, hidden: int, epochs: int, batch: int, seed: int) -> list:
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xtr, ytr = torch.from_numpy(X), torch.from_numpy(y)
    Xte = torch.from_numpy(Xt)
    gen = torch.Generator().manual_seed(seed)
    curve, clock = [], 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(Xtr), generator=gen)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss_fn(model(Xtr[idx]), ytr[idx]).backward()
            opt.step()
        clock += time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            acc = float((model(Xte).argmax(1).numpy() == yt).mean())
        curve.append((clock, acc))
        print(f"  torch     epoch {epoch}: {clock:7.1f}s  test {acc:.4f}", flush=True)
    return curve


def run_sklearn(X, y, Xt, yt, hidden: int, epochs: int, batch: int, seed: int) -> list:
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(hidden,), solver="adam", learning_rate_init=1e-3,
                          batch_size=batch, alpha=0.0, shuffle=True, random_state=seed)
    classes = np.arange(10)
    curve, clock = [], 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(X, y, classes=classes)  # one epoch of minibatch Adam
        clock += time.perf_counter() - start
        acc = float(model.score(Xt, yt))
        curve.append((clock, acc))
        print(f"  sklearn   epoch {epoch}: {clock:7.1f}s  test {acc:.4f}", flush=True)
    return curve


def time_to(curve: list, target: float) -> float | None:
    return next((t for t, acc in curve if acc >= target), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--target", type=float, default=0.975,
                        help="test accuracy to reach (default 0.975)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=["chainrule", "torch", "sklearn"],
                        choices=["chainrule", "torch", "sklearn"])
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    X, y, Xt, yt = load(args.data_dir)
    runners = {"chainrule": run_chainrule, "torch": run_torch, "sklearn": run_sklearn}
    results = {}
    for name in args.only:
        print(f"{name}:", flush=True)
        curve = runners[name](X, y, Xt, yt, args.hidden, args.epochs, args.batch_size, args.seed)
        epoch_times = np.diff([0.0] + [t for t, _ in curve])
        results[name] = {"curve": curve, "seconds_per_epoch": curve[-1][0] / len(curve),
                         "median_epoch_seconds": float(np.median(epoch_times)),
                         "time_to_target": time_to(curve, args.target),
                         "final_accuracy": curve[-1][1]}
    print(f"\nMNIST, 784 -> {args.hidden} -> 10 ReLU, Adam 1e-3, batch {args.batch_size}, "
          f"{args.epochs} epochs; target {args.target:.1%} test accuracy; "
          f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print("| library | median s / epoch | time to target | final accuracy | "
          "chainrule time to target / this | chainrule median epoch / this |")
    print("|---|---|---|---|---|---|")
    ours = results.get("chainrule", {})
    for name, r in results.items():
        t, mine = r["time_to_target"], ours.get("time_to_target")
        ratio = f"{mine / t:.2f}" if (mine is not None and t is not None) else "n/a"
        per_epoch = (f"{ours['median_epoch_seconds'] / r['median_epoch_seconds']:.2f}"
                     if ours else "n/a")
        t_txt = f"{t:.1f} s" if t is not None else "not reached"
        print(f"| {name} | {r['median_epoch_seconds']:.2f} | {t_txt} | "
              f"{r['final_accuracy']:.2%} | {ratio} | {per_epoch} |")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                        "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
