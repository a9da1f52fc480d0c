"""The examples run, and their loss goes down by the factor the lecture promises."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sigmoid_net_loss_goes_down() -> None:
    """N, D_in, H, D_out = 64, 1000, 100, 10; 150 of the lecture's 2000 steps."""
    losses = load("lecture_sigmoid_net").main(steps=150, verbose=False)
    assert len(losses) == 150
    assert losses[-1] < losses[0] / 10


def test_relu_net_loss_goes_down() -> None:
    """y = sin(x), D, H, N = 8, 64, 32; 1000 of the lecture's 10,000 steps."""
    losses = load("lecture_relu_net").main(steps=1000, verbose=False)
    assert losses[-1] < losses[0] / 1000
    assert all(b <= a * 1.0001 for a, b in zip(losses[::100], losses[100::100]))


def test_two_layer_net_learns_the_spiral() -> None:
    losses, acc = load("two_layer_net").main(steps=1000, verbose=False)
    assert losses[-1] < losses[0] / 3
    assert acc > 0.95


def test_two_layer_net_script_prints_progress() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / "two_layer_net.py"), "--steps", "20"],
                            capture_output=True, text=True, timeout=120, check=True)
    assert "step     0  loss" in result.stdout
    assert "training accuracy:" in result.stdout


def test_lecture_graph_sigmoid_neuron_matches_the_slide_and_the_flat_code() -> None:
    example = load("lecture_graph")
    loss = example.NEURON.forward(**example.NEURON_INPUTS)
    grads = example.NEURON.backward()
    flat_loss, flat = example.sigmoid_neuron_flat(**example.NEURON_INPUTS)
    exact = {"w0": -0.19661, "x0": 0.39322, "w1": -0.39322, "x1": -0.58984, "w2": 0.19661}
    assert float(loss) == pytest.approx(0.73106, abs=1e-5) == flat_loss
    # the forward values of the slide, gate by gate
    values = example.NEURON.values
    assert [float(values[k]) for k in ("s0", "s1", "s2", "s3")] == [-2.0, 6.0, 4.0, 1.0]
    for name, want in exact.items():
        assert float(grads[name]) == pytest.approx(want, abs=1e-5), name
        assert float(grads[name]) == pytest.approx(flat[name], rel=1e-12), name
    assert float(grads["s3"]) == pytest.approx(0.19661, abs=1e-5)  # (1 - 0.73) 0.73 = 0.2


def test_lecture_graph_svm_matches_the_flat_code_autograd_and_numbers() -> None:
    example = load("lecture_graph")
    X, y, W0, reg = example.SVM_X, example.SVM_Y, example.SVM_W, example.SVM_REG
    loss = example.SVM.forward(X=X, W=W0)
    grad_W = example.SVM.backward()["W"]
    flat_loss, flat_grad_W = example.svm_flat(W0, X, y, reg)
    W = cr.tensor(W0, dtype="float64", requires_grad=True)
    L = F.multiclass_hinge_loss(cr.tensor(X, dtype="float64") @ W, y) + reg * (W * W).sum()
    L.backward()

    def f(w: np.ndarray) -> float:
        return example.svm_flat(w, X, y, reg)[0]

    numeric = cr.numerical_gradient(f, W0.copy())
    assert float(loss) == pytest.approx(flat_loss, rel=1e-12) == pytest.approx(L.item())
    assert float(loss) == pytest.approx(3.13525, abs=1e-5)
    np.testing.assert_allclose(grad_W, flat_grad_W, rtol=1e-12)
    np.testing.assert_allclose(grad_W, W.grad, rtol=1e-12)
    assert cr.rel_error(grad_W, numeric) < 1e-7


def test_lecture_graph_script_prints_both_versions() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / "lecture_graph.py")],
                            capture_output=True, text=True, timeout=120, check=True)
    assert "dL/dw0: graph -0.19661  flat -0.19661" in result.stdout
    assert "SVM: L = 3.13525 (graph), 3.13525 (flat code)" in result.stdout
