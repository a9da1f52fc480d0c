"""Reports: metrics.json is valid JSON, report.html is one self-contained page of PNG plots."""

from __future__ import annotations

import base64
import json
import re

import numpy as np

from chainrule import nn
from chainrule.train import History, evaluate, write_metrics, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def _setup(shape=(4, 4, 1), classes=3, n=30):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    labels = rng.integers(0, classes, size=n)
    X = images.reshape(n, -1).astype(np.float32) / 255
    model = nn.MLP(X.shape[1], [6], classes)
    history = History()
    for e in range(3):
        history.append(train_loss=1.0 / (e + 1), train_acc=0.5 + 0.1 * e, val_acc=0.4 + 0.1 * e,
                       lr=0.1, seconds=0.01)
    ev = evaluate(model, X, labels, class_names=[f"class{c}" for c in range(classes)])
    return images, model, history, ev


def test_report_is_a_self_contained_page_with_valid_pngs(tmp_path):
    images, model, history, ev = _setup()
    path = write_report(tmp_path, history=history, evaluation=ev, model=model,
                        test_images=images, image_shape=(4, 4, 1), config={"lr": 0.1})
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "src=\"http" not in html and "<script" not in html  # nothing to fetch
    pngs = _pngs(html)
    assert len(pngs) == 4  # curves, confusion, templates, misclassified
    assert all(p.startswith(PNG_MAGIC) and len(p) > 1000 for p in pngs)
    assert f"{ev.accuracy:.2%}" in html
    for heading in ("Training curves", "Confusion matrix", "templates", "Misclassified"):
        assert heading in html
    from html.parser import HTMLParser

    HTMLParser().feed(html)  # parses without error


def test_report_on_features_and_rgb_and_no_mistakes(tmp_path):
    images, model, history, ev = _setup(shape=(3, 3, 3))
    ev.predictions = ev.labels.copy()  # a perfect classifier: no misclassified grid
    html = write_report(tmp_path, history=history, evaluation=ev, model=model,
                        test_images=images, image_shape=(3, 3, 3)).read_text()
    assert len(_pngs(html)) == 3 and "every test image was classified right" in html
    html = write_report(tmp_path, history=history, evaluation=ev, model=model,
                        test_images=images, image_shape=(3, 3, 3),
                        first_layer_on_pixels=False).read_text()
    assert "reads image features, not pixels" in html


def test_metrics_json_is_strict_json(tmp_path):
    _, _, history, ev = _setup()
    history.val_acc[0] = float("nan")
    path = write_metrics(tmp_path, {"history": history.to_dict(), "test": ev.to_dict(),
                                    "arr": np.arange(3), "inf": float("inf")})
    data = json.loads(path.read_text())  # json.loads accepts NaN; check there is none
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    assert data["history"]["val_acc"][0] is None
    assert data["arr"] == [0, 1, 2] and data["inf"] is None
    assert data["test"]["confusion_matrix"] == ev.confusion.tolist()
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp files left


def test_convnet_report_draws_the_first_filters_as_colour_images(tmp_path):
    from chainrule.train.report import first_layer_filters

    images, _, history, _ = _setup(shape=(8, 8, 3), classes=2)
    model = nn.ConvNet(3, 2, "5 pool 7")
    X = (images.astype(np.float32) / 255).transpose(0, 3, 1, 2)
    ev = evaluate(model, X, np.arange(30) % 2, class_names=["a", "b"])
    assert first_layer_filters(model).shape == (5, 3, 3, 3)
    assert first_layer_filters(nn.MLP(4, [3], 2)) is None
    html = write_report(tmp_path, history=history, evaluation=ev, model=model,
                        test_images=images, image_shape=(8, 8, 3)).read_text()
    assert "First layer's filters" in html and "templates" not in html
    assert len(_pngs(html)) == 4  # curves, confusion, filters, mistakes
    assert all(p.startswith(PNG_MAGIC) for p in _pngs(html))


def test_misclassified_images_show_the_probabilities_of_both_classes() -> None:
    from chainrule.train.report import _mistake_title

    *_, ev = _setup()
    assert ev.probabilities.shape == (30, 3)
    np.testing.assert_allclose(ev.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(ev.probabilities.argmax(axis=1), ev.predictions)
    probs = np.array([[0.12, 0.15, 0.73]])
    title = _mistake_title(0, np.array([0]), np.array([2]), ["cat", "dog", "ship"], probs)
    assert title == "true cat (12%)\npred ship (73%)"
    assert _mistake_title(0, np.array([0]), np.array([2]), ["cat", "dog", "ship"], None) \
        == "true cat\npred ship"


def test_short_runs_get_whole_epoch_ticks(monkeypatch) -> None:
    from chainrule.train import report

    figures = []
    monkeypatch.setattr(report, "png_base64", lambda fig: figures.append(fig) or "")
    history = History()
    for e in range(2):
        history.append(train_loss=1.0 / (e + 1), train_acc=0.5, val_acc=float("nan"), lr=0.1,
                       seconds=0.01)
    report._curves(history.to_dict())
    (fig,) = figures
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
