"""Draw a trace as the lecture draws it: gates as circles, values above the wires, gradients below.

The nodes are placed by :mod:`chainrule.explain.layout` (Graphviz ``dot`` when it is
installed, a layered layout in pure Python otherwise); this module draws the picture
itself, so the output is always the same plain SVG: forward values in green above each
wire, gradients in red below it, tensors as their shape plus a few numbers or a small
heat map (:mod:`chainrule.explain.blocks`).

Every wire carries its own gradient, so a value used twice shows the two gradients that
the copy gate adds up. On request each gate's input wires also show the local gradient
and the product ``downstream = local x upstream`` (``local=True``), and each value its
numeric gradient check (``checks=True``). Gates where the gradient dies are marked:
dead units grey, vanishing gradients orange (``marks=True``, the default).

>>> svg = to_svg(t)                               # doctest: +SKIP
>>> open("graph.svg", "w").write(svg)             # doctest: +SKIP
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from chainrule.explain.blocks import (
    CELL,
    CHECK_COLOR,
    FONT,
    FORWARD_COLOR,
    GRADIENT_COLOR,
    LINE_H,
    LOCAL_COLOR,
    WIRE_COLOR,
    Block,
    draw_block,
    svg_text,
    text_width,
    value_block,
)
from chainrule.explain.graph import ExplainError, Step, Trace
from chainrule.explain.layout import Layout, LNode, place
from chainrule.explain.text import format_array, format_number

__all__ = ["CELL", "FORWARD_COLOR", "GRADIENT_COLOR", "Layout", "layout", "to_svg"]

DEAD_COLOR = "#8d8d8d"
VANISHING_COLOR = "#e65100"
_MARK_STYLE = {
    "dead": (DEAD_COLOR, "#eeeeee", ' stroke-dasharray="4 3"'),
    "vanishing": (VANISHING_COLOR, "#fff3e0", ""),
}
_LEGEND_GAP = 24.0
LEGEND_ROW = 480.0  # the legend may widen a small drawing to this before it wraps


def _wire_blocks(tr: Trace, precision: int, numbers: bool, local: bool,
                 checks: dict[int, Any] | None) -> list[tuple[Block, Block]]:
    """The forward and backward block of every wire, with the extra lines asked for."""
    if not numbers:
        return [(Block(0, 0), Block(0, 0)) for _ in tr.wires]
    gate_steps = {s.node.id: s for s in tr.steps if s.kind == "gate"}
    first_out: dict[int, int] = {}
    for k, w in enumerate(tr.wires):
        first_out.setdefault(w.src, k)
    blocks = []
    for k, w in enumerate(tr.wires):
        fwd = value_block(tr.nodes[w.src].value, precision)
        bwd = value_block(w.grad, precision)
        if local and w.dst is not None and w.dst in gate_steps:
            line = _local_line(gate_steps[w.dst], w.slot, precision)
            if line is not None:
                bwd.add(line[0], LOCAL_COLOR, "local", line[1])
        if checks is not None and first_out[w.src] == k and w.src in checks:
            check = checks[w.src]
            bwd.add(check.short(), CHECK_COLOR, f"check check-{check.verdict}",
                    check.text(precision))
        blocks.append((fwd, bwd))
    return blocks


def _local_line(step: Step, k: int, precision: int) -> tuple[str, str] | None:
    """``= local x upstream`` for input ``k`` of a gate: (text, tooltip)."""
    if k >= len(step.local) or step.downstream[k] is None or (
            isinstance(step.local[k], str) and step.local[k] == "-"):
        return None
    loc, inp, out = step.local[k], step.inputs[k].name, step.node.name
    tooltip = (f"downstream dL/d{inp} = local d{out}/d{inp} x upstream dL/d{out}")
    if isinstance(loc, str):
        return f"= {loc}", tooltip
    loc_arr, up = np.asarray(loc), np.asarray(step.upstream)
    if loc_arr.size == 1 and up.size == 1:
        text = (f"= {format_number(loc_arr.reshape(()), precision)} \u00d7 "
                f"{format_number(up.reshape(()), precision)}")
    elif loc_arr.ndim == 1 and loc_arr.size <= 4:
        text = f"= {format_array(loc_arr, precision)} \u2299 upstream"
    else:
        text = (f"= local \u2299 upstream, local {format_number(loc_arr.min(), precision)}.."
                f"{format_number(loc_arr.max(), precision)}")
    return text, tooltip


def _sizes(blocks: list[tuple[Block, Block]]) -> list[tuple[float, float]]:
    return [(max(f.width, b.width, 30.0) + 10, 2 * max(f.height, b.height, LINE_H) + 6)
            for f, b in blocks]


def layout(tr: Trace, precision: int = 2, engine: str = "auto", numbers: bool = True,
           local: bool = False, checks: dict[int, Any] | None = None) -> Layout:
    """Place the trace's drawing: ``engine`` is ``"dot"``, ``"layered"`` or ``"auto"``."""
    return place(tr, _sizes(_wire_blocks(tr, precision, numbers, local, checks)), engine)


def _legend(numbers: bool, local: bool, checks: bool, kinds: set[str]) -> list[tuple[str, str]]:
    items = []
    if numbers:
        items += [("forward value (above the wire)", FORWARD_COLOR),
                  ("gradient dL/d(value) (below the wire)", GRADIENT_COLOR)]
    if local:
        items.append(("= local gradient \u00d7 upstream", LOCAL_COLOR))
    if checks:
        items.append(("num: numerical gradient check, relative error", CHECK_COLOR))
    for kind in ("dead", "vanishing"):
        if kind in kinds:
            items.append((f"{kind}: {'no gradient passes' if kind == 'dead' else 'tiny gradient'}",
                          _MARK_STYLE[kind][0]))
    return items


def _legend_rows(items: list[tuple[str, str]], width: float
                 ) -> list[tuple[float, list[tuple[str, str]]]]:
    """The legend's items in rows no wider than ``width`` (an item alone may be wider)."""
    rows: list[tuple[float, list[tuple[str, str]]]] = []
    for text, color in items:
        w = text_width(text, 11, mono=False)
        if rows and rows[-1][0] + _LEGEND_GAP + w <= width:
            row_w, row = rows[-1]
            rows[-1] = (row_w + _LEGEND_GAP + w, [*row, (text, color)])
        else:
            rows.append((w, [(text, color)]))
    return rows


def to_svg(tr: Trace, style: str = "lecture", precision: int = 2, engine: str = "auto",
           title: str | None = None, local: bool = False, checks: bool | dict = False,
           marks: bool = True, id_prefix: str = "") -> str:
    """The trace as a standalone SVG document (a string).

    ``style='lecture'`` writes forward values above each wire (green) and gradients below
    (red); ``style='structure'`` draws the graph only. Tensors show as their shape and a
    few numbers, or as a small heat map (blue negative, orange positive) with their range.
    ``local=True`` adds, under each gradient entering a gate, ``= local x upstream``;
    ``checks=True`` (or the result of ``trace.gradient_check()``) adds each value's
    numeric gradient check; ``marks`` marks dead and vanishing gates. ``id_prefix``
    keeps element ids unique when several drawings share a page (a notebook).

    >>> svg = to_svg(trace(f), precision=2, local=True)   # doctest: +SKIP
    """
    if style not in ("lecture", "structure"):
        raise ExplainError(f"to_svg: style must be 'lecture' or 'structure', not {style!r}")
    if not isinstance(tr, Trace):
        raise ExplainError(f"to_svg: expected a Trace (from chainrule.explain.trace()), got "
                           f"{type(tr).__name__}")
    numbers = style == "lecture"
    check_map = None
    if numbers and checks is not False:
        check_map = tr.gradient_check() if checks is True else dict(checks)
    blocks = _wire_blocks(tr, precision, numbers, local and numbers, check_map)
    lay = place(tr, _sizes(blocks), engine)
    mark_of = {m.node: m for m in tr.marks()} if marks else {}
    title = title if title is not None else tr.title
    legend = _legend(numbers, local and numbers, check_map is not None,
                     {m.kind for m in mark_of.values()})
    title_w = text_width(title, 14, mono=False) + 20 if title else 0.0
    rows = _legend_rows(legend, max(lay.width, LEGEND_ROW, title_w) - 20)
    width = max(lay.width, 320.0, title_w, *(row_w + 20 for row_w, _ in rows))
    shift = (width - lay.width) / 2
    top = 28.0 if title else 0.0
    height = lay.height + top + 16.0 * len(rows) + (4.0 if rows else 0.0)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" class="chainrule-graph">',
        f'<rect x="0" y="0" width="{width:.1f}" height="{height:.1f}" fill="#ffffff"/>',
        f'<defs><marker id="{id_prefix}arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{WIRE_COLOR}"/></marker></defs>',
    ]
    if title:
        out.append(svg_text(width / 2, 19, title, "#222222", 14, FONT, "bold"))
    out.append(f'<g transform="translate({shift:.1f},{top:.1f})">')
    out += _wires(tr, lay, blocks, numbers, id_prefix)
    for tn in tr.nodes:
        n = lay.nodes[f"n{tn.id}"]
        out.append(_draw_node(tn.kind, n, tn.label if tn.kind == "op" else tn.name, tn.id,
                              tn.op, id_prefix, mark_of.get(tn.id)))
    for key, n in lay.nodes.items():
        if n.kind == "output":
            src = tr.wires[int(key[1:])].src
            out.append(_draw_node("output", n, tr.nodes[src].name, src, None, id_prefix, None))
    out.append("</g>")
    y = top + lay.height + 14
    for _, row in rows:
        x = 10.0
        for text, color in row:
            out.append(svg_text(x, y, text, color, 11, FONT, anchor="start"))
            x += text_width(text, 11, mono=False) + _LEGEND_GAP
        y += 16.0
    out.append("</svg>")
    return "\n".join(out)


def _wires(tr: Trace, lay: Layout, blocks: list[tuple[Block, Block]], numbers: bool,
           id_prefix: str) -> list[str]:
    out = []
    for src, dst, pts, arrow in lay.edges:
        d = _path(pts)
        a, b = lay.nodes[src], lay.nodes[dst]
        if b.kind == "value" and pts:  # join the wire to the value's own segment
            d += f" L{b.x - b.width / 2:.1f},{b.y:.1f}"
        if a.kind == "value" and pts:
            d = f"M{a.x + a.width / 2:.1f},{a.y:.1f} L" + d[1:]
        marker = f' marker-end="url(#{id_prefix}arrow)"' if arrow else ""
        out.append(f'<path class="wire wire-{src} wire-{dst}" d="{d}" fill="none" '
                   f'stroke="{WIRE_COLOR}" stroke-width="1.4"{marker}/>')
    for k, (w, (fwd, bwd)) in enumerate(zip(tr.wires, blocks)):
        n = lay.nodes[f"w{k}"]
        x0, x1 = n.x - n.width / 2, n.x + n.width / 2
        out.append(f'<line class="wire wire-w{k}" x1="{x0:.1f}" y1="{n.y:.1f}" '
                   f'x2="{x1:.1f}" y2="{n.y:.1f}" stroke="{WIRE_COLOR}" stroke-width="1.4"/>')
        if numbers:
            attrs = f' data-wire="{k}" data-src="{w.src}"'
            attrs += f' data-dst="{"" if w.dst is None else w.dst}"'
            out.append(draw_block(fwd, n.x, n.y - 2 - fwd.height, FORWARD_COLOR, "fwd", attrs))
            out.append(draw_block(bwd, n.x, n.y + 3, GRADIENT_COLOR, "bwd", attrs))
    return out


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


def _draw_node(kind: str, n: LNode, label: str, node_id: int, op: str | None, prefix: str,
               mark: Any) -> str:
    if kind == "op":
        r = n.width / 2
        size = 13 if len(label) <= 3 else 11 if len(label) <= 8 else 9
        stroke, fill, dash = _MARK_STYLE[mark.kind] if mark else ("#222222", "#ffffff", "")
        extra = cls = ""
        if mark:
            cls = f" mark-{mark.kind}"
            extra = (f"<title>{escape(mark.detail)}</title>"
                     + svg_text(n.x, n.y - r - 4, mark.kind, stroke, 9, FONT, "bold"))
        return (f'<g class="gate{cls}" id="{prefix}node-{node_id}" data-node="{node_id}" '
                f'data-op="{escape(op or "")}">{extra}<circle cx="{n.x:.1f}" cy="{n.y:.1f}" '
                f'r="{r:.1f}" fill="{fill}" stroke="{stroke}" stroke-width="1.6"{dash}/>'
                + svg_text(n.x, n.y + size * 0.36, label, "#111111", size, FONT, "bold") + "</g>")
    if kind == "output":
        return (f'<g class="output" data-node="{node_id}">'
                + svg_text(n.x, n.y + 5, label, "#111111", 14, FONT, "bold") + "</g>")
    if kind == "const":
        return (f'<g class="const" id="{prefix}node-{node_id}" data-node="{node_id}"><rect '
                f'x="{n.x - n.width / 2:.1f}" y="{n.y - n.height / 2:.1f}" width="{n.width:.1f}" '
                f'height="{n.height:.1f}" rx="4" fill="#f4f4f4" stroke="#888888"/>'
                + svg_text(n.x, n.y + 4, label, "#333333", 11, FONT) + "</g>")
    return (f'<g class="input" id="{prefix}node-{node_id}" data-node="{node_id}">'
            + svg_text(n.x, n.y + 5, label, "#111111", 14, FONT, "bold") + "</g>")
