"""The lecture's first ~20-line training loop, rewritten with chainrule.

The lecture's NumPy version computes every gradient by hand (``grad_w1 = x.T.dot(grad_h
* h * (1 - h))``, ...). Here the forward pass builds a graph and ``loss.backward()``
applies the chain rule; the update is the same plain gradient descent with step 1e-4.

    N, D_in, H, D_out = 64, 1000, 100, 10; random x, y; sigmoid hidden layer;
    loss = sum (y_pred - y)^2; 2000 steps.

Run: ``python examples/lecture_sigmoid_net.py`` (prints the loss going down).
"""

from __future__ import annotations

import chainrule as cr


def main(steps: int = 2000, seed: int = 0, verbose: bool = True) -> list[float]:
    cr.manual_seed(seed)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x, y = cr.randn(N, D_in), cr.randn(N, D_out)
    w1 = cr.randn(D_in, H, requires_grad=True)
    w2 = cr.randn(H, D_out, requires_grad=True)
    losses = []
    for t in range(steps):
        h = cr.sigmoid(x @ w1)
        y_pred = h @ w2
        loss = ((y_pred - y) ** 2).sum()
        losses.append(loss.item())
        if verbose and (t % 200 == 0 or t == steps - 1):
            print(t, loss.item())
        loss.backward()                 # replaces the four lines of hand-written gradients
        with cr.no_grad():
            w1.data -= 1e-4 * w1.grad
            w2.data -= 1e-4 * w2.grad
        w1.zero_grad()
        w2.zero_grad()
    return losses


if __name__ == "__main__":
    main()
