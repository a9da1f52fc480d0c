"""explain_model: a trained network's loss on one input, traced, with gradient norms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import ExplainError, explain_model
from chainrule.train import save_checkpoint


@pytest.fixture
def run(tmp_path: Path) -> Path:
    cr.manual_seed(0)
    save_checkpoint(tmp_path / "run", cr.nn.MLP(6, [5], 3), class_names=["cat", "dog", "ship"])
    return tmp_path / "run"


def test_a_feature_vector_and_a_class_name(run: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.linspace(-1, 1, 6))
    report = explain_model(run, input_path=tmp_path / "x.npy", label="dog")
    assert (report.label, report.label_name) == (1, "dog")
    assert report.source == f"features from {tmp_path / 'x.npy'}"
    assert list(report.parameters) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert report.trace["0.weight"].grad.shape == (5, 6)


def test_an_image_and_an_input_file_are_one_too_many(run: Path, tmp_path: Path) -> None:
    with pytest.raises(ExplainError, match="give --image or --input, not both"):
        explain_model(run, image=tmp_path / "a.png", input_path=tmp_path / "x.npy")
