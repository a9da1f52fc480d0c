"""Autograd on plain tensors: a two-layer ReLU net fitting a damped wave, updated by hand.

    h = max(0, x w1 + b1)              (``.mm`` and ``.clamp(min=0)``)
    y_hat = h w2
    loss = sum (y_hat - y)^2,  y = sin(3x) e^(-x^2/2)

``loss.backward()`` fills ``w.grad`` of the leaf tensors; the update ``w -= lr * w.grad``
runs under ``torch.no_grad()`` and changes the leaves in place, then ``w.grad = None``
forgets the gradients. In double precision (``torch.float64``). The same file with
``import torch`` instead of ``import chainrule as torch`` is ``autograd_net_torch.py``.

Run: ``python examples/pytorch_style/autograd_net.py``.
"""

import chainrule as torch

dtype = torch.float64
hidden = 32


def make_data():
    x = torch.linspace(-3, 3, 200, dtype=dtype).unsqueeze(-1)
    y = torch.sin(3 * x) * torch.exp(-x.pow(2) / 2)
    return x, y


def init_weights():
    w1 = torch.randn(1, hidden, dtype=dtype, requires_grad=True)
    b1 = torch.randn(hidden, dtype=dtype, requires_grad=True)
    w2 = torch.randn(hidden, 1, dtype=dtype) * 0.1
    w2.requires_grad_(True)
    return [w1, b1, w2]


def fit(weights, steps=2000, learning_rate=2e-4, verbose=False):
    """Gradient descent with autograd on the weights (updated in place); returns the losses."""
    w1, b1, w2 = weights
    x, y = make_data()
    losses = []
    for t in range(steps):
        h = (x.mm(w1) + b1).clamp(min=0)
        y_pred = h.mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if verbose and t % 400 == 0:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            for w in weights:
                w -= learning_rate * w.grad
                w.grad = None
    return losses


def main():
    torch.manual_seed(0)
    losses = fit(init_weights(), verbose=True)
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
