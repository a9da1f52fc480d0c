"""Deep graphs and memory: no recursion, no Jacobian, saved values freed after backward."""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np

import chainrule as cr
import chainrule.functional as F


def test_100000_deep_chain_backprops() -> None:
    x = cr.tensor(1.0, dtype="float64", requires_grad=True)
    h = x
    for _ in range(100_000):
        h = h * 1.0
    assert sys.getrecursionlimit() < 100_000  # a recursive walk would have failed
    h.backward()
    assert x.grad == 1.0


def test_deep_chain_of_mixed_ops_and_cr_grad() -> None:
    x = cr.tensor([0.5, -0.5], dtype="float64", requires_grad=True)
    h = x
    for _ in range(20_000):
        h = F.tanh(h) + h * 0.0
    (g,) = cr.grad(h.sum(), x)
    # d/dx of 20,000 nested tanh: the product of 1 - tanh^2 along the chain.
    v, expected = x.data.copy(), np.ones(2)
    for _ in range(20_000):
        expected *= 1 - np.tanh(v) ** 2
        v = np.tanh(v)
    np.testing.assert_allclose(g.data, expected, rtol=1e-9)


def test_deep_graph_is_released_without_recursion_errors() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    h = x
    for _ in range(100_000):
        h = h + 1.0
    del h  # dropping the head of a long chain must not overflow the C stack


def test_matmul_backward_allocates_about_its_inputs_and_outputs() -> None:
    n, d, m = 64, 4096, 4096
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((n, d), dtype=np.float32), requires_grad=True)
    w = cr.tensor(rng.standard_normal((d, m), dtype=np.float32) * 0.01, requires_grad=True)
    upstream = rng.standard_normal((n, m), dtype=np.float32)
    io_bytes = x.data.nbytes + w.data.nbytes + upstream.nbytes  # inputs + output
    y = x @ w
    tracemalloc.start()
    try:
        y.backward(upstream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # dL/dx and dL/dw are exactly the size of x and w; the Jacobian would be 256 GiB.
    assert x.grad.shape == (n, d) and w.grad.shape == (d, m)
    assert peak <= 1.15 * io_bytes, f"peak {peak:,} bytes vs inputs+outputs {io_bytes:,}"
    assert peak >= x.data.nbytes + w.data.nbytes  # the gradients themselves were traced
    np.testing.assert_allclose(w.grad[:2, :3], (x.data.T @ upstream)[:2, :3], rtol=1e-4)


def test_linear_layer_backward_keeps_parameter_gradients_without_copies() -> None:
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((256, 1024), dtype=np.float32))
    w = cr.tensor(rng.standard_normal((1024, 1024), dtype=np.float32), requires_grad=True)
    b = cr.zeros(1024, requires_grad=True)
    loss = F.linear(x, w, b).sum()
    tracemalloc.start()
    try:
        loss.backward()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # upstream (256 x 1024, a broadcast view: no copy) + dW (1024 x 1024) + db.
    assert peak <= 1.5 * (w.data.nbytes + x.data.nbytes)


def test_graph_memory_is_released_after_backward() -> None:
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((512, 512), dtype=np.float32), requires_grad=True)
    tracemalloc.start()
    try:
        h = x
        for _ in range(8):
            h = F.sigmoid(h * 1.5)  # each step keeps two 1 MiB arrays in the graph
        loss = F.cross_entropy(h, np.zeros(512, dtype=np.int64))
        held_forward = tracemalloc.get_traced_memory()[0]
        nodes, node = [], loss.grad_fn
        while node is not None:
            nodes.append(node)
            node = next((t.grad_fn for t in node.inputs if isinstance(t, cr.Tensor)), None)
        loss.backward()
        assert all(n.saved == () and n.freed for n in nodes)  # saved values dropped
        del loss, h, nodes, node
        held_after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held_forward > 16 * x.data.nbytes
    # Nothing but x.grad is left: no reference cycle keeps the graph alive.
    assert held_after < 1.5 * x.data.nbytes
