"""One training step of a ConvNet, chainrule against its peers, measured side by side.

Two networks: the default CIFAR-10 ConvNet of ``chainrule train --model cnn`` (3x3 conv
blocks with batch norm, 32x32x3 images, batch 128) and a LeNet-style net on 28x28 images
(5x5 convolutions, max pooling, three Linear layers, batch 64). A step is forward, softmax
loss, backward and an SGD (Nesterov momentum) update, in float32. Implementations, each
from the same weights and data, timed round-robin in one process:

- chainrule eager and chainrule compiled (``cr.compile``);
- PyTorch eager (the same number of threads as NumPy's BLAS);
- hand-written NumPy: the CS231n-style im2col layers (``X_col @ W_col``, col2im by
  strided accumulation), no autograd.

Also reported: the step's FLOPs (convolutions and Linear layers, forward and both
backward products) against the machine's measured sgemm rate, and the peak memory that
NumPy allocates during one chainrule step of the CIFAR net (tracemalloc).

    python benchmarks/conv_step.py            # both nets, ~5 minutes on 2 idle cores
    python benchmarks/conv_step.py --quick    # fewer rounds: ~1 minute
    python benchmarks/conv_step.py --json     # machine-readable
    OPENBLAS_NUM_THREADS=1 python benchmarks/conv_step.py   # one thread each (CPU times
                                                            # then estimate idle times)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle PyTorch threads must not spin

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.backend import reuse_freed_memory

LR, MOMENTUM = 0.05, 0.9

#: (name, chainrule model builder, input shape (C, H, W), batch)
NETS = {
    "cifar-convnet": (lambda: nn.ConvNet(3, 10, nn.default_conv_spec(32)), (3, 32, 32), 128),
    "lenet-28x28": (lambda: nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)),
        (1, 28, 28), 64),
}


def make_data(shape: tuple, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    images = rng.standard_normal((batch, shape[1], shape[2], shape[0])).astype(np.float32)
    return images.transpose(0, 3, 1, 2), rng.integers(0, 10, batch)  # channels-last memory


def build(net: str) -> tuple[nn.Module, tuple, int]:
    make, shape, batch = NETS[net]
    cr.manual_seed(0)
    return make(), shape, batch


# ----------------------------------------------------------------------------- peers
def chainrule_steps(net: str) -> dict[str, Callable[[], float]]:
    steps = {}
    for name in ("chainrule eager", "chainrule compiled"):
        model, shape, batch = build(net)
        x, y = make_data(shape, batch)
        opt = cr.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True)
        loss_fn = nn.CrossEntropyLoss()
        if name.endswith("eager"):
            xt = cr.tensor(x)

            def eager(model=model, opt=opt, loss_fn=loss_fn, xt=xt, y=y) -> float:
                opt.zero_grad()
                loss = loss_fn(model(xt), y)
                loss.backward()
                opt.step()
                return loss.item()

            steps[name] = eager
        else:
            step = cr.compile(lambda a, b, m=model, f=loss_fn: f(m(a), b), opt, model=model)
            steps[name] = lambda step=step, x=x, y=y: step(x, y).item()
    return steps


def torch_twin(model: nn.Module) -> object:
    """The same layers in PyTorch, with the chainrule model's weights."""
    import torch

    layers = []
    for m in model:
        kind = type(m).__name__
        if kind == "Conv2d":
            layers.append(torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size,
                                          padding=m.padding, bias=m.bias is not None))
        elif kind == "BatchNorm2d":
            layers.append(torch.nn.BatchNorm2d(m.num_features))
        elif kind == "Linear":
            layers.append(torch.nn.Linear(m.in_features, m.out_features))
        elif kind == "MaxPool2d":
            layers.append(torch.nn.MaxPool2d(m.kernel_size))
        else:
            layers.append({"ReLU": torch.nn.ReLU(), "Flatten": torch.nn.Flatten(),
                           "AdaptiveAvgPool2d": torch.nn.AdaptiveAvgPool2d(1)}[kind])
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return twin


def torch_step(net: str) -> Callable[[], float] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(blas_threads())
    model, shape, batch = build(net)
    twin = torch_twin(model)
    x, y = make_data(shape, batch)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)
    opt = torch.optim.SGD(twin.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True)

    def step() -> float:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(twin(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def numpy_step(net: str) -> Callable[[], float]:
    """The hand-written NumPy step: im2col layers with explicit forward/backward."""
    model, shape, batch = build(net)
    x, y = make_data(shape, batch)
    x = np.ascontiguousarray(x)
    layers = [_numpy_layer(m) for m in model]
    velocity = [[np.zeros_like(p) for p in layer.params] for layer in layers]

    def step() -> float:
        h = x
        for layer in layers:
            h = layer.forward(h)
        shifted = h - h.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_probs[np.arange(batch), y].mean()
        grad = np.exp(log_probs)
        grad[np.arange(batch), y] -= 1
        grad /= batch
        for layer in reversed(layers):
            grad = layer.backward(grad)
        for layer, vs in zip(layers, velocity):
            for p, g, v in zip(layer.params, layer.grads, vs):
                v *= MOMENTUM
                v += g
                p -= LR * (g + MOMENTUM * v)
        return float(loss)

    return step


class _Layer:
    params: tuple = ()
    grads: tuple = ()


class _Conv(_Layer):
    """im2col convolution (stride 1) on NCHW arrays, col2im by strided accumulation."""

    def __init__(self, w: np.ndarray, b: np.ndarray | None, pad: int) -> None:
        self.params = (w,) if b is None else (w, b)
        self.pad = pad

    def forward(self, x: np.ndarray) -> np.ndarray:
        w = self.params[0]
        o, c, k, _ = w.shape
        p = self.pad
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        n, _, hp, wp = self.xp.shape
        ho, wo = hp - k + 1, wp - k + 1
        cols = np.lib.stride_tricks.sliding_window_view(self.xp, (k, k), axis=(2, 3))
        self.cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
        out = self.cols @ w.reshape(o, -1).T
        if len(self.params) == 2:
            out += self.params[1]
        self.out_shape = (n, ho, wo, o)
        return out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        w = self.params[0]
        o, c, k, _ = w.shape
        n, ho, wo, _ = self.out_shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, o)
        self.grads = (d.T @ self.cols).reshape(w.shape), d.sum(axis=0)
        dcols = (d @ w.reshape(o, -1)).reshape(n, ho, wo, c, k, k)
        dx = np.zeros_like(self.xp)
        for i in range(k):
            for j in range(k):
                dx[:, :, i:i + ho, j:j + wo] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        p = self.pad
        return dx[:, :, p:dx.shape[2] - p, p:dx.shape[3] - p]


class _BatchNorm(_Layer):
    def __init__(self, gamma: np.ndarray, beta: np.ndarray) -> None:
        self.params = (gamma, beta)

    def forward(self, x: np.ndarray) -> np.ndarray:
        gamma, beta = (v[None, :, None, None] for v in self.params)
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        var = x.var(axis=(0, 2, 3), keepdims=True)
        self.inv_std = 1.0 / np.sqrt(var + 1e-5)
        self.xhat = (x - mean) * self.inv_std
        return self.xhat * gamma + beta

    def backward(self, dout: np.ndarray) -> np.ndarray:
        gamma = self.params[0][None, :, None, None]
        self.grads = ((dout * self.xhat).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3)))
        dxhat = dout * gamma
        return (dxhat - dxhat.mean(axis=(0, 2, 3), keepdims=True) - self.xhat
                * (dxhat * self.xhat).mean(axis=(0, 2, 3), keepdims=True)) * self.inv_std


class _ReLU(_Layer):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.mask


class _MaxPool(_Layer):
    """2x2 max pooling, stride 2."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        win = x.reshape(n, c, h // 2, 2, w // 2, 2)
        out = win.max(axis=(3, 5))
        self.mask = win == out[:, :, :, None, :, None]
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = self.mask * dout[:, :, :, None, :, None]
        n, c, h2, _, w2, _ = dx.shape
        return dx.reshape(n, c, h2 * 2, w2 * 2)


class _GlobalAvg(_Layer):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        h, w = self.shape[2:]
        return np.broadcast_to(dout[:, :, None, None] / (h * w), self.shape)


class _Flatten(_Layer):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self.shape)


class _Linear(_Layer):
    def __init__(self, w: np.ndarray, b: np.ndarray) -> None:
        self.params = (w, b)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.params[0].T + self.params[1]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.grads = (dout.T @ self.x, dout.sum(axis=0))
        return dout @ self.params[0]


def _numpy_layer(m: nn.Module) -> _Layer:
    kind = type(m).__name__
    copy = lambda p: None if p is None else p.data.copy()
    if kind == "Conv2d":
        return _Conv(copy(m.weight), copy(m.bias), m.padding[0])
    if kind == "BatchNorm2d":
        return _BatchNorm(copy(m.weight), copy(m.bias))
    if kind == "Linear":
        return _Linear(copy(m.weight), copy(m.bias))
    return {"ReLU": _ReLU, "MaxPool2d": _MaxPool, "AdaptiveAvgPool2d": _GlobalAvg,
            "Flatten": _Flatten}[kind]()


# ----------------------------------------------------------------------------- measures
def blas_threads() -> int:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var):
            return int(os.environ[var])
    return os.cpu_count() or 1


def step_flops(net: str) -> float:
    """Multiply-adds x 2 of the convolutions and Linear layers, forward and backward (x3)."""
    model, shape, batch = build(net)
    x = cr.zeros(batch, *shape)
    total = 0.0
    with cr.no_grad():
        for m in model:
            out = m(x)
            if isinstance(m, nn.Conv2d):
                total += 2.0 * out.data.size * m.weight.data[0].size
            elif isinstance(m, nn.Linear):
                total += 2.0 * out.data.size * m.in_features
            x = out
    return 3 * total


def sgemm_rate(seconds: float = 2.0) -> float:
    """The best float32 GEMM rate (FLOP/s) of NumPy's BLAS on 2048 x 2048 matrices."""
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    out = np.empty_like(a)
    best, start = np.inf, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        np.matmul(a, a, out=out)
        best = min(best, time.perf_counter() - t)
    return 2 * 2048**3 / best


def peak_memory(net: str) -> dict[str, float]:
    """Peak MiB NumPy holds during one chainrule step (after a warm-up step)."""
    result = {}
    for name, step in chainrule_steps(net).items():
        step()
        tracemalloc.start()
        step()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result[name] = peak / 2**20
    return result


def time_interleaved(impls: dict[str, Callable[[], float]], rounds: int) -> dict[str, dict]:
    """Wall time per step (median, min) and the process's CPU time per step (median).

    On a busy machine the wall time grows with the other programs' load; the CPU time
    much less. With one thread (``OPENBLAS_NUM_THREADS=1``) the CPU time is close to the
    wall time the step would take on an idle core.
    """
    for f in impls.values():
        f()  # warm up: traces, BLAS threads, caches
    samples: dict[str, list[float]] = {name: [] for name in impls}
    cpu: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(rounds):
        for name, f in impls.items():
            c, t = time.process_time(), time.perf_counter()
            f()
            samples[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return {name: {"median_ms": 1e3 * statistics.median(s), "min_ms": 1e3 * min(s),
                   "cpu_ms": 1e3 * statistics.median(cpu[name])}
            for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 10")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--net", choices=list(NETS), action="append",
                        help="only this network (repeatable; default both)")
    args = parser.parse_args()
    rounds = 3 if args.quick else 10
    reuse_freed_memory()  # as the Trainer does; process-wide, for PyTorch's arrays too
    rate = sgemm_rate(1.0 if args.quick else 3.0)
    report: dict = {"blas_threads": blas_threads(), "sgemm_gflops": rate / 1e9, "nets": {}}
    for net in args.net or list(NETS):
        impls = chainrule_steps(net)
        t = torch_step(net)
        if t is not None:
            impls["pytorch eager"] = t
        impls["numpy im2col"] = numpy_step(net)
        times = time_interleaved(impls, rounds)
        flops = step_flops(net)
        entry = {"batch": NETS[net][2], "gflop_per_step": flops / 1e9, "times": times}
        if "pytorch eager" in times:
            base, base_cpu = times["pytorch eager"]["median_ms"], times["pytorch eager"]["cpu_ms"]
            entry["ratio_to_pytorch"] = {k: v["median_ms"] / base for k, v in times.items()}
            entry["cpu_ratio_to_pytorch"] = {k: v["cpu_ms"] / base_cpu for k, v in times.items()}
        entry["share_of_sgemm_rate"] = {k: flops / (v["median_ms"] / 1e3) / rate
                                        for k, v in times.items()}
        if net == "cifar-convnet":
            entry["peak_numpy_mib"] = peak_memory(net)
        report["nets"][net] = entry
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"sgemm: {report['sgemm_gflops']:.0f} GFLOP/s with {report['blas_threads']} threads")
    for net, entry in report["nets"].items():
        print(f"\n{net}: batch {entry['batch']}, {entry['gflop_per_step']:.2f} GFLOP per step")
        for name, t in entry["times"].items():
            ratio = entry.get("ratio_to_pytorch", {}).get(name)
            print(f"  {name:20s} {t['median_ms']:9.1f} ms (min {t['min_ms']:8.1f}, cpu "
                  f"{t['cpu_ms']:8.1f})  "
                  + (f"x{ratio:5.2f} PyTorch  " if ratio is not None else "")
                  + f"{100 * entry['share_of_sgemm_rate'][name]:5.1f}% of sgemm rate")
        for name, mib in entry.get("peak_numpy_mib", {}).items():
            print(f"  peak NumPy memory, {name}: {mib:.0f} MiB")


if __name__ == "__main__":
    main()
