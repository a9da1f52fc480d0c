"""Draw a trace as the lecture draws it: gates as circles, values above the wires, gradients below.

Layout: Graphviz ``dot`` (``-Tjson``) places the nodes when it is installed; otherwise a
small layered layout in pure Python does (longest-path ranks, barycenter ordering). In
both cases this module draws the picture itself, so the output is always the same plain
SVG: forward values in green above each wire, gradients in red below it, tensors as
their shape plus a few numbers or a small heat map.

Every wire carries its own gradient, so a value used twice shows the two gradients that
the copy gate adds up.

>>> svg = to_svg(t)                               # doctest: +SKIP
>>> open("graph.svg", "w").write(svg)             # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from chainrule.explain.graph import ExplainError, Trace
from chainrule.explain.text import format_array, format_number

__all__ = ["FORWARD_COLOR", "GRADIENT_COLOR", "Layout", "layout", "to_svg"]

FORWARD_COLOR = "#1a8a2e"
GRADIENT_COLOR = "#c62828"
WIRE_COLOR = "#444444"
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
CHAR_W = 6.8  # width of one 11px monospace character
LINE_H = 14.0
HEAT_MAX_ROWS = 8
HEAT_MAX_COLS = 16
CELL = 7.0
DOT_TIMEOUT_S = 60


# ----------------------------------------------------------------------------- value blocks
@dataclass
class _Block:
    """A forward value or gradient, measured, ready to draw at a given place."""

    width: float
    height: float
    lines: list[str] = field(default_factory=list)
    heat: np.ndarray | None = None  # values in [-1, 1], one per cell
    caption: str = ""


def _block(value: Any, precision: int) -> _Block:
    if value is None:
        return _Block(0.0, 0.0)
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 1:
        text = format_number(arr.reshape(()), precision)
        return _Block(len(text) * CHAR_W, LINE_H, lines=[text])
    if arr.ndim <= 2 and arr.size <= 12 and arr.shape[-1] <= 4 and (arr.ndim == 1 or
                                                                     arr.shape[0] <= 4):
        if arr.ndim == 1:
            lines = [format_array(arr, precision)]
        else:
            lines = [format_array(row, precision) for row in arr]
        width = max(len(s) for s in lines) * CHAR_W
        return _Block(width, LINE_H * len(lines), lines=lines)
    grid = _heat_grid(arr)
    shape = "(" + ", ".join(str(n) for n in arr.shape) + ("," if arr.ndim == 1 else "") + ")"
    caption = (f"{shape} {format_number(arr.min(), precision)}.."
               f"{format_number(arr.max(), precision)}")
    width = max(grid.shape[1] * CELL, len(caption) * CHAR_W)
    return _Block(width, grid.shape[0] * CELL + LINE_H + 2, heat=grid, caption=caption)


def _heat_grid(arr: np.ndarray) -> np.ndarray:
    """Block-average a tensor into at most HEAT_MAX_ROWS x HEAT_MAX_COLS cells in [-1, 1]."""
    a = arr.reshape(1, -1) if arr.ndim <= 1 else arr.reshape(-1, arr.shape[-1])
    rows = min(a.shape[0], HEAT_MAX_ROWS)
    cols = min(a.shape[1], HEAT_MAX_COLS)
    r_edges = np.linspace(0, a.shape[0], rows + 1).astype(int)
    c_edges = np.linspace(0, a.shape[1], cols + 1).astype(int)
    grid = np.empty((rows, cols))
    for i in range(rows):
        band = a[r_edges[i]:r_edges[i + 1]]
        for j in range(cols):
            grid[i, j] = band[:, c_edges[j]:c_edges[j + 1]].mean()
    scale = np.abs(grid).max()
    if not np.isfinite(scale) or scale == 0:
        return np.zeros_like(grid)
    return np.nan_to_num(grid / scale)


def _heat_color(v: float) -> str:
    """Diverging colour: blue for negative, white for 0, orange for positive."""
    v = max(-1.0, min(1.0, float(v)))
    if v >= 0:
        r, g, b = 255, int(255 - 120 * v), int(255 - 230 * v)
    else:
        r, g, b = int(255 + 220 * v), int(255 + 120 * v), 255
    return f"#{r:02x}{g:02x}{b:02x}"


def _draw_block(b: _Block, cx: float, top: float, color: str, cls: str, attrs: str) -> str:
    if b.width == 0:
        return ""
    out = [f'<g class="{cls}"{attrs}>']
    y = top
    if b.heat is not None:
        if cls.startswith("fwd"):
            out.append(_text(cx, y + LINE_H - 3, b.caption, color, 10))
            y += LINE_H
        gw = b.heat.shape[1] * CELL
        x0 = cx - gw / 2
        for i, row in enumerate(b.heat):
            for j, v in enumerate(row):
                out.append(f'<rect x="{x0 + j * CELL:.1f}" y="{y + i * CELL:.1f}" '
                           f'width="{CELL}" height="{CELL}" fill="{_heat_color(v)}"/>')
        out.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{gw:.1f}" '
                   f'height="{b.heat.shape[0] * CELL:.1f}" fill="none" stroke="{color}" '
                   'stroke-width="1"/>')
        if not cls.startswith("fwd"):
            out.append(_text(cx, y + b.heat.shape[0] * CELL + LINE_H - 1, b.caption, color, 10))
    else:
        for line in b.lines:
            out.append(_text(cx, y + LINE_H - 3, line, color, 11))
            y += LINE_H
    out.append("</g>")
    return "".join(out)


def _text(x: float, y: float, s: str, color: str, size: int, family: str = MONO,
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" fill="{color}" font-size="{size}" '
            f'font-family="{family}" font-weight="{weight}" text-anchor="middle">'
            f"{escape(s)}</text>")


# ----------------------------------------------------------------------------- layout
@dataclass
class _LNode:
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
    nodes: dict[str, _LNode]
    edges: list[tuple[str, str, list[tuple[float, float]], bool]]  # src, dst, bezier, arrow
    engine: str


def _graph(tr: Trace, precision: int, numbers: bool) -> tuple[dict[str, _LNode], list]:
    """The drawn graph: node boxes and edges, with one 'value' node per wire."""
    nodes: dict[str, _LNode] = {}
    for n in tr.nodes:
        if n.kind == "op":
            r = min(max(17.0, len(n.label) * 4.2 + 8), 36.0)
            nodes[f"n{n.id}"] = _LNode(f"n{n.id}", "gate", 2 * r, 2 * r)
        elif n.kind == "input":
            nodes[f"n{n.id}"] = _LNode(f"n{n.id}", "input", max(24.0, len(n.name) * 8.5 + 8), 24)
        else:
            nodes[f"n{n.id}"] = _LNode(f"n{n.id}", "const", max(36.0, len(n.name) * 8 + 10), 22)
    edges = []
    for k, w in enumerate(tr.wires):
        fwd = _block(tr.nodes[w.src].value, precision) if numbers else _Block(0, 0)
        bwd = _block(w.grad, precision) if numbers else _Block(0, 0)
        width = max(fwd.width, bwd.width, 30.0) + 10
        height = 2 * max(fwd.height, bwd.height, LINE_H) + 6
        vkey = f"w{k}"
        nodes[vkey] = _LNode(vkey, "value", width, height)
        edges.append((f"n{w.src}", vkey))
        if w.dst is None:
            okey = f"o{k}"
            name = tr.nodes[w.src].name
            nodes[okey] = _LNode(okey, "output", max(24.0, len(name) * 8.5 + 8), 24)
            edges.append((vkey, okey))
        else:
            edges.append((vkey, f"n{w.dst}"))
    return nodes, edges


def layout(tr: Trace, precision: int = 2, engine: str = "auto", numbers: bool = True) -> Layout:
    """Place the trace's drawing: ``engine`` is ``"dot"``, ``"layered"`` or ``"auto"``."""
    if engine not in ("auto", "dot", "layered"):
        raise ExplainError(f"layout: engine must be 'auto', 'dot' or 'layered', not {engine!r}")
    nodes, edges = _graph(tr, precision, numbers)
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


def _dot_layout(dot: str, nodes: dict[str, _LNode], edges: list) -> Layout:
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


def _layered_layout(nodes: dict[str, _LNode], edges: list) -> Layout:
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


def _port(n: _LNode, other: _LNode, out: bool) -> tuple[float, float]:
    if n.kind == "gate":
        r = n.width / 2
        dx, dy = other.x - n.x, other.y - n.y
        d = max((dx * dx + dy * dy) ** 0.5, 1e-9)
        return n.x + r * dx / d, n.y + r * dy / d
    return (n.x + n.width / 2, n.y) if out else (n.x - n.width / 2, n.y)


# ----------------------------------------------------------------------------- drawing
def to_svg(tr: Trace, style: str = "lecture", precision: int = 2, engine: str = "auto",
           title: str | None = None) -> str:
    """The trace as a standalone SVG document (a string).

    ``style='lecture'`` writes forward values above each wire (green) and gradients below
    (red); ``style='structure'`` draws the graph only. Tensors show as their shape and a
    few numbers, or as a small heat map (blue negative, orange positive) with their range.

    >>> svg = to_svg(trace(f), precision=2)           # doctest: +SKIP
    """
    if style not in ("lecture", "structure"):
        raise ExplainError(f"to_svg: style must be 'lecture' or 'structure', not {style!r}")
    if not isinstance(tr, Trace):
        raise ExplainError(f"to_svg: expected a Trace (from chainrule.explain.trace()), got "
                           f"{type(tr).__name__}")
    numbers = style == "lecture"
    lay = layout(tr, precision=precision, engine=engine, numbers=numbers)
    title = title if title is not None else tr.title
    top = 28.0 if title else 0.0
    legend_h = 20.0 if numbers else 0.0
    width = max(lay.width, 320.0)
    height = lay.height + top + legend_h
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" class="chainrule-graph">',
        f'<rect x="0" y="0" width="{width:.1f}" height="{height:.1f}" fill="#ffffff"/>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" '
        f'fill="{WIRE_COLOR}"/></marker></defs>',
    ]
    if title:
        out.append(_text(width / 2, 19, title, "#222222", 14, FONT, "bold"))
    out.append(f'<g transform="translate(0,{top:.1f})">')
    wires_by_key = {f"w{k}": (k, w) for k, w in enumerate(tr.wires)}
    for src, dst, pts, arrow in lay.edges:
        d = _path(pts)
        a, b = lay.nodes[src], lay.nodes[dst]
        if b.kind == "value" and pts:  # join the wire to the value's own segment
            d += f" L{b.x - b.width / 2:.1f},{b.y:.1f}"
        if a.kind == "value" and pts:
            d = f"M{a.x + a.width / 2:.1f},{a.y:.1f} L" + d[1:]
        cls = f'wire wire-{src} wire-{dst}'
        marker = ' marker-end="url(#arrow)"' if arrow else ""
        out.append(f'<path class="{cls}" d="{d}" fill="none" stroke="{WIRE_COLOR}" '
                   f'stroke-width="1.4"{marker}/>')
    for key, n in lay.nodes.items():
        if n.kind == "value":
            k, w = wires_by_key[key]
            x0, x1 = n.x - n.width / 2, n.x + n.width / 2
            out.append(f'<line class="wire wire-{key}" x1="{x0:.1f}" y1="{n.y:.1f}" '
                       f'x2="{x1:.1f}" y2="{n.y:.1f}" stroke="{WIRE_COLOR}" stroke-width="1.4"/>')
            if numbers:
                fwd = _block(tr.nodes[w.src].value, precision)
                bwd = _block(w.grad, precision)
                attrs = f' data-wire="{k}" data-src="{w.src}"'
                attrs += f' data-dst="{"" if w.dst is None else w.dst}"'
                out.append(_draw_block(fwd, n.x, n.y - 2 - fwd.height, FORWARD_COLOR, "fwd",
                                       attrs))
                out.append(_draw_block(bwd, n.x, n.y + 3, GRADIENT_COLOR, "bwd", attrs))
    for tn in tr.nodes:
        n = lay.nodes[f"n{tn.id}"]
        out.append(_draw_node(tn.kind, n, tn.label if tn.kind == "op" else tn.name, tn.id,
                              tn.op))
    for key, n in lay.nodes.items():
        if n.kind == "output":
            k, w = wires_by_key["w" + key[1:]]
            out.append(_draw_node("output", n, tr.nodes[w.src].name, w.src, None))
    out.append("</g>")
    if numbers:
        y = top + lay.height + 14
        out.append(f'<text x="10" y="{y:.1f}" font-size="11" font-family="{FONT}" '
                   f'fill="{FORWARD_COLOR}">forward value (above the wire)</text>')
        out.append(f'<text x="210" y="{y:.1f}" font-size="11" font-family="{FONT}" '
                   f'fill="{GRADIENT_COLOR}">gradient dL/d(value) (below the wire)</text>')
    out.append("</svg>")
    return "\n".join(out)


def _path(pts: list[tuple[float, float]]) -> str:
    if not pts:
        return ""
    d = [f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"]
    rest = pts[1:]
    n_cubic = (len(rest) // 3) * 3
    for i in range(0, n_cubic, 3):
        (a, b), (c, e), (f, g) = rest[i:i + 3]
        d.append(f"C{a:.1f},{b:.1f} {c:.1f},{e:.1f} {f:.1f},{g:.1f}")
    for x, y in rest[n_cubic:]:
        d.append(f"L{x:.1f},{y:.1f}")
    return " ".join(d)


def _draw_node(kind: str, n: _LNode, label: str, node_id: int, op: str | None) -> str:
    if kind == "op":
        r = n.width / 2
        size = 13 if len(label) <= 3 else 11 if len(label) <= 8 else 9
        return (f'<g class="gate" id="node-{node_id}" data-node="{node_id}" '
                f'data-op="{escape(op or "")}"><circle cx="{n.x:.1f}" cy="{n.y:.1f}" r="{r:.1f}" '
                'fill="#ffffff" stroke="#222222" stroke-width="1.6"/>'
                + _text(n.x, n.y + size * 0.36, label, "#111111", size, FONT, "bold") + "</g>")
    if kind == "output":
        return (f'<g class="output" data-node="{node_id}">'
                + _text(n.x, n.y + 5, label, "#111111", 14, FONT, "bold") + "</g>")
    if kind == "const":
        return (f'<g class="const" id="node-{node_id}" data-node="{node_id}"><rect '
                f'x="{n.x - n.width / 2:.1f}" y="{n.y - n.height / 2:.1f}" width="{n.width:.1f}" '
                f'height="{n.height:.1f}" rx="4" fill="#f4f4f4" stroke="#888888"/>'
                + _text(n.x, n.y + 4, label, "#333333", 11, FONT) + "</g>")
    return (f'<g class="input" id="node-{node_id}" data-node="{node_id}">'
            + _text(n.x, n.y + 5, label, "#111111", 14, FONT, "bold") + "</g>")
