"""``chainrule compare``: the lecture's comparison of image features and learned features."""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from chainrule.cli.features import (
    add_data_arguments,
    add_feature_arguments,
    load_images,
    parse_options,
)

DESCRIPTION = """\
Run the lecture's comparison of hand-made image features with features learned end to end:

  1. linear classifier (softmax) on pixels
  2. linear classifier on image features (default HOG + hue histogram)
  3. 2-layer net on pixels (the hidden layer learns its own features)
  4. 2-layer net on image features

Pixels are scaled to [0, 1] and standardized; features come from a FeaturePipeline fitted on
the training split only. Each model trains with minibatch Adam, keeps the epoch with the best
accuracy on a held-out validation split of the training images, and is scored on the test
split. The output folder gets metrics.json and report.html (self-contained: a table of test
accuracies and times, a picture of HOG cells, the Gabor filter bank).
"""

EPILOG = """\
examples:
  chainrule compare --data cifar10 --data-dir /data            # CIFAR-10, all 50,000 images
  chainrule compare --data cifar10 --limit 5000 --epochs 5      # a quick look
  chainrule compare --data ./my_images --features hog,color,gabor --out runs/compare
"""


#: HOG cell size of the comparison unless --set hog.cell_size=... says otherwise.
DEFAULT_HOG_CELL = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare", help="linear / 2-layer nets on pixels vs image features (report)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(p)
    add_feature_arguments(
        p,
        features_help="image features for models 2 and 4: comma-separated from hog, color, "
                      "gabor, bow (default hog,color)",
        set_help="an extractor option, e.g. hog.cell_size=8 (JSON values; repeatable). "
                 "Default here: hog.cell_size=4, since CIFAR's 32x32 images hold only 4x4 of "
                 "the lecture's 8x8-pixel cells",
    )
    p.add_argument("--epochs", type=int, default=10, help="epochs per model (default 10)")
    p.add_argument("--hidden", type=int, default=500,
                   help="hidden units of the 2-layer nets (default 500)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default 1e-3 for 2-layer nets, 3e-4 for linear)")
    p.add_argument("--reg", type=float, default=None, metavar="LAMBDA",
                   help="L2 strength on the weights (default 1e-3 linear, 1e-4 2-layer)")
    p.add_argument("--batch-size", type=int, default=200, help="minibatch size (default 200)")
    p.add_argument("--val-fraction", type=float, default=0.05,
                   help="share of the training images held out for validation (default 0.05)")
    p.add_argument("--out", default="runs/compare", metavar="DIR",
                   help="output folder for report.html and metrics.json (default runs/compare)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
    p.set_defaults(func=run)


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


def _train_one(X_train, y_train, X_val, y_val, X_test, y_test, hidden: list[int],
               classes: int, epochs: int, lr: float, reg: float, batch_size: int, seed: int,
               progress: bool) -> tuple[float, float | None, float, float, dict]:
    """Train an MLP (``hidden=[]``: linear softmax) with Adam; return accuracies and time."""
    import chainrule as cr
    from chainrule.train import Trainer, evaluate

    cr.manual_seed(seed)
    model = cr.nn.MLP(X_train.shape[1], hidden, classes)
    optimizer = cr.optim.Adam(model.parameters(), lr=lr)
    scheduler = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    trainer = Trainer(model, cr.nn.CrossEntropyLoss(), optimizer, scheduler,
                      batch_size=batch_size, seed=seed, reg=reg, progress=progress)
    start = time.perf_counter()
    val = (X_val, y_val) if len(X_val) else None
    history = trainer.fit((X_train, y_train), val, epochs=epochs)
    seconds = time.perf_counter() - start
    test = evaluate(model, X_test, y_test).accuracy
    train = evaluate(model, X_train, y_train).accuracy
    best_val = None if val is None else evaluate(model, X_val, y_val).accuracy
    return float(test), best_val, float(train), seconds, history.to_dict()


def _pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


def _standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std < 1e-6] = 1.0
    return [(a - mean) / std for a in (train, *others)]


def run_comparison(parts: dict, classes: list[str], features: list[str], options: dict,
                   epochs: int = 10, hidden: int = 500, lr: float | None = None,
                   reg: float | None = None, batch_size: int = 200, val_fraction: float = 0.05,
                   seed: int = 0, progress: bool | None = None, log=print) -> dict:
    """Train the four models and return the metrics (what metrics.json holds).

    ``parts`` maps 'train'/'test' to ``(images uint8 (N, H, W, C), labels)``.
    """
    from chainrule.data import train_val_split
    from chainrule.features import FeaturePipeline

    show = bool(progress) if progress is not None else sys.stderr.isatty()
    (train_x, train_y), (test_x, test_y) = parts["train"], parts["test"]
    index = np.arange(len(train_x))
    fit_idx, val_idx, _, _ = train_val_split(index[:, None], train_y, val_fraction, seed=seed) \
        if val_fraction > 0 else (index[:, None], index[:0, None], None, None)
    fit_idx, val_idx = fit_idx[:, 0], val_idx[:, 0]
    y_fit, y_val = np.asarray(train_y)[fit_idx], np.asarray(train_y)[val_idx]
    y_test = np.asarray(test_y)

    start = time.perf_counter()
    pix_fit, pix_val, pix_test = _standardize(_pixels(train_x[fit_idx]),
                                              _pixels(train_x[val_idx]), _pixels(test_x))
    pixel_seconds = time.perf_counter() - start

    pipeline = FeaturePipeline.from_names(features, **options, progress=progress)
    start = time.perf_counter()
    feat_fit = pipeline.fit_transform(train_x[fit_idx], seed=seed)
    feat_val = pipeline.transform(train_x[val_idx])
    feat_test = pipeline.transform(test_x)
    feature_seconds = time.perf_counter() - start
    log(f"features {','.join(features)}: {pipeline.output_dim} per image "
        f"({', '.join(f'{n} {d}' for n, d in zip(pipeline.names, pipeline.dims))}), "
        f"extracted in {feature_seconds:.1f} s")

    runs = [("linear", "pixels", []), ("linear", "features", []),
            ("2-layer", "pixels", [hidden]), ("2-layer", "features", [hidden])]
    results = []
    for model_name, inputs, hidden_sizes in runs:
        X = (pix_fit, pix_val, pix_test) if inputs == "pixels" else (feat_fit, feat_val,
                                                                     feat_test)
        model_lr = lr if lr is not None else (1e-3 if hidden_sizes else 3e-4)
        model_reg = reg if reg is not None else (1e-4 if hidden_sizes else 1e-3)
        test_acc, val_acc, train_acc, seconds, history = _train_one(
            X[0], y_fit, X[1], y_val, X[2], y_test, hidden_sizes, len(classes), epochs,
            model_lr, model_reg, batch_size, seed, show)
        label = "pixels" if inputs == "pixels" else "+".join(pipeline.names)
        result = ModelResult(model_name, label, X[0].shape[1], test_acc, val_acc, train_acc,
                             seconds, pixel_seconds if inputs == "pixels" else feature_seconds,
                             epochs, history)
        results.append(result)
        log(f"{model_name:8s} on {label:16s} test accuracy {test_acc:.4f} "
            f"(train {train_acc:.4f}) in {seconds:.1f} s")
    return {
        "train_images": len(fit_idx), "val_images": len(val_idx),
        "test_images": len(test_x), "image_shape": list(train_x.shape[1:]),
        "classes": list(classes), "features": pipeline.names,
        "feature_config": pipeline.get_config(), "epochs": epochs, "hidden": hidden,
        "batch_size": batch_size, "seed": seed,
        "results": [asdict(r) for r in results],
    }


# ---------------------------------------------------------------------------- the report
def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def hog_figure(images: np.ndarray, cell_size: int = 8, orientations: int = 9) -> str:
    """Base64 PNG: a few images beside their HOG cells (a line per orientation bin)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from chainrule.features import hog

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
    return _png(fig)


def gabor_figure(frequencies=(0.1, 0.2, 0.3), orientations: int = 4) -> str:
    """Base64 PNG: the real parts of a Gabor bank, one row per frequency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from chainrule.features import gabor_bank

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
    return _png(fig)


def sample_images(images: np.ndarray, labels: np.ndarray, count: int = 6) -> np.ndarray:
    """One image of each of the first ``count`` classes (for the report's HOG picture)."""
    _, first = np.unique(np.asarray(labels), return_index=True)
    return images[np.sort(first)[:count]]


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_report(out: Path, metrics: dict, title: str, sample_images: np.ndarray) -> None:
    """metrics.json and a self-contained report.html (tables + base64 PNG figures)."""
    _write_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    gabor_config = next((e["config"] for e in metrics["feature_config"]["extractors"]
                         if e["name"] == "gabor"), {})
    hog_cell = 8 if min(sample_images.shape[1:3]) >= 16 else max(2, min(sample_images.shape[1:3]))
    rows = "".join(
        f"<tr><td>{html.escape(r['model'])}</td><td>{html.escape(r['inputs'])}</td>"
        f"<td>{r['input_dim']:,}</td><td><b>{r['test_accuracy']:.4f}</b></td>"
        f"<td>{r['train_accuracy']:.4f}</td><td>{r['feature_seconds']:.1f}</td>"
        f"<td>{r['train_seconds']:.1f}</td></tr>"
        for r in metrics["results"])
    hog_png = hog_figure(sample_images, cell_size=hog_cell)
    gabor_png = gabor_figure(gabor_config.get("frequencies", (0.1, 0.2, 0.3)),
                             gabor_config.get("orientations", 4))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}
th{{background:#f3f3f3}}td:nth-child(-n+2){{text-align:left}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Image features + a linear classifier versus features learned end to end (2-layer nets).
{metrics['train_images']:,} training, {metrics['val_images']:,} validation and
{metrics['test_images']:,} test images of {'x'.join(map(str, metrics['image_shape']))};
{metrics['epochs']} epochs per model, {metrics['hidden']} hidden units.</p>
<table><tr><th>model</th><th>inputs</th><th>input size</th><th>test accuracy</th>
<th>train accuracy</th><th>input time (s)</th><th>training time (s)</th></tr>{rows}</table>
<h2>HOG cells</h2><p>Each cell's histogram of gradient orientations, drawn as edges
(line brightness = histogram value).</p><img alt="HOG cells" src="data:image/png;base64,{hog_png}">
<h2>Gabor filter bank</h2><p>Real parts of the kernels (rows: frequency, columns:
orientation).</p><img alt="Gabor filters" src="data:image/png;base64,{gabor_png}">
<h2>Feature pipeline</h2><pre>{html.escape(json.dumps(metrics['feature_config'], indent=2))}</pre>
</body></html>
"""
    _write_atomic(out / "report.html", page)


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.features.split(",") if n.strip()]
    options = parse_options(args.options)
    options.setdefault("hog", {}).setdefault("cell_size", DEFAULT_HOG_CELL)
    parts, classes, title = load_images(args.data, args.data_dir, args.limit, args.seed)
    if args.epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {args.epochs}")

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    log(f"{title}: {len(parts['train'][0]):,} train + {len(parts['test'][0]):,} test images")
    metrics = run_comparison(parts, classes, names, options, epochs=args.epochs,
                             hidden=args.hidden, lr=args.lr, reg=args.reg,
                             batch_size=args.batch_size, val_fraction=args.val_fraction,
                             seed=args.seed, progress=args.progress, log=log)
    metrics["data"] = title
    out = Path(args.out)
    write_report(out, metrics, f"Image features vs learned features: {title}",
                 sample_images(*parts["test"]))
    log(f"wrote {out / 'report.html'} and {out / 'metrics.json'}")
    return 0
