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
chainrule.errors.ConfigError: --epochs must be >= 1, got 0
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from chainrule import nn, optim
from chainrule.errors import ConfigError

__all__ = [
    "ACTIVATION_CHOICES",
    "AUGMENTATIONS",
    "AUTO_AUGMENT_BELOW",
    "DEFAULT_LR",
    "MAX_SEED",
    "MODELS",
    "MODEL_DEFAULTS",
    "SCHEDULES",
    "TrainConfig",
]

#: The largest side ``--image-size`` may ask for.
MAX_IMAGE_SIDE = 4096


def _image_size(value: object) -> list[int] | None:
    """``None``, ``n`` or ``[h, w]`` as ``None`` or ``[h, w]``, each side in 1..MAX_IMAGE_SIDE."""
    if value is None:
        return None
    sides = [value, value] if isinstance(value, numbers.Integral) else value
    if isinstance(sides, (list, tuple)) and len(sides) == 2 and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool)
            and 1 <= s <= MAX_IMAGE_SIDE for s in sides):
        return [int(s) for s in sides]
    raise ConfigError(f"--image-size must be N or HxW with sides in 1..{MAX_IMAGE_SIDE}, "
                      f"got {value!r}")


#: Seeds are whole numbers in ``[0, MAX_SEED]`` (NumPy's generators take no negative seed).
MAX_SEED = 2**63 - 1
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
    image_size: list[int] | None = None
    label_column: str = "label"

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or self.model not in MODELS:
            raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        for key, value in MODEL_DEFAULTS[self.model].items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        self._check_types()
        self.hidden = [int(h) for h in self.hidden]
        self.image_size = _image_size(self.image_size)
        if self.model == "cnn" and self.features != "pixels":
            raise ConfigError(f"--features {self.features}: a ConvNet learns its features from "
                              "the pixels; image features need --model mlp")
        if self.conv is not None:
            if self.model != "cnn":
                raise ConfigError("conv blocks (--conv) need --model cnn")
            if not isinstance(self.conv, (str, list)):
                raise ConfigError(f"--conv must be a spec such as '32 32 pool 64', "
                                  f"got {self.conv!r}")
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
            (all(h >= 1 for h in self.hidden), f"--hidden sizes must be >= 1, got {self.hidden}"),
            (self.lr is None or self.lr > 0, f"--lr: learning rate must be > 0, got {self.lr}"),
            (self.reg >= 0, f"--reg must be >= 0, got {self.reg}"),
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
            (0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), got {self.dropout}"),
            (0.0 <= self.val_fraction < 1.0,
             f"--val-fraction must be in [0, 1), got {self.val_fraction}"),
            (self.augment in AUGMENTATIONS,
             f"augment must be one of {', '.join(AUGMENTATIONS)}, got {self.augment!r}"),
            (self.early_stopping is None or self.early_stopping >= 1,
             f"--early-stopping patience must be >= 1, got {self.early_stopping}"),
            (self.early_stopping is None or self.val_fraction > 0,
             "early stopping needs a validation split: give --val-fraction > 0"),
            (0 <= self.seed <= MAX_SEED, f"--seed must be in [0, {MAX_SEED}], got {self.seed}"),
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

    def _check_types(self) -> None:
        """Whole numbers where counts go, finite numbers where rates go (a config may come from
        a file: a checkpoint's JSON, a script)."""
        wholes = {"epochs": self.epochs, "batch_size": self.batch_size, "seed": self.seed,
                  "early_stopping": self.early_stopping}
        reals = {"lr": self.lr, "reg": self.reg, "dropout": self.dropout,
                 "val_fraction": self.val_fraction}
        for name, value in wholes.items():
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, numbers.Integral)):
                raise ConfigError(f"--{name.replace('_', '-')} must be a whole number, "
                                  f"got {value!r}")
        for name, value in reals.items():
            finite = not isinstance(value, bool) and isinstance(value, numbers.Real) \
                and math.isfinite(value)
            if value is not None and not finite:
                raise ConfigError(f"--{name.replace('_', '-')} must be a finite number, "
                                  f"got {value!r}")
        if isinstance(self.hidden, (str, bytes)) or not all(
                isinstance(h, numbers.Integral) and not isinstance(h, bool) for h in self.hidden):
            raise ConfigError(f"--hidden sizes must be whole numbers, got {self.hidden!r}")
        for name in ("data", "activation", "loss", "optimizer", "lr_schedule", "features",
                     "augment", "label_column"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be a string, got {getattr(self, name)!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ConfigError(f"--data-dir must be a folder name, got {self.data_dir!r}")

    @property
    def image_size_arg(self) -> tuple[int, int] | None:
        """``image_size`` as the ``size=(height, width)`` the image loaders take."""
        return (self.image_size[0], self.image_size[1]) if self.image_size else None

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
