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

from chainrule import nn, optim
from chainrule.errors import ConfigError

__all__ = [
    "ACTIVATION_CHOICES",
    "AUGMENTATIONS",
    "AUTO_AUGMENT_BELOW",
    "DEFAULT_LR",
    "MAX_SEED",
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
SCHEDULES = ("none", "step", "cosine", "linear", "invsqrt")
AUGMENTATIONS = ("auto", "none", "shift")
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
    little L2: 98-99% test accuracy in seconds. ``val_fraction`` is 0 by default: the 1,438
    digit training images are few, and every one of them helps more than a validation split
    (set it to e.g. 0.1 to watch validation accuracy and keep the best epoch).
    A setting out of range raises :class:`~chainrule.errors.ConfigError`.
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
    image_size: list[int] | None = None
    label_column: str = "label"

    def __post_init__(self) -> None:
        self._check_types()
        self.hidden = [int(h) for h in self.hidden]
        self.image_size = _image_size(self.image_size)
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
