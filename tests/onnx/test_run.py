"""export_run: a digits run as ONNX takes raw pixels in [0, 1] and gives chainrule's scores
to 1e-5 on the whole test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chainrule.errors import ExportError
from chainrule.onnx import export_run
from chainrule.train import TrainConfig, load_run, load_splits, predict_scores, train_run

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(epochs=3, hidden=[64, 32], batchnorm=True, dropout=0.2, augment="none")
    train_run(cfg, out=out, progress=False)
    return out


def test_onnxruntime_gives_chainrules_scores_on_the_test_split(run: Path,
                                                               tmp_path: Path) -> None:
    path = export_run(run, tmp_path / "digits.onnx")
    onnx.checker.check_model(onnx.load(path), full_check=True)
    _, _, _, test_x, test_y = load_splits("digits")
    ckpt, pre = load_run(run)
    expected = predict_scores(ckpt.model, pre.transform(test_x))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "pixels"
    assert session.get_inputs()[0].shape == ["batch", 8, 8, 1]
    pixels = test_x.astype(np.float32) / np.float32(255)          # raw pixels in [0, 1]
    scores = session.run(None, {"pixels": pixels})[0]
    assert scores.shape == (359, 10)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    assert (scores.argmax(axis=1) == test_y).mean() > 0.5          # it learned
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(meta["class_names"]) == [str(d) for d in range(10)]


def test_probabilities(run: Path, tmp_path: Path) -> None:
    path = export_run(run, tmp_path / "p.onnx", probabilities=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"pixels": np.zeros((3, 8, 8, 1), np.float32)})[0]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def test_feature_runs_do_not_export(tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=1, hidden=[8], features="gabor", augment="none")
    train_run(cfg, out=tmp_path / "hog", progress=False)
    with pytest.raises(ExportError, match=r"image features \(gabor\) computed in NumPy"):
        export_run(tmp_path / "hog", tmp_path / "hog.onnx")
