"""Using a saved run: evaluate it on a test split, classify image files with it.

Both rebuild the model and the preprocessing from the run's checkpoint, so new images go
through exactly the steps the training images went through. Predicting warns
(:class:`ImageWarning`) when an image does not look like the training images (another
polarity, a drawing much smaller or larger), naming the option that fixes it; evaluating
on another data set matches its classes to the run's by name.

>>> evaluate_run("runs/demo").accuracy                     # doctest: +SKIP
0.9833
>>> predict_images("runs/demo", ["seven.png"], top=2)      # doctest: +SKIP
[[('7', 0.97), ('1', 0.02)]]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.backend import require_device
from chainrule.errors import ChainruleError, DataError
from chainrule.train.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from chainrule.train.image_look import look_warnings, training_look
from chainrule.train.inputs import load_splits, read_image_file, read_image_files
from chainrule.train.metrics import Evaluation, evaluate, predict_scores
from chainrule.train.preprocess import Preprocessor

__all__ = ["FilePrediction", "ImageWarning", "evaluate_run", "load_run", "predict_files",
           "predict_images"]


class ImageWarning(UserWarning):
    """An image that does not look like the run's training images: its prediction is unreliable."""


def load_run(run: str | Path, device: Any = None) -> tuple[Checkpoint, Preprocessor]:
    """A run's checkpoint (with its rebuilt model, on ``device``) and its preprocessing."""
    if device is not None:
        require_device(device)
    ckpt = load_checkpoint(run)
    if ckpt.model is None:
        raise CheckpointError(f"{ckpt.path}: holds no architecture to rebuild the model from")
    if device is not None:
        ckpt.model.to(device)
    return ckpt, ckpt.preprocessor()


def evaluate_run(run: str | Path, data: str | None = None,
                 data_dir: str | None = None, device: Any = None) -> Evaluation:
    """Evaluate a saved run on the test split of its data set (or of ``data``).

    Another data set is matched to the run by class name: it may hold all of the run's
    classes or some of them, in any order (a folder with only ``3/`` and ``7/`` is
    evaluated on those); a class the run does not know is refused. An image folder is
    read at the run's image size (and in gray for a gray run). The model runs on ``device``
    (default: the CPU).
    """
    ckpt, pre = load_run(run, device)
    stored = ckpt.config
    name = data or stored.get("data", "digits")
    if data:
        image = {} if ckpt.image_shape is None else {
            "size": tuple(ckpt.image_shape[:2]), "grayscale": ckpt.image_shape[2] == 1}
    else:  # the run's own data, read as the run read it
        size = stored.get("image_size")
        image = {"size": tuple(size)} if size else {}
    ds, _, _, test_x, test_y = load_splits(
        name, data_dir or (None if data else stored.get("data_dir")), **image,
        label_column=stored.get("label_column", "label"))
    test_y = _to_run_classes(name, list(ds.classes), ckpt.class_names, test_y)
    return evaluate(ckpt.model, pre.transform(test_x), test_y, class_names=ckpt.class_names)


def _to_run_classes(name: str, classes: list[str], run_classes: list[str] | None,
                    labels: np.ndarray) -> np.ndarray:
    """The data set's labels as indices of the run's classes, matched by name."""
    if run_classes is None or classes == list(run_classes):
        return labels
    index = {str(c): i for i, c in enumerate(run_classes)}
    unknown = [c for c in classes if str(c) not in index]
    if unknown:
        raise DataError(f"{name} has classes the run does not know: {_short(unknown)} (the run "
                        f"was trained on {_short(run_classes)}); evaluate needs the run's "
                        "classes or some of them, named the same")
    mapping = np.array([index[str(c)] for c in classes])
    return mapping[np.asarray(labels, dtype=np.int64)]


def _short(names: list[str]) -> str:
    names = list(names)
    return ", ".join(names) if len(names) <= 6 else ", ".join([*names[:3], "...", *names[-2:]])


def predict_images(run: str | Path, paths: list[str | Path], top: int = 3,
                   invert: bool = False, fit: bool = False, device: Any = None
                   ) -> list[list[tuple[str, float]]]:
    """Class probabilities (softmax of the scores), best ``top`` first, for each image file.

    Each image is compared with the training images first: another background polarity
    (dark drawing on white for a net trained on light ink on black) or a drawing much
    smaller or larger than theirs gives an :class:`ImageWarning` that names the option
    that fixes it (``invert``, ``fit``). ``fit`` crops each image to its drawing, with the
    training images' margin. The check needs a run on pixels (their mean image). The
    model runs on ``device`` (default: the CPU).
    """
    ckpt, pre = _image_run(run, device)
    train = training_look(pre)
    images, looks = read_image_files(paths, ckpt.image_shape, invert=invert,
                                     fit=train if fit else None)
    _warn(paths, looks, train, invert, fit)
    return _ranked(ckpt, pre, images, top)


@dataclass
class FilePrediction:
    """One file's result of :func:`predict_files`: its ``top`` classes, or the ``error``."""

    path: str
    top: list[tuple[str, float]] | None = None
    error: str | None = None


def predict_files(run: str | Path, paths: list[str | Path], top: int = 3,
                  invert: bool = False, fit: bool = False, device: Any = None
                  ) -> list[FilePrediction]:
    """:func:`predict_images` file by file: a file that cannot be read gets its ``error`` (one
    line naming the file), and the others are still predicted (and warned about).

    >>> found = predict_files("runs/demo", ["7.png", "x.txt"])        # doctest: +SKIP
    >>> [p.error or p.top[0][0] for p in found]                      # doctest: +SKIP
    ['7', 'x.txt: not a readable PNG/JPEG image (cannot identify image file ...)']
    """
    ckpt, pre = _image_run(run, device)
    train = training_look(pre)
    results = [FilePrediction(str(p)) for p in paths]
    images, looks, good = [], [], []
    for i, p in enumerate(paths):
        try:
            image, look = read_image_file(p, ckpt.image_shape, invert, train if fit else None)
        except (ChainruleError, OSError) as e:
            results[i].error = str(e)
        else:
            images.append(image)
            looks.append(look)
            good.append(i)
    _warn([paths[i] for i in good], looks, train, invert, fit)
    if good:
        for i, ranked in zip(good, _ranked(ckpt, pre, np.stack(images), top)):
            results[i].top = ranked
    return results


def _image_run(run: str | Path, device: Any) -> tuple[Checkpoint, Preprocessor]:
    ckpt, pre = load_run(run, device)
    if ckpt.image_shape is None:
        raise DataError(f"{ckpt.path}: this run was trained on a table of features, "
                        "not on images; predict needs an image model")
    return ckpt, pre


def _warn(paths: list, looks: list, train: Any, invert: bool, fit: bool) -> None:
    if train is not None:
        for path, look in zip(paths, looks):
            for message in look_warnings(str(path), look, train, inverted=invert, fitted=fit):
                warnings.warn(message, ImageWarning, stacklevel=3)


def _ranked(ckpt: Checkpoint, pre: Preprocessor, images: np.ndarray,
            top: int) -> list[list[tuple[str, float]]]:
    import chainrule as cr

    scores = predict_scores(ckpt.model, pre.transform(images))
    probs = cr.softmax(cr.tensor(scores), axis=1).data
    names: list[Any] = ckpt.class_names or [str(i) for i in range(probs.shape[1])]
    results = []
    for row in probs:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([(names[j], float(row[j])) for j in order])
    return results
