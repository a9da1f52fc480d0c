"""The backprop explainer: see any computation as a graph with values and gradients.

``trace(output)`` captures the graph behind a tensor, with every node's forward value
and, for every gate, the upstream, local and downstream gradients of the backward pass
(``downstream = local x upstream``). ``steps(trace)`` lists the backward pass gate by
gate, naming the lecture's patterns (distributor, swap multiplier, router, adder,
output multiplier). ``to_svg`` draws it as the lecture does; ``to_html`` makes a page
that steps through it. ``explain_model`` traces a trained network's loss on one input;
``explain_jacobian`` sets a function's explicit Jacobian beside the product backprop
computes without it.

>>> import chainrule as cr
>>> from chainrule import explain
>>> t = explain.trace(explain.evaluate("(x + y) * z", {"x": -2, "y": 5, "z": -4}))
>>> [float(t[n].grad) for n in ("x", "y", "z")]
[-4.0, -4.0, 3.0]
"""

from chainrule.explain.capture import steps, trace
from chainrule.explain.check import NodeCheck, gradient_check
from chainrule.explain.examples import EXAMPLES, example
from chainrule.explain.expr import evaluate, parse, parse_values
from chainrule.explain.flow import Mark, diagnose
from chainrule.explain.graph import ExplainError, Step, Trace, TraceNode, Wire
from chainrule.explain.html import to_html, to_inline_html
from chainrule.explain.jacobian import JacobianReport, explain_jacobian
from chainrule.explain.model import explain_model
from chainrule.explain.svg import to_svg
from chainrule.explain.text import format_array, format_number

# The renderers and analyses take a trace; ``Trace.to_svg``, ``to_html``, ``_repr_html_``,
# ``gradient_check`` and ``marks`` find them here.
Trace.renderers.update(svg=to_svg, html=to_html, inline=to_inline_html)
Trace.analyses.update(gradient_check=gradient_check, marks=diagnose)

__all__ = [
    "EXAMPLES",
    "ExplainError",
    "JacobianReport",
    "Mark",
    "NodeCheck",
    "Step",
    "Trace",
    "TraceNode",
    "Wire",
    "diagnose",
    "evaluate",
    "example",
    "explain_jacobian",
    "explain_model",
    "format_array",
    "format_number",
    "gradient_check",
    "parse",
    "parse_values",
    "steps",
    "to_html",
    "to_inline_html",
    "to_svg",
    "trace",
]
