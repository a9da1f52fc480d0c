"""The lecture's Graph (or Net) object, runnable, next to the lecture's flat code.

The slide's modular API: every gate has ``forward()``, which computes its output and
caches what backward needs, and ``backward(upstream)``, which returns the downstream
gradients. A graph object runs ``forward()`` over its gates in topological order and
``backward()`` over them in reverse. ``Graph`` below is that pseudo code made real with
chainrule's own gates (``chainrule.ops``: the same ``Function`` classes ``loss.backward()``
walks). Two networks are built with it, each beside the lecture's flat code that writes
every line of the same forward and backward pass by hand:

- the sigmoid neuron ``f(w, x) = sigmoid(w0 x0 + w1 x1 + w2)`` (gradients -0.20, 0.39,
  -0.39, -0.59, 0.20);
- a linear classifier with the multiclass SVM loss plus L2 regularization, the staged
  forward and backward of the first assignment.

Run: ``python examples/lecture_graph.py`` (prints the three sets of gradients side by side).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import unbroadcast
from chainrule.function import Context, as_gradient_tuple
from chainrule.ops.activation import Sigmoid
from chainrule.ops.arithmetic import Add, Mul
from chainrule.ops.linalg import MatMul
from chainrule.ops.loss import MulticlassHinge
from chainrule.ops.reduce import Sum


class Graph:
    """Gates ``(output, Function, input names, constants)`` in topological order; the last is L.

    The input names name values: the graph's inputs or earlier gates' outputs. The
    constants (labels, a margin, an axis, optional) follow them as the gate's last arguments.
    """

    def __init__(self, gates: list[tuple]) -> None:
        self.gates = [(out, gate, inputs, *rest) if rest else (out, gate, inputs, ())
                      for out, gate, inputs, *rest in gates]

    def forward(self, **inputs: Any) -> np.ndarray:
        self.values = {name: np.asarray(v, dtype=np.float64) for name, v in inputs.items()}
        self.contexts = []
        for out, gate, names, constants in self.gates:  # topological order
            ctx = Context()
            ctx.needs_input_grad = [True] * len(names) + [False] * len(constants)
            self.values[out] = gate.forward(ctx, *(self.values[n] for n in names), *constants)
            self.contexts.append(ctx)  # what this gate's backward needs
        return self.values[self.gates[-1][0]]  # the last gate outputs the loss

    def backward(self) -> dict[str, np.ndarray]:
        loss = self.gates[-1][0]
        grads = {loss: np.ones_like(self.values[loss])}  # dL/dL = 1
        for (out, gate, names, _), ctx in zip(reversed(self.gates), reversed(self.contexts)):
            downstream = as_gradient_tuple(gate.backward(ctx, grads[out]))  # local x upstream
            for name, grad in zip(names, downstream):
                grad = unbroadcast(grad, self.values[name].shape)
                grads[name] = grads[name] + grad if name in grads else grad  # copy gate adds
        return grads


# --------------------------------------------------------------------- the sigmoid neuron
NEURON = Graph([
    ("s0", Mul, ("w0", "x0")),
    ("s1", Mul, ("w1", "x1")),
    ("s2", Add, ("s0", "s1")),
    ("s3", Add, ("s2", "w2")),
    ("L", Sigmoid, ("s3",)),
])
NEURON_INPUTS = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def sigmoid_neuron_flat(w0: float, x0: float, w1: float, x1: float, w2: float
                        ) -> tuple[float, dict[str, float]]:
    """The lecture's flat code: forward line by line, then backward in reverse."""
    s0 = w0 * x0
    s1 = w1 * x1
    s2 = s0 + s1
    s3 = s2 + w2
    L = 1 / (1 + np.exp(-s3))
    grad_L = 1.0
    grad_s3 = grad_L * (1 - L) * L
    grad_w2 = grad_s3
    grad_s2 = grad_s3
    grad_s0 = grad_s2
    grad_s1 = grad_s2
    grad_w1 = grad_s1 * x1
    grad_x1 = grad_s1 * w1
    grad_w0 = grad_s0 * x0
    grad_x0 = grad_s0 * w0
    return float(L), {"w0": grad_w0, "x0": grad_x0, "w1": grad_w1, "x1": grad_x1, "w2": grad_w2}


# --------------------------------------------------------------------- the SVM
#: Four points of three features and three classes, a weight matrix, a regularization.
SVM_X = np.array([[1.0, 2.0, -1.0], [0.5, -1.5, 2.0], [-2.0, 0.5, 1.0], [1.5, 1.0, 0.5]])
SVM_Y = np.array([0, 1, 2, 1])
SVM_W = np.array([[0.2, -0.5, 0.1], [1.5, 1.3, -0.1], [0.0, 0.25, 0.2]])
SVM_REG = 0.1

SVM = Graph([
    ("scores", MatMul, ("X", "W")),
    ("data_loss", MulticlassHinge, ("scores",), (SVM_Y, 1.0, "mean")),
    ("W_squared", Mul, ("W", "W")),
    ("sum_W_squared", Sum, ("W_squared",), (None, False)),
    ("reg_loss", Mul, ("sum_W_squared",), (SVM_REG,)),
    ("L", Add, ("data_loss", "reg_loss")),
])


def svm_flat(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
             ) -> tuple[float, np.ndarray]:
    """The staged SVM loss of the first assignment: forward, then backward stage by stage."""
    N = X.shape[0]
    rows = np.arange(N)
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    data_loss = margins.sum() / N
    reg_loss = reg * np.sum(W * W)
    loss = data_loss + reg_loss
    grad_loss = 1.0
    grad_data_loss = grad_loss
    grad_reg_loss = grad_loss
    grad_margins = grad_data_loss / N * (margins > 0)
    grad_scores = grad_margins.copy()
    grad_scores[rows, y] = -grad_margins.sum(axis=1)
    grad_W = X.T.dot(grad_scores) + grad_reg_loss * reg * 2 * W
    return float(loss), grad_W


def main() -> None:
    loss = NEURON.forward(**NEURON_INPUTS)
    grads = NEURON.backward()
    flat_loss, flat = sigmoid_neuron_flat(**NEURON_INPUTS)
    print(f"sigmoid neuron: L = {float(loss):.5f} (graph), {flat_loss:.5f} (flat code)")
    for name in NEURON_INPUTS:
        print(f"  dL/d{name}: graph {float(grads[name]):+.5f}  flat {flat[name]:+.5f}")
    svm_loss = SVM.forward(X=SVM_X, W=SVM_W)
    grad_W = SVM.backward()["W"]
    flat_svm_loss, flat_grad_W = svm_flat(SVM_W, SVM_X, SVM_Y, SVM_REG)
    print(f"SVM: L = {float(svm_loss):.5f} (graph), {flat_svm_loss:.5f} (flat code)")
    print("  dL/dW (graph):\n" + np.array2string(grad_W, precision=5))
    print("  dL/dW (flat code):\n" + np.array2string(flat_grad_W, precision=5))


if __name__ == "__main__":
    main()
