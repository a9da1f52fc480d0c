"""A custom ``nn.Module``: four learned numbers, a wave on a slope.

    y_hat = a + b x + c sin(x) + d cos(2x)

Each coefficient is an ``nn.Parameter(torch.randn(()))`` assigned in ``__init__``, so
``model.parameters()`` finds it; ``forward`` uses them like any tensor. SGD with
momentum, ``MSELoss(reduction="sum")``. The same file with ``import torch`` instead of
``import chainrule as torch`` is ``custom_module_torch.py``.

Run: ``python examples/pytorch_style/custom_module.py``.
"""

import math

import chainrule as torch


class Wave(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * torch.sin(x) + self.d * torch.cos(2 * x)

    def describe(self):
        return (f"y = {self.a.item():.3f} + {self.b.item():.3f} x + {self.c.item():.3f} sin(x)"
                f" + {self.d.item():.3f} cos(2x)")


def make_data():
    x = torch.linspace(-2 * math.pi, 2 * math.pi, 600)
    y = 0.5 + 0.3 * x - 1.2 * torch.sin(x) + 0.8 * torch.cos(2 * x)
    return x, y


def fit(model, steps=500, learning_rate=1e-5, verbose=False):
    """SGD with momentum 0.9; returns the losses."""
    x, y = make_data()
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)
    losses = []
    for t in range(steps):
        loss = criterion(model(x), y)
        losses.append(loss.item())
        if verbose and t % 100 == 0:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def main():
    torch.manual_seed(0)
    model = Wave()
    losses = fit(model, verbose=True)
    print(f"loss {losses[0]:.1f} -> {losses[-1]:.2e}: {model.describe()}")
    print("(the data: y = 0.5 + 0.3 x - 1.2 sin(x) + 0.8 cos(2x))")


if __name__ == "__main__":
    main()
