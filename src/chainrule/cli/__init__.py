"""The ``chainrule`` command line: thin, every sub-command calls the library.

Each sub-command lives in its own module here with a ``register(subparsers)`` function
that adds its parser and sets ``func``; ``COMMANDS`` lists them in help order. A command
parses its options, calls the library and prints.

Errors: chainrule's own errors (:class:`~chainrule.errors.ChainruleError` and its
subclasses: bad settings, data, checkpoints, expressions) and ``OSError`` (files that
cannot be read or written) are the user's to fix; they print as one line,
``chainrule COMMAND: error: MESSAGE``, and exit with status 1. A command line that does not
parse (an unknown option, a number that is not one) is one line too, naming the option, and
exits with status 2. Ctrl+C exits with 130. Any other exception is a bug in chainrule and
keeps its traceback. In a job of several MPI ranks (:mod:`chainrule.distributed`) a rank
that fails so ends the whole job. A reader that stops early (``chainrule explain ... |
head``) ends the command quietly, as it ends any Unix tool (exit status 141, 128 + SIGPIPE).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from chainrule import __version__
from chainrule.cli.arguments import OneLineParser, UsageError
from chainrule.distributed.faults import end_job
from chainrule.errors import ChainruleError

#: Sub-command modules of ``chainrule.cli``, in the order ``--help`` lists them.
COMMANDS: list[str] = [
    "train", "evaluate", "predict", "export", "datasets", "download", "playground", "explain",
    "features", "compare",
]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="chainrule",
        description=(
            "chainrule: neural networks and backpropagation as the lecture teaches them. "
            "Train and evaluate image classifiers, compare image features with learned ones, "
            "see backprop step by step, and play with small nets in the browser."
        ),
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"chainrule.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as e:  # as argparse does (SystemExit, status 2), but in one line
        print(e, file=sys.stderr)
        raise SystemExit(2) from None
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        end_job(130, "interrupted")
        return 130
    except (ChainruleError, OSError) as e:
        message = " ".join(str(e).splitlines())  # one line, whatever a library's text holds
        print(f"chainrule {args.command}: error: {message}", file=sys.stderr)
        end_job(1, type(e).__name__)
        return 1


def _silence_stdout() -> None:
    """The reader of stdout has gone: send what is still buffered nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
