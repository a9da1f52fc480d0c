"""The lecture's comparison of hand-made image features with features learned end to end.

:func:`compare_features` trains five models on the same images and measures them on the
same test split:

  1. linear classifier (softmax) on pixels
  2. linear classifier on image features (default HOG + hue histogram)
  3. 2-layer net on pixels (the hidden layer learns its own features)
  4. 2-layer net on image features
  5. a ConvNet on the pixels: features learned end to end, as the lecture promises

Inputs go through the training code's :class:`~chainrule.train.Preprocessor` (pixels in
[0, 1], or a :class:`~chainrule.features.FeaturePipeline`; then standardization), fitted on
the training images minus a held-out validation split. Models 1-4 train with minibatch Adam
and a cosine learning rate in a :class:`~chainrule.train.Trainer`, which keeps the epoch with
the best validation accuracy; the ConvNet trains as ``chainrule train --model cnn`` does
(its images standardized per channel, augmented per batch; SGD with Nesterov momentum and a
one-cycle learning rate), for the same number of epochs.

>>> parts, classes, title = load_image_splits("cifar10", limit=5000)       # doctest: +SKIP
>>> metrics = compare_features(parts, classes, CompareConfig(epochs=5))    # doctest: +SKIP
>>> [r["test_accuracy"] for r in metrics["results"]]                       # doctest: +SKIP
[0.33, 0.45, 0.38, 0.49]
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from chainrule.errors import ConfigError
from chainrule.train.config import MAX_SEED
from chainrule.train.inputs import ImageSplits
from chainrule.train.preprocess import Preprocessor
from chainrule.train.trainer import Trainer

__all__ = ["DEFAULT_OPTIONS", "CompareConfig", "ModelResult", "compare_features"]

#: Extractor options of the comparison unless the config's ``options`` say otherwise: HOG
#: cells of 4x4 pixels, since CIFAR's 32x32 images hold only 4x4 of the lecture's 8x8 cells.
DEFAULT_OPTIONS: dict[str, dict] = {"hog": {"cell_size": 4}}


@dataclass
class CompareConfig:
    """The settings of a comparison (what ``chainrule compare`` exposes as options).

    ``features`` and ``options`` make the :class:`~chainrule.features.FeaturePipeline` of
    models 2 and 4 (``options`` by extractor name, over :data:`DEFAULT_OPTIONS`). ``lr`` and
    ``reg`` default to 3e-4 and 1e-3 for the linear models, 1e-3 and 1e-4 for the 2-layer
    nets of ``hidden`` units. ``convnet`` adds the ConvNet of ``conv`` (a block spec;
    default sized for the images, :func:`chainrule.nn.default_conv_spec`). A setting out of
    range raises :class:`~chainrule.errors.ConfigError`.
    """

    features: list[str] = field(default_factory=lambda: ["hog", "color"])
    options: dict[str, dict] = field(default_factory=dict)
    epochs: int = 10
    hidden: int = 500
    lr: float | None = None
    reg: float | None = None
    batch_size: int = 200
    val_fraction: float = 0.05
    seed: int = 0
    convnet: bool = True
    conv: str | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "hidden", "batch_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ConfigError(f"--{name.replace('_', '-')} must be a whole number, "
                                  f"got {value!r}")
        for name in ("lr", "reg", "val_fraction"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, numbers.Real) or not math.isfinite(value)):
                raise ConfigError(f"--{name.replace('_', '-')} must be a finite number, "
                                  f"got {value!r}")
        checks = [
            (bool(self.features), "--features: give at least one image feature"),
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.hidden >= 1, f"--hidden must be >= 1, got {self.hidden}"),
            (self.lr is None or self.lr > 0, f"--lr must be > 0, got {self.lr}"),
            (self.reg is None or self.reg >= 0, f"--reg must be >= 0, got {self.reg}"),
            (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
            (0.0 <= self.val_fraction < 1.0,
             f"--val-fraction must be in [0, 1), got {self.val_fraction}"),
            (0 <= self.seed <= MAX_SEED, f"--seed must be in [0, {MAX_SEED}], got {self.seed}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.conv is not None:
            from chainrule import nn

            self.conv = " ".join(str(b) for b in nn.parse_conv_spec(self.conv))

    def extractor_options(self) -> dict[str, dict]:
        """:data:`DEFAULT_OPTIONS` updated with ``options``, extractor by extractor."""
        merged = {name: dict(values) for name, values in DEFAULT_OPTIONS.items()}
        for name, values in self.options.items():
            merged.setdefault(name, {}).update(values)
        return merged


@dataclass
class ModelResult:
    """One row of the comparison table."""

    model: str
    inputs: str
    input_dim: int
    test_accuracy: float
    val_accuracy: float | None
    train_accuracy: float
    train_seconds: float
    feature_seconds: float
    epochs: int
    history: dict = field(default_factory=dict, repr=False)


#: The four models: (name, inputs, whether it has a hidden layer).
_MODELS = (("linear", "pixels", False), ("linear", "features", False),
           ("2-layer", "pixels", True), ("2-layer", "features", True))


def compare_features(parts: ImageSplits, classes: list[str], config: CompareConfig | None = None,
                     *, progress: bool | None = None,
                     log: Callable[[str], object] = print) -> dict:
    """Train the models and return the metrics (what ``metrics.json`` holds).

    ``parts`` maps ``'train'``/``'test'`` to ``(images uint8 (N, H, W, C), labels)`` (see
    :func:`~chainrule.train.load_image_splits`). ``progress``: progress bars (``None``: when
    stderr is a terminal); ``log`` receives one line per step.
    """
    from chainrule.features import FeaturePipeline

    cfg = config or CompareConfig()
    show = bool(progress) if progress is not None else sys.stderr.isatty()
    (train_x, train_y), (test_x, test_y) = parts["train"], parts["test"]
    fit_idx, val_idx = _validation_split(np.asarray(train_y), cfg.val_fraction, cfg.seed)
    y_fit, y_val = np.asarray(train_y)[fit_idx], np.asarray(train_y)[val_idx]
    y_test = np.asarray(test_y)

    def inputs(pre: Preprocessor) -> tuple[list[np.ndarray], float]:
        start = time.perf_counter()
        fit = pre.fit_transform(train_x[fit_idx], seed=cfg.seed)
        val = pre.transform(train_x[val_idx]) if len(val_idx) else fit[:0]
        arrays = [fit, val, pre.transform(test_x)]
        return arrays, time.perf_counter() - start

    pixels, pixel_seconds = inputs(Preprocessor("pixels"))
    pipeline = FeaturePipeline.from_names(cfg.features, **cfg.extractor_options(),
                                          progress=progress)
    features, feature_seconds = inputs(Preprocessor(",".join(cfg.features), pipeline=pipeline))
    log(f"features {','.join(cfg.features)}: {pipeline.output_dim} per image "
        f"({', '.join(f'{n} {d}' for n, d in zip(pipeline.names, pipeline.dims))}), "
        f"extracted in {feature_seconds:.1f} s")

    results = []
    for model_name, kind, two_layer in _MODELS:
        X_fit, X_val, X_test = pixels if kind == "pixels" else features
        result = _train_one(
            model_name, "pixels" if kind == "pixels" else "+".join(pipeline.names),
            (X_fit, y_fit), (X_val, y_val), (X_test, y_test), len(classes), cfg,
            hidden=[cfg.hidden] if two_layer else [], show=show,
            input_seconds=pixel_seconds if kind == "pixels" else feature_seconds)
        results.append(result)
        log(f"{result.model:8s} on {result.inputs:16s} test accuracy "
            f"{result.test_accuracy:.4f} (train {result.train_accuracy:.4f}) in "
            f"{result.train_seconds:.1f} s")
    if cfg.convnet:
        result = _train_convnet(train_x, (fit_idx, val_idx), train_y, (test_x, y_test),
                                len(classes), cfg, show=show)
        results.append(result)
        log(f"{result.model:8s} on {result.inputs:16s} test accuracy "
            f"{result.test_accuracy:.4f} (train {result.train_accuracy:.4f}) in "
            f"{result.train_seconds:.1f} s")
    return {
        "train_images": len(fit_idx), "val_images": len(val_idx),
        "test_images": len(test_x), "image_shape": list(train_x.shape[1:]),
        "classes": list(classes), "features": pipeline.names,
        "feature_config": pipeline.config(), "epochs": cfg.epochs, "hidden": cfg.hidden,
        "batch_size": cfg.batch_size, "seed": cfg.seed,
        "results": [asdict(r) for r in results],
    }


def _validation_split(labels: np.ndarray, fraction: float, seed: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training images to fit on and of the stratified validation split."""
    from chainrule.data import train_val_split

    index = np.arange(len(labels))[:, None]
    if fraction <= 0:
        return index[:, 0], index[:0, 0]
    fit_idx, val_idx, _, _ = train_val_split(index, labels, fraction, seed=seed)
    return fit_idx[:, 0], val_idx[:, 0]


def _train_one(name: str, inputs: str, fit: tuple, val: tuple, test: tuple, classes: int,
               cfg: CompareConfig, *, hidden: list[int], show: bool,
               input_seconds: float) -> ModelResult:
    """Train one MLP (``hidden=[]``: linear softmax) with Adam and measure it."""
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.optim.lr_scheduler import CosineAnnealingLR
    from chainrule.train.metrics import evaluate

    lr = cfg.lr if cfg.lr is not None else (1e-3 if hidden else 3e-4)
    reg = cfg.reg if cfg.reg is not None else (1e-4 if hidden else 1e-3)
    cr.manual_seed(cfg.seed)
    model = nn.MLP(fit[0].shape[1], hidden, classes)
    optimizer = optim.make_optimizer("adam", model.parameters(), lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=max(1, cfg.epochs))
    trainer = Trainer(model, nn.loss("softmax"), optimizer, scheduler,
                      batch_size=cfg.batch_size, seed=cfg.seed, reg=reg, progress=show)
    has_val = len(val[0]) > 0
    start = time.perf_counter()
    history = trainer.fit(fit, val if has_val else None, epochs=cfg.epochs)
    seconds = time.perf_counter() - start
    return ModelResult(
        model=name, inputs=inputs, input_dim=fit[0].shape[1],
        test_accuracy=float(evaluate(model, *test).accuracy),
        val_accuracy=evaluate(model, *val).accuracy if has_val else None,
        train_accuracy=float(evaluate(model, *fit).accuracy),
        train_seconds=seconds, feature_seconds=input_seconds, epochs=cfg.epochs,
        history=history.to_dict())


def _train_convnet(train_x: np.ndarray, split: tuple[np.ndarray, np.ndarray],
                   train_y: np.ndarray, test: tuple, classes: int, cfg: CompareConfig, *,
                   show: bool) -> ModelResult:
    """Train the ConvNet as ``chainrule train --model cnn`` does, and measure it."""
    import chainrule as cr
    from chainrule import nn
    from chainrule.data import DataLoader
    from chainrule.train.config import TrainConfig
    from chainrule.train.factories import build_model, build_optimizer, build_scheduler
    from chainrule.train.metrics import evaluate
    from chainrule.train.preprocess import ImagePreprocessor

    run = TrainConfig(model="cnn", conv=cfg.conv, epochs=cfg.epochs, seed=cfg.seed)
    fit_idx, val_idx = split
    labels = np.asarray(train_y)
    start = time.perf_counter()
    pre = ImagePreprocessor().fit(train_x[fit_idx])
    augment = run.augmentation(train_x)
    loader = DataLoader(train_x[fit_idx], labels[fit_idx], batch_size=run.batch_size,
                        seed=cfg.seed, transform=pre.batch_transform(augment))
    val = (pre.transform(train_x[val_idx]), labels[val_idx])
    input_seconds = time.perf_counter() - start
    cr.manual_seed(cfg.seed)
    model = build_model(run, 0, classes, pre.image_shape)
    optimizer = build_optimizer(run, model)
    scheduler, interval = build_scheduler(run, optimizer, len(loader))
    trainer = Trainer(model, nn.loss("softmax"), optimizer, scheduler, batch_size=run.batch_size,
                      seed=cfg.seed, reg=run.reg, progress=show, scheduler_interval=interval)
    has_val = len(val_idx) > 0
    start = time.perf_counter()
    history = trainer.fit(loader, val if has_val else None, epochs=run.epochs)
    seconds = time.perf_counter() - start
    fit_eval = evaluate(model, pre.transform(train_x[fit_idx]), labels[fit_idx])
    return ModelResult(
        model="ConvNet", inputs="pixels", input_dim=int(np.prod(train_x.shape[1:])),
        test_accuracy=float(evaluate(model, pre.transform(test[0]), test[1]).accuracy),
        val_accuracy=evaluate(model, *val).accuracy if has_val else None,
        train_accuracy=float(fit_eval.accuracy), train_seconds=seconds,
        feature_seconds=input_seconds, epochs=run.epochs, history=history.to_dict())
