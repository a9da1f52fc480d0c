"""``torch.optim``: a small tanh network fitting a wave packet with Adam.

    model = Linear(1, 32) -> Tanh -> Linear(32, 1),   loss = mean (y_hat - y)^2
    y = sin(4x) e^(-x^2)

The loop is the optimizer's: ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``. The same file with ``import torch`` instead of
``import chainrule as torch`` is ``optim_net_torch.py``.

Run: ``python examples/pytorch_style/optim_net.py``.
"""

import chainrule as torch


def make_data():
    x = torch.linspace(-2.5, 2.5, 300).unsqueeze(1)
    y = torch.sin(4 * x) * torch.exp(-x.pow(2))
    return x, y


def make_model():
    return torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))


def fit(model, steps=1500, learning_rate=1e-2, verbose=False):
    """Adam on the model's parameters; returns the losses."""
    x, y = make_data()
    loss_fn = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    losses = []
    for t in range(steps):
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        if verbose and t % 300 == 0:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def main():
    torch.manual_seed(0)
    losses = fit(make_model(), verbose=True)
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.2e}")


if __name__ == "__main__":
    main()
