"""The lecture's 2-layer net ``f = W2 max(0, W1 x + b1) + b2`` learns the 2D spiral.

Three spiral arms of 100 points each cannot be separated by a linear classifier (it
gets about half of them right); 100 ReLU units bend the boundaries around the arms.
Full-batch gradient descent on the softmax loss plus L2 regularization, as in the
CS231n case study. Prints the loss going down and the final training accuracy.

Run: ``python examples/two_layer_net.py`` (a few seconds).
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data.toy import spiral


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with cr.no_grad():
        return float((model(X).data.argmax(axis=1) == y).mean())


def train(hidden: list[int], steps: int = 1000, lr: float = 1.0, reg: float = 1e-3,
          seed: int = 0, verbose: bool = True) -> tuple[list[float], float]:
    """Train ``MLP(2, hidden, 3)`` on the spiral; return the losses and the final accuracy.

    ``hidden=[]`` is the linear classifier, for comparison.
    """
    cr.manual_seed(seed)
    X, y = spiral(n_per_class=100, classes=3, seed=seed)
    model = nn.MLP(2, hidden, 3)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=lr)
    losses = []
    for t in range(steps):
        loss = loss_fn(model(X), y) + nn.l2_penalty(model, reg, half=True)
        losses.append(loss.item())
        if verbose and (t % max(1, steps // 10) == 0 or t == steps - 1):
            print(f"step {t:5d}  loss {loss.item():.4f}")
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = accuracy(model, X, y)
    if verbose:
        print(f"training accuracy: {acc:.2%}")
    return losses, acc


def main(steps: int = 1000, verbose: bool = True) -> tuple[list[float], float]:
    return train([100], steps=steps, verbose=verbose)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--linear", action="store_true",
                        help="train a linear classifier instead (hidden=[]) to compare")
    args = parser.parse_args()
    if args.linear:
        train([], steps=args.steps)
    else:
        main(args.steps)
