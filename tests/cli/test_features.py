"""``chainrule features`` and ``chainrule compare`` on a tiny generated image folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.features import FeaturePipeline

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """train/ and test/ folders with two classes: reddish and bluish 24x24 images."""
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("test", 3)):
        for k, name in enumerate(("blue", "red")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                image = rng.integers(0, 60, (24, 24, 3), dtype=np.uint8)
                image[..., 2 if k == 0 else 0] += 180
                Image.fromarray(image).save(folder / f"{i}.png")
    return root


def test_features_command_writes_a_complete_npz(image_folder, tmp_path, capsys):
    out = tmp_path / "feats.npz"
    code = main(["features", "--data", str(image_folder), "--features", "hog,color",
                 "--set", "hog.cell_size=4", "--set", "color.bins=6", "--out", str(out)])
    assert code == 0 and out.exists()
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temporary file
    with np.load(out) as f:
        assert f["features"].shape == (16, 5 * 5 * 4 * 9 + 6)
        assert f["test_features"].shape == (6, 906)
        assert f["labels"].tolist() == sorted(f["labels"].tolist())
        assert f["names"].tolist() == ["hog", "color"]
        assert f["classes"].tolist() == ["blue", "red"]
        config = json.loads(str(f["config"]))
        arrays = {k: f[k] for k in f.files if k.startswith("features.")}
        train_features = f["features"]
    # The saved recipe rebuilds the same features.
    pipeline = FeaturePipeline.from_config(config, arrays)
    from chainrule.data import load

    dataset = load(str(image_folder))
    np.testing.assert_allclose(pipeline.transform(dataset.train_images), train_features,
                               rtol=1e-5, atol=1e-5)
    # Features standardized with the training split's statistics.
    np.testing.assert_allclose(train_features.mean(0), 0, atol=1e-4)
    assert "906 features per image" in capsys.readouterr().err


def test_features_command_errors_are_one_line(image_folder, tmp_path, capsys):
    assert main(["features", "--data", str(image_folder), "--features", "sift",
                 "--out", str(tmp_path / "x.npz")]) == 1
    assert "unknown feature" in capsys.readouterr().err
    assert main(["features", "--data", str(image_folder), "--set", "hog.cell_size",
                 "--out", str(tmp_path / "x.npz")]) == 1
    assert "NAME.OPTION=VALUE" in capsys.readouterr().err
    assert main(["features", "--data", str(tmp_path / "missing")]) == 1


def test_compare_command_writes_report_and_metrics(image_folder, tmp_path):
    out = tmp_path / "report"
    code = main(["compare", "--data", str(image_folder), "--epochs", "2", "--hidden", "8",
                 "--val-fraction", "0.25", "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    rows = [(r["model"], r["inputs"]) for r in metrics["results"]]
    assert rows == [("linear", "pixels"), ("linear", "hog+color"),
                    ("2-layer", "pixels"), ("2-layer", "hog+color"), ("ConvNet", "pixels")]
    assert all(0.0 <= r["test_accuracy"] <= 1.0 for r in metrics["results"])
    assert metrics["feature_config"]["extractors"][0]["config"]["cell_size"] == 4
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<table>" in page
    assert "HOG cells" in page and "Gabor filter bank" in page
    assert "2-layer nets and a ConvNet" in page


def test_compare_without_the_convnet(image_folder, tmp_path):
    out = tmp_path / "report"
    assert main(["compare", "--data", str(image_folder), "--epochs", "1", "--hidden", "4",
                 "--no-convnet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["model"] for r in metrics["results"]] == ["linear", "linear", "2-layer", "2-layer"]
