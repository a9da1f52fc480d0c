"""One self-contained HTML page that steps through a trace, forward then backward.

The page holds the lecture-style SVG inline, its CSS and a few lines of JavaScript; it
loads nothing from the network. Forward, each step computes one value (it appears in
green above its wires); backward, each step runs one gate, ``downstream = local x
upstream`` (the gradients appear in red below the wires). Next/previous buttons and the
left/right arrow keys move through the steps; the current gate is highlighted and its
numbers are written out beside the graph.

>>> page = to_html(trace(f))                       # doctest: +SKIP
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from chainrule.explain.graph import ExplainError, Trace
from chainrule.explain.svg import to_svg
from chainrule.explain.text import describe, format_array

__all__ = ["html_steps", "to_html"]


def html_steps(tr: Trace, precision: int = 2) -> list[dict[str, Any]]:
    """The page's steps: one per value forward, one to seed the output, one per backward step.

    Each is ``{"phase", "title", "lines", "node", "wires"}``: ``node`` is the id to
    highlight, ``wires`` the wire indices whose numbers this step reveals.
    """

    def fmt(a: Any) -> str:
        return format_array(a, precision)

    out: list[dict[str, Any]] = []
    for n in tr.nodes:
        wires = [k for k, w in enumerate(tr.wires) if w.src == n.id]
        if n.kind == "op":
            title = f"forward: {n.name} = {describe(tr, n)}"
            lines = [f"gate {n.label} ({n.op})", f"{n.name} = {fmt(n.value)}"]
        else:
            title = f"forward: input {n.name}" if n.kind == "input" else f"constant {n.name}"
            lines = [f"{n.name} = {fmt(n.value)}"]
        lines.append(f"shape {'scalar' if n.shape == () else n.shape}")
        out.append({"phase": "forward", "title": title, "lines": lines, "node": n.id,
                    "wires": wires})
    seed = [k for k, w in enumerate(tr.wires) if w.dst is None]
    out.append({
        "phase": "backward",
        "title": "backward starts: dL/dL = 1 at the output" if all(
            tr.wires[k].grad is not None and tr.wires[k].grad.size == 1 for k in seed)
        else "backward starts: the upstream gradient at the output",
        "lines": [f"dL/d{tr.nodes[tr.wires[k].src].name} = {fmt(tr.wires[k].grad)}"
                  for k in seed],
        "node": tr.outputs[0], "wires": seed,
    })
    for s in tr.steps:
        if s.kind == "copy":
            ups = " + ".join(fmt(u) for u in s.upstream)
            out.append({
                "phase": "backward",
                "title": f"backward step {s.index}: copy gate at {s.node.name}",
                "lines": [f"{s.node.name} is used {len(s.upstream)} times: the gradients add",
                          f"dL/d{s.node.name} = {ups} = {fmt(s.downstream[0])}",
                          s.pattern or ""],
                "node": s.node.id, "wires": [],
            })
            continue
        lines = [f"gate {s.node.label}: {s.node.name} = {describe(tr, s.node)}",
                 f"upstream dL/d{s.node.name} = {fmt(s.upstream)}"]
        for inp, loc, down in zip(s.inputs, s.local, s.downstream):
            local = loc if isinstance(loc, str) else fmt(loc)
            lines.append(f"d{s.node.name}/d{inp.name}: local {local}  ->  downstream "
                         f"dL/d{inp.name} = {fmt(down)}")
        if s.pattern:
            lines.append(s.pattern)
        wires = [k for k, w in enumerate(tr.wires) if w.dst == s.node.id]
        out.append({"phase": "backward",
                    "title": f"backward step {s.index}: downstream = local x upstream",
                    "lines": lines, "node": s.node.id, "wires": wires})
    return out


_CSS = """
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 0; color: #222; }
header { padding: 10px 16px; border-bottom: 1px solid #ddd; }
header h1 { font-size: 18px; margin: 0 0 4px 0; }
main { display: flex; flex-wrap: wrap; gap: 12px; padding: 12px 16px; }
#graph { flex: 1 1 640px; overflow: auto; border: 1px solid #eee; max-height: 80vh; }
#panel { flex: 0 1 380px; }
#controls button { font-size: 15px; padding: 4px 12px; margin-right: 4px; }
#counter { margin-left: 8px; font-variant-numeric: tabular-nums; }
#title { font-weight: bold; margin: 12px 0 6px 0; }
#lines { font-family: DejaVu Sans Mono, Menlo, Consolas, monospace; font-size: 13px;
         white-space: pre-wrap; background: #fafafa; border: 1px solid #eee; padding: 8px; }
.phase-forward #title { color: #1a8a2e; }
.phase-backward #title { color: #c62828; }
svg .fwd, svg .bwd { transition: opacity 0.15s; }
svg .hidden { opacity: 0; }
svg .gate.current circle { fill: #fff3c4; stroke: #e0a000; stroke-width: 3; }
svg .input.current text, svg .const.current rect { fill: #e0a000; }
svg .wire.current { stroke: #e0a000; stroke-width: 2.6; }
svg .fwd.current text, svg .bwd.current text { font-weight: bold; }
.hint { color: #777; font-size: 12px; margin-top: 8px; }
"""

_JS = """
(function () {
  "use strict";
  var steps = JSON.parse(document.getElementById("steps-data").textContent);
  var svg = document.querySelector("#graph svg");
  var labels = Array.prototype.slice.call(svg.querySelectorAll(".fwd, .bwd"));
  var revealF = {}, revealB = {};
  steps.forEach(function (s, i) {
    s.wires.forEach(function (w) {
      if (s.phase === "forward") { revealF[w] = i; } else { revealB[w] = i; }
    });
  });
  var current = 0;
  function show(i) {
    current = Math.max(0, Math.min(steps.length - 1, i));
    var s = steps[current];
    labels.forEach(function (el) {
      var w = el.getAttribute("data-wire");
      var table = el.classList.contains("fwd") ? revealF : revealB;
      var at = table.hasOwnProperty(w) ? table[w] : 0;
      el.classList.toggle("hidden", at > current);
      el.classList.toggle("current", s.wires.indexOf(Number(w)) >= 0);
    });
    svg.querySelectorAll(".current").forEach(function (el) {
      if (!el.classList.contains("fwd") && !el.classList.contains("bwd")) {
        el.classList.remove("current");
      }
    });
    var node = document.getElementById("node-" + s.node);
    if (node) {
      node.classList.add("current");
      if (node.scrollIntoView) { node.scrollIntoView({block: "nearest", inline: "nearest"}); }
    }
    s.wires.forEach(function (w) {
      svg.querySelectorAll(".wire-w" + w).forEach(function (el) { el.classList.add("current"); });
    });
    document.body.className = "phase-" + s.phase;
    document.getElementById("title").textContent = s.title;
    document.getElementById("lines").textContent = s.lines.join("\\n");
    document.getElementById("counter").textContent = "step " + (current + 1) + " / " + steps.length;
    document.getElementById("prev").disabled = current === 0;
    document.getElementById("next").disabled = current === steps.length - 1;
    document.body.setAttribute("data-step", String(current));
    document.body.setAttribute("data-node", String(s.node));
  }
  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  document.getElementById("first").addEventListener("click", function () { show(0); });
  document.getElementById("last").addEventListener("click", function () {
    show(steps.length - 1);
  });
  document.addEventListener("keydown", function (e) {
    var to = null;
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { to = current + 1; }
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { to = current - 1; }
    else if (e.key === "Home") { to = 0; }
    else if (e.key === "End") { to = steps.length - 1; }
    if (to !== null) { show(to); e.preventDefault(); }
  });
  show(0);
})();
"""


def to_html(tr: Trace, precision: int = 2, title: str | None = None,
            engine: str = "auto") -> str:
    """A standalone page (inline SVG, CSS, JavaScript; no network) to step through ``tr``.

    >>> open("backprop.html", "w").write(to_html(trace(f)))   # doctest: +SKIP
    """
    if not isinstance(tr, Trace):
        raise ExplainError(f"to_html: expected a Trace, got {type(tr).__name__}")
    title = title or tr.title or "chainrule: backprop step by step"
    svg = to_svg(tr, precision=precision, engine=engine)
    svg = svg.split("?>", 1)[1].strip() if svg.startswith("<?xml") else svg
    data = json.dumps(html_steps(tr, precision)).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<div id="controls">
<button id="first" type="button" title="first step (Home)">&#x25C0;&#x25C0;</button>
<button id="prev" type="button" title="previous step (left arrow)">&#x25C0; previous</button>
<button id="next" type="button" title="next step (right arrow)">next &#x25B6;</button>
<button id="last" type="button" title="last step (End)">&#x25B6;&#x25B6;</button>
<span id="counter"></span>
</div>
</header>
<main>
<div id="graph">{svg}</div>
<div id="panel">
<div id="title"></div>
<div id="lines"></div>
<div class="hint">Forward values are green, above the wires; gradients are red, below them.
Each backward step: downstream = local x upstream. Keys: &#x2190; &#x2192;, Home, End.</div>
</div>
</main>
<script type="application/json" id="steps-data">{data}</script>
<script>{_JS}</script>
</body>
</html>
"""
