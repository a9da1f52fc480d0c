"""A saved run as an ONNX file: its network with its standardization in front
(what ``chainrule export RUN --onnx model.onnx`` writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from chainrule.onnx.exporter import export

__all__ = ["export_run"]


def export_run(run: str | Path, path: str | Path, probabilities: bool = False) -> Path:
    """Export the run's model so that it takes raw inputs: images ``(N, H, W, C)`` with
    pixels in ``[0, 1]`` (uint8 pixels divided by 255), or the rows of a table of
    features; the standardization fitted in training is part of the graph.

    The class names go into the model's metadata (``class_names``, a JSON list).

    >>> export_run("runs/demo", "digits.onnx")                     # doctest: +SKIP
    """
    from chainrule.train import load_run

    ckpt, pre = load_run(run)
    shape: Any = ckpt.image_shape or (int(pre.standardizer.mean.shape[0]),)
    example = np.zeros((1, *shape), dtype=np.float32)
    metadata: dict[str, Any] = {"source": str(ckpt.path)}
    if ckpt.class_names is not None:
        metadata["class_names"] = list(ckpt.class_names)
    name = "pixels" if ckpt.image_shape else "features"
    return export(ckpt.model, example, path, preprocess=pre, probabilities=probabilities,
                  input_name=name, metadata=metadata)
