"""Step through a trace, forward then backward: a standalone page, or inline in a notebook.

The stepper holds the lecture-style SVG inline, its CSS and a few lines of JavaScript
(``static/stepper.css``, ``static/stepper.js``); it loads nothing from the network.
Forward, each step computes one value (it appears in green above its wires); backward,
each step runs one gate, ``downstream = local x upstream`` (the gradients appear in red
below the wires). Buttons and the arrow keys (Home and End too) move through the steps;
the current gate is highlighted and its numbers written out beside the graph, matrices
whole up to 64 numbers, with the numeric gradient check of each value. Two boxes show,
on the drawing itself, every gate's local gradient and product, and every value's
gradient check. The graph scales down to fit the page's width.

:func:`to_html` writes the page; :func:`to_inline_html` the same stepper as one element
for a notebook's output (``Trace._repr_html_``): its ids are unique, its CSS applies to it
alone, and without JavaScript (a notebook viewer that strips scripts) it is the plain
drawing.

>>> page = to_html(trace(f))                       # doctest: +SKIP
"""

from __future__ import annotations

import json
import secrets
from functools import cache
from html import escape
from importlib import resources
from typing import Any

from chainrule.explain.graph import ExplainError, Trace
from chainrule.explain.svg import to_svg
from chainrule.explain.text import describe, format_array, format_matrix

__all__ = ["html_steps", "to_html", "to_inline_html"]

_HINT = ("Forward values are green, above the wires; gradients are red, below them. Each "
         "backward step: downstream = local x upstream. Keys: \u2190 \u2192, Home, End.")


_BUTTONS = (
    ("first", "first step (Home)", "&#x25C0;&#x25C0;"),
    ("prev", "previous step (left arrow)", "&#x25C0; previous"),
    ("next", "next step (right arrow)", "next &#x25B6;"),
    ("last", "last step (End)", "&#x25B6;&#x25B6;"),
)


@cache
def _static(name: str) -> str:
    return resources.files("chainrule.explain").joinpath("static", name).read_text("utf-8")


def _labelled(label: str, text: str) -> str:
    """``label = text``, or the label on its own line above a multi-line value."""
    return f"{label} =\n{text}" if "\n" in text else f"{label} = {text}"


def html_steps(tr: Trace, precision: int = 2, checks: bool | dict[int, Any] = True
               ) -> list[dict[str, Any]]:
    """The stepper's steps: one per value forward, one to seed the output, one per backward step.

    Each is ``{"phase", "title", "lines", "node", "wires"}``: ``node`` is the id to
    highlight, ``wires`` the wire indices whose numbers this step reveals. With
    ``checks`` (True: ``trace.gradient_check()``, or its result) a backward step also
    gives the gradient check of every gradient it completes.
    """
    check_map = tr.gradient_check() if checks is True else checks or None

    def fmt(a: Any) -> str:
        return format_matrix(a, precision)

    out: list[dict[str, Any]] = []
    for n in tr.nodes:
        wires = [k for k, w in enumerate(tr.wires) if w.src == n.id]
        if n.kind == "op":
            title = f"forward: {n.name} = {describe(tr, n)}"
            lines = [f"gate {n.label} ({n.op})", _labelled(n.name, fmt(n.value))]
        else:
            title = f"forward: input {n.name}" if n.kind == "input" else f"constant {n.name}"
            lines = [_labelled(n.name, fmt(n.value))]
        lines.append(f"shape {'scalar' if n.shape == () else n.shape}")
        out.append({"phase": "forward", "title": title, "lines": lines, "node": n.id,
                    "wires": wires})
    seed = [k for k, w in enumerate(tr.wires) if w.dst is None]
    out.append({
        "phase": "backward",
        "title": "backward starts: dL/dL = 1 at the output" if all(
            tr.wires[k].grad is not None and tr.wires[k].grad.size == 1 for k in seed)
        else "backward starts: the upstream gradient at the output",
        "lines": [_labelled(f"dL/d{tr.nodes[tr.wires[k].src].name}", fmt(tr.wires[k].grad))
                  for k in seed],
        "node": tr.outputs[0], "wires": seed,
    })
    waiting = {n.id: len(n.consumers) for n in tr.nodes}
    for s in tr.steps:
        if s.kind == "copy":
            ups = " + ".join(format_array(u, precision) for u in s.upstream)
            lines = [f"{s.node.name} is used {len(s.upstream)} times: the gradients add",
                     _labelled(f"dL/d{s.node.name} = {ups}", fmt(s.downstream[0])),
                     s.pattern or ""]
            out.append({"phase": "backward",
                        "title": f"backward step {s.index}: copy gate at {s.node.name}",
                        "lines": lines, "node": s.node.id, "wires": []})
            continue
        lines = [f"gate {s.node.label}: {s.node.name} = {describe(tr, s.node)}",
                 _labelled(f"upstream dL/d{s.node.name}", fmt(s.upstream))]
        done = [s.node]
        for inp, loc, down in zip(s.inputs, s.local, s.downstream):
            local = loc if isinstance(loc, str) else fmt(loc)
            lines.append(_labelled(f"local d{s.node.name}/d{inp.name}", local))
            lines.append("  " + _labelled(f"downstream dL/d{inp.name} = local x upstream",
                                          fmt(down)).replace("\n", "\n  "))
            waiting[inp.id] -= 1
            if waiting[inp.id] == 0 and inp.kind == "input":
                done.append(inp)
        if s.pattern:
            lines.append(s.pattern)
        if check_map is not None:
            lines += [check_map[n.id].text(precision) for n in done if n.id in check_map]
        wires = [k for k, w in enumerate(tr.wires) if w.dst == s.node.id]
        out.append({"phase": "backward",
                    "title": f"backward step {s.index}: downstream = local x upstream",
                    "lines": lines, "node": s.node.id, "wires": wires})
    return out


def _stepper(tr: Trace, precision: int, engine: str, checks: bool, page: bool) -> str:
    """The stepper element: controls, drawing, side panel, its steps and its script."""
    if not isinstance(tr, Trace):
        raise ExplainError(f"to_html: expected a Trace, got {type(tr).__name__}")
    uid = "cr-stepper" if page else "cr" + secrets.token_hex(6)  # unique in a notebook
    prefix = "" if page else f"{uid}-"
    check_map = tr.gradient_check() if checks else None
    plain = to_svg(tr, precision=precision, engine=engine, id_prefix=prefix)
    full = to_svg(tr, precision=precision, engine=engine, local=True,
                  checks=check_map if check_map is not None else False,
                  id_prefix=f"{prefix}full-")
    # The plain drawing shows by default; the full one (local gradients, checks) on request.
    svg = plain.split("?>", 1)[1].strip() + "\n" + full.split("?>", 1)[1].strip().replace(
        'class="chainrule-graph"', 'class="chainrule-graph cr-full"', 1)
    data = json.dumps(html_steps(tr, precision, check_map or False)).replace("</", "<\\/")

    def ident(name: str) -> str:
        return f' id="{name}"' if page else ""

    buttons = "\n".join(
        f'<button type="button" class="cr-{name}"{ident(name)} title="{tip}">{text}</button>'
        for name, tip, text in _BUTTONS)
    check_box = ("" if check_map is None else '<label><input type="checkbox" '
                 'class="cr-toggle-check"> gradient check (analytic vs numerical)</label>')
    steps_tag = ('<script type="application/json" id="steps-data">' if page
                 else '<script type="application/json" class="cr-steps">')
    return f"""<div class="cr-stepper" id="{uid}" data-prefix="{prefix}" \
data-page="{1 if page else 0}" tabindex="0">
<div class="cr-bar"{ident("controls")}>
{buttons}
<span class="cr-counter"{ident("counter")}></span>
<label><input type="checkbox" class="cr-toggle-local"> local gradient &#xd7; upstream</label>
{check_box}
</div>
<div class="cr-main">
<div class="cr-graph"{ident("graph")}>{svg}</div>
<div class="cr-panel"{ident("panel")}>
<div class="cr-title"{ident("title")}></div>
<div class="cr-lines"{ident("lines")}></div>
<div class="cr-hint">{escape(_HINT)}</div>
</div>
</div>
{steps_tag}{data}</script>
<script>(function () {{
{_static("stepper.js")}
chainruleStepper(document.getElementById("{uid}"));
}})();</script>
</div>"""


def to_html(tr: Trace, precision: int = 2, title: str | None = None, engine: str = "auto",
            checks: bool = True) -> str:
    """A standalone page (inline SVG, CSS, JavaScript; no network) to step through ``tr``.

    ``checks`` runs the numeric gradient check of every value (``trace.gradient_check()``)
    for the side panel and the drawing's "gradient check" box.

    >>> open("backprop.html", "w").write(to_html(trace(f)))   # doctest: +SKIP
    """
    stepper = _stepper(tr, precision, engine, checks, page=True)
    title = title or tr.title or "chainrule: backprop step by step"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ margin: 0; padding: 10px 16px; }}
h1 {{ font-family: DejaVu Sans, Helvetica, Arial, sans-serif; font-size: 18px; margin: 0 0 8px 0; }}
{_static("stepper.css")}</style>
</head>
<body>
<h1>{escape(title)}</h1>
{stepper}
</body>
</html>
"""


def to_inline_html(tr: Trace, precision: int = 2, engine: str = "auto", checks: bool = True
                   ) -> str:
    """The stepper as one self-contained element for a notebook cell's output.

    What ``Trace._repr_html_`` returns: Jupyter, JupyterLab, VS Code and an exported
    notebook (``nbconvert --to html``) show it inline and run its script; a viewer that
    strips scripts shows the drawing with every value and gradient.
    """
    stepper = _stepper(tr, precision, engine, checks, page=False)
    return f"<style>{_static('stepper.css')}</style>\n{stepper}"
