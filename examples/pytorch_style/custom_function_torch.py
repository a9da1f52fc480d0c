"""A new autograd function: softsign ``x / (1 + |x|)``, its gradient ``1 / (1 + |x|)^2``.

A subclass of ``torch.autograd.Function`` with a ``forward(ctx, input)`` that saves what
``backward(ctx, grad_output)`` needs with ``ctx.save_for_backward``, called through
``Softsign.apply``. It fits a shifted, stretched S-curve:

    y_hat = a + b softsign(c + d x),   loss = sum (y_hat - y)^2

Written with operators and Python's ``abs``, the function runs unchanged in both
libraries (chainrule hands forward and backward NumPy arrays, PyTorch tensors). The same
file with ``import torch`` instead of ``import chainrule as torch`` is
``custom_function_torch.py``.

Run: ``python examples/pytorch_style/custom_function.py``.
"""

import torch

dtype = torch.float64


class Softsign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input / (1 + abs(input))

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output / (1 + abs(input)) ** 2


def make_data():
    x = torch.linspace(-4, 4, 400, dtype=dtype)
    y = 0.5 + 2 * torch.tanh(1.5 * x)
    return x, y


def fit(params, steps=1500, learning_rate=2e-4, verbose=False):
    """Gradient descent on ``a, b, c, d`` (leaf tensors, updated in place); the losses."""
    a, b, c, d = params
    x, y = make_data()
    softsign = Softsign.apply
    losses = []
    for t in range(steps):
        y_pred = a + b * softsign(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if verbose and t % 300 == 0:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= learning_rate * p.grad
                p.grad = None
    return losses


def main():
    torch.manual_seed(0)
    params = [torch.randn((), dtype=dtype, requires_grad=True) for _ in range(4)]
    losses = fit(params, verbose=True)
    a, b, c, d = (p.item() for p in params)
    print(f"loss {losses[0]:.2f} -> {losses[-1]:.3f}: "
          f"y = {a:.3f} + {b:.3f} softsign({c:.3f} + {d:.3f} x)")


if __name__ == "__main__":
    main()
