"""``chainrule datasets``: the supported data sets, where each is looked for, which are present."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chainrule.data import default_data_dir, describe_datasets

HELP = "list the supported data sets, where each is looked for, and which are present"


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    statuses = describe_datasets(data_dir)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(f"data folder: {data_dir}")
        for s in statuses:
            print(f"\n{s.name}\n  {s.summary}\n  looked in: {s.looked_in.replace(chr(10), ', ')}"
                  f"\n  present: {s.presence}")
        return 0
    grid = Table(title=f"chainrule data sets (data folder: {data_dir})", show_lines=True)
    grid.add_column("name", style="bold", no_wrap=True)
    grid.add_column("what")
    grid.add_column("where (looked in)", overflow="fold")
    grid.add_column("present", overflow="fold")
    for s in statuses:
        style = "green" if s.present else "yellow"
        grid.add_row(s.name, s.summary, s.looked_in, f"[{style}]{s.presence}[/{style}]")
    Console(file=sys.stdout, width=None if sys.stdout.isatty() else 140).print(grid)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datasets",
        help=HELP,
        description=(
            "List the data sets chainrule loads by name (digits, mnist, fashion-mnist, "
            "cifar10), where each is looked for under the data folder, and whether it is "
            "present (with its size on disk). Any folder, .zip, .tar.gz or .csv can also be "
            "given to `chainrule train --data PATH`: IDX files, CIFAR-10 python batches, "
            "image folders (one sub-folder per class, optional train/ and test/), or a CSV "
            "with a label column."
        ),
        epilog="example: chainrule datasets --data-dir ~/data",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the data folder to look in (default: $CHAINRULE_DATA, else ~/.chainrule/data)",
    )
    parser.set_defaults(func=run)
