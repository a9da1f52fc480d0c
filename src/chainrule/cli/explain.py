"""``chainrule explain``: a computation as a graph, forward values and backward step by step.

    chainrule explain "(x + y) * z" --values x=-2 y=5 z=-4
    chainrule explain "sum((W @ x) ** 2)" --values "W=[[0.1,0.5],[-0.3,0.8]]" "x=[0.2,0.4]"
    chainrule explain --example sigmoid-neuron --svg neuron.svg --html neuron.html
    chainrule explain --example simple --check --local --svg simple.svg
    chainrule explain --model runs/mnist --image digit.png
    chainrule explain --jacobian relu --values "x=[1,-2,3,-1]" --upstream "[4,-1,5,9]"
"""

from __future__ import annotations

import argparse

from chainrule.atomic import write_text
from chainrule.cli.arguments import check_option
from chainrule.explain import EXAMPLES, ExplainError, Trace, explain_jacobian
from chainrule.explain.text import check_table, trace_text
from chainrule.train.config import MAX_SEED

EXAMPLE_NAMES = tuple(EXAMPLES)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "explain",
        help="show backprop on any expression as a graph, step by step",
        description=(
            "Compute an expression (or a lecture example, or a trained model's loss), print "
            "every forward value and the backward pass gate by gate (upstream, local and "
            "downstream gradients, with the lecture's pattern names), and optionally draw "
            "it as SVG or as an HTML page that steps through it. Expressions are parsed "
            "safely: numbers, names, + - * / ** @, unary minus and the functions exp, log, "
            "sqrt, sigmoid, tanh, relu, max, min, sum, mean, dot."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    p.add_argument("expression", nargs="?",
                   help='the expression, e.g. "(x + y) * z" (quote it for the shell)')
    p.add_argument("--values", nargs="+", default=[], metavar="NAME=VALUE",
                   help="input values: numbers or nested lists, "
                        'e.g. x=-2 "W=[[0.1,0.5],[-0.3,0.8]]"')
    p.add_argument("--upstream", metavar="VALUE",
                   help="dL/d(output) to start the backward pass with (default: ones)")
    p.add_argument("--example", choices=EXAMPLE_NAMES, metavar="NAME",
                   help=f"a worked example of the lecture: {', '.join(EXAMPLE_NAMES)}")
    p.add_argument("--model", metavar="RUN",
                   help="a training run folder or checkpoint: explain its loss on one input")
    p.add_argument("--image", metavar="FILE", help="with --model: the input image (PNG/JPEG)")
    p.add_argument("--input", metavar="FILE.npy",
                   help="with --model: an input feature vector already in the model's input space")
    p.add_argument("--label", metavar="CLASS",
                   help="with --model: the true class (index or name; default: the predicted one)")
    p.add_argument("--seed", type=int, default=0,
                   help="with --model and no input: seed of the random input (default 0)")
    p.add_argument("--jacobian", metavar="FUNCTION",
                   help="print the explicit Jacobian of FUNCTION (relu, sigmoid, tanh, exp, log, "
                        "sqrt, or an expression of one variable) at --values, and the implicit "
                        "product backprop uses instead")
    p.add_argument("--svg", metavar="FILE", help="write the graph as SVG")
    p.add_argument("--html", metavar="FILE", help="write a self-contained page that steps "
                                                  "through forward and backward")
    p.add_argument("--check", action="store_true",
                   help="check every gradient numerically (analytic vs central differences, "
                        "relative error): print the table and draw it with --svg")
    p.add_argument("--local", action="store_true",
                   help="with --svg: write each gate's local gradient and the product "
                        "downstream = local x upstream under its input wires")
    p.add_argument("--precision", type=int, default=None, metavar="N",
                   help="decimals to print (default 2, 3 for vectorized-norm)")
    p.add_argument("--layout", choices=("auto", "dot", "layered"), default="auto",
                   help="graph layout: Graphviz dot if installed (auto), or the built-in "
                        "layered one")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    chosen = [n for n, v in (("an expression", args.expression), ("--example", args.example),
                             ("--model", args.model), ("--jacobian", args.jacobian)) if v]
    if len(chosen) != 1:
        raise ExplainError(
            "explain: give exactly one of an expression, --example NAME, --model RUN or "
            f"--jacobian FUNCTION (got {', '.join(chosen) if chosen else 'none'}); "
            'e.g. chainrule explain "(x + y) * z" --values x=-2 y=5 z=-4'
        )
    if args.precision is not None and not 0 <= args.precision <= 12:
        raise ExplainError("explain: --precision must be between 0 and 12")
    check_option("--seed", args.seed, low=0, high=MAX_SEED)
    if args.jacobian:
        return _run_jacobian(args)
    if args.model:
        return _run_model(args)
    if args.example:
        ex = EXAMPLES[args.example]
        tr = ex.build()
        precision = args.precision if args.precision is not None else ex.precision
        print(f"example {ex.name}: {ex.description}")
    else:
        from chainrule.explain import trace
        from chainrule.explain.expr import evaluate, parse_value, parse_values

        out = evaluate(args.expression, parse_values(args.values))
        upstream = parse_value(args.upstream) if args.upstream else None
        tr = trace(out, upstream=upstream, title=f"f = {args.expression.strip()}")
        precision = args.precision if args.precision is not None else 2
    if tr.title:
        print(tr.title)
    print()
    print(trace_text(tr, precision))
    _print_checks(tr, args, precision)
    _write_pictures(tr, args, precision)
    return 0


def _print_checks(tr: Trace, args: argparse.Namespace, precision: int) -> None:
    """Where gradients die (always), and the numeric gradient check (with --check)."""
    marks = tr.marks()
    if marks:
        print()
        print("where the gradient dies:")
        for m in marks:
            print(f"  {m.kind}: {m.detail}")
    if args.check:
        print()
        print("gradient check (analytic vs numerical, central differences in float64):")
        print(check_table(tr, precision))


def _write_pictures(tr: Trace, args: argparse.Namespace, precision: int) -> None:
    if args.svg:
        from chainrule.explain.svg import to_svg

        path = write_text(args.svg, to_svg(tr, precision=precision, engine=args.layout,
                                           local=args.local, checks=args.check))
        print(f"wrote {path}")
    if args.html:
        from chainrule.explain.html import to_html

        path = write_text(args.html, to_html(tr, precision=precision, engine=args.layout))
        print(f"wrote {path}")


def _run_model(args: argparse.Namespace) -> int:
    from chainrule.explain.model import explain_model

    report = explain_model(args.model, image=args.image, input_path=args.input,
                           label=args.label, seed=args.seed)
    precision = args.precision if args.precision is not None else 2
    print(report.text())
    _print_checks(report.trace, args, precision)
    _write_pictures(report.trace, args, precision)
    return 0


def _run_jacobian(args: argparse.Namespace) -> int:
    from chainrule.explain.expr import parse_value, parse_values

    upstream = parse_value(args.upstream) if args.upstream else None
    report = explain_jacobian(args.jacobian, parse_values(args.values), upstream)
    print(report.text(args.precision if args.precision is not None else 2))
    return 0
