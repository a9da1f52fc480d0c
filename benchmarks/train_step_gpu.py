"""``train_step.py --device cuda``: one training step on a GPU, chainrule against PyTorch.

chainrule runs eagerly on CuPy (the compiler writes NumPy code, for the CPU); PyTorch runs
eagerly on CUDA. Both start from the same weights and data (float32), take the same step
(forward, softmax loss, backward, SGD) and end it with ``loss.item()``, which waits for
the GPU, so a timed step is a finished step. The networks are train_step.py's plus the
3072-1024-1024-10 net at batch 1024. Timed round-robin in one process; median
microseconds per step and the ratio chainrule/PyTorch (the issue's target: within 1.2x
on the large nets).

    python benchmarks/train_step.py --device cuda           # the table (about 2 minutes)
    python benchmarks/train_step.py --device cuda --quick   # a smoke run (under 1 minute)

``--device array_api_strict`` runs the same script on the CPU without a GPU (chainrule
only, slow: a check that the script works, not a measurement).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from train_step import LR, NETWORKS, init_weights, make_data, time_interleaved

import chainrule as cr

GPU_NETWORKS: list[tuple[tuple[int, ...], int]] = [*NETWORKS, ((3072, 1024, 1024, 10), 1024)]


def chainrule_step(sizes: tuple[int, ...], batch: int, device: str) -> Callable[[], float]:
    """chainrule's eager step with the model and the batch on ``device``."""
    model = cr.nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1])
    linears = [m for m in model.modules() if isinstance(m, cr.nn.Linear)]
    for layer, (w, b) in zip(linears, init_weights(sizes)):
        layer.weight.data[...] = w
        layer.bias.data[...] = b
    model.to(device)
    opt = cr.optim.SGD(model.parameters(), lr=LR)
    criterion = cr.nn.CrossEntropyLoss()
    x, y = make_data(sizes, batch)
    xt, yt = cr.tensor(x, device=device), cr.tensor(y, device=device)

    def step() -> float:
        opt.zero_grad()
        loss = criterion(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_step(sizes: tuple[int, ...], batch: int, device: str) -> Callable[[], float] | None:
    """PyTorch's eager step on ``device`` (None without PyTorch with CUDA)."""
    try:
        import torch
    except ImportError:
        return None
    if not device.startswith("cuda") or not torch.cuda.is_available():
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
    model = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = make_data(sizes, batch)
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def step() -> float:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def versions(device: str) -> dict[str, Any]:
    info = {"gpu": device, "cupy": "-", "python": platform.python_version(),
            "numpy": np.__version__, "chainrule": cr.__version__,
            "date": time.strftime("%Y-%m-%d")}
    if device.startswith("cuda"):
        cupy = cr.cuda.cupy()
        index = cr.cuda.current_index(cr.Device(device))
        name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
        info.update(gpu=name.decode() if isinstance(name, bytes) else name,
                    cupy=cupy.__version__)
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = "not installed"
    return info


def run(device: str, rounds: int, seconds: float) -> dict[str, Any]:
    """Time every network on ``device``; the report as a dict."""
    cr.backend.require_device(device)
    rows = []
    for sizes, batch in GPU_NETWORKS:
        impls: dict[str, Callable[[], float]] = {
            "chainrule eager": chainrule_step(sizes, batch, device)}
        peer = torch_step(sizes, batch, device)
        if peer is not None:
            impls["pytorch eager"] = peer
        first = {name: f() for name, f in impls.items()}  # the same first step everywhere
        med = time_interleaved(impls, rounds, seconds)
        row: dict[str, Any] = {"network": "-".join(map(str, sizes)), "batch": batch,
                               "us_per_step": med, "first_loss": first}
        if peer is not None:
            row["chainrule/pytorch"] = med["chainrule eager"] / med["pytorch eager"]
        rows.append(row)
    return {"device": device, "versions": versions(device), "networks": rows}


def print_table(report: dict[str, Any]) -> None:
    v = report["versions"]
    print(f"# One training step on {v['gpu']} ({report['device']}), float32, median us, each "
          f"step ended by loss.item()\n# Python {v['python']}, NumPy {v['numpy']}, CuPy "
          f"{v['cupy']}, PyTorch {v['torch']}, chainrule {v['chainrule']}; {v['date']}\n")
    print("| network, batch | chainrule eager (CuPy) | pytorch eager (CUDA) | chainrule/pytorch |"
          " first losses |")
    print("|---|---|---|---|---|")
    for row in report["networks"]:
        us = row["us_per_step"]
        ratio = row.get("chainrule/pytorch")
        losses = ", ".join(f"{loss:.6f}" for loss in row["first_loss"].values())
        print(f"| {row['network']}, {row['batch']} | {us['chainrule eager']:.0f} | "
              f"{us.get('pytorch eager', float('nan')):.0f} | "
              f"{'-' if ratio is None else f'{ratio:.2f}'} | {losses} |")


def main(device: str, quick: bool, as_json: bool, rounds: int, seconds: float) -> None:
    if quick:
        rounds, seconds = 5, 1.5
    try:
        report = run(device, rounds, seconds)
    except cr.DeviceError as e:
        sys.exit(f"train_step.py --device {device}: {e}")
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
