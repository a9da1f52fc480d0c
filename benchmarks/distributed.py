"""Data-parallel training on this machine: step time, all-reduce time, loopback bandwidth.

Three ways to spend two cores on one training step of the same global batch, interleaved:

- one process, 1 BLAS thread (the baseline);
- one process, 2 BLAS threads (the cores shared inside NumPy's matrix products);
- ``mpiexec -n 2``, 1 BLAS thread per rank (each rank half the batch, gradients averaged
  with one ``Allreduce`` per parameter group).

For each: the median time per step, the time per step spent in the all-reduce, and the
rest (forward, backward, update). Then the all-reduce bandwidth between two ranks on
loopback for message sizes from 4 KiB to 64 MiB, and the ring all-reduce cost model
(docs/distributed.md) applied to the measured compute time: the projected efficiency at
K = 8, 64, 256 ranks on 10 and 100 Gbit/s networks, and the per-rank batch at which it
passes 90%.

Models (``MODELS``, random data of the right shape, no download): the MNIST MLP of
``chainrule train`` (784 -> 512 -> 10), and the default CIFAR-10 ConvNet of ``chainrule
train --model cnn`` (``32 pool 64 pool 128 128 pool``, batch norm, 3x32x32 inputs), timed
over a tenth of the steps (one of its steps costs about 40 of the MLP's).

    python benchmarks/distributed.py                    # about 4 minutes
    python benchmarks/distributed.py --quick            # about 1 minute
    python benchmarks/distributed.py --models convnet   # the ConvNet only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
#: name -> (input shape, classes, builder(cr) -> model, fraction of the steps timed)
MODELS = {
    "mlp": ((784,), 10, lambda cr: cr.nn.MLP(784, [512], 10), 1.0),
    "convnet": ((3, 32, 32), 10, lambda cr: cr.nn.ConvNet(3, 10), 0.1),
}
SIZES = [2**k for k in range(12, 27, 2)]  # bytes: 4 KiB .. 64 MiB
#: Networks of the projection: Gbit/s -> latency per ring step (10 GbE over TCP; a
#: 100 Gbit/s InfiniBand or RoCE fabric).
NETWORKS = {10: 25e-6, 100: 2e-6}


# ----------------------------------------------------------------------------- workers
def worker_step(model_name: str, global_batch: int, steps: int) -> None:
    """One job: time ``steps`` compiled data-parallel steps; rank 0 prints a JSON line."""
    import chainrule as cr
    from chainrule import distributed as dist

    dist.init()
    k, r = dist.world_size(), dist.rank()
    shape, classes, build, _ = MODELS[model_name]
    cr.manual_seed(0)
    model = build(cr)
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    hook = dist.GradientAllreduce()
    loss = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss(model(x), y), opt, model=model, gradient_hook=hook)
    rng = np.random.default_rng(r)
    batch = global_batch // k
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, classes, batch)
    for _ in range(5):  # trace and warm up
        step(x, y)
    dist.barrier()
    times, reduce_before = [], hook.seconds
    for _ in range(steps):
        start = time.perf_counter()
        step(x, y)
        times.append(time.perf_counter() - start)
    allreduce = (hook.seconds - reduce_before) / steps
    if dist.is_main():
        grad_bytes = sum(p.data.nbytes for p in model.parameters())
        print(json.dumps({"step": statistics.median(times), "allreduce": allreduce,
                          "grad_bytes": grad_bytes}), flush=True)


def worker_bandwidth(repeats: int) -> None:
    """All-reduce (sum, in place, float32) of each size between the ranks; rank 0 prints."""
    from chainrule import distributed as dist

    dist.init()
    k = dist.world_size()
    rows = []
    for size in SIZES:
        a = np.ones(size // 4, dtype=np.float32)
        dist.allreduce_(a)
        dist.barrier()
        start = time.perf_counter()
        for _ in range(repeats):
            dist.allreduce_(a)
        seconds = (time.perf_counter() - start) / repeats
        rows.append({"bytes": size, "seconds": seconds,
                     "bus_gbit": 2 * (k - 1) / k * size * 8 / seconds / 1e9})
    if dist.is_main():
        print(json.dumps(rows), flush=True)


# ----------------------------------------------------------------------------- driver
def mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        sys.exit("benchmarks/distributed.py: no mpiexec; pip install 'chainrule[mpi]'")
    return found


def run_job(ranks: int, threads: int, *args: str) -> object:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), PYTHONPATH=str(SRC))
    cmd = [mpiexec(), "-n", str(ranks), sys.executable, __file__, "--worker", *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def projection(compute_s: float, grad_bytes: int, batch: int) -> list[str]:
    """The ring all-reduce model: per step and rank 2 (K-1)/K x gradient bytes go over the
    link (plus 2 (K-1) latencies); efficiency = compute / (compute + communication) with the
    per-rank batch and so the compute time fixed (weak scaling)."""
    lines = ["| K | network | all-reduce ms | efficiency | per-rank batch for 90% |",
             "|---|---|---|---|---|"]
    per_example = compute_s / batch
    for k in (8, 64, 256):
        for gbit, latency in NETWORKS.items():
            comm = 2 * (k - 1) / k * grad_bytes * 8 / (gbit * 1e9) + 2 * (k - 1) * latency
            eff = compute_s / (compute_s + comm)
            need = int(np.ceil(9 * comm / per_example))
            lines.append(f"| {k} | {gbit} Gbit/s | {comm * 1e3:.2f} | {eff:.0%} | {need} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--batch", type=int, default=128, help="global batch (default 128)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        help="the models to time (default: all)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "step":
            worker_step(rest[0], int(rest[1]), int(rest[2]))
        else:
            worker_bandwidth(int(rest[0]))
        return
    steps, repeats = (30, 2) if args.quick else (100, 3)
    setups = [("1 process, 1 BLAS thread", 1, 1), ("1 process, 2 BLAS threads", 1, 2),
              ("2 ranks, 1 BLAS thread each", 2, 1)]
    for name in args.models:
        timed = max(3, round(steps * MODELS[name][3]))
        results: dict[str, list[dict]] = {label: [] for label, _, _ in setups}
        for _ in range(repeats):  # interleaved
            for label, ranks, threads in setups:
                results[label].append(run_job(ranks, threads, "step", name, str(args.batch),
                                              str(timed)))
        print(f"\n## {name}, global batch {args.batch} (medians of {repeats} interleaved "
              f"jobs of {timed} steps)\n")
        print("| setup | step ms | all-reduce ms | compute ms | speed-up |")
        print("|---|---|---|---|---|")
        base = statistics.median(r["step"] for r in results[setups[0][0]])
        for label, _, _ in setups:
            step = statistics.median(r["step"] for r in results[label])
            reduce = statistics.median(r["allreduce"] for r in results[label])
            print(f"| {label} | {step * 1e3:.2f} | {reduce * 1e3:.3f} | "
                  f"{(step - reduce) * 1e3:.2f} | {base / step:.2f}x |")
        single = results[setups[0][0]][0]
        compute = statistics.median(r["step"] for r in results[setups[0][0]])
        print(f"\ngradient: {single['grad_bytes'] / 2**20:.2f} MiB per step; projection at a "
              f"per-rank batch of {args.batch} (compute {compute * 1e3:.2f} ms per step):\n")
        print("\n".join(projection(compute, single["grad_bytes"], args.batch)))
    rows = run_job(2, 1, "bandwidth", "5" if args.quick else "20")
    print("\n## all-reduce between 2 ranks on loopback (float32, in place)\n")
    print("| message | time | bus bandwidth |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row['bytes'] / 1024:,.0f} KiB | {row['seconds'] * 1e6:,.0f} us | "
              f"{row['bus_gbit']:.1f} Gbit/s |")


if __name__ == "__main__":
    main()
