"""``chainrule datasets``: the supported data sets, where each is looked for, which are present."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from chainrule.data import DATASETS, candidate_locations, default_data_dir, locate

HELP = "list the supported data sets, where each is looked for, and which are present"


def _size_on_disk(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    names = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte", "data_batch_1", "data_batch_2", "data_batch_3",
             "data_batch_4", "data_batch_5", "test_batch", "batches.meta"}
    total = 0
    for f in path.iterdir():
        if f.is_file() and (f.name in names or f.name.removesuffix(".gz") in names
                            or f.name.endswith((".tar.gz", ".zip"))):
            total += f.stat().st_size
    return total


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def rows(data_dir: str | Path | None) -> list[tuple[str, str, str, str]]:
    """``(name, what, looked in, present)`` for every registered data set."""
    out = []
    for name, info in DATASETS.items():
        if name == "digits":
            installed = importlib.util.find_spec("sklearn") is not None  # importing is slow
            present = "yes (embedded)" if installed else "no: pip install 'chainrule[data]'"
            out.append((name, info.summary, "scikit-learn (sklearn.datasets)", present))
            continue
        found = locate(name, data_dir)
        places = candidate_locations(name, data_dir)
        if found is not None:
            kind = " (JPEG)" if found.suffix == ".zip" else ""
            present = f"yes{kind}: {found} ({_human(_size_on_disk(found))})"
            looked = str(found)
        else:
            present = f"no: chainrule download {name}"
            looked = "\n".join(str(p) for p in places)
        out.append((name, info.summary, looked, present))
    return out


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    table = rows(data_dir)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(f"data folder: {data_dir}")
        for name, what, looked, present in table:
            print(f"\n{name}\n  {what}\n  looked in: {looked.replace(chr(10), ', ')}"
                  f"\n  present: {present}")
        return 0
    grid = Table(title=f"chainrule data sets (data folder: {data_dir})", show_lines=True)
    grid.add_column("name", style="bold", no_wrap=True)
    grid.add_column("what")
    grid.add_column("where (looked in)", overflow="fold")
    grid.add_column("present", overflow="fold")
    for name, what, looked, present in table:
        style = "green" if present.startswith("yes") else "yellow"
        grid.add_row(name, what, looked, f"[{style}]{present}[/{style}]")
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
