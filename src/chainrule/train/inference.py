"""Using a saved run: evaluate it on a test split, classify image files with it.

Both rebuild the model and the preprocessing from the run's checkpoint, so new images go
through exactly the steps the training images went through.

>>> evaluate_run("runs/demo").accuracy                     # doctest: +SKIP
0.9833
>>> predict_images("runs/demo", ["seven.png"], top=2)      # doctest: +SKIP
[[('7', 0.97), ('1', 0.02)]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from chainrule.backend import require_device
from chainrule.errors import DataError
from chainrule.train.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from chainrule.train.inputs import load_image_files, load_splits
from chainrule.train.metrics import Evaluation, evaluate, predict_scores
from chainrule.train.preprocess import Preprocessor

__all__ = ["evaluate_run", "load_run", "predict_images"]


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
    """Evaluate a saved run on the test split of its data set (or of ``data``), with the
    model on ``device`` (default: the CPU)."""
    ckpt, pre = load_run(run, device)
    name = data or ckpt.config.get("data", "digits")
    ds, _, _, test_x, test_y = load_splits(
        name, data_dir or (None if data else ckpt.config.get("data_dir")))
    if ckpt.class_names is not None and list(ds.classes) != list(ckpt.class_names):
        raise DataError(f"{name} has classes {_short(ds.classes)} but the run was trained on "
                        f"{_short(ckpt.class_names)}")
    return evaluate(ckpt.model, pre.transform(test_x), test_y, class_names=ckpt.class_names)


def _short(names: list[str]) -> str:
    names = list(names)
    return ", ".join(names) if len(names) <= 6 else ", ".join([*names[:3], "...", *names[-2:]])


def predict_images(run: str | Path, paths: list[str | Path], top: int = 3,
                   invert: bool = False, device: Any = None) -> list[list[tuple[str, float]]]:
    """Class probabilities (softmax of the scores), best ``top`` first, for each image file
    (the model on ``device``, default the CPU)."""
    import chainrule as cr

    ckpt, pre = load_run(run, device)
    if ckpt.image_shape is None:
        raise DataError(f"{ckpt.path}: this run was trained on a table of features, "
                        "not on images; predict needs an image model")
    images = load_image_files(paths, ckpt.image_shape, invert=invert)
    scores = predict_scores(ckpt.model, pre.transform(images))
    probs = cr.softmax(cr.tensor(scores), axis=1).data
    names: list[Any] = ckpt.class_names or [str(i) for i in range(probs.shape[1])]
    results = []
    for row in probs:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([(names[j], float(row[j])) for j in order])
    return results
