"""One training step of an MLP, chainrule against its peers, measured side by side.

A step is: forward, softmax loss, backward, SGD update (float32). Every implementation
starts from the same weights and data and is timed in the same process, interleaved
(round-robin over implementations, many rounds), reporting the median microseconds per
step and ratios. Peers: hand-written NumPy (the lecture's 20-line style), PyTorch eager,
and JAX jit when installed.

    python benchmarks/train_step.py                 # the four networks of the issue
    python benchmarks/train_step.py --json          # machine-readable
    python benchmarks/train_step.py --mnist DIR     # + one MNIST epoch (default MLP) vs PyTorch
    python benchmarks/train_step.py --quick         # fewer rounds (a smoke run)
    python benchmarks/train_step.py --device cuda   # on a GPU: chainrule (CuPy) vs PyTorch

The CPU table takes about 3 minutes (--quick: under 1); --device cuda is described in
benchmarks/train_step_gpu.py.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

# Idle OpenMP threads (PyTorch's) sleep instead of spinning on the cores that the other
# implementations, timed in the same process, need; set before any library starts them.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

NETWORKS: list[tuple[tuple[int, ...], int]] = [
    ((2, 16, 16, 2), 32),
    ((3072, 100, 10), 200),
    ((784, 512, 256, 10), 128),
    ((3072, 1024, 1024, 10), 256),
]
LR = 1e-3


def init_weights(sizes: tuple[int, ...], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-uniform weights in PyTorch's (out, in) layout, zero biases."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = np.sqrt(6.0 / fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        layers.append((w, np.zeros(fan_out, dtype=np.float32)))
    return layers


def make_data(sizes: tuple[int, ...], batch: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return x, y


# ----------------------------------------------------------------------------- peers
def numpy_step(sizes: tuple[int, ...], batch: int) -> Callable[[], float]:
    """The lecture's hand-written NumPy training step, generalized to L layers."""
    params = [(w.copy(), b.copy()) for w, b in init_weights(sizes)]
    x, y = make_data(sizes, batch)
    rows = np.arange(batch)

    def step() -> float:
        acts = [x]
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        scores = acts[-1]
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / exp.sum(axis=1, keepdims=True)
        loss = -np.log(probs[rows, y]).mean()
        dout = probs
        dout[rows, y] -= 1
        dout /= batch
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            h_in = acts[i]
            dw = dout.T @ h_in
            db = dout.sum(axis=0)
            if i > 0:
                dout = dout @ w
                dout[h_in <= 0] = 0
            w -= LR * dw
            b -= LR * db
        return float(loss)

    return step


def chainrule_steps(
    sizes: tuple[int, ...], batch: int, only: str | None = None
) -> dict[str, Callable[[], float]]:
    """chainrule's eager and compiled steps (each with its own model), or just ``only``."""
    import chainrule as cr

    def build() -> tuple:
        model = cr.nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1])
        linears = [m for m in model.modules() if isinstance(m, cr.nn.Linear)]
        for layer, (w, b) in zip(linears, init_weights(sizes)):
            layer.weight.data[...] = w
            layer.bias.data[...] = b
        return model, cr.optim.SGD(model.parameters(), lr=LR), cr.nn.CrossEntropyLoss()

    x, y = make_data(sizes, batch)
    steps: dict[str, Callable[[], float]] = {}
    if only in (None, "chainrule eager"):
        xt, yt = cr.tensor(x), cr.tensor(y)
        model, opt, criterion = build()

        def eager() -> float:
            opt.zero_grad()
            loss = criterion(model(xt), yt)
            loss.backward()
            opt.step()
            return loss.item()

        steps["chainrule eager"] = eager
    if only in (None, "chainrule compiled"):
        model_c, opt_c, criterion_c = build()
        compiled = cr.compile(lambda a, b: criterion_c(model_c(a), b), opt_c, model=model_c)

        def fast() -> float:
            return compiled(x, y).item()

        steps["chainrule compiled"] = fast
    return steps


def torch_step(sizes: tuple[int, ...], batch: int) -> Callable[[], float] | None:
    try:
        import torch
    except ImportError:
        return None
    layers: list = []
    for i, (w, b) in enumerate(init_weights(sizes)):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = make_data(sizes, batch)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.functional.cross_entropy

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def jax_step(sizes: tuple[int, ...], batch: int) -> Callable[[], float] | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in init_weights(sizes)]
    x, y = make_data(sizes, batch)
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def loss_fn(params: list, x: object, y: object) -> object:
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def update(params: list, x: object, y: object) -> tuple:
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        new = [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]
        return new, loss

    state = {"params": params}

    def step() -> float:
        state["params"], loss = update(state["params"], xj, yj)
        return float(loss.block_until_ready())

    return step


def implementations(
    sizes: tuple[int, ...], batch: int, only: str | None = None
) -> dict[str, Callable[[], float]]:
    """The step of every implementation (or just ``only``), each from the same start."""
    impls: dict[str, Callable[[], float]] = {}
    if only is None or only.startswith("chainrule"):
        impls.update(chainrule_steps(sizes, batch, only))
    if only in (None, "numpy"):
        impls["numpy"] = numpy_step(sizes, batch)
    t = torch_step(sizes, batch) if only in (None, "pytorch") else None
    if t is not None:
        impls["pytorch"] = t
    j = jax_step(sizes, batch) if only in (None, "jax jit") else None
    if j is not None:
        impls["jax jit"] = j
    return impls if only is None else {only: impls[only]}


# ----------------------------------------------------------------------------- timing
def time_interleaved(
    impls: dict[str, Callable[[], float]], rounds: int, budget_s: float
) -> dict[str, float]:
    """Median microseconds per step, timing the implementations round-robin."""
    for f in impls.values():  # warm up (JIT compilation, first-trace, BLAS threads)
        for _ in range(3):
            f()
    # Steps per sample so that one sample takes ~budget_s / rounds / len(impls).
    per_sample = budget_s / rounds / len(impls)
    reps = {}
    for name, f in impls.items():
        t0 = time.perf_counter()
        f()
        dt = max(time.perf_counter() - t0, 1e-6)
        reps[name] = max(1, int(per_sample / dt))
    samples: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(rounds):
        for name, f in impls.items():
            n = reps[name]
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            samples[name].append((time.perf_counter() - t0) / n * 1e6)
    return {name: statistics.median(s) for name, s in samples.items()}


def check_agreement(sizes: tuple[int, ...], batch: int) -> float:
    """Largest relative difference of the first-step losses (all start from the same state)."""
    losses = [f() for f in implementations(sizes, batch).values()]
    return float((max(losses) - min(losses)) / max(abs(min(losses)), 1e-12))


def peak_rss_child(impl: str, net: int, steps: int) -> None:
    sizes, batch = NETWORKS[net]
    f = implementations(sizes, batch, only=impl)[impl]
    for _ in range(steps):
        f()
    print(_peak_rss_kib())


def _peak_rss_kib() -> int:
    """This process's peak resident memory in KiB.

    ``VmHWM`` belongs to the address space made at exec; ``ru_maxrss`` would carry the
    parent's peak over the fork that started this process."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss(impl: str, net: int, steps: int = 20) -> float | None:
    """Peak resident memory (MiB) of a fresh process running ``steps`` steps."""
    cmd = [sys.executable, __file__, "--rss-child", impl, str(net), str(steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return None
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def import_time(module: str, repeats: int = 5) -> float:
    """Median seconds of ``python -c 'import module'`` minus an empty interpreter start."""

    def run(code: str) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return run(f"import {module}") - run("pass")


# ----------------------------------------------------------------------------- MNIST epoch
def mnist_epoch(data_dir: str, hidden: list[int], dropout: float = 0.3, batch: int = 64,
                lr: float = 1e-3) -> dict:
    """One epoch over MNIST's 60,000 training images with ``chainrule train``'s default MLP
    (784 -> 512 -> 10, ReLU, dropout 0.3, Adam 1e-3, batch 64), against the same loop in
    PyTorch. chainrule runs it eagerly and compiled (what its Trainer uses)."""
    import torch

    import chainrule as cr

    ds = cr.data.load("mnist", data_dir)
    x = ds.train_images.reshape(len(ds.train_images), -1).astype(np.float32) / 255.0
    y = ds.train_labels.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    batches = [(x[order[i:i + batch]], y[order[i:i + batch]])
               for i in range(0, len(x) - batch + 1, batch)]

    def chainrule_loop(compiled: bool) -> Callable[[], None]:
        cr.manual_seed(0)
        model = cr.nn.MLP(784, hidden, 10, dropout=dropout)
        opt = cr.optim.Adam(model.parameters(), lr=lr)
        criterion = cr.nn.CrossEntropyLoss()
        step = cr.compile(lambda a, b: criterion(model(a), b), opt, model=model)

        def run() -> None:
            for xb, yb in batches:
                if compiled:
                    step(xb, yb)
                else:
                    opt.zero_grad()
                    loss = criterion(model(cr.tensor(xb)), cr.tensor(yb))
                    loss.backward()
                    opt.step()

        return run

    sizes = (784, *hidden, 10)
    layers: list = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [torch.nn.ReLU(), torch.nn.Dropout(dropout)]
    tmodel = torch.nn.Sequential(*layers)
    topt = torch.optim.Adam(tmodel.parameters(), lr=lr)
    tbatches = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in batches]

    def run_torch() -> None:
        tmodel.train()
        for xb, yb in tbatches:
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tmodel(xb), yb)
            loss.backward()
            topt.step()

    result = {}
    for name, f in (("chainrule eager", chainrule_loop(False)),
                    ("chainrule compiled", chainrule_loop(True)), ("pytorch", run_torch)):
        t0 = time.perf_counter()
        f()
        result[name] = time.perf_counter() - t0
    return result


# ----------------------------------------------------------------------------- report
def versions() -> dict:
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "date": time.strftime("%Y-%m-%d")}
    for mod in ("torch", "jax"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            pass
    import chainrule

    info["chainrule"] = chainrule.__version__
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (smoke run)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="time budget per network for the timed rounds (default 8)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS runs")
    parser.add_argument("--mnist", metavar="DIR", help="also time one MNIST epoch (IDX folder)")
    parser.add_argument("--mnist-hidden", type=int, nargs="+", default=[512],
                        help="hidden sizes of the MNIST MLP (default: 512, chainrule train's)")
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), or cuda / cuda:N: the GPU table (needs CuPy)")
    parser.add_argument("--rss-child", nargs=3, metavar=("IMPL", "NET", "STEPS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device != "cpu":
        import train_step_gpu

        train_step_gpu.main(args.device, args.quick, args.json, args.rounds, args.seconds)
        return
    if args.rss_child:
        impl, net, steps = args.rss_child
        peak_rss_child(impl, int(net), int(steps))
        return
    if args.quick:
        args.rounds, args.seconds, args.no_memory = 5, 1.5, True

    results = []
    for i, (sizes, batch) in enumerate(NETWORKS):
        impls = implementations(sizes, batch)
        med = time_interleaved(impls, args.rounds, args.seconds)
        row = {"network": "-".join(map(str, sizes)), "batch": batch, "us_per_step": med,
               "loss_agreement": check_agreement(sizes, batch)}
        best_cr = min(med["chainrule eager"], med["chainrule compiled"])
        peers = {k: v for k, v in med.items() if not k.startswith("chainrule")}
        row["ratios"] = {f"chainrule/{k}": best_cr / v for k, v in peers.items()}
        # The target: best chainrule over the fastest of all peers (NumPy included).
        row["ratios"]["chainrule/fastest peer"] = best_cr / min(peers.values())
        if not args.no_memory:
            row["peak_rss_mib"] = {name: peak_rss(name, i) for name in impls}
        results.append(row)
        if not args.json:
            print(f"  measured {row['network']} ...", file=sys.stderr)

    report: dict = {"versions": versions(), "networks": results}
    report["import_seconds"] = {"chainrule": import_time("chainrule")}
    try:
        report["import_seconds"]["torch"] = import_time("torch")
    except subprocess.CalledProcessError:
        pass
    if args.mnist:
        report["mnist_epoch_seconds"] = mnist_epoch(args.mnist, args.mnist_hidden)

    if args.json:
        print(json.dumps(report, indent=2))
        return
    print_table(report)


def print_table(report: dict) -> None:
    v = report["versions"]
    print(f"# One training step (forward, softmax loss, backward, SGD), float32, median us\n"
          f"# {v['machine']}; Python {v['python']}, NumPy {v['numpy']}, "
          f"PyTorch {v.get('torch', '-')}, JAX {v.get('jax', '-')}, chainrule {v['chainrule']}; "
          f"{v['date']}\n")
    names = list(report["networks"][0]["us_per_step"])
    header = "| network, batch | " + " | ".join(names) + " | ratios (best chainrule / peer) |"
    print(header)
    print("|" + "---|" * (len(names) + 2))
    for row in report["networks"]:
        cells = " | ".join(f"{row['us_per_step'][n]:.0f}" for n in names)
        ratios = ", ".join(f"{k.split('/')[1]} {r:.2f}" for k, r in row["ratios"].items())
        print(f"| {row['network']}, {row['batch']} | {cells} | {ratios} |")
    if "peak_rss_mib" in report["networks"][0]:
        print("\nPeak RSS (MiB; a fresh process that imports and builds only that one, "
              "20 steps):")
        for row in report["networks"]:
            mem = ", ".join(f"{k} {m:.0f}" for k, m in row["peak_rss_mib"].items() if m)
            print(f"  {row['network']}: {mem}")
    imp = report["import_seconds"]
    print("\nImport time: " + ", ".join(f"{k} {s * 1000:.0f} ms" for k, s in imp.items()))
    if "mnist_epoch_seconds" in report:
        print("MNIST epoch (s): " + ", ".join(
            f"{k} {s:.2f}" for k, s in report["mnist_epoch_seconds"].items()))


if __name__ == "__main__":
    main()
