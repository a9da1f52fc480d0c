"""The comparison's output: ``metrics.json`` and a self-contained ``report.html``.

The page holds the table of test accuracies and times of :func:`~chainrule.train.compare_features`,
a picture of HOG cells (each cell's orientation histogram drawn as edges) and the Gabor filter
bank, as base64 PNGs.

>>> write_comparison_report("runs/compare", metrics, "CIFAR-10",        # doctest: +SKIP
...                         sample_images(*parts["test"]))
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chainrule.atomic import write_text
from chainrule.train.figures import img_tag, png_base64, pyplot
from chainrule.train.report import write_metrics

__all__ = ["gabor_figure", "hog_figure", "sample_images", "write_comparison_report"]


def hog_figure(images: np.ndarray, cell_size: int = 8, orientations: int = 9) -> str:
    """Base64 PNG: a few images beside their HOG cells (a line per orientation bin)."""
    from matplotlib.collections import LineCollection

    from chainrule.features import hog

    plt = pyplot()
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.8 * n, 3.8), squeeze=False)
    for k, image in enumerate(images):
        h, w = image.shape[:2]
        cells = hog(image[None], cell_size, orientations, block_norm=None, dtype=np.float64)
        cells = cells.reshape(h // cell_size, w // cell_size, orientations)
        cells = cells / (cells.max() or 1.0)
        angles = np.pi * (np.arange(orientations) + 0.5) / orientations
        segments, strengths = [], []
        for r in range(cells.shape[0]):
            for c in range(cells.shape[1]):
                cy, cx = (r + 0.5) * cell_size, (c + 0.5) * cell_size
                for b, angle in enumerate(angles):
                    # An edge is perpendicular to its gradient: draw the edge direction.
                    dx, dy = -np.sin(angle), -np.cos(angle)
                    half = cell_size / 2
                    segments.append([(cx - dx * half, cy + dy * half),
                                     (cx + dx * half, cy - dy * half)])
                    strengths.append(cells[r, c, b])
        shown = image[..., 0] if image.shape[-1] == 1 else image
        axes[0, k].imshow(shown, cmap="gray" if image.shape[-1] == 1 else None)
        axes[1, k].add_collection(LineCollection(segments, colors="white",
                                                 alpha=np.clip(strengths, 0, 1), linewidths=1))
        axes[1, k].set_facecolor("black")
        axes[1, k].set_xlim(0, w)
        axes[1, k].set_ylim(h, 0)
        axes[1, k].set_aspect("equal")
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel(f"HOG ({cell_size}x{cell_size} cells)")
    return png_base64(fig, dpi=100)


def gabor_figure(frequencies: Sequence[float] = (0.1, 0.2, 0.3), orientations: int = 4) -> str:
    """Base64 PNG: the real parts of a Gabor bank, one row per frequency."""
    from chainrule.features import gabor_bank

    plt = pyplot()
    bank = gabor_bank(frequencies, orientations)
    rows = len(bank.frequencies)
    fig, axes = plt.subplots(rows, orientations, figsize=(1.6 * orientations, 1.6 * rows),
                             squeeze=False)
    for i, (kernel, (f, theta)) in enumerate(zip(bank.kernels, bank.params)):
        ax = axes[i // orientations, i % orientations]
        ax.imshow(kernel.real, cmap="RdBu_r")
        ax.set_title(f"f={f:g}, {np.degrees(theta):.0f}°", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return png_base64(fig, dpi=100)


def sample_images(images: np.ndarray, labels: np.ndarray, count: int = 6) -> np.ndarray:
    """One image of each of the first ``count`` classes (for the report's HOG picture)."""
    _, first = np.unique(np.asarray(labels), return_index=True)
    return images[np.sort(first)[:count]]


def write_comparison_report(out: str | os.PathLike, metrics: dict, title: str,
                            samples: np.ndarray) -> Path:
    """Write ``<out>/metrics.json`` and ``<out>/report.html``; returns the report's path.

    ``metrics`` is :func:`~chainrule.train.compare_features`' result, ``samples`` a few test
    images (:func:`sample_images`) for the HOG picture.
    """
    out = Path(out)
    write_metrics(out, metrics)
    gabor_config = next((e["config"] for e in metrics["feature_config"]["extractors"]
                         if e["name"] == "gabor"), {})
    hog_cell = 8 if min(samples.shape[1:3]) >= 16 else max(2, min(samples.shape[1:3]))
    rows = "".join(
        f"<tr><td>{html.escape(r['model'])}</td><td>{html.escape(r['inputs'])}</td>"
        f"<td>{r['input_dim']:,}</td><td><b>{r['test_accuracy']:.4f}</b></td>"
        f"<td>{r['train_accuracy']:.4f}</td><td>{r['feature_seconds']:.1f}</td>"
        f"<td>{r['train_seconds']:.1f}</td></tr>"
        for r in metrics["results"])
    hog_png = hog_figure(samples, cell_size=hog_cell)
    gabor_png = gabor_figure(gabor_config.get("frequencies", (0.1, 0.2, 0.3)),
                             gabor_config.get("orientations", 4))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}
th{{background:#f3f3f3}}td:nth-child(-n+2){{text-align:left}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Image features + a linear classifier versus features learned end to end (2-layer nets{
    " and a ConvNet" if any(r["model"] == "ConvNet" for r in metrics["results"]) else ""}).
{metrics['train_images']:,} training, {metrics['val_images']:,} validation and
{metrics['test_images']:,} test images of {'x'.join(map(str, metrics['image_shape']))};
{metrics['epochs']} epochs per model, {metrics['hidden']} hidden units.</p>
<table><tr><th>model</th><th>inputs</th><th>input size</th><th>test accuracy</th>
<th>train accuracy</th><th>input time (s)</th><th>training time (s)</th></tr>{rows}</table>
<h2>HOG cells</h2><p>Each cell's histogram of gradient orientations, drawn as edges
(line brightness = histogram value).</p>{img_tag(hog_png, "HOG cells")}
<h2>Gabor filter bank</h2><p>Real parts of the kernels (rows: frequency, columns:
orientation).</p>{img_tag(gabor_png, "Gabor filters")}
<h2>Feature pipeline</h2><pre>{html.escape(json.dumps(metrics['feature_config'], indent=2))}</pre>
</body></html>
"""
    path = out / "report.html"
    write_text(path, page)
    return path
