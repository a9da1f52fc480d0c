"""Explain a trained network: its loss on one input as a graph, with gradient norms per layer.

A trained MLP's graph is small (one ``linear`` gate per layer, its activation, the loss),
but every wire carries a tensor; a ConvNet's has one ``conv2d`` gate per convolution, with
its batch norm, ReLU and pooling gates. The report lists, per gate, the shapes going in and out
and the norm of the gradient flowing back, and per parameter ``||W||`` and ``||dL/dW||``:
the numbers to look at when gradients vanish or explode.

>>> report = explain_model("runs/mnist")             # doctest: +SKIP
>>> print(report.text())                             # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.explain.capture import trace
from chainrule.explain.graph import ExplainError, Trace
from chainrule.explain.text import table

__all__ = ["ModelReport", "explain_model", "trace_model"]


@dataclass
class ModelReport:
    """A model's loss on one input, traced: the trace plus what was fed in."""

    trace: Trace
    source: str
    label: int
    label_name: str
    loss: float
    predicted: int
    predicted_name: str
    parameters: dict[str, cr.Tensor]

    def layer_table(self) -> str:
        """One line per parameter: shape, ||value||, ||dL/d value|| (as in a training log)."""
        rows = [("parameter", "shape", "||value||", "||gradient||", "|grad| / |value|")]
        for name in self.parameters:
            node = self.trace[name]
            value = float(np.linalg.norm(node.value))
            grad = float(np.linalg.norm(node.grad)) if node.grad is not None else 0.0
            ratio = grad / value if value else float("inf")
            rows.append((name, str(tuple(node.shape)), f"{value:.4g}", f"{grad:.4g}",
                         f"{ratio:.3g}"))
        return table(rows)

    def gate_table(self) -> str:
        """Per backward step: gate, output shape, ||upstream||, ||downstream|| per input."""
        rows = [("step", "gate", "output shape", "||upstream||", "input", "input shape",
                 "||downstream||")]
        for s in self.trace.steps:
            if s.kind != "gate":
                continue
            first = True
            for inp, down in zip(s.inputs, s.downstream):
                rows.append((
                    str(s.index) if first else "", f"{s.node.label} ({s.node.name})" if first
                    else "", str(tuple(s.node.shape)) if first else "",
                    f"{float(np.linalg.norm(s.upstream)):.4g}" if first else "", inp.name,
                    str(tuple(inp.shape)),
                    "-" if down is None else f"{float(np.linalg.norm(down)):.4g}",
                ))
                first = False
        return table(rows)

    def text(self) -> str:
        return "\n".join([
            f"input: {self.source}",
            f"label: {self.label} ({self.label_name}); predicted: {self.predicted} "
            f"({self.predicted_name}); loss = {self.loss:.6g}",
            "",
            "backward pass, gate by gate (norms of the gradients):",
            self.gate_table(),
            "",
            "parameters (gradient norms per layer):",
            self.layer_table(),
        ])


def _input_shape(model: Any, image_shape: Any) -> tuple[int, ...]:
    """One input's shape: ``(C, H, W)`` for a ConvNet (its first weight is a 4-D filter
    bank), else ``(D,)`` read from the first weight matrix."""
    for p in model.parameters():
        if p.data.ndim == 4:
            if image_shape is None:
                raise ExplainError("--model: the checkpoint of this ConvNet has no image shape")
            h, w, c = (int(s) for s in image_shape)
            return c, h, w
        if p.data.ndim == 2:
            return (int(p.data.shape[1]),)
    raise ExplainError("--model: the model has no weight to read its input size from")


def trace_model(model: Any, x: np.ndarray, label: int, loss: str = "softmax",
                title: str | None = None) -> tuple[Trace, dict[str, cr.Tensor], float, int]:
    """Trace ``loss(model(x), label)`` for one input ``x`` (no ``.grad`` is changed): a
    vector, or for a ConvNet an image ``(C, H, W)``."""
    import chainrule.functional as F

    params = dict(model.named_parameters()) if hasattr(model, "named_parameters") else {}
    if hasattr(model, "eval"):
        model.eval()
    dtype = next(iter(params.values())).data.dtype if params else np.float32
    x = np.asarray(x, dtype=dtype)
    xt = cr.tensor(x.reshape(1, *x.shape) if x.ndim == 3 else x.reshape(1, -1))
    xt.name = "input"
    scores = model(xt)
    scores.name = "scores"
    labels = np.array([int(label)])
    lossfn = F.multiclass_hinge_loss if loss in ("svm", "hinge") else F.cross_entropy
    out = lossfn(scores, labels)
    out.name = "loss"
    tr = trace(out, names=params, title=title)
    return tr, params, float(out.data), int(np.argmax(scores.data[0]))


def explain_model(run: str | os.PathLike, image: str | os.PathLike | None = None,
                  input_path: str | os.PathLike | None = None, label: int | str | None = None,
                  seed: int = 0) -> ModelReport:
    """Load the run's checkpoint and trace its loss on one input.

    The input is an image file (``image``, preprocessed as the run's training data were), a
    ``.npy`` feature vector already in the model's input space (``input_path``; not both),
    or else a random standardized vector (seeded). ``label`` (index or class name) defaults
    to the predicted class.
    """
    from chainrule.train import load_checkpoint

    if image is not None and input_path is not None:
        raise ExplainError("explain --model: give --image or --input, not both")
    ckpt = load_checkpoint(run)
    model = ckpt.model
    if model is None:
        raise ExplainError(f"--model: {run}: the checkpoint holds no rebuildable model")
    names = list(ckpt.class_names or [])
    shape = _input_shape(model, ckpt.image_shape)
    d = int(np.prod(shape))
    if image is not None:
        from chainrule.train import load_image_files

        if ckpt.image_shape is None:
            raise ExplainError(f"--model: {run}: the checkpoint has no image shape, "
                               "pass --input FILE.npy instead of --image")
        pre = ckpt.preprocessor()
        x = pre.transform(load_image_files([image], tuple(ckpt.image_shape)))[0]
        source = f"image {image}"
    elif input_path is not None:
        try:
            x = np.load(input_path, allow_pickle=False).astype(np.float64)
        except ValueError as e:  # not a .npy file, or not numbers
            raise ExplainError(f"--model: {input_path}: not a .npy array of numbers ({e})"
                               ) from None
        source = f"features from {input_path}"
    else:
        x = np.random.default_rng(seed).standard_normal(shape)
        source = f"a random standardized input (seed {seed}; pass --image or --input for real data)"
    if x.size != d:
        raise ExplainError(f"--model: the input has {x.size} features, the model takes {d}")
    x = x.reshape(shape)
    config = ckpt.config if isinstance(ckpt.config, dict) else {}
    loss_kind = str(config.get("loss", "softmax"))
    tr, params, _, predicted = trace_model(model, x, 0, loss_kind)
    if label is None:
        lab = predicted
    elif isinstance(label, str) and not label.lstrip("-").isdigit():
        if label not in names:
            raise ExplainError(f"--model: no class named {label!r} (classes: {names})")
        lab = names.index(label)
    else:
        lab = int(label)
    n_out = int(tr["scores"].shape[-1])
    if not 0 <= lab < n_out:
        raise ExplainError(f"--model: label {lab} is out of range for {n_out} classes")
    title = f"{os.fspath(run)}: loss on one input"
    tr, params, loss, predicted = trace_model(model, x, lab, loss_kind, title=title)

    def name_of(i: int) -> str:
        return names[i] if i < len(names) else str(i)

    return ModelReport(tr, source, lab, name_of(lab), loss, predicted, name_of(predicted), params)
