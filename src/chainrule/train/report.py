"""Run reports: ``metrics.json`` and a self-contained ``report.html``.

The HTML page embeds its plots as base64 PNGs (matplotlib, Agg backend), so it is one file
that opens anywhere:

- the loss curve and the train / validation accuracy curves per epoch;
- the test confusion matrix (rows: true class, columns: predicted class);
- the first layer's weights shown as images: for a net on raw pixels each hidden unit's row of
  ``W1`` has one number per pixel, so it can be drawn as a picture, the lecture's "templates"
  (a linear classifier learns one per class, a 2-layer net "learns 100 templates instead of 10");
  for a ConvNet the first convolution's filters, as small colour images;
- a grid of misclassified test images with their true and predicted labels and the
  probabilities the model gave both.

>>> write_metrics("runs/demo", {"test": ev.to_dict()})                 # doctest: +SKIP
>>> write_report("runs/demo", history=h, evaluation=ev, model=model,   # doctest: +SKIP
...              test_images=ds.test_images)
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.atomic import write_text
from chainrule.train.figures import img_tag, png_base64, pyplot

__all__ = ["first_layer_filters", "first_layer_weights", "write_metrics", "write_report"]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_metrics(run_dir: str | os.PathLike, metrics: dict) -> Path:
    """Write ``metrics`` as ``<run_dir>/metrics.json`` (atomically; NaN and inf become null)."""
    path = Path(run_dir) / "metrics.json"
    text = json.dumps(_jsonable(metrics), indent=2, allow_nan=False)
    write_text(path, text + "\n")
    return path


def first_layer_filters(model: Any) -> np.ndarray | None:
    """The filters ``(out, in, kh, kw)`` of the model's first convolution, or ``None``."""
    for name, value in model.state_dict().items():
        arr = np.asarray(value)
        if name.endswith("weight") and arr.ndim == 4:
            return arr
    return None


def first_layer_weights(model: Any) -> np.ndarray | None:
    """The weight matrix ``W1`` (out, in) of the model's first linear layer, or ``None``."""
    for name, value in model.state_dict().items():
        arr = np.asarray(value)
        if name.endswith("weight") and arr.ndim == 2:
            return arr
    return None


# --------------------------------------------------------------------------- plots
def _curves(history: dict) -> str:
    plt = pyplot()
    epochs = np.arange(1, len(history["train_loss"]) + 1)

    def arr(key: str) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in history.get(key, [])], dtype=float)

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_loss.plot(epochs, arr("train_loss"), marker="o", ms=3, label="training loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("Loss")
    ax_loss.grid(alpha=0.3)
    ax_acc.plot(epochs, arr("train_acc"), marker="o", ms=3, label="train (during epoch)")
    val = arr("val_acc")
    if np.isfinite(val).any():
        ax_acc.plot(epochs, val, marker="o", ms=3, label="validation")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_title("Accuracy")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(loc="lower right")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_acc):  # epochs are whole numbers, even on a 2-epoch run
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return png_base64(fig)


def _confusion(confusion: np.ndarray, class_names: Sequence[str]) -> str:
    plt = pyplot()
    c = len(class_names)
    size = min(12.0, 3.0 + 0.45 * c)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(c), labels=class_names, rotation=45, ha="right")
    ax.set_yticks(range(c), labels=class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if c <= 20:
        top = confusion.max() if confusion.size else 0
        for t in range(c):
            for p in range(c):
                v = confusion[t, p]
                ax.text(p, t, str(v), ha="center", va="center", fontsize=8,
                        color="white" if v > top / 2 else "black")
    ax.set_title("Confusion matrix (test)")
    return png_base64(fig)


def _to_image(row: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    img = row.reshape(image_shape).astype(np.float64)
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[..., 0] if image_shape[2] == 1 else img


def _grid(images: list[np.ndarray], titles: list[str], cmap: str | None, title: str,
          cols: int = 10) -> str:
    """Tile the images into one mosaic (one axes: fast) with a caption under each tile."""
    plt = pyplot()
    h, w = images[0].shape[:2]
    rgb = images[0].ndim == 3
    rows = max(1, math.ceil(len(images) / cols))
    cols = min(cols, len(images))
    pad = max(1, h // 8)
    caption = max(h // 2, 3) if any(titles) else 0
    cell_h, cell_w = h + 2 * pad + caption, w + 2 * pad
    shape = (rows * cell_h, cols * cell_w) + ((3,) if rgb else ())
    mosaic = np.ones(shape)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        y0, x0 = r * cell_h + pad, c * cell_w + pad
        mosaic[y0:y0 + h, x0:x0 + w] = img
    lines = max((t.count("\n") + 1 for t in titles), default=1)
    fig_w = min(14.0, max(4.0, cols * 1.1))
    fig_h = fig_w * shape[0] / shape[1] + 0.25 * lines * rows * (1 if caption else 0) + 0.4
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    ax.imshow(mosaic, cmap=cmap, interpolation="nearest", vmin=0.0, vmax=1.0)
    ax.axis("off")
    for i, t in enumerate(titles):
        if t:
            r, c = divmod(i, cols)
            ax.text(c * cell_w + cell_w / 2, r * cell_h + pad + h + pad / 2, t, ha="center",
                    va="top", fontsize=7)
    ax.set_title(title)
    return png_base64(fig)


def _templates(weights: np.ndarray, image_shape: tuple[int, int, int], limit: int = 50,
               names: Sequence[str] | None = None) -> str:
    rows = weights[:limit]
    images = [_to_image(r, image_shape) for r in rows]
    titles = list(names[:limit]) if names is not None else [""] * len(rows)
    cmap = "gray" if image_shape[2] == 1 else None
    return _grid(images, titles, cmap, f"First-layer weights as images ({len(rows)} of "
                 f"{len(weights)} units; each scaled to its own min..max)")


def _filters(filters: np.ndarray, limit: int = 64) -> str:
    """The first convolution's filters as small images: colour for RGB inputs."""
    shown = filters[:limit]
    rgb = shown.shape[1] == 3
    images = []
    for f in shown:
        img = f.transpose(1, 2, 0).astype(np.float64) if rgb else f.mean(axis=0)
        lo, hi = img.min(), img.max()
        images.append((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img))
    return _grid(images, [""] * len(images), None if rgb else "gray",
                 f"First-layer filters ({len(shown)} of {len(filters)}, "
                 f"{shown.shape[2]}x{shown.shape[3]}; each scaled to its own min..max)",
                 cols=min(16, len(images)))


def _misclassified(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                   class_names: Sequence[str], limit: int = 40,
                   probabilities: np.ndarray | None = None) -> tuple[str | None, int]:
    wrong = np.flatnonzero(predictions != labels)
    if len(wrong) == 0:
        return None, 0
    # Round-robin over the true classes: test sets are often sorted by class, and the grid
    # should show the mistakes of every class, not only of the first one.
    per_class = [list(wrong[labels[wrong] == c]) for c in np.unique(labels[wrong])]
    chosen = []
    while len(chosen) < min(limit, len(wrong)):
        for queue in per_class:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    gray = images.shape[-1] == 1
    pics = [(images[i][..., 0] if gray else images[i]) / 255.0 for i in chosen]
    titles = [_mistake_title(i, labels, predictions, class_names, probabilities)
              for i in chosen]
    png = _grid(pics, titles, "gray" if gray else None,
                f"Misclassified test images ({len(chosen)} of {len(wrong)})")
    return png, len(wrong)


def _templates_section(model: Any, image_shape: tuple | None, on_pixels: bool,
                       names: list[str]) -> str:
    """The first layer's weights drawn as images (the templates), when it reads pixels."""
    out = ["<h2>First layer's weights: the templates</h2>"]
    w1 = first_layer_weights(model)
    if w1 is not None and image_shape is not None and on_pixels \
            and w1.shape[1] == int(np.prod(image_shape)):
        linear = sum(1 for k, v in model.state_dict().items()
                     if k.endswith("weight") and np.ndim(v) == 2) == 1
        out.append('<p class="note">Each row of W1 has one weight per input pixel; drawn as '
                   "an image it is the template that unit matches (bright: positive)"
                   + (": a linear classifier has one template per class." if linear else
                      ".") + "</p>")
        out.append(img_tag(_templates(w1, tuple(image_shape), names=names if linear else None),
                           "first-layer weights"))
    else:
        out.append('<p class="note">Not shown: the first layer reads image features, not '
                   "pixels, so its weights have no image layout.</p>")
    return "\n".join(out)


def _mistake_title(i: int, labels: np.ndarray, predictions: np.ndarray,
                   class_names: Sequence[str], probabilities: np.ndarray | None) -> str:
    """``true 3 (12%)`` over ``pred 8 (73%)``: what the model believed of both classes."""
    true, pred = class_names[labels[i]], class_names[predictions[i]]
    if probabilities is None:
        return f"true {true}\npred {pred}"
    p = probabilities[i]
    return f"true {true} ({p[labels[i]]:.0%})\npred {pred} ({p[predictions[i]]:.0%})"


# --------------------------------------------------------------------------- page
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .note { color: #666; font-size: 0.9em; }
"""


def _table(header: Sequence[str], rows: list[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(
    run_dir: str | os.PathLike,
    *,
    history: Any,
    evaluation: Any,
    model: Any,
    test_images: np.ndarray | None = None,
    image_shape: tuple[int, int, int] | None = None,
    first_layer_on_pixels: bool = True,
    config: dict | None = None,
    title: str = "chainrule training run",
) -> Path:
    """Write ``<run_dir>/report.html``: curves, confusion matrix, templates, mistakes.

    ``history`` is a :class:`~chainrule.train.History` (or its dict), ``evaluation`` the test
    :class:`~chainrule.train.Evaluation`, ``test_images`` the raw ``(N, H, W, C)`` uint8 test
    images in the evaluation's order. The first layer's weights are drawn as images only when
    the network reads pixels (``first_layer_on_pixels``) of ``image_shape``.
    """
    hist = history.to_dict() if hasattr(history, "to_dict") else dict(history)
    names = list(evaluation.class_names)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts.append(
        f"<p><b>Test accuracy: {evaluation.accuracy:.2%}</b> on {evaluation.num_examples:,} "
        f"test examples after {hist.get('epochs', len(hist['train_loss']))} epochs"
        + (f" (best validation epoch: {hist['best_epoch']})" if hist.get("best_epoch") else "")
        + ".</p>"
    )
    if config:
        parts.append("<h2>Configuration</h2>")
        parts.append(_table(["setting", "value"], [[k, v] for k, v in config.items()]))
    parts.append("<h2>Training curves</h2>")
    if hist["train_loss"]:
        parts.append(img_tag(_curves(hist), "loss and accuracy per epoch"))
    else:
        parts.append('<p class="note">No epochs were run.</p>')
    rows = [[e + 1, f"{hist['train_loss'][e]:.4f}", f"{hist['train_acc'][e]:.4f}",
             "" if hist["val_acc"][e] is None else f"{hist['val_acc'][e]:.4f}",
             f"{hist['lr'][e]:.3g}", f"{hist['seconds'][e]:.2f}"]
            for e in range(len(hist["train_loss"]))]
    parts.append(_table(["epoch", "train loss", "train acc", "val acc", "lr", "seconds"], rows))
    parts.append("<h2>Confusion matrix</h2>")
    parts.append(img_tag(_confusion(evaluation.confusion, names), "confusion matrix"))
    support = evaluation.confusion.sum(axis=1)
    parts.append(_table(["class", "precision", "recall", "support"],
                        [[n, f"{p:.3f}", f"{r:.3f}", int(s)] for n, p, r, s in
                         zip(names, evaluation.precision, evaluation.recall, support)]))
    filters = first_layer_filters(model)
    if filters is not None:
        parts.append("<h2>First layer's filters: the learned features</h2>")
        parts.append('<p class="note">Each filter of the first convolution is a small image '
                     "that it slides over the input, answering strongly where the image looks "
                     "like it: the features a ConvNet learns instead of hand-made ones (as "
                     "AlexNet's first-layer figure shows: edges and colour blobs).</p>")
        parts.append(img_tag(_filters(filters), "first-layer filters"))
    else:
        parts.append(_templates_section(model, image_shape, first_layer_on_pixels, names))
    parts.append("<h2>Misclassified test images</h2>")
    if test_images is not None:
        labels = _labels_from(evaluation)
        png, _ = _misclassified(test_images, labels, evaluation.predictions, names,
                                probabilities=getattr(evaluation, "probabilities", None))
        if png is None:
            parts.append('<p class="note">None: every test image was classified right.</p>')
        else:
            parts.append(img_tag(png, "misclassified test images"))
    else:
        parts.append('<p class="note">Test images not available.</p>')
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
           + "\n".join(parts) + "</body></html>\n")
    path = Path(run_dir) / "report.html"
    write_text(path, doc)
    return path


def _labels_from(evaluation: Any) -> np.ndarray:
    labels = getattr(evaluation, "labels", None)
    if labels is None:
        raise ValueError("write_report: the evaluation has no labels to compare with")
    return np.asarray(labels)
