"""compare_features: four models on pixels and image features, and the comparison's report."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import CompareConfig, Preprocessor, compare_features, write_comparison_report
from chainrule.train.compare import DEFAULT_OPTIONS
from chainrule.train.compare_report import sample_images

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def parts() -> dict:
    """Reddish and bluish 16x16 images."""
    rng = np.random.default_rng(0)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(n) % 2
        images = rng.integers(0, 60, (n, 16, 16, 3), dtype=np.uint8)
        images[labels == 0, :, :, 2] += 180
        images[labels == 1, :, :, 0] += 180
        return images, labels

    return {"train": split(40), "test": split(10)}


def test_five_models_on_pixels_and_features(parts) -> None:
    lines: list[str] = []
    cfg = CompareConfig(epochs=3, hidden=8, val_fraction=0.25, batch_size=8, conv="4 pool 8")
    metrics = compare_features(parts, ["blue", "red"], cfg, progress=False, log=lines.append)
    rows = [(r["model"], r["inputs"], r["input_dim"]) for r in metrics["results"]]
    dim = metrics["feature_config"]["output_dim"]
    assert rows == [("linear", "pixels", 768), ("linear", "hog+color", dim),
                    ("2-layer", "pixels", 768), ("2-layer", "hog+color", dim),
                    ("ConvNet", "pixels", 768)]
    accuracies = [r["test_accuracy"] for r in metrics["results"]]
    assert accuracies[0] == accuracies[2] == 1.0  # red vs blue pixels: an easy task
    assert all(0 <= a <= 1 for a in accuracies)
    assert metrics["train_images"] == 30 and metrics["val_images"] == 10
    assert metrics["feature_config"]["extractors"][0]["config"]["cell_size"] == 4  # default
    assert len(lines) == 6 and lines[0].startswith("features hog,color: ")
    assert lines[-1].startswith("ConvNet  on pixels")
    json.dumps(metrics)  # what metrics.json holds


def test_inputs_are_the_training_codes_preprocessing(parts, monkeypatch) -> None:
    from chainrule.train import compare

    seen: list[np.ndarray] = []
    real = compare._train_one

    def spy(name, inputs, fit, *args, **kwargs):
        seen.append(fit[0])
        return real(name, inputs, fit, *args, **kwargs)

    monkeypatch.setattr(compare, "_train_one", spy)
    compare_features(parts, ["blue", "red"], CompareConfig(epochs=1, val_fraction=0),
                     progress=False, log=lambda m: None)
    np.testing.assert_array_equal(seen[0], Preprocessor().fit_transform(parts["train"][0]))


def test_settings_are_checked_and_options_merged() -> None:
    with pytest.raises(cr.ConfigError, match="--epochs must be >= 1"):
        CompareConfig(epochs=0)
    with pytest.raises(cr.ConfigError, match="--val-fraction"):
        CompareConfig(val_fraction=1.0)
    with pytest.raises(cr.ConfigError, match="conv spec"):
        CompareConfig(conv="32 wide")
    merged = CompareConfig(options={"hog": {"orientations": 6}, "color": {"bins": 5}}) \
        .extractor_options()
    assert merged == {"hog": {"cell_size": 4, "orientations": 6}, "color": {"bins": 5}}
    assert DEFAULT_OPTIONS == {"hog": {"cell_size": 4}}  # not changed by the merge
    assert CompareConfig(options={"hog": {"cell_size": 8}}).extractor_options()["hog"] == \
        {"cell_size": 8}


def test_report_writes_metrics_and_a_self_contained_page(parts, tmp_path) -> None:
    metrics = compare_features(parts, ["blue", "red"], CompareConfig(epochs=1, hidden=4,
                                                                     convnet=False),
                               progress=False, log=lambda m: None)
    metrics["data"] = "tiny"
    page = write_comparison_report(tmp_path / "out", metrics, "Tiny <comparison>",
                                   sample_images(*parts["test"]))
    assert page == tmp_path / "out" / "report.html"
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["data"] == "tiny"
    text = page.read_text()
    assert "<title>Tiny &lt;comparison&gt;</title>" in text
    assert text.count("data:image/png;base64,") == 2 and text.count("<tr>") == 5


def test_sample_images_takes_one_per_class() -> None:
    images = np.arange(6)[:, None, None, None] * np.ones((6, 2, 2, 1), np.uint8)
    picked = sample_images(images, np.array([1, 1, 0, 2, 0, 2]), count=2)
    assert picked[:, 0, 0, 0].tolist() == [0, 2]
