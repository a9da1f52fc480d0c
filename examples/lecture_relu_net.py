"""The lecture's second ~20-line training loop (``y = sin(x)``), rewritten with chainrule.

    D, H, N = 8, 64, 32; x random, y = sin(x); ReLU hidden layer;
    loss = 0.5 sum (y_hat - y)^2; 10,000 steps of gradient descent with step 1e-4.

The hand-written backward (``dy_hat = y_hat - y``, ``dw2 = h.T.dot(dy_hat)``, ...) becomes
``loss.backward()``, and the update ``w -= 1e-4 * dw`` becomes ``optim.SGD(lr=1e-4)``.
"When you run this code: loss goes down!"

Run: ``python examples/lecture_relu_net.py``.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import optim


def main(steps: int = 10_000, seed: int = 0, verbose: bool = True) -> list[float]:
    cr.manual_seed(seed)
    D, H, N = 8, 64, 32
    x = cr.randn(N, D)
    y = cr.tensor(np.sin(x.data))      # the target is data, not part of the graph
    w1 = cr.randn(D, H, requires_grad=True)
    w2 = cr.randn(H, D, requires_grad=True)
    opt = optim.SGD([w1, w2], lr=1e-4)
    losses = []
    for t in range(steps):
        a = x @ w1
        h = cr.relu(a)
        y_hat = h @ w2
        loss = 0.5 * ((y_hat - y) ** 2).sum()
        losses.append(loss.item())
        if verbose and (t % 1000 == 0 or t == steps - 1):
            print(t, loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses


if __name__ == "__main__":
    main()
