"""``chainrule download NAME``: fetch MNIST, Fashion-MNIST or CIFAR-10, md5-verified."""

from __future__ import annotations

import argparse
from pathlib import Path

from chainrule.cli.arguments import check_option
from chainrule.data import DATASETS, default_data_dir
from chainrule.data.fetch import MIRROR_ENV, download

HELP = "download MNIST, Fashion-MNIST or CIFAR-10 from the official URLs (md5-checked)"


def run(args: argparse.Namespace) -> int:
    check_option("--timeout", args.timeout, low=0.0, high=24 * 3600.0, low_open=True)
    if args.root:
        root = Path(args.root).expanduser()
    else:
        base = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
        root = base / args.name
    folder = download(args.name, root, mirror=args.mirror, progress=None, timeout=args.timeout,
                      log=print)
    print(f"{DATASETS[args.name].title} is ready in {folder}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    names = [n for n, info in DATASETS.items() if info.files]
    lines = "\n".join(
        f"  {n:<14} {info.title}: {info.summary.split(';')[0]}\n"
        + "\n".join(f"  {'':<14} from {url}" for url in info.mirrors)
        for n, info in DATASETS.items() if info.files
    )
    parser = subparsers.add_parser(
        "download",
        help=HELP,
        description=(
            "Download a data set from its official URLs into the data folder, where\n"
            "`chainrule train --data NAME` finds it. Every file is checked against its\n"
            "official md5 sum before it is used (a mismatching file is removed); files\n"
            "already present with the right md5 are skipped; files are written atomically.\n"
            "A progress bar is shown when stderr is a terminal."
            f"\n\ndata sets:\n{lines}\n\n(digits needs no download: it comes with "
            "scikit-learn.)"
        ),
        epilog=(
            f"examples:\n  chainrule download mnist\n  chainrule download cifar10 --root "
            f"~/data/cifar10\n\nenvironment: CHAINRULE_DATA sets the data folder, "
            f"{MIRROR_ENV} a base URL replacing the official ones."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", choices=names, metavar="NAME", help=f"one of {', '.join(names)}")
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="folder to put the files in (default: DATA_DIR/NAME, e.g. ~/.chainrule/data/mnist)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the data folder (default: $CHAINRULE_DATA, else ~/.chainrule/data); "
        "the files go to DATA_DIR/NAME unless --root is given",
    )
    parser.add_argument(
        "--mirror",
        metavar="URL",
        help=f"base URL to fetch the files from instead of the official ones (or ${MIRROR_ENV})",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS",
        help="network timeout per request (default: 60)",
    )
    parser.set_defaults(func=run)
