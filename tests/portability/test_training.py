"""Layers, a small training run and its checkpoints on every device, against NumPy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader
from chainrule.train import Trainer, load_checkpoint
from tests.portability.devices import (
    DEVICES,
    assert_agree,
    host,
    is_gpu,
    skip_unless_usable,
)

pytestmark = pytest.mark.parametrize("device", DEVICES)


@pytest.fixture(autouse=True)
def _usable(device: str) -> None:
    skip_unless_usable(device)


def _data(n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


def _net(device: str | None = None, dropout: float = 0.25) -> nn.Module:
    """Every kind of layer: Linear, BatchNorm1d, PReLU, Dropout, Maxout; float64."""
    cr.manual_seed(11)
    return nn.Sequential(
        nn.Linear(4, 8, dtype="float64", device=device),
        nn.BatchNorm1d(8, dtype="float64", device=device),
        nn.PReLU(8, dtype="float64", device=device),
        nn.Dropout(dropout),
        nn.Maxout(8, 3, pieces=2, dtype="float64", device=device),
    )


def test_layers_are_made_on_the_device(device: str) -> None:
    model = _net(device)
    for name, p in model.named_parameters():
        assert p.device == device, name
    for name, b in model.named_buffers():
        assert cr.backend.device_of(b) == device, name
    if not is_gpu(device):  # the same seed gives the same weights (array_api_strict: CPU draws)
        for got, want in zip(model.parameters(), _net().parameters()):
            assert_agree(got, want, device, "initial weights")


def test_init_functions_fill_on_the_device(device: str) -> None:
    w = cr.zeros(6, 5, dtype="float64", device=device)
    for init in (nn.init.xavier_uniform_, nn.init.kaiming_normal_, nn.init.ones_,
                 lambda t: nn.init.normal_(t, 1.0, 0.5), lambda t: nn.init.constant_(t, 3.0)):
        init(w)
        assert w.device == device
    np.testing.assert_array_equal(host(w), np.full((6, 5), 3.0))


def _train(device: str, dropout: float, steps: int = 8) -> tuple[list[float], nn.Module]:
    """Eager steps: forward (dropout, batch norm), softmax loss + L2 penalty, Adam; the
    model is built on the CPU and moved, so every device starts from the same weights."""
    model = _net(dropout=dropout).to(device)
    opt = optim.Adam(model.parameters(), lr=0.02)
    X, y = _data()
    loader = DataLoader(X, y, batch_size=16, seed=3, device=device)
    losses = []
    cr.manual_seed(4)
    for _ in range(steps // len(loader) + 1):
        for xb, yb in loader:
            assert xb.device == device and yb.device == device
            loss = nn.CrossEntropyLoss()(model(xb.double()), yb) + nn.l2_penalty(model, 1e-3)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses, model


def test_a_training_run_agrees_with_numpy(device: str) -> None:
    dropout = 0.0 if is_gpu(device) else 0.25  # a GPU draws its own dropout masks
    got_losses, got = _train(device, dropout)
    want_losses, want = _train("cpu", dropout)
    assert_agree(np.array(got_losses), np.array(want_losses), device, "losses")
    for (name, g), w in zip(got.state_dict().items(), want.state_dict().values()):
        assert_agree(g, w, device, f"{name} after training")
    got.eval()
    want.eval()
    X, _ = _data(10)
    assert_agree(got(X), want(X), device, "evaluation-mode outputs")


def test_the_trainer_on_the_device_and_its_checkpoints(device: str, tmp_path: Path) -> None:
    X, y = _data()
    cr.manual_seed(0)
    model = nn.MLP(4, [16], 3, dropout=0.1)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2),
                      batch_size=16, progress=False, device=device)
    assert all(p.device == device for p in model.parameters())
    history = trainer.fit((X, y), (X, y), epochs=3)
    assert history.train_loss[-1] < history.train_loss[0]
    path = trainer.save_checkpoint(tmp_path / "run.safetensors", config={"model": "mlp"})
    ckpt = load_checkpoint(path, build_model=False)  # written from host memory: loads on a CPU
    cpu_model = nn.MLP(4, [16], 3, dropout=0.1)
    cpu_model.load_state_dict(ckpt.state_dict)
    model.eval()
    assert_agree(cpu_model.eval()(X), model(X), device, "checkpointed model on the CPU")
    # and back onto the device, optimizer state included
    cr.manual_seed(0)
    again = nn.MLP(4, [16], 3, dropout=0.1).to(device)
    resumed = Trainer(again, nn.CrossEntropyLoss(), optim.Adam(again.parameters(), lr=1e-2),
                      batch_size=16, progress=False)
    resumed.resume(ckpt)
    assert all(p.device == device for p in again.parameters())
    resumed.fit((X, y), (X, y), epochs=4)
    assert resumed.epoch == 4


def _convnet_steps(device: str, steps: int = 3) -> tuple[list[float], nn.Module]:
    """Eager ConvNet steps (conv, batch norm, ReLU, max pool, global pooling, linear;
    Nesterov SGD) from the CPU's weights, on images."""
    cr.manual_seed(2)
    model = nn.ConvNet(2, 3, [4, "pool", 6], dtype="float64").to(device)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((8, 2, 6, 6)), rng.integers(0, 3, 8)
    xb, yb = cr.tensor(X, device=device), cr.tensor(y, device=device)
    losses = []
    for _ in range(steps):
        loss = nn.CrossEntropyLoss()(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, model


def test_a_convnet_trains_as_on_numpy(device: str) -> None:
    assert nn.ConvNet(1, 2, [4], device=device)[0].weight.device == device
    got_losses, got = _convnet_steps(device)
    want_losses, want = _convnet_steps("cpu")
    assert_agree(np.array(got_losses), np.array(want_losses), device, "ConvNet losses")
    for (name, g), w in zip(got.state_dict().items(), want.state_dict().values()):
        assert_agree(g, w, device, f"ConvNet {name} after training")
