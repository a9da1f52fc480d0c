"""One training run end to end, as ``chainrule train`` does it: :func:`train_run`.

:func:`train_run` is the lecture's data-driven approach made concrete:

1. load the data set (digits by default) and hold out a seeded, stratified validation split
   of the training images;
2. turn images into vectors: raw pixels scaled to ``[0, 1]`` (or the image features of
   ``--features``), then standardize each feature with the training split's mean and std
   (:class:`~chainrule.train.Preprocessor`); for a ConvNet (``--model cnn``) keep them
   images, standardize each colour channel, and augment each batch as it is drawn
   (:class:`~chainrule.train.preprocess.ImagePreprocessor`);
3. build the MLP or the ConvNet, the loss (softmax or SVM), the optimizer and the
   learning-rate schedule (:mod:`chainrule.train.factories`);
4. train with :class:`~chainrule.train.Trainer`, saving a checkpoint after every epoch;
5. evaluate on the test split and write the run folder: ``checkpoint.safetensors``,
   ``metrics.json`` and ``report.html``.

Under ``mpirun -n K`` (after :func:`chainrule.distributed.init`) every rank runs these
steps on the whole data set; the trainer shards the training and the evaluations, and
only rank 0 writes the run folder (``cfg.batch_size`` is per rank).

>>> result = train_run(TrainConfig(epochs=5), out="runs/demo", progress=False)  # doctest: +SKIP
>>> print(f"{result.evaluation.accuracy:.1%}")                                  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.data.loader import DataLoader
from chainrule.data.sharding import shard_size
from chainrule.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from chainrule.train.config import TrainConfig
from chainrule.train.factories import build_loss, build_model, build_optimizer, build_scheduler
from chainrule.train.history import History
from chainrule.train.inputs import load_splits
from chainrule.train.metrics import Evaluation, evaluate
from chainrule.train.preprocess import ImagePreprocessor, Preprocessor, shift_augment
from chainrule.train.report import write_metrics, write_report
from chainrule.train.trainer import Trainer

__all__ = ["RunResult", "default_run_dir", "train_run"]


@dataclass
class RunResult:
    """What :func:`train_run` produced."""

    run_dir: Path
    config: TrainConfig
    history: History
    evaluation: Evaluation
    seconds: float
    checkpoint: Path
    report: Path
    metrics: Path


def default_run_dir(cfg: TrainConfig, root: str | Path = "runs") -> Path:
    """``runs/<YYYYmmdd-HHMMSS>-<data>``, with a numeric suffix when that exists already."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = Path(cfg.data).stem if cfg.data not in ("digits", "mnist", "fashion-mnist",
                                                    "cifar10") else cfg.data
    base = Path(root) / f"{stamp}-{name}"
    candidate, i = base, 1
    while candidate.exists():
        i += 1
        candidate = base.with_name(f"{base.name}-{i}")
    return candidate


def train_run(
    cfg: TrainConfig | None = None,
    out: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    progress: bool = True,
    console: Any = None,
    callbacks: tuple = (),
    device: Any = None,
) -> RunResult:
    """Train, evaluate and write a run folder; see the module docstring for the steps.

    ``resume`` is a run folder (or checkpoint file) of an interrupted run: its configuration,
    weights, optimizer, scheduler, RNG and shuffling states are restored and training goes on
    to ``cfg.epochs`` (when ``cfg`` is given, only its ``epochs`` is used), giving the same
    numbers as a run that was never interrupted. The run folder is ``out``, else the resumed
    run's folder, else :func:`default_run_dir`. ``device`` (``'cuda'``) is where the model
    trains; the model is built (and initialized) on the CPU first, so a seed gives the
    same starting weights on every device, and the checkpoint loads anywhere.
    """
    import chainrule as cr
    from chainrule.distributed import comm

    if device is not None:
        cr.backend.require_device(device)  # before the data is loaded: fail fast
    ckpt = None
    if resume is not None:
        ckpt = load_checkpoint(resume, build_model=False)
        stored = TrainConfig.from_dict(ckpt.config)
        if cfg is not None:
            stored.epochs = cfg.epochs
        cfg = stored
        if out is None:
            out = ckpt.path.parent
    cfg = cfg or TrainConfig()
    run_dir = Path(out) if out is not None else default_run_dir(cfg)
    run_dir = Path(comm.broadcast_object(str(run_dir)))  # rank 0's name on every rank
    started = time.perf_counter()

    ds, train_x, train_y, test_x, test_y = load_splits(cfg.data, cfg.data_dir)
    if cfg.val_fraction > 0:
        from chainrule.data import train_val_split

        train_x, val_x, train_y, val_y = train_val_split(train_x, train_y, cfg.val_fraction,
                                                         seed=cfg.seed)
    else:
        val_x = val_y = None
    augment = cfg.augmentation(train_x)
    if augment == "shift":
        train_x, train_y = shift_augment(train_x, train_y)
    if cfg.model == "cnn":
        pre: Any = ckpt.preprocessor() if ckpt is not None else ImagePreprocessor().fit(train_x)
        # The images stay uint8; each batch is augmented and standardized as it is drawn.
        train_data: Any = DataLoader(
            train_x, train_y, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed,
            transform=pre.batch_transform("none" if augment == "shift" else augment),
            num_replicas=comm.world_size(), rank=comm.rank())
        in_features = 0
    else:
        if ckpt is not None:
            pre = ckpt.preprocessor()
            X_train = pre.transform(train_x)
        else:
            pre = Preprocessor(cfg.features)
            X_train = pre.fit_transform(train_x, seed=cfg.seed)
        train_data, in_features = (X_train, train_y), X_train.shape[1]
    val = (pre.transform(val_x), val_y) if val_x is not None else None
    classes = list(ds.classes)
    main = comm.is_main()  # only rank 0 writes the run folder
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)  # only once the data loaded and transformed

    cr.manual_seed(cfg.seed)
    model = build_model(cfg, in_features, len(classes), pre.image_shape)
    optimizer = build_optimizer(cfg, model)
    steps_per_epoch = math.ceil(shard_size(len(train_y), comm.world_size()) / cfg.batch_size)
    scheduler, interval = build_scheduler(cfg, optimizer, steps_per_epoch)
    checkpoint_path = run_dir / CHECKPOINT_NAME
    extra = {"config": cfg.to_dict(), "class_names": classes, **pre.state_dict()}

    def save_each_epoch(trainer: Trainer, epoch: int, logs: dict) -> None:
        trainer.save_checkpoint(checkpoint_path, **extra)

    trainer = Trainer(
        model, build_loss(cfg), optimizer, scheduler, batch_size=cfg.batch_size, seed=cfg.seed,
        reg=cfg.reg, early_stopping=cfg.early_stopping, keep_best=val is not None,
        callbacks=(save_each_epoch, *callbacks), progress=progress,
        scheduler_interval=interval, console=console, device=device,
    )
    if ckpt is not None:
        trainer.resume(ckpt)
    history = trainer.fit(train_data, val, epochs=cfg.epochs)
    trainer.save_checkpoint(checkpoint_path, **extra)

    evaluation = evaluate(model, pre.transform(test_x), test_y, class_names=classes,
                          loss=build_loss(cfg))
    seconds = time.perf_counter() - started
    metrics_path, report_path = run_dir / "metrics.json", run_dir / "report.html"
    if not main:
        return RunResult(run_dir, cfg, history, evaluation, seconds, checkpoint_path,
                         report_path, metrics_path)
    metrics_path = write_metrics(run_dir, {
        "data": cfg.data,
        "config": cfg.to_dict(),
        "model": {"architecture": model.config(), "parameters": model.num_parameters()},
        "history": history.to_dict(),
        "test": evaluation.to_dict(),
        "validation_accuracy": history.val_acc[history.best_epoch - 1]
        if history.best_epoch else None,
        "seconds": seconds,
        "chainrule_version": cr.__version__,
        **({"distributed": {"world_size": comm.world_size(), "batch_size_per_rank":
                            cfg.batch_size, "global_batch_size": cfg.batch_size
                            * comm.world_size()}} if comm.world_size() > 1 else {}),
    })
    report_path = write_report(
        run_dir, history=history, evaluation=evaluation, model=model,
        test_images=test_x if np.ndim(test_x) == 4 else None, image_shape=pre.image_shape,
        first_layer_on_pixels=pre.on_pixels,
        config={**cfg.to_dict(), "lr": cfg.learning_rate},  # the rate used, not None
        title=f"chainrule run on {cfg.data}: {evaluation.accuracy:.2%} test accuracy",
    )
    return RunResult(run_dir, cfg, history, evaluation, seconds, checkpoint_path, report_path,
                     metrics_path)
