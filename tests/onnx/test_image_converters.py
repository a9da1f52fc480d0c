"""The ConvNet layers in ONNX: onnxruntime gives chainrule's evaluation outputs, and a
ConvNet run exports with its per-channel standardization in front."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ExportError
from chainrule.onnx import export, export_run
from chainrule.train import TrainConfig, load_run, load_splits, predict_scores, train_run

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def images(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("layer", [
    nn.Conv2d(4, 6, 3, padding=1),
    nn.Conv2d(4, 6, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2), bias=False),
    nn.Conv2d(4, 6, 3, groups=2, padding="same"),
    nn.MaxPool2d(2),
    nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    nn.AdaptiveAvgPool2d(1),
    nn.AdaptiveAvgPool2d((3, 4)),
    nn.BatchNorm2d(4),
    nn.Dropout2d(0.5),
])
def test_each_image_layer_against_onnxruntime(layer: nn.Module, tmp_path: Path) -> None:
    model = nn.Sequential(layer)
    if isinstance(layer, nn.BatchNorm2d):  # running statistics away from 0 and 1
        for seed in range(3):
            model(cr.tensor(images(8, 4, 9, 8, seed=seed) * 2 + 1))
    model.eval()
    x = images(3, 4, 9, 8)
    path = export(model, x[:1], tmp_path / "layer.onnx")
    with cr.no_grad():
        want = model(cr.tensor(x)).data
    np.testing.assert_allclose(run_onnx(path, x), want, rtol=1e-5, atol=1e-5)


def test_a_convnet_exports_for_any_batch_size(tmp_path: Path) -> None:
    model = nn.ConvNet(3, 5, "8 pool 16 pool 32", dropout=0.2).eval()
    path = export(model, images(1, 3, 16, 16), tmp_path / "net.onnx")
    onnx.checker.check_model(onnx.load(path), full_check=True)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert {"Conv", "BatchNormalization", "MaxPool", "GlobalAveragePool", "Gemm"} <= ops
    x = images(7, 3, 16, 16)
    with cr.no_grad():
        want = model(cr.tensor(x)).data
    np.testing.assert_allclose(run_onnx(path, x), want, rtol=1e-5, atol=1e-5)


def test_a_convnet_run_takes_raw_pixels(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_run(TrainConfig(model="cnn", conv="4 pool 8", epochs=1), out=run, progress=False)
    path = export_run(run, tmp_path / "cnn.onnx")
    _, _, _, test_x, _ = load_splits("digits")
    ckpt, pre = load_run(run)
    expected = predict_scores(ckpt.model, pre.transform(test_x))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 8, 8, 1]
    scores = session.run(None, {"pixels": test_x.astype(np.float32) / np.float32(255)})[0]
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)


def test_what_onnx_cannot_express_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"AvgPool2d with ceil_mode=True"):
        export(nn.Sequential(nn.AvgPool2d(2, ceil_mode=True)), images(1, 2, 5, 5),
               tmp_path / "a.onnx")
    with pytest.raises(ExportError, match=r"AdaptiveAvgPool2d to 2x2\) on 5x5 images"):
        export(nn.Sequential(nn.AdaptiveAvgPool2d(2)), images(1, 2, 5, 5), tmp_path / "b.onnx")
