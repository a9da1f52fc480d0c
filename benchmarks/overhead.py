"""Per-op overhead: forward + backward time on tiny tensors, chainrule vs NumPy vs PyTorch.

On tiny tensors the arithmetic is nearly free, so what is measured is the cost of the
framework itself: creating the node, recording the graph, walking it backwards. Three
implementations run side by side, interleaved round by round so that machine noise
hits them alike:

* ``chainrule``: ``out = op(x); out.backward(upstream)``;
* ``numpy``: the same forward and a hand-written backward (the CS231n way), the floor;
* ``torch``: PyTorch's eager autograd (CPU, one thread).

The table shows the median microseconds per forward+backward and the ratios
chainrule/torch (below 1 means faster than PyTorch) and chainrule/numpy.

    python benchmarks/overhead.py                 # the table
    python benchmarks/overhead.py --json out.json # also the numbers as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import chainrule as cr
import chainrule.functional as F

Runner = Callable[[], object]


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def build_cases(n: int, torch: object | None) -> dict[str, dict[str, Runner]]:
    """For each op, a zero-argument callable per library doing one forward + backward."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    up = rng.standard_normal((n, n)).astype(np.float32)
    labels = rng.integers(0, n, size=n)

    ca, cb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    cbias = cr.tensor(bias, requires_grad=True)

    def clear() -> None:
        ca.grad = cb.grad = cbias.grad = None

    cases: dict[str, dict[str, Runner]] = {}

    def ours(fn: Callable[[], cr.Tensor], upstream: np.ndarray | None) -> Runner:
        def run() -> None:
            clear()
            out = fn()
            out.backward(upstream)

        return run

    # --- hand-written NumPy: forward, then backward of the same op ---
    def np_add() -> tuple:
        out = a + b
        return out, up, up

    def np_mul() -> tuple:
        out = a * b
        return out, up * b, up * a

    def np_matmul() -> tuple:
        out = a @ b
        return out, up @ b.T, a.T @ up

    def np_linear() -> tuple:
        out = a @ b.T + bias
        return out, up @ b, up.T @ a, up.sum(0)

    def np_relu() -> tuple:
        out = np.maximum(a, 0)
        return out, up * (out > 0)

    def np_sigmoid() -> tuple:
        s = _sigmoid(a)
        return s, up * s * (1 - s)

    def np_tanh() -> tuple:
        t = np.tanh(a)
        return t, up * (1 - t * t)

    def np_exp() -> tuple:
        e = np.exp(a)
        return e, up * e

    def np_sum() -> tuple:
        s = a.sum()
        return s, np.broadcast_to(np.float32(1.0), a.shape).copy()

    def np_mean_axis() -> tuple:
        m = a.mean(axis=1)
        return m, np.broadcast_to((up[:, 0] / n)[:, None], a.shape).copy()

    def np_softmax() -> tuple:
        e = np.exp(a - a.max(axis=1, keepdims=True))
        s = e / e.sum(axis=1, keepdims=True)
        return s, s * (up - (up * s).sum(axis=1, keepdims=True))

    def np_cross_entropy() -> tuple:
        shifted = a - a.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(n), labels].mean()
        g = np.exp(logp)
        g[np.arange(n), labels] -= 1
        return loss, g / n

    def np_mse() -> tuple:
        d = a - b
        return (d * d).mean(), d * (2.0 / d.size), d * (-2.0 / d.size)

    def np_transpose_reshape() -> tuple:
        out = a.T.reshape(-1)
        return out, up.reshape(-1).reshape(n, n).T

    def np_getitem() -> tuple:
        out = a[1:, ::2]
        g = np.zeros_like(a)
        g[1:, ::2] = up[1:, ::2]
        return out, g

    up_rows = up[:, :1].reshape(n)
    up_slice = np.ascontiguousarray(up[1:, ::2])
    up_flat = up.reshape(-1).copy()
    specs: dict[str, tuple[Callable[[], cr.Tensor], np.ndarray | None, Callable, Runner]] = {
        "add": (lambda: ca + cb, up, lambda x, y: x + y, np_add),
        "mul": (lambda: ca * cb, up, lambda x, y: x * y, np_mul),
        "matmul": (lambda: ca @ cb, up, lambda x, y: x @ y, np_matmul),
        "linear": (lambda: F.linear(ca, cb, cbias), up, None, np_linear),
        "relu": (lambda: F.relu(ca), up, None, np_relu),
        "sigmoid": (lambda: F.sigmoid(ca), up, None, np_sigmoid),
        "tanh": (lambda: F.tanh(ca), up, None, np_tanh),
        "exp": (lambda: ca.exp(), up, None, np_exp),
        "sum": (lambda: ca.sum(), None, None, np_sum),
        "mean(axis=1)": (lambda: ca.mean(axis=1), up_rows, None, np_mean_axis),
        "softmax": (lambda: F.softmax(ca, -1), up, None, np_softmax),
        "cross_entropy": (lambda: F.cross_entropy(ca, labels), None, None, np_cross_entropy),
        "mse_loss": (lambda: F.mse_loss(ca, cb), None, None, np_mse),
        "T+reshape": (lambda: ca.T.reshape(-1), up_flat, None, np_transpose_reshape),
        "slice": (lambda: ca[1:, ::2], up_slice, None, np_getitem),
    }
    for name, (fn, upstream, _, np_fn) in specs.items():
        cases[name] = {"chainrule": ours(fn, upstream), "numpy": np_fn}

    # --- a 20-op chain: ten pairs of (elementwise op, activation) ---
    def cr_chain() -> None:
        clear()
        h = ca
        for _ in range(5):
            h = F.tanh(h * 0.9 + 0.1)
            h = F.relu(h - 0.05) * cb
        h.backward(up)

    def np_chain() -> np.ndarray:
        saved = []
        h = a
        for _ in range(5):
            t = np.tanh(h * 0.9 + 0.1)
            r = np.maximum(t - 0.05, 0)
            saved.append((t, r))
            h = r * b
        g = up
        gb = np.zeros_like(b)
        for t, r in reversed(saved):
            gb += g * r
            g = g * b * (r > 0)
            g = g * (1 - t * t) * 0.9
        return g, gb

    cases["chain of 20 ops"] = {"chainrule": cr_chain, "numpy": np_chain}

    if torch is not None:
        ta = torch.tensor(a, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)
        tbias = torch.tensor(bias, requires_grad=True)
        tup, tup_rows = torch.from_numpy(up), torch.from_numpy(up_rows)
        tup_slice, tup_flat = torch.from_numpy(up_slice), torch.from_numpy(up_flat)
        tlabels = torch.from_numpy(labels)
        tf = torch.nn.functional

        def theirs(fn: Callable[[], object], upstream: object | None) -> Runner:
            def run() -> None:
                ta.grad = tb.grad = tbias.grad = None
                out = fn()
                out.backward(upstream)

            return run

        torch_specs = {
            "add": (lambda: ta + tb, tup),
            "mul": (lambda: ta * tb, tup),
            "matmul": (lambda: ta @ tb, tup),
            "linear": (lambda: tf.linear(ta, tb, tbias), tup),
            "relu": (lambda: torch.relu(ta), tup),
            "sigmoid": (lambda: torch.sigmoid(ta), tup),
            "tanh": (lambda: torch.tanh(ta), tup),
            "exp": (lambda: ta.exp(), tup),
            "sum": (lambda: ta.sum(), None),
            "mean(axis=1)": (lambda: ta.mean(1), tup_rows),
            "softmax": (lambda: torch.softmax(ta, -1), tup),
            "cross_entropy": (lambda: tf.cross_entropy(ta, tlabels), None),
            "mse_loss": (lambda: tf.mse_loss(ta, tb), None),
            "T+reshape": (lambda: ta.T.reshape(-1), tup_flat),
            "slice": (lambda: ta[1:, ::2], tup_slice),
        }
        for name, (fn, upstream) in torch_specs.items():
            cases[name]["torch"] = theirs(fn, upstream)

        def torch_chain() -> None:
            ta.grad = tb.grad = None
            h = ta
            for _ in range(5):
                h = torch.tanh(h * 0.9 + 0.1)
                h = torch.relu(h - 0.05) * tb
            h.backward(tup)

        cases["chain of 20 ops"]["torch"] = torch_chain
    return cases


def measure(
    cases: dict[str, dict[str, Runner]], number: int, repeats: int, clock: Callable[[], float]
) -> dict:
    """Median microseconds per call, libraries interleaved in every round."""
    samples: dict[str, dict[str, list[float]]] = {
        op: {lib: [] for lib in libs} for op, libs in cases.items()
    }
    for libs in cases.values():  # warm-up
        for fn in libs.values():
            for _ in range(max(10, number // 10)):
                fn()
    for _ in range(repeats):
        for op, libs in cases.items():
            for lib, fn in libs.items():
                start = clock()
                for _ in range(number):
                    fn()
                samples[op][lib].append((clock() - start) / number * 1e6)
    return {
        op: {lib: statistics.median(values) for lib, values in libs.items()}
        for op, libs in samples.items()
    }


def table(results: dict, ops_in_chain: int = 20) -> str:
    libs = ["chainrule", "numpy", "torch"]
    have = [lib for lib in libs if any(lib in r for r in results.values())]
    head = f"{'op (fwd+bwd)':<18}" + "".join(f"{lib + ' us':>14}" for lib in have)
    head += f"{'cr/torch':>10}{'cr/numpy':>10}"
    lines = [head, "-" * len(head)]
    for op, r in results.items():
        row = f"{op:<18}" + "".join(f"{r[lib]:>14.1f}" for lib in have)
        ratio_t = f"{r['chainrule'] / r['torch']:.2f}" if "torch" in r else "-"
        row += f"{ratio_t:>10}{r['chainrule'] / r['numpy']:>10.2f}"
        lines.append(row)
    chain = results.get("chain of 20 ops")
    if chain:
        per = "  ".join(f"{lib} {chain[lib] / ops_in_chain:.1f}" for lib in have)
        lines.append(f"chain, per op (us): {per}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8, help="tensors are SIZE x SIZE (8)")
    parser.add_argument("--number", type=int, default=200, help="calls per timing (200)")
    parser.add_argument("--repeats", type=int, default=25, help="timings per op; median (25)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument(
        "--clock", choices=["cpu", "wall"], default="cpu",
        help="cpu: process CPU time, robust on a shared machine (default); wall: perf_counter",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch not installed: comparing with NumPy only", file=sys.stderr)
        else:
            torch.set_num_threads(args.torch_threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    results = measure(build_cases(args.size, torch), args.number, args.repeats, clock)
    print(f"forward+backward on {args.size}x{args.size} float32, median of {args.repeats} x "
          f"{args.number} calls ({args.clock} time); numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch is not None else ""))
    print(table(results))
    if args.json:
        path = Path(args.json)
        payload = {"size": args.size, "number": args.number, "repeats": args.repeats,
                   "clock": args.clock,
                   "unit": "microseconds per forward+backward", "results": results}
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=2)
        os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
