"""The settings of a training run: :class:`TrainConfig`, checked when it is made.

The activations, losses and optimizers a run may name are the registries
``nn.ACTIVATIONS``, ``nn.LOSSES`` and ``optim.OPTIMIZERS``: registering a new one there
makes it a valid setting here and a choice of ``chainrule train``.

>>> cfg = TrainConfig(hidden=[100], optimizer="momentum", epochs=5)
>>> cfg.learning_rate
0.05
>>> TrainConfig(epochs=0)
Traceback (most recent call last):
    ...
chainrule.errors.ConfigError: epochs must be >= 1, got 0
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from chainrule import nn, optim
from chainrule.errors import ConfigError

__all__ = [
    "ACTIVATION_CHOICES",
    "AUGMENTATIONS",
    "AUTO_AUGMENT_BELOW",
    "DEFAULT_LR",
    "MODELS",
    "MODEL_DEFAULTS",
    "SCHEDULES",
    "TrainConfig",
]

#: Learning-rate schedules by name (built by :func:`chainrule.train.factories.build_scheduler`).
SCHEDULES = ("none", "step", "cosine", "linear", "invsqrt", "onecycle")
#: ``shift`` copies the data set (5x); ``crop`` and ``crop-flip`` change each batch of a
#: ConvNet's images as it is drawn (:mod:`chainrule.data.augment`).
AUGMENTATIONS = ("auto", "none", "shift", "crop", "crop-flip")
#: The models a run trains: a fully-connected net on vectors, or a ConvNet on images.
MODELS = ("mlp", "cnn")
#: The settings a run leaves out (``None``) take these values, per model: an MLP trains
#: with Adam and dropout; a ConvNet with batch norm, SGD with Nesterov momentum, a
#: one-cycle learning rate, weight decay and larger batches.
MODEL_DEFAULTS: dict[str, dict[str, object]] = {
    "mlp": {"optimizer": "adam", "lr_schedule": "cosine", "epochs": 30, "batch_size": 64,
            "dropout": 0.3, "reg": 1e-4},
    "cnn": {"optimizer": "nesterov", "lr_schedule": "onecycle", "epochs": 10,
            "batch_size": 128, "dropout": 0.0, "reg": 2.5e-4},
}
#: ``augment='auto'`` shifts the training images of data sets smaller than this.
AUTO_AUGMENT_BELOW = 10_000
#: The activation names a run offers: ``nn.ACTIVATIONS`` without its aliases.
ACTIVATION_CHOICES = tuple(n for n in nn.ACTIVATIONS if n not in nn.ACTIVATION_ALIASES)
#: Learning rate used when ``lr`` is not given, per optimizer of ``optim.OPTIMIZERS``.
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 1e-3, "adam": 1e-3,
              "adamw": 1e-3}


@dataclass
class TrainConfig:
    """Every setting of a run (what ``chainrule train`` exposes as options).

    The defaults train a 2-layer net (64 -> 512 -> 10, ReLU, dropout 0.3) on the embedded
    digits (plus their one-pixel shifts) with Adam, a cosine learning-rate schedule and a
    little L2: 98-99% test accuracy in seconds. ``model='cnn'`` trains a ConvNet on the
    images themselves (``conv``: its blocks, e.g. ``'32 32 pool 64 64 pool'``; default:
    sized for the images); settings left as ``None`` take :data:`MODEL_DEFAULTS`.
    ``val_fraction`` is 0 by default: the 1,438 digit training images are few, and every
    one of them helps more than a validation split (set it to e.g. 0.1 to watch validation
    accuracy and keep the best epoch).
    A setting out of range raises :class:`~chainrule.errors.ConfigError`.
    """

    data: str = "digits"
    data_dir: str | None = None
    model: str = "mlp"
    conv: str | None = None
    hidden: list[int] = field(default_factory=lambda: [512])
    activation: str = "relu"
    loss: str = "softmax"
    optimizer: str | None = None
    lr: float | None = None
    reg: float | None = None
    lr_schedule: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    dropout: float | None = None
    batchnorm: bool = False
    val_fraction: float = 0.0
    seed: int = 0
    features: str = "pixels"
    early_stopping: int | None = None
    augment: str = "auto"

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        for key, value in MODEL_DEFAULTS[self.model].items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        self.hidden = [int(h) for h in self.hidden]
        if self.model == "cnn" and self.features != "pixels":
            raise ConfigError(f"--features {self.features}: a ConvNet learns its features from "
                              "the pixels; image features need --model mlp")
        if self.conv is not None:
            if self.model != "cnn":
                raise ConfigError("conv blocks (--conv) need --model cnn")
            self.conv = " ".join(str(b) for b in nn.parse_conv_spec(self.conv))
        checks = [
            (self.optimizer in optim.OPTIMIZERS,
             f"optimizer must be one of {', '.join(optim.OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.lr_schedule in SCHEDULES,
             f"lr schedule must be one of {', '.join(SCHEDULES)}, got {self.lr_schedule!r}"),
            (self.loss in nn.LOSSES,
             f"loss must be one of {', '.join(nn.LOSSES)}, got {self.loss!r}"),
            (self.activation in nn.ACTIVATIONS,
             f"activation must be one of {', '.join(ACTIVATION_CHOICES)}, "
             f"got {self.activation!r}"),
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
                raise ConfigError(message)

    def augmentation(self, train_x: np.ndarray) -> str:
        """``augment`` with ``auto`` decided for these training inputs, and checked.

        ``auto``: a ConvNet gets random crops, plus mirror images for colour images (a
        mirrored digit is another symbol); an MLP gets one-pixel shifts of image sets
        under :data:`AUTO_AUGMENT_BELOW` images.
        """
        images = np.ndim(train_x) == 4
        augment = self.augment
        if augment == "auto":
            if self.model == "cnn":
                augment = "crop-flip" if images and train_x.shape[-1] == 3 else "crop"
            else:
                augment = "shift" if images and len(train_x) < AUTO_AUGMENT_BELOW else "none"
        if augment != "none" and not images:
            raise ConfigError(f"--augment {augment} needs images; this data set is a table of "
                              "features")
        if augment in ("crop", "crop-flip") and self.model != "cnn":
            raise ConfigError(f"--augment {augment} changes each batch of a ConvNet's images: "
                              "use it with --model cnn (or --augment shift)")
        return augment

    @property
    def learning_rate(self) -> float:
        """``lr``, or the optimizer's default from :data:`DEFAULT_LR`."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def to_dict(self) -> dict:
        """The settings as a JSON-able dict (what checkpoints and metrics.json store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`; keys that are not settings are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
