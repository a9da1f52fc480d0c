"""``nn.Sequential`` on polynomial features: cos(x) as a + b x^2 + c x^4, updated by hand.

The features are the powers of x: ``x.unsqueeze(-1).pow(p)`` with ``p = [2, 4]`` turns
the (N,) inputs into (N, 2); ``Linear(2, 1)`` weighs them and ``Flatten(0, 1)`` makes the
(N, 1) output (N,) again, the shape of y. ``MSELoss(reduction="sum")``; the parameters
are updated in a loop over ``model.parameters()`` under ``no_grad``, then
``model.zero_grad()``. The same file with ``import torch`` instead of
``import chainrule as torch`` is ``sequential_poly_torch.py``.

Run: ``python examples/pytorch_style/sequential_poly.py``.
"""

import torch


def make_data():
    x = torch.linspace(-1.5, 1.5, 500)
    y = torch.cos(x)
    p = torch.tensor([2, 4])
    return x.unsqueeze(-1).pow(p), y


def make_model():
    return torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0, 1))


def fit(model, steps=2000, learning_rate=3e-4, verbose=False):
    """Gradient descent on the model's parameters (in place); returns the losses."""
    xx, y = make_data()
    loss_fn = torch.nn.MSELoss(reduction="sum")
    losses = []
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        if verbose and t % 400 == 0:
            print(t, loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    return losses


def main():
    torch.manual_seed(0)
    model = make_model()
    losses = fit(model, verbose=True)
    linear = model[0]
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.2e}: cos(x) ~ {linear.bias.item():.4f} "
          f"+ {linear.weight[:, 0].item():.4f} x^2 + {linear.weight[:, 1].item():.4f} x^4"
          "  (Taylor: 1 - 0.5 x^2 + 0.0417 x^4)")


if __name__ == "__main__":
    main()
