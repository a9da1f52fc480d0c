"""The speed users get: `chainrule train` on MNIST, option by option, next to PyTorch.

For the default options and for each option changed one at a time, this runs
``chainrule train`` through its Python entry (:func:`chainrule.train.train_run`, which the
command calls with the options' settings: data loading, preprocessing, the Trainer, a
checkpoint after every epoch) and, in the same process, PyTorch training the same model
(same initial weights, loss, L2 penalty, optimizer and cosine schedule) in a plain loop
over the same preprocessed images in batches of the same size. Epochs are interleaved: a
chainrule epoch, then a PyTorch epoch, from a callback of the run. The first epoch of each
(chainrule traces its step there) is not counted; the table shows the median of the others.

    python benchmarks/train_cli.py                       # 60,000 images, 3 epochs each (~10 min)
    python benchmarks/train_cli.py --quick               # 10,000 images (~2 min)
    python benchmarks/train_cli.py --only default "reg 0" batchnorm   # options without --
    python benchmarks/train_cli.py --readme              # + wall time of `chainrule train`

The runtimes are an idle machine's. On a busy one NumPy's multithreaded BLAS waits for
its threads and chainrule's epochs take many times longer (the script warns); then run
both with one thread (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ... --cpu-time``).

Columns: seconds per epoch of chainrule (the time between two epochs of the run, so its
per-epoch checkpoint counts) and of PyTorch, their ratio, and the option's chainrule time
over the default's.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Idle OpenMP threads (PyTorch's) sleep instead of spinning on the cores that chainrule,
# timed in the same process, needs; set before any library starts them.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

from chainrule.train import Callback

#: Each option as `chainrule train` spells it, and the settings it changes.
OPTIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "--reg 0": {"reg": 0.0},
    "--loss svm": {"loss": "svm"},
    "--activation leaky_relu": {"activation": "leaky_relu"},
    "--activation prelu": {"activation": "prelu"},
    "--activation elu": {"activation": "elu"},
    "--activation tanh": {"activation": "tanh"},
    "--activation sigmoid": {"activation": "sigmoid"},
    "--activation maxout": {"activation": "maxout"},
    "--activation linear": {"activation": "linear"},
    "--dropout 0": {"dropout": 0.0},
    "--batchnorm": {"batchnorm": True},
    "--optimizer sgd": {"optimizer": "sgd"},
    "--optimizer momentum": {"optimizer": "momentum"},
    "--optimizer nesterov": {"optimizer": "nesterov"},
    "--optimizer rmsprop": {"optimizer": "rmsprop"},
    "--optimizer adamw": {"optimizer": "adamw"},
}

#: What an option computes beyond the default's step (why it may take longer).
ADDS_WORK = {
    "--activation maxout": "hidden Linear twice as wide (784 -> 1024) and a max over pairs",
    "--batchnorm": "batch statistics, normalization and their backward on 64 x 512",
    "--activation sigmoid": "exp and a division per hidden unit (ReLU: a maximum)",
    "--activation elu": "exp per hidden unit",
    "--activation tanh": "tanh per hidden unit",
}


# ----------------------------------------------------------------------------- data
def write_subset(source: Path, target: Path, images: int) -> Path:
    """The first ``images`` MNIST training images (and the first ``images // 6`` test
    images) as a folder of IDX files, which `chainrule train --data FOLDER` reads."""
    from chainrule.data.idx import read_idx

    target.mkdir(parents=True, exist_ok=True)
    counts = {"train": images, "t10k": max(1, images // 6)}
    for split, count in counts.items():
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{split}-{kind}-ubyte"
            array = read_idx(source / f"{name}.gz")[:count]
            header = bytes([0, 0, 8, array.ndim]) + b"".join(
                int(n).to_bytes(4, "big") for n in array.shape)
            (target / f"{name}.gz").write_bytes(gzip.compress(header + array.tobytes(), 1))
    return target


# ----------------------------------------------------------------------------- PyTorch
def torch_model(chainrule_model: Any) -> Any:
    """The same MLP in PyTorch, with the chainrule model's initial weights."""
    import torch
    from torch import nn

    class MaxoutPool(nn.Module):
        def __init__(self, pieces: int) -> None:
            super().__init__()
            self.pieces = pieces

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.unflatten(-1, (-1, self.pieces)).amax(-1)

    def activation(name: str, kwargs: dict) -> nn.Module:
        if name == "maxout":
            return MaxoutPool(int(kwargs.get("pieces", 2)))
        return {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU, "elu": nn.ELU,
                "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity,
                "identity": nn.Identity}[name]()

    m = chainrule_model
    layers: list[nn.Module] = []
    width = m.in_features
    pieces = int(m.activation_kwargs.get("pieces", 2)) if m.activation == "maxout" else 1
    for h in m.hidden:
        layers.append(nn.Linear(width, h * pieces))
        if m.batchnorm:
            layers.append(nn.BatchNorm1d(h * pieces))
        layers.append(activation(m.activation, m.activation_kwargs))
        if m.dropout > 0:
            layers.append(nn.Dropout(m.dropout))
        width = h
    layers.append(nn.Linear(width, m.out_features))
    model = nn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
    return model


def torch_optimizer(name: str, params: Any, lr: float) -> Any:
    """`chainrule train --optimizer NAME` in PyTorch (same settings as optim.OPTIMIZERS)."""
    import torch

    return {
        "sgd": lambda: torch.optim.SGD(params, lr=lr),
        "momentum": lambda: torch.optim.SGD(params, lr=lr, momentum=0.9),
        "nesterov": lambda: torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr),
        "adam": lambda: torch.optim.Adam(params, lr=lr),
        "adamw": lambda: torch.optim.AdamW(params, lr=lr),
    }[name]()


class TorchRival(Callback):
    """A Trainer callback: after each chainrule epoch, one PyTorch epoch; times both.

    The chainrule time of an epoch is the wall time from the end of the previous
    callback to the start of this one (the training loop and the run's checkpoint)."""

    def __init__(self, cfg: Any, clock: Any = time.perf_counter) -> None:
        self.cfg = cfg
        self.clock = clock
        self.chainrule: list[float] = []
        self.torch: list[float] = []
        self.mark = 0.0

    def on_train_begin(self, trainer: Any) -> None:
        import torch

        cfg = self.cfg
        self.model = torch_model(trainer.model)
        self.X, self.y = trainer.loader.X, trainer.loader.y
        self.batch = trainer.loader.batch_size
        self.steps = len(trainer.loader)
        self.opt = torch_optimizer(cfg.optimizer, self.model.parameters(), cfg.learning_rate)
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.opt, T_max=cfg.epochs * self.steps)
        self.weights = [p for p in self.model.parameters() if p.ndim >= 2]
        self.rng = np.random.default_rng(cfg.seed)
        self.mark = self.clock()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict) -> None:
        self.chainrule.append(self.clock() - self.mark)
        start = self.clock()
        self.torch_epoch()
        self.torch.append(self.clock() - start)
        self.mark = self.clock()

    def torch_epoch(self) -> None:
        import torch
        import torch.nn.functional as F

        cfg, model, opt = self.cfg, self.model, self.opt
        classes = model[-1].out_features
        model.train()
        order = self.rng.permutation(len(self.y))
        for i in range(self.steps):
            idx = order[i * self.batch:(i + 1) * self.batch]
            xb, yb = torch.from_numpy(self.X[idx]), torch.from_numpy(self.y[idx])
            opt.zero_grad()
            scores = model(xb)
            if cfg.loss == "svm":  # the lecture's hinge sum; PyTorch's divides it by C
                loss = F.multi_margin_loss(scores, yb) * classes
            else:
                loss = F.cross_entropy(scores, yb)
            if cfg.reg > 0:
                loss = loss + cfg.reg * sum((w * w).sum() for w in self.weights)
            loss.backward()
            opt.step()
            self.schedule.step()
            loss.item()


# ----------------------------------------------------------------------------- runs
def run_option(settings: dict, data: str, data_dir: str | None, epochs: int,
               out: Path, clock: Any) -> TorchRival:
    from chainrule.train import TrainConfig, train_run

    cfg = TrainConfig(data=data, data_dir=data_dir, epochs=epochs, **settings)
    rival = TorchRival(cfg, clock)
    train_run(cfg, out=out, progress=False, callbacks=(rival,))
    return rival


def readme_command(runs: int) -> float:
    """Best wall time of the README's first command, `chainrule train` (digits), in a
    fresh process each time (imports, data, 30 epochs, evaluation, report)."""
    best = float("inf")
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "chainrule", "train", "--quiet", "--out", tmp],
                           check=True, stdout=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("CHAINRULE_DATA",
                                                             "/work/shared/data"))
    parser.add_argument("--epochs", type=int, default=3, help="epochs per option (default 3; "
                        "the first is not counted)")
    parser.add_argument("--images", type=int, default=None,
                        help="train on the first N MNIST images (default: all 60,000)")
    parser.add_argument("--quick", action="store_true",
                        help="train on the first 10,000 images (a smoke run)")
    parser.add_argument("--only", nargs="+", default=None, metavar="OPTION",
                        help="options to run, spelt without their leading dashes: "
                        f"{', '.join(repr(o.lstrip('-')) for o in OPTIONS)}")
    parser.add_argument("--cpu-time", action="store_true",
                        help="count the process's CPU seconds instead of wall seconds: steadier "
                             "on a busy machine, comparable only with one thread "
                             "(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)")
    parser.add_argument("--readme", action="store_true",
                        help="also time the README's first command, `chainrule train`")
    args = parser.parse_args()
    if args.quick:
        args.images = args.images or 10_000
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch is not counted)")
    by_name = {o.lstrip("-"): o for o in OPTIONS}
    names = [by_name.get(n.lstrip("-"), n) for n in args.only] if args.only else list(OPTIONS)
    unknown = [n for n in names if n not in OPTIONS]
    if unknown:
        parser.error(f"unknown options {unknown}; choose among {list(OPTIONS)}")

    import torch

    import chainrule

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5 * (cpus or 1):
        print(f"warning: load average {load:.1f} on {cpus} CPUs: other jobs are running, and "
              "multithreaded BLAS slows down many times over when its threads must wait for "
              "a core; compare chainrule and PyTorch on an idle machine (or run both with "
              "one thread: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ... --cpu-time)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data, data_dir = "mnist", args.data_dir
        if args.images:
            data = str(write_subset(Path(data_dir) / "mnist", Path(tmp) / "mnist-subset",
                                    args.images))
            data_dir = None
        print(f"chainrule {chainrule.__version__} / torch {torch.__version__} "
              f"({torch.get_num_threads()} threads), MNIST"
              f"{f' (first {args.images:,} images)' if args.images else ''}, "
              f"{args.epochs} epochs per option, median of epochs 2-{args.epochs}"
              f"{', CPU seconds' if args.cpu_time else ''}")
        print(f"{'option':26s} {'chainrule s':>11s} {'PyTorch s':>10s} {'cr/torch':>9s} "
              f"{'/ default':>10s}")
        default_time = None
        for k, name in enumerate(names):
            rival = run_option(OPTIONS[name], data, data_dir, args.epochs, Path(tmp) / f"run{k}",
                               time.process_time if args.cpu_time else time.perf_counter)
            ours = statistics.median(rival.chainrule[1:])
            theirs = statistics.median(rival.torch[1:])
            if name == "default":
                default_time = ours
            relative = f"{ours / default_time:9.2f}x" if default_time else f"{'':10s}"
            note = f"  (adds: {ADDS_WORK[name]})" if name in ADDS_WORK else ""
            print(f"{name:26s} {ours:11.3f} {theirs:10.3f} {ours / theirs:9.2f} {relative}{note}",
                  flush=True)
    if args.readme:
        print(f"README's first command, `chainrule train` (digits, 30 epochs): "
              f"{readme_command(2):.1f} s wall (best of 2)")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
