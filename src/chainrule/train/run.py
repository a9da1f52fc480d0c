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

from chainrule.backend import require_device
from chainrule.data.loader import DataLoader
from chainrule.data.sharding import shard_size
from chainrule.errors import ConfigError, DataError
from chainrule.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from chainrule.train.config import TrainConfig
from chainrule.train.factories import build_loss, build_model, build_optimizer, build_scheduler
from chainrule.train.history import History
from chainrule.train.inputs import load_splits
from chainrule.train.metrics import Evaluation, evaluate
from chainrule.train.preprocess import ImagePreprocessor, Preprocessor, shift_augment
from chainrule.train.report import write_metrics, write_report
from chainrule.train.run_data import absolute_locations, check_same_data, resumed_locations
from chainrule.train.run_folder import RunFolder
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


def default_run_dir(cfg: TrainConfig | str, root: str | Path = "runs") -> Path:
    """``runs/<YYYYmmdd-HHMMSS>-<data>``, with a numeric suffix when that exists already.

    ``cfg`` is a run's config (its data set names the folder) or the name itself.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if isinstance(cfg, str):
        name = cfg
    else:
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
    data: str | None = None,
    data_dir: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    console: Any = None,
    callbacks: tuple = (),
    device: Any = None,
) -> RunResult:
    """Train, evaluate and write a run folder; see the module docstring for the steps.

    ``resume`` is a run folder (or checkpoint file) of an interrupted run: its configuration,
    weights, optimizer, scheduler, RNG and shuffling states are restored and training goes on
    to ``cfg.epochs`` (when ``cfg`` is given, only its ``epochs`` is used), giving the same
    numbers as a run that was never interrupted. ``data`` and ``data_dir`` point a resumed run
    at its data when it moved (see :func:`~chainrule.train.run_data.resumed_locations`); the
    data found must have the run's classes and image shape. ``device`` (``'cuda'``) is where
    the model trains; the model is built (and initialized) on the CPU first, so a seed gives
    the same starting weights on every device, and the checkpoint loads anywhere.

    The run folder is ``out``, else the resumed run's folder, else :func:`default_run_dir`.
    It is owned by this run (:class:`~chainrule.train.run_folder.RunFolder`): a folder that
    holds another run is refused unless ``overwrite`` (or it is the resumed run's own), it is
    locked while the run writes, and a run that fails before its first checkpoint leaves no
    folder behind. Data paths are stored absolute.
    """
    from chainrule.distributed import comm

    if device is not None:
        require_device(device)  # before the data is loaded: fail fast
    ckpt = None
    if resume is not None:
        ckpt = load_checkpoint(resume, build_model=False)
        stored = TrainConfig.from_dict(ckpt.config)
        if cfg is not None:
            stored.epochs = cfg.epochs
        cfg = resumed_locations(stored, data, data_dir)
        if out is None:
            out = ckpt.path.parent
    elif data is not None or data_dir is not None:
        raise ConfigError("train_run: data= and data_dir= point a resumed run at its data; "
                          "a new run takes them in its TrainConfig")
    else:
        cfg = absolute_locations(cfg or TrainConfig())
    run_dir = Path(out) if out is not None else default_run_dir(cfg)
    run_dir = Path(comm.broadcast_object(str(run_dir)))  # rank 0's name on every rank
    # Only rank 0 writes, so only rank 0 owns the folder (a single process is rank 0).
    own_folder = ckpt is not None and _same_folder(run_dir, ckpt.path.parent)
    folder = RunFolder(run_dir, overwrite=overwrite, resume=own_folder) \
        if comm.is_main() else None
    if folder is not None:
        folder.check()  # before the data loads: a taken folder is refused at once
    started = time.perf_counter()
    inputs = _prepare_inputs(cfg, ckpt)
    if folder is None:
        return _train_and_write(cfg, ckpt, inputs, run_dir, started, progress, console,
                                callbacks, device)
    folder.open()  # only once the data loaded and transformed
    try:
        result = _train_and_write(cfg, ckpt, inputs, run_dir, started, progress, console,
                                  callbacks, device)
    except BaseException:
        folder.close(ok=False)
        raise
    folder.close()
    return result


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.exists() and a.samefile(b)
    except OSError:
        return False


@dataclass
class _Inputs:
    """A run's data, ready to train on: model inputs, labels and the fitted preprocessing.

    ``train_data`` is what the Trainer fits on: ``(inputs, labels)`` arrays, or for a
    ConvNet a DataLoader that augments and standardizes each batch of the uint8 images.
    """

    train_data: Any
    train_y: np.ndarray
    val: tuple[np.ndarray, np.ndarray] | None
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]
    pre: Preprocessor
    in_features: int


def _prepare_inputs(cfg: TrainConfig, ckpt: Any) -> _Inputs:
    """Load the data, split off validation, augment, fit (or restore) the preprocessing."""
    from chainrule.distributed import comm

    ds, train_x, train_y, test_x, test_y = load_splits(
        cfg.data, cfg.data_dir, size=cfg.image_size_arg, label_column=cfg.label_column)
    classes = list(ds.classes)
    _check_classifiable(cfg.data, classes, train_y, test_y)
    if ckpt is not None:
        check_same_data(cfg.data, classes, getattr(ds, "image_shape", None),
                        ckpt.class_names, ckpt.image_shape)
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
    return _Inputs(train_data, train_y, val, test_x, test_y, classes, pre, in_features)


def _check_classifiable(data: str, classes: list[str], train_y: np.ndarray,
                        test_y: np.ndarray) -> None:
    """Refuse data on which a classifier's accuracy cannot mean what it says."""
    present = np.unique(np.asarray(train_y))
    if len(classes) < 2 or len(present) < 2:
        only = classes[int(present[0])] if len(present) == 1 and len(classes) > present[0] \
            else (classes[0] if classes else "none")
        raise DataError(f"{data}: the training images are all of one class ({only!r}): a "
                        "classifier needs at least 2 classes (its accuracy would be 100% "
                        "whatever it learned)")
    if len(test_y) == 0:
        raise DataError(f"{data}: the test split is empty: there is nothing to measure the "
                        "run on (add images, or a test/ folder)")


def _train_and_write(cfg: TrainConfig, ckpt: Any, inputs: _Inputs, run_dir: Path,
                     started: float, progress: bool, console: Any,
                     callbacks: tuple, device: Any) -> RunResult:
    """Build, train (checkpoint each epoch), evaluate and write the run folder's files (rank
    0 writes; the other ranks of an MPI job train with it)."""
    import chainrule as cr
    from chainrule.distributed import comm

    main = comm.is_main()
    pre, classes = inputs.pre, inputs.classes
    cr.manual_seed(cfg.seed)
    model = build_model(cfg, inputs.in_features, len(classes), pre.image_shape)
    optimizer = build_optimizer(cfg, model)
    steps_per_epoch = math.ceil(shard_size(len(inputs.train_y), comm.world_size())
                                / cfg.batch_size)
    scheduler, interval = build_scheduler(cfg, optimizer, steps_per_epoch)
    checkpoint_path = run_dir / CHECKPOINT_NAME
    extra = {"config": cfg.to_dict(), "class_names": classes, **pre.state_dict()}

    def save_each_epoch(trainer: Trainer, epoch: int, logs: dict) -> None:
        trainer.save_checkpoint(checkpoint_path, **extra)

    trainer = Trainer(
        model, build_loss(cfg), optimizer, scheduler, batch_size=cfg.batch_size, seed=cfg.seed,
        reg=cfg.reg, early_stopping=cfg.early_stopping, keep_best=inputs.val is not None,
        callbacks=(save_each_epoch, *callbacks), progress=progress,
        scheduler_interval=interval, console=console, device=device,
    )
    if ckpt is not None:
        trainer.resume(ckpt)
    history = trainer.fit(inputs.train_data, inputs.val, epochs=cfg.epochs)
    trainer.save_checkpoint(checkpoint_path, **extra)

    evaluation = evaluate(model, pre.transform(inputs.test_x), inputs.test_y,
                          class_names=classes, loss=build_loss(cfg))
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
    test_x = inputs.test_x
    report_path = write_report(
        run_dir, history=history, evaluation=evaluation, model=model,
        test_images=test_x if np.ndim(test_x) == 4 else None, image_shape=pre.image_shape,
        first_layer_on_pixels=pre.on_pixels,
        config={**cfg.to_dict(), "lr": cfg.learning_rate},  # the rate used, not None
        title=f"chainrule run on {cfg.data}: {evaluation.accuracy:.2%} test accuracy",
    )
    return RunResult(run_dir, cfg, history, evaluation, seconds, checkpoint_path, report_path,
                     metrics_path)
