"""Where each part of a drawn trace goes: gates, inputs, the value on every wire.

Every wire of the trace becomes a node of its own (a "value" node, as wide and tall as
the numbers drawn on it), so forward values and gradients never overlap a gate or
another wire's numbers. Graphviz ``dot`` (``-Tjson``) places the nodes when it is
installed; otherwise a small layered layout in pure Python does (longest-path ranks,
barycenter ordering). Either way the result is a :class:`Layout`: centres in px (y
down) and the path of every edge, which :mod:`chainrule.explain.svg` draws.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

from chainrule.explain.graph import ExplainError, Trace

__all__ = ["DOT_TIMEOUT_S", "LNode", "Layout", "place"]

DOT_TIMEOUT_S = 60


@dataclass
class LNode:
    """A drawn node: its kind (gate, input, const, output, value), size and centre."""

    key: str
    kind: str  # gate, input, const, output, value
    width: float
    height: float
    x: float = 0.0
    y: float = 0.0


@dataclass
class Layout:
    """Positions (centres, in px, y down) of every drawn node and the path of every edge."""

    width: float
    height: float
    nodes: dict[str, LNode]
    edges: list[tuple[str, str, list[tuple[float, float]], bool]]  # src, dst, bezier, arrow
    engine: str


def _graph(tr: Trace, wire_sizes: list[tuple[float, float]]) -> tuple[dict[str, LNode], list]:
    """The drawn graph: node boxes and edges, with one 'value' node per wire."""
    nodes: dict[str, LNode] = {}
    for n in tr.nodes:
        if n.kind == "op":
            r = min(max(17.0, len(n.label) * 4.2 + 8), 36.0)
            nodes[f"n{n.id}"] = LNode(f"n{n.id}", "gate", 2 * r, 2 * r)
        elif n.kind == "input":
            nodes[f"n{n.id}"] = LNode(f"n{n.id}", "input", max(24.0, len(n.name) * 8.5 + 8), 24)
        else:
            nodes[f"n{n.id}"] = LNode(f"n{n.id}", "const", max(36.0, len(n.name) * 8 + 10), 22)
    edges = []
    for k, (w, (width, height)) in enumerate(zip(tr.wires, wire_sizes)):
        vkey = f"w{k}"
        nodes[vkey] = LNode(vkey, "value", width, height)
        edges.append((f"n{w.src}", vkey))
        if w.dst is None:
            okey = f"o{k}"
            name = tr.nodes[w.src].name
            nodes[okey] = LNode(okey, "output", max(24.0, len(name) * 8.5 + 8), 24)
            edges.append((vkey, okey))
        else:
            edges.append((vkey, f"n{w.dst}"))
    return nodes, edges


def place(tr: Trace, wire_sizes: list[tuple[float, float]], engine: str = "auto") -> Layout:
    """Place the trace's nodes, each wire's value node ``wire_sizes[k]`` (width, height) px.

    ``engine`` is ``"dot"``, ``"layered"`` or ``"auto"`` (dot when installed).
    """
    if engine not in ("auto", "dot", "layered"):
        raise ExplainError(f"layout: engine must be 'auto', 'dot' or 'layered', not {engine!r}")
    nodes, edges = _graph(tr, wire_sizes)
    if engine in ("auto", "dot"):
        dot = shutil.which("dot")
        if dot is None:
            if engine == "dot":
                raise ExplainError("layout: Graphviz 'dot' is not installed (use engine='layered')")
        else:
            try:
                return _dot_layout(dot, nodes, edges)
            except (OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
                if engine == "dot":
                    raise ExplainError(f"layout: Graphviz dot failed: {e}") from None
    return _layered_layout(nodes, edges)


def _dot_layout(dot: str, nodes: dict[str, LNode], edges: list) -> Layout:
    lines = ["digraph G {", "rankdir=LR; nodesep=0.25; ranksep=0.3; splines=spline;",
             'node [fixedsize=true label=""];']
    for n in nodes.values():
        shape = "circle" if n.kind == "gate" else "box"
        lines.append(f'{n.key} [shape={shape} width={n.width / 72:.3f} '
                     f'height={n.height / 72:.3f}];')
    for src, dst in edges:
        attrs = []
        if nodes[src].kind == "value":
            attrs.append("tailport=e")
        if nodes[dst].kind == "value":
            attrs.append("headport=w arrowhead=none")
        lines.append(f"{src} -> {dst} [{' '.join(attrs)}];")
    lines.append("}")
    proc = subprocess.run([dot, "-Tjson"], input="\n".join(lines), capture_output=True,
                          text=True, timeout=DOT_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise ValueError(proc.stderr.strip()[:300] or f"exit status {proc.returncode}")
    data = json.loads(proc.stdout)
    x0, y0, x1, y1 = (float(v) for v in data["bb"].split(","))
    pad = 10.0
    height = y1 - y0 + 2 * pad

    def pt(s: str) -> tuple[float, float]:
        x, y = s.split(",")[-2:]
        return float(x) - x0 + pad, height - (float(y) - y0 + pad)

    names = []
    for obj in data.get("objects", []):
        name = obj["name"]
        names.append(name)
        nodes[name].x, nodes[name].y = pt(obj["pos"])
    out_edges = []
    for e in data.get("edges", []):
        src, dst = names[e["tail"]], names[e["head"]]
        parts = e["pos"].split()
        end = None
        pts = []
        for p in parts:
            if p.startswith("e,"):
                end = pt(p[2:])
            elif p.startswith("s,"):
                continue
            else:
                pts.append(pt(p))
        if end is not None:
            pts.append(end)
        out_edges.append((src, dst, pts, end is not None))
    return Layout(x1 - x0 + 2 * pad, height, nodes, out_edges, "dot")


def _layered_layout(nodes: dict[str, LNode], edges: list) -> Layout:
    """Longest-path ranks left to right, barycenter ordering within ranks (no Graphviz)."""
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    pred: dict[str, list[str]] = {k: [] for k in nodes}
    for s, d in edges:
        succ[s].append(d)
        pred[d].append(s)
    # Kahn's order, then ranks by the longest path from a source.
    indeg = {k: len(v) for k, v in pred.items()}
    order = [k for k, v in indeg.items() if v == 0]
    i = 0
    while i < len(order):
        for d in succ[order[i]]:
            indeg[d] -= 1
            if indeg[d] == 0:
                order.append(d)
        i += 1
    rank = dict.fromkeys(nodes, 0)
    for k in order:
        for d in succ[k]:
            rank[d] = max(rank[d], rank[k] + 1)
    # Pull value nodes (and sources) right, next to the gate that consumes them.
    for k in reversed(order):
        if succ[k] and (nodes[k].kind in ("value", "input", "const")):
            rank[k] = min(rank[d] for d in succ[k]) - 1
    nranks = max(rank.values()) + 1
    layers: list[list[str]] = [[] for _ in range(nranks)]
    for k in order:
        layers[rank[k]].append(k)
    pos = {k: float(i) for layer in layers for i, k in enumerate(layer)}
    for sweep in range(4):
        rng = range(1, nranks) if sweep % 2 == 0 else range(nranks - 2, -1, -1)
        for r in rng:
            nbrs = pred if sweep % 2 == 0 else succ

            def bary(k: str, nbrs: dict = nbrs) -> float:
                ps = [pos[p] for p in nbrs[k]]
                return sum(ps) / len(ps) if ps else pos[k]

            layers[r].sort(key=bary)
            for i, k in enumerate(layers[r]):
                pos[k] = float(i)
    gap_x, gap_y, pad = 18.0, 14.0, 10.0
    x = pad
    layer_heights = [sum(nodes[k].height for k in layer) + gap_y * (len(layer) - 1)
                     for layer in layers]
    total_h = max(layer_heights) + 2 * pad
    for layer, lh in zip(layers, layer_heights):
        w = max(nodes[k].width for k in layer)
        y = pad + (total_h - 2 * pad - lh) / 2
        for k in layer:
            n = nodes[k]
            n.x, n.y = x + w / 2, y + n.height / 2
            y += n.height + gap_y
        x += w + gap_x
    out_edges = []
    for s, d in edges:
        a, b = nodes[s], nodes[d]
        p0 = _port(a, b, out=True)
        p3 = _port(b, a, out=False)
        dx = max((p3[0] - p0[0]) / 2, 10.0)
        pts = [p0, (p0[0] + dx, p0[1]), (p3[0] - dx, p3[1]), p3]
        out_edges.append((s, d, pts, b.kind != "value"))
    return Layout(x - gap_x + pad, total_h, nodes, out_edges, "layered")


def _port(n: LNode, other: LNode, out: bool) -> tuple[float, float]:
    if n.kind == "gate":
        r = n.width / 2
        dx, dy = other.x - n.x, other.y - n.y
        d = max((dx * dx + dy * dy) ** 0.5, 1e-9)
        return n.x + r * dx / d, n.y + r * dy / d
    return (n.x + n.width / 2, n.y) if out else (n.x - n.width / 2, n.y)
