"""Each layer's converter against onnxruntime: the same outputs as chainrule's evaluation
form, for any batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ExportError
from chainrule.onnx import CONVERTERS, export, register

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ACTIVATIONS = ["relu", "leaky_relu", "prelu", "elu", "tanh", "sigmoid", "maxout", "linear"]


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def roundtrip(model: nn.Module, x: np.ndarray, tmp_path: Path, **kw) -> tuple:
    model.eval()
    path = export(model, x[:1], tmp_path / "model.onnx", **kw)
    with cr.no_grad():
        want = model(cr.tensor(x)).data
    return run_onnx(path, x), want


def batch(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_seven_activations_and_linear(activation: str, tmp_path: Path) -> None:
    model = nn.MLP(6, [16, 8], 3, activation=activation)
    got, want = roundtrip(model, batch(11, 6), tmp_path)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_dropout_and_batchnorm_export_in_evaluation_form(tmp_path: Path) -> None:
    model = nn.MLP(5, [12], 4, dropout=0.5, batchnorm=True)
    model.train()
    for seed in range(3):                      # running statistics away from 0 and 1
        model(cr.tensor(batch(32, 5, seed=seed) * 3 + 1))
    got, want = roundtrip(model, batch(9, 5), tmp_path)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    ops = [n.op_type for n in onnx.load(tmp_path / "model.onnx").graph.node]
    assert "BatchNormalization" in ops and "Dropout" not in ops


@pytest.mark.parametrize(("layers", "shape"), [
    ((nn.Flatten(),), (4, 2, 3, 5)),
    ((nn.Flatten(0, 1),), (4, 3)),
    ((nn.Flatten(1, 2),), (4, 2, 3, 5)),
    ((nn.Flatten(2),), (4, 2, 3, 5)),
    ((nn.Linear(5, 3), nn.Softmax(dim=-1)), (4, 2, 5)),       # Linear on a 3-D input
    ((nn.Linear(5, 3, bias=False), nn.Softmax(dim=1)), (4, 5)),
    ((nn.PReLU(3, init=0.1), nn.Flatten()), (4, 3, 2)),         # one slope per channel
    ((nn.BatchNorm1d(3).eval(), nn.ELU(0.5)), (4, 3, 6)),
])
def test_layers_of_any_rank(layers: tuple, shape: tuple, tmp_path: Path) -> None:
    got, want = roundtrip(nn.Sequential(*layers), batch(*shape), tmp_path)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_unsupported_layer_is_named(tmp_path: Path) -> None:
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    model = nn.Sequential(nn.Linear(3, 4), Square(), nn.Linear(4, 2))
    with pytest.raises(ExportError, match=r"layer '1' \(Square\) has no ONNX converter"):
        export(model, batch(1, 3), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_a_subclass_with_its_own_forward_is_not_taken_for_its_base(tmp_path: Path) -> None:
    class Doubled(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2

    with pytest.raises(ExportError, match=r"\(Doubled\)"):
        export(nn.Sequential(Doubled(3, 2)), batch(1, 3), tmp_path / "x.onnx")


def test_register_a_converter_for_a_new_layer(tmp_path: Path) -> None:
    class ScaleShift(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.full(3, 2.0, np.float32))
            self.shift = nn.Parameter(np.full(3, 0.5, np.float32))

        def forward(self, x):
            return x * self.scale + self.shift

    @register(ScaleShift)
    def _scale_shift(m, x, graph, name):
        scaled = graph.node("Mul", [x.name, graph.constant(m.scale.data, f"{name}.scale")],
                            f"{name}.mul", x.shape)
        return graph.node("Add", [scaled.name, graph.constant(m.shift.data, f"{name}.shift")],
                          name, x.shape)

    try:
        got, want = roundtrip(nn.Sequential(nn.Linear(4, 3), ScaleShift()), batch(5, 4),
                              tmp_path)
        np.testing.assert_allclose(got, want, rtol=1e-6)
    finally:
        del CONVERTERS[ScaleShift]
