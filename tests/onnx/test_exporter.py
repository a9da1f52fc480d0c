"""export: a checked ONNX file with a free batch axis, the standardization in front, the
model's dtype, probabilities and metadata on request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import Standardizer
from chainrule.errors import ExportError
from chainrule.onnx import export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_the_batch_axis_is_free_and_the_file_checks(tmp_path: Path) -> None:
    model = nn.MLP(4, [8], 3)
    path = export(model, np.zeros((2, 4), np.float32), tmp_path / "m.onnx")
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 4
    s = session(path)
    for n in (1, 5, 300):
        x = np.random.default_rng(n).standard_normal((n, 4)).astype(np.float32)
        got = s.run(None, {"input": x})[0]
        np.testing.assert_allclose(got, model(x).data, rtol=1e-5, atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]     # written atomically
    assert proto.producer_name == "chainrule" and "(N, 4) -> scores (N, 3)" in proto.doc_string


def test_the_model_keeps_its_mode(tmp_path: Path) -> None:
    model = nn.MLP(4, [8], 3, dropout=0.5).train()
    export(model, np.zeros((1, 4), np.float32), tmp_path / "m.onnx")
    assert model.training
    export(model.eval(), np.zeros((1, 4), np.float32), tmp_path / "m.onnx")
    assert not model.training


def test_standardization_goes_in_front_and_probabilities_at_the_end(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (20, 3, 3, 1)).astype(np.float32)
    std = Standardizer().fit(images.reshape(20, -1))
    model = nn.MLP(9, [6], 4)
    path = export(model, images[:1], tmp_path / "m.onnx", preprocess=std, probabilities=True,
                  input_name="pixels", metadata={"class_names": ["a", "b", "c", "d"]})
    s = session(path)
    assert [o.name for o in s.get_outputs()] == ["probabilities"]
    got = s.run(None, {"pixels": images})[0]
    want = cr.softmax(model(std.transform(images.reshape(20, -1))), axis=-1).data
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(meta["class_names"]) == ["a", "b", "c", "d"]


def test_float64_models_export_as_double(tmp_path: Path) -> None:
    model = nn.MLP(3, [5], 2, activation="tanh", dtype="float64")
    x = np.random.default_rng(1).standard_normal((6, 3))
    path = export(model, x[:1], tmp_path / "m.onnx")
    got = session(path).run(None, {"input": x})[0]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, model(x).data, rtol=1e-12)


def test_errors(tmp_path: Path) -> None:
    model = nn.MLP(4, [8], 3)
    with pytest.raises(ExportError, match="example_input must be a batch"):
        export(model, np.zeros(4, np.float32), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="not fitted"):
        export(model, np.zeros((1, 4), np.float32), tmp_path / "m.onnx",
               preprocess=Standardizer())
    with pytest.raises(ExportError, match=r"preprocessing \(dict\) has no ONNX converter"):
        export(model, np.zeros((1, 4), np.float32), tmp_path / "m.onnx", preprocess={})
    with pytest.raises(cr.ShapeError, match="expected 4"):
        export(model, np.zeros((1, 5), np.float32), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match=r"standardization is for 5 values per example, the "
                                          r"input \(4,\) has 4"):
        export(model, np.zeros((1, 4), np.float32), tmp_path / "m.onnx",
               preprocess=Standardizer().fit(np.zeros((2, 5))))
