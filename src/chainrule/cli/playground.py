"""``chainrule playground``: train small networks on 2D data in the browser."""

from __future__ import annotations

import argparse

from chainrule.cli.arguments import add_command

DESCRIPTION = """\
Start the playground: a web page where you train small chainrule networks on 2D data and
watch the decision boundary, every neuron's output, the weights and the losses change as
training runs, like the TensorFlow Playground and ConvNetJS's 2D classifier that the lecture
points to, plus a backprop view that draws the computational graph of the loss for one point
with its values and gradients. Training runs in this process, in Python, with chainrule;
each browser tab is its own session.

The server binds to 127.0.0.1 (this machine only) unless --host says otherwise, and answers
only requests addressed to the names it is bound to (so no web page can reach it by DNS
rebinding; --allow-host adds a name). Needs the 'playground' extra:
pip install 'chainrule[playground]'.
"""

EPILOG = """\
examples:
  chainrule playground                       # then open http://127.0.0.1:8000/
  chainrule playground --port 8080
  chainrule playground --host 0.0.0.0        # reachable from other machines: think first
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "playground", DESCRIPTION, EPILOG,
                    help="train small networks on 2D data in the browser")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind to (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000,
                   help="TCP port to listen on (default: 8000; 0 picks a free one)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests for this host name (e.g. behind a reverse "
                        "proxy); by default only the names of --host are (repeatable)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chainrule.playground import serve

    serve(args.host, args.port, allow_hosts=args.allow_host, on_ready=lambda url: print(
        f"chainrule playground: open {url}  (Ctrl+C to stop)", flush=True))
    return 0
