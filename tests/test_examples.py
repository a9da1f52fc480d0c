"""The examples run, and their loss goes down by the factor the lecture promises."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

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
