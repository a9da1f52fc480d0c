"""How the gradient flows, and where it dies: marks for dead units and vanishing gradients.

Two things stop learning, and both show on the backward pass:

- **dead**: an elementwise gate whose local gradient is exactly 0 lets no gradient
  through. A ReLU whose inputs are all negative is *dead*; in a batch, a unit (a column)
  is dead when it is 0 for every example.
- **vanishing**: a gate where the gradient becomes tiny. Either the gate is saturated
  (an elementwise gate whose local gradients are all below ``SATURATED_BELOW``, such as a
  sigmoid far from 0; a gate with a number folded in, ``*0.001``, is not a function that
  saturates), or the gradient it sends back is below ``VANISHING_BELOW`` times
  the gradient the backward pass started with, while the one it received was not.

>>> import chainrule as cr
>>> from chainrule.explain import trace
>>> x = cr.tensor([-1.0, -2.0], dtype="float64", requires_grad=True)
>>> [m.kind for m in diagnose(trace(cr.relu(x).sum()))]
['dead']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainrule.explain.graph import Step, Trace

__all__ = ["SATURATED_BELOW", "VANISHING_BELOW", "Mark", "diagnose"]

#: An elementwise gate whose local gradients are all smaller than this is saturated.
SATURATED_BELOW = 0.01
#: A gradient smaller than this times the starting gradient has vanished.
VANISHING_BELOW = 1e-3


@dataclass
class Mark:
    """A warning drawn on a gate: ``kind`` is ``"dead"`` or ``"vanishing"``."""

    node: int
    kind: str
    detail: str


def diagnose(tr: Trace) -> list[Mark]:
    """The marks of every gate of ``tr``, in the order of the backward pass."""
    seeds = [float(np.abs(w.grad).max()) for w in tr.wires if w.dst is None and w.grad is not None
             and np.size(w.grad)]
    scale = max(seeds, default=1.0) or 1.0
    marks = []
    for s in tr.steps:
        if s.kind != "gate":
            continue
        mark = _dead(s) or _vanishing(s, scale)
        if mark is not None:
            marks.append(mark)
    return marks


def _local_array(s: Step) -> np.ndarray | None:
    """The elementwise local gradient of a one-input gate, if the trace has it as numbers."""
    if len(s.inputs) != 1 or not isinstance(s.local[0], np.ndarray):
        return None
    return np.abs(np.asarray(s.local[0], dtype=np.float64))


def _dead(s: Step) -> Mark | None:
    local = _local_array(s)
    if local is None or local.size == 0:
        return None
    name = f"{s.node.label} ({s.node.name})"
    if not local.any():
        return Mark(s.node.id, "dead", f"dead {name}: every local gradient is 0, so no "
                    "gradient passes back through it")
    if local.ndim == 2 and local.shape[0] > 1:
        dead_units = int((~local.any(axis=0)).sum())
        if dead_units:
            return Mark(s.node.id, "dead", f"{name}: {dead_units} of {local.shape[1]} units "
                        f"are dead (local gradient 0 for all {local.shape[0]} examples)")
    return None


def _vanishing(s: Step, scale: float) -> Mark | None:
    local = _local_array(s)
    name = f"{s.node.label} ({s.node.name})"
    constants = any(k[:1] == "c" and k[1:].isdigit() for k in s.node.params)
    if local is not None and local.size and local.max() < SATURATED_BELOW and not constants:
        return Mark(s.node.id, "vanishing", f"{name} is saturated: every local gradient is "
                    f"below {SATURATED_BELOW:g} (largest {local.max():.1e}), so the gradient "
                    "vanishes here")
    upstream = float(np.abs(np.asarray(s.upstream, dtype=np.float64)).max(initial=0.0))
    sent = [float(np.abs(d).max(initial=0.0)) for d in s.downstream if d is not None]
    if not sent or upstream < VANISHING_BELOW * scale:
        return None
    largest = max(sent)
    if 0 < largest < VANISHING_BELOW * scale:
        return Mark(s.node.id, "vanishing", f"the gradient vanishes at {name}: it receives "
                    f"{upstream:.1e} and sends back at most {largest:.1e}, below "
                    f"{VANISHING_BELOW:g} of the gradient the backward pass started with")
    return None
