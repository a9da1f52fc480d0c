"""examples/pytorch_style: each script and its PyTorch twin differ only in the import, both
run and converge, and from the same initial values they give the same numbers."""

from __future__ import annotations

import difflib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

FOLDER = Path(__file__).resolve().parents[1] / "examples" / "pytorch_style"
SCRIPTS = ["fourier_manual", "autograd_net", "custom_function", "sequential_poly", "optim_net",
           "custom_module"]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors: threads only cost (and the test machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"pytorch_style_{name}", FOLDER / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def twins(name: str) -> tuple[ModuleType, ModuleType]:
    return load(name), load(f"{name}_torch")


def scalars(lib: ModuleType, values: np.ndarray, dtype: object, grad: bool) -> list:
    return [lib.tensor(v, dtype=dtype, requires_grad=grad) for v in values]


def state(lib: ModuleType, model: object, seed: int) -> None:
    """The same random initial weights, shape by shape, into a chainrule or torch model."""
    rng = np.random.default_rng(seed)
    values = {k: rng.standard_normal(np.shape(v)).astype(np.float32) * 0.5
              for k, v in model.state_dict().items()}
    model.load_state_dict({k: lib.tensor(v) for k, v in values.items()})


def values_of(params: list) -> np.ndarray:
    return np.array([np.asarray(p.detach().numpy() if hasattr(p, "detach") else p.data)
                     for p in params], dtype=object)


# name -> run(module, steps) -> (losses, final values), steps, tolerance, convergence factor
def _fourier(m: ModuleType, steps: int) -> tuple:
    coefficients = scalars(m.torch, np.random.default_rng(0).standard_normal(5), m.dtype, False)
    return m.fit(coefficients, steps=steps), [c.item() for c in coefficients]


def _autograd_net(m: ModuleType, steps: int) -> tuple:
    rng = np.random.default_rng(1)
    shapes = [(1, m.hidden), (m.hidden,), (m.hidden, 1)]
    weights = [m.torch.tensor(rng.standard_normal(s) * (0.1 if i == 2 else 1.0), dtype=m.dtype,
                              requires_grad=True) for i, s in enumerate(shapes)]
    return m.fit(weights, steps=steps), [float(w.sum().item()) for w in weights]


def _custom_function(m: ModuleType, steps: int) -> tuple:
    params = scalars(m.torch, np.random.default_rng(2).standard_normal(4), m.dtype, True)
    return m.fit(params, steps=steps), [p.item() for p in params]


def _with_model(make: str) -> Callable:
    def run(m: ModuleType, steps: int) -> tuple:
        model = getattr(m, make)()
        state(m.torch, model, seed=3)
        losses = m.fit(model, steps=steps)
        return losses, [float(p.sum().item()) for p in model.parameters()]

    return run


CASES = {
    # float32 scripts agree to float32 rounding; float64 ones to ~1e-10
    "fourier_manual": (_fourier, 100, 1e-4, 100),
    "autograd_net": (_autograd_net, 500, 1e-7, 3),
    "custom_function": (_custom_function, 400, 1e-7, 100),
    "sequential_poly": (_with_model("make_model"), 1000, 1e-3, 1000),
    "optim_net": (_with_model("make_model"), 200, 1e-3, 10),
    "custom_module": (_with_model("Wave"), 300, 1e-3, 1000),
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_twins_differ_only_in_the_import(name: str) -> None:
    ours = (FOLDER / f"{name}.py").read_text().splitlines()
    theirs = (FOLDER / f"{name}_torch.py").read_text().splitlines()
    changed = [line for line in difflib.unified_diff(ours, theirs, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-import chainrule as torch", "+import torch"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_same_numbers_from_the_same_start_and_convergence(name: str) -> None:
    run, steps, rtol, factor = CASES[name]
    ours, theirs = twins(name)
    assert ours.torch.__name__ == "chainrule" and theirs.torch.__name__ == "torch"
    our_losses, our_values = run(ours, steps)
    their_losses, their_values = run(theirs, steps)
    np.testing.assert_allclose(our_losses, their_losses, rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(our_values, their_values, rtol=rtol, atol=1e-5)
    assert our_losses[-1] < our_losses[0] / factor


@pytest.mark.parametrize("name", ["fourier_manual"])
def test_the_scripts_run_as_commands(name: str) -> None:
    for suffix in ("", "_torch"):
        result = subprocess.run([sys.executable, str(FOLDER / f"{name}{suffix}.py")],
                                capture_output=True, text=True, timeout=300, check=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert result.stdout.count("\n") >= 3
