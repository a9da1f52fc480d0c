"""A trace as text: numbers, arrays, formulas and the forward and backward tables.

Numbers are rounded to a chosen precision without ``-0.00``; small arrays are written as
nested lists, large ones by shape and range. How each gate is written comes from its op
(``Function.formula``), so a user's op reads like a built-in one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.ops._common import number_text, shape_text

if TYPE_CHECKING:
    from chainrule.explain.graph import Trace, TraceNode

__all__ = [
    "backward_table",
    "check_table",
    "describe",
    "format_array",
    "format_matrix",
    "format_number",
    "forward_table",
    "gradient_lines",
    "trace_text",
]


def format_number(v: float, precision: int = 2) -> str:
    """A number rounded to ``precision`` decimals, without ``-0.00``."""
    v = float(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = f"{v:.{precision}f}"
    if float(text) == 0:
        text = f"{0.0:.{precision}f}"
    return text


def format_array(a: Any, precision: int = 2, max_items: int = 6) -> str:
    """A scalar as a number; a small array as nested lists; a large one by shape and range."""
    if a is None:
        return "-"
    arr = np.asarray(a)
    if arr.size == 1:
        return format_number(arr.reshape(()), precision)
    if arr.size <= max_items:
        return _nested(arr, precision)
    flat = arr.reshape(-1)
    head = ", ".join(format_number(v, precision) for v in flat[:3])
    return (f"{shape_text(arr.shape)} [{head}, ...] min {format_number(flat.min(), precision)}"
            f" max {format_number(flat.max(), precision)}")


def format_matrix(a: Any, precision: int = 2, max_items: int = 64) -> str:
    """Like :func:`format_array`, but a matrix of up to ``max_items`` numbers is written whole,
    one row per line, the columns aligned (a 3x4 dL/dW is shown, not abbreviated).

    >>> print(format_matrix(np.array([[1.0, -2.5], [30.0, 0.0]]), 1))
    [[ 1.0, -2.5],
     [30.0,  0.0]]
    """
    if a is None:
        return "-"
    arr = np.asarray(a)
    if arr.ndim != 2 or arr.size > max_items or arr.shape[0] == 1:
        return format_array(arr, precision, max_items)
    cells = [[format_number(v, precision) for v in row] for row in arr]
    width = max(len(c) for row in cells for c in row)
    rows = ["[" + ", ".join(c.rjust(width) for c in row) + "]" for row in cells]
    return "[" + ",\n ".join(rows) + "]"


def _nested(arr: np.ndarray, precision: int) -> str:
    if arr.ndim == 0:
        return format_number(arr, precision)
    return "[" + ", ".join(_nested(x, precision) for x in arr) + "]"


def describe(tr: Trace, node: TraceNode) -> str:
    """How a value was computed, in words: ``x + y``, ``exp(n5)``, ``input``."""
    if node.kind == "input":
        return "input" if node.requires_grad else "input (no grad)"
    if node.kind == "const":
        return "constant"
    args = iter(tr.nodes[i].name for i in node.inputs)
    consts = {int(k[1:]): v for k, v in node.params.items()
              if k.startswith("c") and k[1:].isdigit()}
    total = len(node.params.get("_slots", [])) + len(consts)
    written = [number_text(consts[slot]) if slot in consts else next(args, "?")
               for slot in range(total)]
    return node.fn.formula(written)


def forward_table(tr: Trace, precision: int = 2) -> str:
    """The forward pass as text, one line per value."""
    rows = [("value", "computed as", "shape", "forward value")]
    for n in tr.nodes:
        rows.append((n.name, describe(tr, n), shape_text(n.shape),
                     format_array(n.value, precision, 16)))
    return table(rows)


def backward_table(tr: Trace, precision: int = 2) -> str:
    """The backward pass as text: one line per input of every step."""
    rows = [("step", "gate", "computes", "upstream", "input", "local", "downstream",
             "pattern")]
    for s in tr.steps:
        if s.kind == "copy":
            ups = " + ".join(format_array(u, precision) for u in s.upstream)
            rows.append((str(s.index), "copy", f"{s.node.name} used {len(s.upstream)} times",
                         ups, s.node.name, "1 each", format_array(s.downstream[0], precision),
                         s.pattern or ""))
            continue
        first = True
        for inp, loc, down in zip(s.inputs, s.local, s.downstream):
            rows.append((
                str(s.index) if first else "",
                s.node.label if first else "",
                f"{s.node.name} = {describe(tr, s.node)} = "
                f"{format_array(s.node.value, precision)}" if first else "",
                format_array(s.upstream, precision, 16) if first else "",
                inp.name,
                loc if isinstance(loc, str) else format_array(loc, precision, 16),
                "-" if down is None else format_array(down, precision, 16),
                (s.pattern or "") if first else "",
            ))
            first = False
    return table(rows)


def gradient_lines(tr: Trace, precision: int = 2) -> str:
    """``dL/d(input)`` for every input of the trace, one per line, the names aligned."""
    width = max(len(n.name) for n in tr.inputs)
    return "\n".join(
        f"  dL/d{n.name.ljust(width)} = "
        + ("(no gradient)" if n.grad is None else format_array(n.grad, precision, 16))
        for n in tr.inputs
    )


def trace_text(tr: Trace, precision: int = 2) -> str:
    """The forward pass, the backward pass and the gradients, as ``chainrule explain`` prints.

    >>> from chainrule.explain import example
    >>> trace_text(example("simple")).splitlines()[-4:]
    ['gradients:', '  dL/dx = -4.00', '  dL/dy = -4.00', '  dL/dz = 3.00']
    """
    return "\n".join([
        "forward pass:", forward_table(tr, precision), "",
        "backward pass (downstream = local x upstream):", backward_table(tr, precision), "",
        "gradients:", gradient_lines(tr, precision),
    ])


def check_table(tr: Trace, precision: int = 2) -> str:
    """The numeric gradient check of every value (``tr.gradient_check()``) as a table.

    >>> from chainrule.explain import example
    >>> check_table(example("simple")).splitlines()[2].split()[:5]
    ['x', '-4.00', '-4.00', 'all', '1']
    """
    rows = [("value", "analytic dL/dv", "numerical", "elements", "relative error", "verdict")]
    for c in tr.gradient_check().values():
        if c.verdict == "skipped":
            rows.append((c.node.name, "-", "-", "-", "-", f"skipped: {c.reason}"))
            continue
        whole = len(c.elements) == c.size
        shape = c.node.value.shape
        rows.append((
            c.node.name,
            format_array(c.analytic.reshape(shape) if whole else c.analytic, precision),
            format_array(c.numerical.reshape(shape) if whole else c.numerical, precision),
            f"all {c.size}" if whole else f"{len(c.elements)} of {c.size}",
            f"{c.rel_error:.1e}", f"{c.symbol} {c.verdict}",
        ))
    return table(rows)


def table(rows: list[tuple[str, ...]]) -> str:
    """Rows as left-aligned columns, the first row a header underlined with dashes."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for j, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
