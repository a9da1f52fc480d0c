"""Tensors with hand-written gradients: fit a triangle wave with five Fourier terms.

    y = |x| on [-pi, pi]
    y_hat = a0 + a1 cos x + b1 sin x + a2 cos 2x + b2 sin 2x
    loss = sum (y_hat - y)^2

No autograd: the gradient of each coefficient is written out (``d loss / d a1 = sum
2 (y_hat - y) cos x``) and the update is ``a1 -= learning_rate * grad_a1``. The same file
with ``import torch`` instead of ``import chainrule as torch`` is
``fourier_manual_torch.py``; both print the same numbers.

Run: ``python examples/pytorch_style/fourier_manual.py``.
"""

import math

import torch

dtype = torch.float


def fit(coefficients, steps=100, learning_rate=5e-4, verbose=False):
    """Gradient descent on the five coefficients (updated in place); returns the losses."""
    x = torch.linspace(-math.pi, math.pi, 1000, dtype=dtype)
    y = x.abs()
    basis = [torch.ones(1000, dtype=dtype), torch.cos(x), torch.sin(x), torch.cos(2 * x),
             torch.sin(2 * x)]
    losses = []
    for t in range(steps):
        y_pred = sum(c * b for c, b in zip(coefficients, basis))
        loss = (y_pred - y).pow(2).sum().item()
        losses.append(loss)
        if verbose and t % 20 == 0:
            print(t, loss)
        grad_y_pred = 2.0 * (y_pred - y)
        for c, b in zip(coefficients, basis):
            c -= learning_rate * (grad_y_pred * b).sum()
    return losses


def main():
    torch.manual_seed(0)
    coefficients = [torch.randn((), dtype=dtype) for _ in range(5)]
    fit(coefficients, verbose=True)
    a0, a1, b1, a2, b2 = (c.item() for c in coefficients)
    print(f"y = {a0:.3f} + {a1:.3f} cos x + {b1:.3f} sin x + {a2:.3f} cos 2x + {b2:.3f} sin 2x")
    print(f"(the series of |x| starts pi/2 - 4/pi cos x = {math.pi / 2:.3f} - "
          f"{4 / math.pi:.3f} cos x)")


if __name__ == "__main__":
    main()
