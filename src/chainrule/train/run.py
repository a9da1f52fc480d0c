"""One training run end to end, as ``chainrule train`` does it, and its reuse by evaluate/predict.

:func:`train_run` is the lecture's data-driven approach made concrete:

1. load the data set (digits by default) and hold out a seeded, stratified validation split
   of the training images;
2. turn images into vectors: raw pixels scaled to ``[0, 1]`` (or the image features of
   ``--features``), then standardize each feature with the training split's mean and std;
3. build the MLP, the loss (softmax or SVM), the optimizer and the learning-rate schedule;
4. train with :class:`~chainrule.train.Trainer`, saving a checkpoint after every epoch;
5. evaluate on the test split and write the run folder: ``checkpoint.safetensors``,
   ``metrics.json`` and ``report.html``.

>>> result = train_run(TrainConfig(epochs=5), out="runs/demo", progress=False)  # doctest: +SKIP
>>> print(f"{result.evaluation.accuracy:.1%}")                                  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "Preprocessor",
    "RunResult",
    "TrainConfig",
    "evaluate_run",
    "load_image_files",
    "predict_images",
    "train_run",
]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "linear", "invsqrt")
LOSSES = ("softmax", "svm")
AUGMENTATIONS = ("auto", "none", "shift")
#: ``augment='auto'`` shifts the training images of data sets smaller than this.
AUTO_AUGMENT_BELOW = 10_000
ACTIVATIONS = ("relu", "leaky_relu", "prelu", "elu", "tanh", "sigmoid", "maxout", "linear")
#: Learning rate used when ``lr`` is not given, per optimizer.
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 1e-3, "adam": 1e-3,
              "adamw": 1e-3}


@dataclass
class TrainConfig:
    """Every setting of a run (what ``chainrule train`` exposes as options).

    The defaults train a 2-layer net (64 -> 512 -> 10, ReLU, dropout 0.3) on the embedded
    digits (plus their one-pixel shifts) with Adam, a cosine learning-rate schedule and a
    little L2: 98-99% test accuracy in seconds. ``val_fraction`` is 0 by default: the 1,438
    digit training images are few, and every one of them helps more than a validation split
    (set it to e.g. 0.1 to watch validation accuracy and keep the best epoch).
    """

    data: str = "digits"
    data_dir: str | None = None
    hidden: list[int] = field(default_factory=lambda: [512])
    activation: str = "relu"
    loss: str = "softmax"
    optimizer: str = "adam"
    lr: float | None = None
    reg: float = 1e-4
    lr_schedule: str = "cosine"
    epochs: int = 30
    batch_size: int = 64
    dropout: float = 0.3
    batchnorm: bool = False
    val_fraction: float = 0.0
    seed: int = 0
    features: str = "pixels"
    early_stopping: int | None = None
    augment: str = "auto"

    def __post_init__(self) -> None:
        self.hidden = [int(h) for h in self.hidden]
        checks = [
            (self.optimizer in OPTIMIZERS,
             f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.lr_schedule in SCHEDULES,
             f"lr schedule must be one of {', '.join(SCHEDULES)}, got {self.lr_schedule!r}"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}"),
            (self.activation in ACTIVATIONS,
             f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"),
            (all(h >= 1 for h in self.hidden), f"hidden sizes must be >= 1, got {self.hidden}"),
            (self.lr is None or self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (self.reg >= 0, f"reg must be >= 0, got {self.reg}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (0.0 <= self.val_fraction < 1.0,
             f"val fraction must be in [0, 1), got {self.val_fraction}"),
            (self.augment in AUGMENTATIONS,
             f"augment must be one of {', '.join(AUGMENTATIONS)}, got {self.augment!r}"),
            (self.early_stopping is None or self.early_stopping >= 1,
             f"early stopping patience must be >= 1, got {self.early_stopping}"),
            (self.early_stopping is None or self.val_fraction > 0,
             "early stopping needs a validation split: give --val-fraction > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# --------------------------------------------------------------------------- preprocessing
class Preprocessor:
    """Images -> model inputs: pixels in [0, 1] or image features, then standardization.

    Fitted on the training split only; its state goes into the checkpoint so that evaluate
    and predict transform new images exactly like the training images.
    """

    def __init__(self, features: str = "pixels", image_shape: tuple[int, ...] | None = None,
                 pipeline: Any = None, standardizer: Any = None) -> None:
        self.features = features
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.pipeline = pipeline
        self.standardizer = standardizer

    @property
    def on_pixels(self) -> bool:
        return self.features == "pixels"

    def fit(self, train: np.ndarray, seed: int = 0) -> Preprocessor:
        from chainrule.data import Standardizer

        if train.ndim == 4:
            self.image_shape = tuple(int(s) for s in train.shape[1:])
            if not self.on_pixels:
                from chainrule.features import FeaturePipeline

                names = [n.strip() for n in self.features.split(",") if n.strip()]
                self.pipeline = FeaturePipeline.from_names(names)
                self.pipeline.fit(train, seed=seed)
        elif not self.on_pixels:
            raise ValueError(f"--features {self.features} needs images; this data set is a "
                             "table of features (use --features pixels)")
        self.standardizer = Standardizer().fit(self._raw(train))
        return self

    def _raw(self, data: np.ndarray) -> np.ndarray:
        if data.ndim == 2:
            return np.asarray(data, dtype=np.float32)
        if self.image_shape is not None and tuple(data.shape[1:]) != self.image_shape:
            raise ValueError(
                f"the model was trained on images of shape {_fmt_shape(self.image_shape)}, "
                f"these are {_fmt_shape(data.shape[1:])}"
            )
        if self.pipeline is not None:
            return np.asarray(self.pipeline.transform(data), dtype=np.float32)
        from chainrule.data import images_to_features

        return images_to_features(data)

    def transform(self, data: np.ndarray) -> np.ndarray:
        """(N, H, W, C) uint8 images (or (N, D) features) -> standardized float32 (N, D)."""
        return self.standardizer.transform(self._raw(data))

    def checkpoint_kwargs(self) -> dict:
        return {"normalization": self.standardizer, "features": self.pipeline,
                "image_shape": self.image_shape}

    @classmethod
    def from_checkpoint(cls, ckpt: Any) -> Preprocessor:
        from chainrule.data import Standardizer

        features = ckpt.config.get("features", "pixels")
        pipeline = None
        if ckpt.features is not None:
            from chainrule.features import FeaturePipeline

            pipeline = FeaturePipeline.from_config(ckpt.features["config"],
                                                   ckpt.features["arrays"])
        if ckpt.normalization is None:
            raise ChainruleError(f"{ckpt.path}: the checkpoint has no normalization statistics")
        return cls(features, ckpt.image_shape, pipeline,
                   Standardizer.from_state_dict(ckpt.normalization))


def shift_augment(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images plus copies moved one pixel up, down, left and right (5x the data).

    A handwritten digit moved by a pixel is still the same digit, but for a fully-connected
    net on pixels it is a different input vector: the copies teach it that small
    translations do not matter. Vacated pixels are 0 (the digits' background).

    >>> imgs, ys = shift_augment(np.zeros((2, 8, 8, 1), np.uint8), np.array([3, 7]))
    >>> imgs.shape, ys.tolist()
    ((10, 8, 8, 1), [3, 7, 3, 7, 3, 7, 3, 7, 3, 7])
    """
    h, w = images.shape[1:3]
    copies = [images]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        moved = np.zeros_like(images)
        moved[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        copies.append(moved)
    return np.concatenate(copies), np.tile(labels, len(copies))


def _fmt_shape(shape: Any) -> str:
    return "x".join(str(int(s)) for s in shape)


# --------------------------------------------------------------------------- building blocks
def build_model(cfg: TrainConfig, in_features: int, num_classes: int) -> Any:
    from chainrule import nn

    return nn.MLP(in_features, list(cfg.hidden), num_classes, activation=cfg.activation,
                  dropout=cfg.dropout, batchnorm=cfg.batchnorm)


def build_loss(cfg: TrainConfig) -> Any:
    from chainrule import nn

    return nn.CrossEntropyLoss() if cfg.loss == "softmax" else nn.MulticlassHingeLoss()


def build_optimizer(cfg: TrainConfig, model: Any) -> Any:
    from chainrule import optim

    params = list(model.parameters())
    lr = cfg.learning_rate
    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=lr)
    if cfg.optimizer == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if cfg.optimizer == "nesterov":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if cfg.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    if cfg.optimizer == "adam":
        return optim.Adam(params, lr=lr)
    return optim.AdamW(params, lr=lr)


def build_scheduler(cfg: TrainConfig, optimizer: Any, steps_per_epoch: int) -> tuple[Any, str]:
    """The schedule of ``cfg.lr_schedule`` and when it steps (``'step'`` or ``'epoch'``).

    cosine ``a0/2 (1 + cos(pi t/T))`` and linear ``a0 (1 - t/T)`` step after every minibatch
    (``T`` = all steps of the run); step multiplies by 0.1 at 50% and 75% of the epochs;
    invsqrt ``a0 / sqrt(t)`` counts ``t`` in epochs.
    """
    from chainrule.optim import lr_scheduler as sched

    total = cfg.epochs * steps_per_epoch
    if cfg.lr_schedule == "none":
        return None, "epoch"
    if cfg.lr_schedule == "step":
        milestones = sorted({max(1, cfg.epochs // 2), max(1, (3 * cfg.epochs) // 4)})
        return sched.MultiStepLR(optimizer, milestones=milestones, gamma=0.1), "epoch"
    if cfg.lr_schedule == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=total), "step"
    if cfg.lr_schedule == "linear":
        return sched.LinearDecayLR(optimizer, total_steps=total), "step"
    return sched.InverseSqrtLR(optimizer), "epoch"


# --------------------------------------------------------------------------- runs
@dataclass
class RunResult:
    """What :func:`train_run` produced."""

    run_dir: Path
    config: TrainConfig
    history: Any
    evaluation: Any
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


def _load_data(data: str, data_dir: str | None) -> Any:
    """The data set with its standard test split.

    Data sets without an official test split (digits, image folders without ``test/``) get
    the loader's seeded split with its default seed, whatever the run's ``--seed``: the test
    set belongs to the data, so runs with different seeds are measured on the same images.
    """
    from chainrule import data as crdata

    return crdata.load(data, data_dir=data_dir)


def _split(ds: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if hasattr(ds, "train_images"):
        return ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
    return ds.train_features, ds.train_labels, ds.test_features, ds.test_labels


def train_run(
    cfg: TrainConfig | None = None,
    out: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    progress: bool = True,
    console: Any = None,
    callbacks: tuple = (),
) -> RunResult:
    """Train, evaluate and write a run folder; see the module docstring for the steps.

    ``resume`` is a run folder (or checkpoint file) of an interrupted run: its configuration,
    weights, optimizer, scheduler, RNG and shuffling states are restored and training goes on
    to ``cfg.epochs`` (when ``cfg`` is given, only its ``epochs`` is used), giving the same
    numbers as a run that was never interrupted. The run folder is ``out``, else the resumed
    run's folder, else :func:`default_run_dir`.
    """
    import chainrule as cr
    from chainrule.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
    from chainrule.train.trainer import Trainer

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
    started = time.perf_counter()

    ds = _load_data(cfg.data, cfg.data_dir)
    train_x, train_y, test_x, test_y = _split(ds)
    if cfg.val_fraction > 0:
        from chainrule.data import train_val_split

        train_x, val_x, train_y, val_y = train_val_split(train_x, train_y, cfg.val_fraction,
                                                         seed=cfg.seed)
    else:
        val_x = val_y = None
    augment = cfg.augment
    if augment == "auto":
        augment = "shift" if np.ndim(train_x) == 4 and len(train_x) < AUTO_AUGMENT_BELOW else "none"
    if augment == "shift":
        if np.ndim(train_x) != 4:
            raise ValueError("--augment shift needs images; this data set is a table of features")
        train_x, train_y = shift_augment(train_x, train_y)
    if ckpt is not None:
        pre = Preprocessor.from_checkpoint(ckpt)
    else:
        pre = Preprocessor(cfg.features).fit(train_x, seed=cfg.seed)
    X_train = pre.transform(train_x)
    val = (pre.transform(val_x), val_y) if val_x is not None else None
    classes = list(ds.classes)
    run_dir.mkdir(parents=True, exist_ok=True)  # only once the data loaded and transformed

    cr.manual_seed(cfg.seed)
    model = build_model(cfg, X_train.shape[1], len(classes))
    optimizer = build_optimizer(cfg, model)
    steps_per_epoch = math.ceil(len(X_train) / cfg.batch_size)
    scheduler, interval = build_scheduler(cfg, optimizer, steps_per_epoch)
    checkpoint_path = run_dir / CHECKPOINT_NAME
    extra = {"config": cfg.to_dict(), "class_names": classes, **pre.checkpoint_kwargs()}

    def save_each_epoch(trainer: Trainer, epoch: int, logs: dict) -> None:
        trainer.save_checkpoint(checkpoint_path, **extra)

    trainer = Trainer(
        model, build_loss(cfg), optimizer, scheduler, batch_size=cfg.batch_size, seed=cfg.seed,
        reg=cfg.reg, early_stopping=cfg.early_stopping, keep_best=val is not None,
        callbacks=(save_each_epoch, *callbacks), progress=progress,
        scheduler_interval=interval, console=console,
    )
    if ckpt is not None:
        trainer.resume(ckpt)
    history = trainer.fit((X_train, train_y), val, epochs=cfg.epochs)
    trainer.save_checkpoint(checkpoint_path, **extra)

    from chainrule.train.metrics import evaluate
    from chainrule.train.report import write_metrics, write_report

    evaluation = evaluate(model, pre.transform(test_x), test_y, class_names=classes,
                          loss=build_loss(cfg))
    seconds = time.perf_counter() - started
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
    })
    report_path = write_report(
        run_dir, history=history, evaluation=evaluation, model=model,
        test_images=test_x if np.ndim(test_x) == 4 else None, image_shape=pre.image_shape,
        first_layer_on_pixels=pre.on_pixels, config=cfg.to_dict(),
        title=f"chainrule run on {cfg.data}: {evaluation.accuracy:.2%} test accuracy",
    )
    return RunResult(run_dir, cfg, history, evaluation, seconds, checkpoint_path, report_path,
                     metrics_path)


def _load_run(run: str | Path) -> tuple[Any, Preprocessor]:
    from chainrule.train.checkpoint import CheckpointError, load_checkpoint

    ckpt = load_checkpoint(run)
    if ckpt.model is None:
        raise CheckpointError(f"{ckpt.path}: holds no architecture to rebuild the model from")
    return ckpt, Preprocessor.from_checkpoint(ckpt)


def evaluate_run(run: str | Path, data: str | None = None, data_dir: str | None = None) -> Any:
    """Evaluate a saved run on the test split of its data set (or of ``data``)."""
    from chainrule.train.metrics import evaluate

    ckpt, pre = _load_run(run)
    name = data or ckpt.config.get("data", "digits")
    ds = _load_data(name, data_dir or (None if data else ckpt.config.get("data_dir")))
    _, _, test_x, test_y = _split(ds)
    if ckpt.class_names is not None and list(ds.classes) != list(ckpt.class_names):
        raise ValueError(f"{name} has classes {_short(ds.classes)} but the run was trained on "
                         f"{_short(ckpt.class_names)}")
    return evaluate(ckpt.model, pre.transform(test_x), test_y, class_names=ckpt.class_names)


def _short(names: list[str]) -> str:
    names = list(names)
    return ", ".join(names) if len(names) <= 6 else ", ".join([*names[:3], "...", *names[-2:]])


def load_image_files(paths: list[str | Path], image_shape: tuple[int, int, int],
                     invert: bool = False) -> np.ndarray:
    """Read PNG/JPEG files into ``(N, H, W, C)`` uint8 the way the training images were.

    Each file is converted to grayscale (``C == 1``) or RGB (``C == 3``) and resized to the
    training images' ``H x W`` (Lanczos, which also anti-aliases when shrinking).
    ``invert`` maps ``v -> 255 - v``: the digit sets are light ink on a dark background, while
    most drawings are dark on light.
    """
    from PIL import Image, UnidentifiedImageError

    h, w, c = image_shape
    if c not in (1, 3):
        raise ValueError(f"predict: cannot convert files to {c}-channel images")
    out = np.empty((len(paths), h, w, c), dtype=np.uint8)
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as img:
                img = img.convert("L" if c == 1 else "RGB")
                if img.size != (w, h):
                    img = img.resize((w, h), Image.Resampling.LANCZOS)
                arr = np.asarray(img, dtype=np.uint8)
        except FileNotFoundError:
            raise FileNotFoundError(f"{p}: no such image file") from None
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f"{p}: not a readable PNG/JPEG image ({e})") from None
        out[i] = arr.reshape(h, w, c)
    return 255 - out if invert else out


def predict_images(run: str | Path, paths: list[str | Path], top: int = 3,
                   invert: bool = False) -> list[list[tuple[str, float]]]:
    """Class probabilities (softmax of the scores), best ``top`` first, for each image file."""
    import chainrule as cr
    from chainrule.train.metrics import predict_scores

    ckpt, pre = _load_run(run)
    if ckpt.image_shape is None:
        raise ValueError(f"{ckpt.path}: this run was trained on a table of features, "
                         "not on images; predict needs an image model")
    images = load_image_files(paths, ckpt.image_shape, invert=invert)
    scores = predict_scores(ckpt.model, pre.transform(images))
    probs = cr.softmax(cr.tensor(scores), axis=1).data
    names = ckpt.class_names or [str(i) for i in range(probs.shape[1])]
    results = []
    for row in probs:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([(names[j], float(row[j])) for j in order])
    return results
