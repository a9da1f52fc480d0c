"""The numbers on a drawn wire: a value or gradient measured as a block of SVG, then drawn.

A scalar is one line of text; a small vector or matrix (at most 4 columns, 12 numbers) is
written out row by row; anything larger becomes a small heat map (blue negative, orange
positive) with its shape and range. Below a gradient, a block may carry extra lines: the
gate's local gradient and the product ``downstream = local x upstream``, and the numeric
gradient check of the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from chainrule.explain.text import format_array, format_number

__all__ = [
    "CELL",
    "CHAR_W",
    "CHECK_COLOR",
    "FONT",
    "FORWARD_COLOR",
    "GRADIENT_COLOR",
    "LINE_H",
    "LOCAL_COLOR",
    "MONO",
    "WIRE_COLOR",
    "Block",
    "draw_block",
    "svg_text",
    "text_width",
    "value_block",
]

FORWARD_COLOR = "#1a8a2e"
GRADIENT_COLOR = "#c62828"
LOCAL_COLOR = "#6a1b9a"
CHECK_COLOR = "#455a64"
WIRE_COLOR = "#444444"
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
CHAR_W = 6.8  # width of one 11px monospace character
LINE_H = 14.0
EXTRA_H = 13.0  # one extra line (10px)
HEAT_MAX_ROWS = 8
HEAT_MAX_COLS = 16
CELL = 7.0


@dataclass
class Block:
    """A forward value or gradient, measured, ready to draw at a given place.

    ``extra`` holds additional lines ``(text, colour, css class, tooltip)`` drawn under
    the numbers (the local gradient, the gradient check).
    """

    width: float
    height: float
    lines: list[str] = field(default_factory=list)
    heat: np.ndarray | None = None  # values in [-1, 1], one per cell
    caption: str = ""
    extra: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, text: str, color: str, cls: str, tooltip: str = "") -> None:
        """Append an extra line under the numbers."""
        self.extra.append((text, color, cls, tooltip))
        self.width = max(self.width, len(text) * CHAR_W * 10 / 11)
        self.height += EXTRA_H


def text_width(s: str, size: float = 11.0, mono: bool = True) -> float:
    """The width of ``s`` in px at font size ``size`` (proportional fonts: an estimate)."""
    return len(s) * size * (0.62 if mono else 0.6)


def value_block(value: Any, precision: int) -> Block:
    """Measure ``value`` (None: an empty block) as it will be drawn."""
    if value is None:
        return Block(0.0, 0.0)
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 1:
        text = format_number(arr.reshape(()), precision)
        return Block(len(text) * CHAR_W, LINE_H, lines=[text])
    if arr.ndim <= 2 and arr.size <= 12 and arr.shape[-1] <= 4 and (arr.ndim == 1 or
                                                                     arr.shape[0] <= 4):
        if arr.ndim == 1:
            lines = [format_array(arr, precision)]
        else:
            lines = [format_array(row, precision) for row in arr]
        width = max(len(s) for s in lines) * CHAR_W
        return Block(width, LINE_H * len(lines), lines=lines)
    grid = _heat_grid(arr)
    shape = "(" + ", ".join(str(n) for n in arr.shape) + ("," if arr.ndim == 1 else "") + ")"
    caption = (f"{shape} {format_number(arr.min(), precision)}.."
               f"{format_number(arr.max(), precision)}")
    width = max(grid.shape[1] * CELL, len(caption) * CHAR_W)
    return Block(width, grid.shape[0] * CELL + LINE_H + 2, heat=grid, caption=caption)


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


def draw_block(b: Block, cx: float, top: float, color: str, cls: str, attrs: str) -> str:
    """The block as an SVG group centred at ``cx`` with its top edge at ``top``."""
    if b.width == 0:
        return ""
    out = [f'<g class="{cls}"{attrs}>']
    y = top
    if b.heat is not None:
        if cls.startswith("fwd"):
            out.append(svg_text(cx, y + LINE_H - 3, b.caption, color, 10))
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
        y += b.heat.shape[0] * CELL
        if not cls.startswith("fwd"):
            out.append(svg_text(cx, y + LINE_H - 1, b.caption, color, 10))
            y += LINE_H + 2
    else:
        for line in b.lines:
            out.append(svg_text(cx, y + LINE_H - 3, line, color, 11))
            y += LINE_H
    for text, extra_color, extra_cls, tooltip in b.extra:
        title = f"<title>{escape(tooltip)}</title>" if tooltip else ""
        out.append(f'<g class="{extra_cls}">{title}'
                   + svg_text(cx, y + EXTRA_H - 3, text, extra_color, 10) + "</g>")
        y += EXTRA_H
    out.append("</g>")
    return "".join(out)


def svg_text(x: float, y: float, s: str, color: str, size: int, family: str = MONO,
             weight: str = "normal", anchor: str = "middle") -> str:
    """One ``<text>`` element, escaped."""
    return (f'<text x="{x:.1f}" y="{y:.1f}" fill="{color}" font-size="{size}" '
            f'font-family="{family}" font-weight="{weight}" text-anchor="{anchor}">'
            f"{escape(s)}</text>")
