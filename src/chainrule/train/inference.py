"""Using a saved run: evaluate it on a test split, classify image files with it.

Both rebuild the model and the preprocessing from the run's checkpoint, so new images go
through exactly the steps the training images went through.

>>> evaluate_run("runs/demo").accuracy                     # doctest: +SKIP
0.9833
>>> predict_images("runs/demo", ["seven.png"], top=2)      # doctest: +SKIP
[[('7', 0.97), ('1', 0.02)]]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError, DataError
from chainrule.train.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from chainrule.train.inputs import load_image_file, load_image_files, load_splits
from chainrule.train.metrics import Evaluation, evaluate, predict_scores
from chainrule.train.preprocess import Preprocessor

__all__ = ["FilePrediction", "evaluate_run", "load_run", "predict_files", "predict_images"]


def load_run(run: str | Path) -> tuple[Checkpoint, Preprocessor]:
    """A run's checkpoint (with its rebuilt model) and its fitted preprocessing."""
    ckpt = load_checkpoint(run)
    if ckpt.model is None:
        raise CheckpointError(f"{ckpt.path}: holds no architecture to rebuild the model from")
    return ckpt, ckpt.preprocessor()


def evaluate_run(run: str | Path, data: str | None = None,
                 data_dir: str | None = None) -> Evaluation:
    """Evaluate a saved run on the test split of its data set (or of ``data``)."""
    ckpt, pre = load_run(run)
    name = data or ckpt.config.get("data", "digits")
    stored = ckpt.config
    size = stored.get("image_size")
    ds, _, _, test_x, test_y = load_splits(
        name, data_dir or (None if data else stored.get("data_dir")),
        size=tuple(size) if size else None, label_column=stored.get("label_column", "label"))
    if ckpt.class_names is not None and list(ds.classes) != list(ckpt.class_names):
        raise DataError(f"{name} has classes {_short(ds.classes)} but the run was trained on "
                        f"{_short(ckpt.class_names)}")
    return evaluate(ckpt.model, pre.transform(test_x), test_y, class_names=ckpt.class_names)


def _short(names: list[str]) -> str:
    names = list(names)
    return ", ".join(names) if len(names) <= 6 else ", ".join([*names[:3], "...", *names[-2:]])


def predict_images(run: str | Path, paths: list[str | Path], top: int = 3,
                   invert: bool = False) -> list[list[tuple[str, float]]]:
    """Class probabilities (softmax of the scores), best ``top`` first, for each image file.

    The first file that cannot be read raises; :func:`predict_files` goes on past it.
    """
    ckpt, pre = _image_run(run)
    images = load_image_files(paths, ckpt.image_shape, invert=invert)
    return _ranked(ckpt, pre, images, top)


@dataclass
class FilePrediction:
    """One file's result of :func:`predict_files`: its ``top`` classes, or the ``error``."""

    path: str
    top: list[tuple[str, float]] | None = None
    error: str | None = None


def predict_files(run: str | Path, paths: list[str | Path], top: int = 3,
                  invert: bool = False) -> list[FilePrediction]:
    """:func:`predict_images` file by file: a file that cannot be read gets its ``error`` (one
    line naming the file), and the others are still predicted.

    >>> found = predict_files("runs/demo", ["7.png", "x.txt"])        # doctest: +SKIP
    >>> [p.error or p.top[0][0] for p in found]                      # doctest: +SKIP
    ['7', 'x.txt: not a readable PNG/JPEG image (cannot identify image file ...)']
    """
    ckpt, pre = _image_run(run)
    results = [FilePrediction(str(p)) for p in paths]
    images, good = [], []
    for i, p in enumerate(paths):
        try:
            images.append(load_image_file(p, ckpt.image_shape, invert=invert))
        except (ChainruleError, OSError) as e:
            results[i].error = str(e)
        else:
            good.append(i)
    if good:
        for i, ranked in zip(good, _ranked(ckpt, pre, np.stack(images), top)):
            results[i].top = ranked
    return results


def _image_run(run: str | Path) -> tuple[Checkpoint, Preprocessor]:
    ckpt, pre = load_run(run)
    if ckpt.image_shape is None:
        raise DataError(f"{ckpt.path}: this run was trained on a table of features, "
                        "not on images; predict needs an image model")
    return ckpt, pre


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
