"""``chainrule train``: train an image classifier and write its run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chainrule.cli.arguments import add_command, add_device_argument, image_size, track_given
from chainrule.errors import ConfigError

DESCRIPTION = """\
Train a fully-connected network (an MLP) or a convolutional network (--model cnn) to
classify images: the lecture's data-driven approach. With no options it trains a 2-layer
net (64 -> 512 -> 10, ReLU, dropout 0.3) on the 8x8 digits that come with scikit-learn (no
download) and reaches 98-99% test accuracy. --model cnn trains a small VGG-style ConvNet
(3x3 convolutions with batch norm and ReLU, max pooling, global average pooling, a linear
classifier) on the images themselves, learning its features end to end; --conv sets its
blocks.

Steps: load the data; optionally hold out a stratified validation split of the training
images (--val-fraction); add shifted copies of small training sets (--augment); turn each
image into a vector (pixels in [0, 1], or the image features of --features); standardize every
feature with the training split's mean and std; train with minibatch gradient descent
(checkpoint after every epoch; with a validation split the epoch with the best validation
accuracy is kept); evaluate on the test split.

The run folder (--out, default runs/<date-time>-<data>/) receives checkpoint.safetensors (the
model, normalization, class names, optimizer/scheduler/RNG state), metrics.json and
report.html (curves, confusion matrix, first-layer weights as images, misclassified images).
A folder that holds a run already is refused (--overwrite replaces it, --resume continues
it); while a run writes its folder is locked, so two runs never mix their files; a run that
fails before its first checkpoint leaves no folder behind.
"""

EPILOG = """\
examples:
  chainrule train                                    # 2-layer net on digits, 98-99%
  chainrule train --data mnist --data-dir ~/data --hidden 512 512 --dropout 0.2 --reg 0 \\
      --epochs 4 --batch-size 128 --val-fraction 0.05 --augment shift     # 98.9%
  chainrule train --data cifar10-jpeg.zip --hidden 500 --dropout 0.1 --lr 5e-4 \\
      --epochs 10 --batch-size 128 --val-fraction 0.05                    # 55% (JPEG)
  chainrule train --hidden --loss svm                # a linear SVM classifier on pixels
  chainrule train --features gabor --hidden          # image features + a linear classifier
  chainrule train --resume runs/20260101-120000-digits   # continue an interrupted run
  chainrule train --model cnn --data cifar10-jpeg.zip    # a ConvNet, see README's ConvNet
  chainrule train --model cnn --conv 32 32 pool 64 64 pool --data mnist --data-dir ~/data
  chainrule train --resume runs/mnist --data-dir /mnt/data   # ... whose data has moved
  chainrule train --data mnist --device cuda         # on an NVIDIA GPU (CuPy)
  mpirun -n 4 chainrule train --batch-size 16        # 4 processes, global batch 4 x 16 = 64

Under an MPI launcher (mpirun, mpiexec, srun; needs chainrule[mpi]) the processes train one
model together (data-parallel): --batch-size is per process, nothing is rescaled, and only
rank 0 prints and writes the run folder. See docs/distributed.md.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from chainrule import nn, optim
    from chainrule.train.config import (
        ACTIVATION_CHOICES,
        AUGMENTATIONS,
        AUTO_AUGMENT_BELOW,
        DEFAULT_LR,
        MODEL_DEFAULTS,
        MODELS,
        SCHEDULES,
    )

    def default(key: str) -> str:
        """How --help states a default that depends on the model."""
        mlp, cnn = MODEL_DEFAULTS["mlp"][key], MODEL_DEFAULTS["cnn"][key]
        return f"{mlp:g}; cnn {cnn:g}" if isinstance(mlp, float) else f"{mlp}; cnn {cnn}"

    p = add_command(subparsers, "train", DESCRIPTION, EPILOG,
                    help="train an image classifier (default: a 2-layer net on digits)")
    track_given(p)
    data = p.add_argument_group("data")
    data.add_argument("--data", default="digits", metavar="NAME|PATH",
                      help="digits (default, embedded), mnist, fashion-mnist, cifar10, or a path: "
                           "a folder of IDX files, a CIFAR-10 python folder/.tar.gz, an image "
                           "folder or .zip (one sub-folder per class), a .csv with a 'label' "
                           "column")
    data.add_argument("--data-dir", default=None, metavar="DIR",
                      help="where named data sets are looked for (default $CHAINRULE_DATA or "
                           "~/.chainrule/data; see 'chainrule datasets')")
    data.add_argument("--image-size", type=image_size, default=None, metavar="N|HxW",
                      help="resize an image folder's images to N x N or H x W pixels (needed "
                           "when they differ in size; predict resizes new images to it too)")
    data.add_argument("--label-column", default="label", metavar="NAME",
                      help="the column of a .csv that holds the class (default label)")
    data.add_argument("--val-fraction", type=float, default=0.0, metavar="F",
                      help="share of the training images held out for validation, per class; "
                           "with one, the epoch of best validation accuracy is kept (default 0: "
                           "train on all; the benchmarks use 0.05)")
    data.add_argument("--augment", default="auto", choices=AUGMENTATIONS,
                      help="shift = add copies of the training images moved by one pixel up, "
                           "down, left and right (5x the data); crop / crop-flip (cnn) = "
                           "random crops of the padded images (and mirror images), drawn "
                           "anew for every batch; auto (default) = shift for data sets under "
                           f"{AUTO_AUGMENT_BELOW:,} training images, else none; for cnn "
                           "crop-flip on colour images, else crop")
    data.add_argument("--features", default="pixels", metavar="NAMES",
                      help="model inputs: 'pixels' (default) or a comma-separated list of "
                           "image features from hog, color, gabor, bow (e.g. hog,color)")
    model = p.add_argument_group("model")
    model.add_argument("--model", default="mlp", choices=MODELS,
                       help="mlp (default): a fully-connected net on the pixels or --features; "
                            "cnn: a ConvNet on the images (its own defaults for the optimizer, "
                            "schedule, epochs, batch size, dropout and reg)")
    model.add_argument("--conv", nargs="+", default=None, metavar="BLOCK",
                       help="the ConvNet's blocks: a number is a 3x3 convolution with that "
                            "many filters (+ batch norm + ReLU), 'pool' a 2x2 max pool, e.g. "
                            "--conv 32 32 pool 64 64 pool (default: sized for the images)")
    model.add_argument("--hidden", type=int, nargs="*", default=[512], metavar="N",
                       help="hidden layer sizes, e.g. --hidden 100 100 for a 3-layer net "
                            "(default 512; --hidden alone = a linear classifier)")
    model.add_argument("--activation", default="relu", choices=ACTIVATION_CHOICES,
                       help="nonlinearity after each hidden layer (default relu)")
    model.add_argument("--dropout", type=float, default=None, metavar="P",
                       help="dropout probability after each hidden layer (cnn: before the "
                            f"classifier) (default {default('dropout')})")
    model.add_argument("--batchnorm", action="store_true",
                       help="batch normalization after each hidden Linear")
    model.add_argument("--loss", default="softmax", choices=list(nn.LOSSES),
                       help="softmax (cross-entropy, default) or svm (multiclass hinge)")
    opt = p.add_argument_group("optimization")
    opt.add_argument("--optimizer", default=None, choices=list(optim.OPTIMIZERS),
                     help="sgd, momentum (SGD+momentum 0.9), nesterov, rmsprop, adam, adamw "
                          f"(default {default('optimizer')})")
    lrs = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
    opt.add_argument("--lr", type=float, default=None,
                     help=f"initial learning rate (default per optimizer: {lrs})")
    opt.add_argument("--reg", type=float, default=None, metavar="LAMBDA",
                     help="L2 regularization strength: loss + LAMBDA * sum W^2 over weight "
                          f"matrices and filters (default {default('reg')})")
    opt.add_argument("--lr-schedule", default=None, choices=SCHEDULES,
                     help="learning-rate schedule over the run (default "
                          f"{default('lr_schedule')}): step = x0.1 at 50%% and 75%%, cosine = "
                          "a0/2 (1 + cos(pi t/T)), linear = a0 (1 - t/T), invsqrt = "
                          "a0 / sqrt(epoch), onecycle = linear from a0/10 up to a0 over the "
                          "first 20%% of the steps, then linear down to 0")
    opt.add_argument("--epochs", type=int, default=None,
                     help=f"number of epochs (default {default('epochs')}; with --resume: the "
                          "stored run's)")
    opt.add_argument("--batch-size", type=int, default=None,
                     help=f"minibatch size (default {default('batch_size')}); per process under "
                          "mpirun -n K, whose global batch is K x this")
    opt.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                     help="stop after PATIENCE epochs without a better validation accuracy")
    run = p.add_argument_group("run")
    run.add_argument("--seed", type=int, default=0,
                     help="seed of the validation split, initialization, shuffling and dropout "
                          "(default 0; the test split is the data set's own, fixed)")
    run.add_argument("--out", default=None, metavar="DIR",
                     help="run folder to write (default runs/<date-time>-<data>/); one that "
                          "holds a run already is refused unless --overwrite")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the run in --out (its files are removed when the new run "
                          "starts writing)")
    run.add_argument("--resume", default=None, metavar="RUN",
                     help="continue the run in folder RUN from its last checkpoint, with its "
                          "stored settings (only --epochs, --out, --overwrite, --device, and "
                          "--data / --data-dir to point it at its data, apply); the numbers "
                          "are the same as if it had never stopped")
    add_device_argument(run, "trains")
    run.add_argument("--quiet", action="store_true", help="no progress bar and epoch lines")
    p.set_defaults(func=main)


#: The options ``--resume`` applies (every other setting is the resumed run's own).
RESUME_OPTIONS = frozenset({"epochs", "out", "overwrite", "resume", "data", "data_dir",
                            "device", "quiet"})


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from chainrule.backend import require_device
    from chainrule.distributed import comm
    from chainrule.train import CHECKPOINT_NAME, TrainConfig, default_run_dir, train_run

    if args.device is not None:
        require_device(args.device)
    if comm.launcher_world_size() > 1:
        comm.init()
    ranks, main_rank = comm.world_size(), comm.is_main()
    quiet = args.quiet or not main_rank  # only rank 0 prints
    console = Console(highlight=False)
    if args.resume is not None:
        ignored = sorted(args.given - RESUME_OPTIONS)
        if ignored:
            names = ", ".join(f"--{name.replace('_', '-')}" for name in ignored)
            raise ConfigError(f"{names}: not applied by --resume, which continues the run with "
                              "the settings it was started with (only --epochs, --out, "
                              "--overwrite, --data, --data-dir, --device and --quiet "
                              "apply)")
        cfg = TrainConfig(epochs=args.epochs) if args.epochs is not None else None
        run_dir = args.out or args.resume
        where = {"out": args.out, "resume": args.resume,
                 "data": args.data if "data" in args.given else None,
                 "data_dir": args.data_dir}
    else:
        cfg = TrainConfig(
            data=args.data, data_dir=args.data_dir, model=args.model,
            conv=" ".join(args.conv) if args.conv else None, hidden=list(args.hidden),
            activation=args.activation, loss=args.loss, optimizer=args.optimizer, lr=args.lr,
            reg=args.reg, lr_schedule=args.lr_schedule, epochs=args.epochs,
            batch_size=args.batch_size, dropout=args.dropout, batchnorm=args.batchnorm,
            val_fraction=args.val_fraction, seed=args.seed, features=args.features,
            early_stopping=args.early_stopping, augment=args.augment,
            image_size=args.image_size, label_column=args.label_column,
        )
        run_dir = comm.broadcast_object(str(args.out or default_run_dir(cfg)))
        if not quiet:
            if cfg.model == "cnn":
                layers = f"ConvNet {cfg.conv or 'sized for the images'}"
            else:
                layers = "hidden " + (" -> ".join(str(h) for h in cfg.hidden) or "(linear)")
                layers += f", {cfg.activation}"
            console.print(f"training on {cfg.data}: {layers}, "
                          f"{cfg.loss} loss, {cfg.optimizer} lr {cfg.learning_rate:g}, "
                          f"{cfg.lr_schedule} schedule, {cfg.epochs} epochs", soft_wrap=True)
            if ranks > 1:
                console.print(f"data-parallel on {ranks} ranks: batch {cfg.batch_size} per "
                              f"rank, global batch {ranks * cfg.batch_size}", soft_wrap=True)
        where = {"out": run_dir}
    try:
        result = train_run(cfg, progress=not quiet, console=console, device=args.device,
                           overwrite=args.overwrite, **where)
    except KeyboardInterrupt:
        if main_rank and (Path(run_dir) / CHECKPOINT_NAME).exists():
            print(f"chainrule train: the last finished epoch is saved; continue with "
                  f"'chainrule train --resume {run_dir}'", file=sys.stderr)
        raise
    if not main_rank:
        return 0
    ev = result.evaluation
    print(f"test accuracy: {ev.accuracy:.2%} ({int(ev.confusion.trace())}/"
          f"{ev.num_examples}) in {result.seconds:.1f}s")
    print(f"run folder: {result.run_dir}  (checkpoint.safetensors, metrics.json, report.html)")
    sys.stdout.flush()
    return 0
