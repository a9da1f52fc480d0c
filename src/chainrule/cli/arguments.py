"""What several commands share: their parser's layout, a run folder, data and feature options."""

from __future__ import annotations

import argparse
import json
from typing import Any

from chainrule.errors import ConfigError

__all__ = [
    "add_command",
    "add_data_arguments",
    "add_device_argument",
    "add_feature_arguments",
    "add_run_argument",
    "feature_names",
    "parse_options",
]


def add_command(subparsers: argparse._SubParsersAction, name: str, description: str,
                epilog: str, *, help: str) -> argparse.ArgumentParser:
    """The sub-command's parser; description and examples are printed as written."""
    return subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def add_run_argument(p: argparse.ArgumentParser) -> None:
    """The positional RUN: a run folder (or its checkpoint file)."""
    p.add_argument("run", metavar="RUN",
                   help="run folder written by 'chainrule train' (or its checkpoint.safetensors)")


def add_device_argument(p: Any, what: str) -> None:
    """--device of ``chainrule train``, ``evaluate`` and ``predict``."""
    p.add_argument("--device", default=None, metavar="DEVICE",
                   help=f"where the model {what}: cpu (default), cuda or cuda:N (an NVIDIA "
                        "GPU; needs CuPy: pip install 'chainrule[cuda12]' or "
                        "'chainrule[cuda13]'); see docs/devices.md")


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """--data, --data-dir, --limit, --seed of ``chainrule features`` and ``compare``."""
    p.add_argument("--data", default="cifar10", metavar="NAME|PATH",
                   help="cifar10 (default), mnist, fashion-mnist, digits, or a path to an image "
                        "folder / .zip (one sub-folder per class, optional train/ and test/)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="where named data sets are looked for (default $CHAINRULE_DATA or "
                        "~/.chainrule/data)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="use a random subset of N training images (and N/5 test images)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the subset, the bag-of-words sampling and k-means (default 0)")


def add_feature_arguments(p: argparse.ArgumentParser, features_help: str, set_help: str) -> None:
    """--features NAMES and --set NAME.OPTION=VALUE of ``chainrule features`` and ``compare``."""
    p.add_argument("--features", default="hog,color", metavar="NAMES", help=features_help)
    p.add_argument("--set", action="append", default=[], metavar="NAME.OPTION=VALUE",
                   dest="options", help=set_help)


def feature_names(text: str) -> list[str]:
    """``'hog, color'`` -> ``['hog', 'color']``."""
    return [n.strip() for n in text.split(",") if n.strip()]


def parse_options(items: list[str]) -> dict[str, dict]:
    """``['hog.cell_size=4', 'color.bins=16']`` -> ``{'hog': {'cell_size': 4}, ...}``.

    Values are JSON where they parse as JSON, else strings.
    """
    options: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        name, dot, option = key.partition(".")
        if not sep or not dot or not name or not option:
            raise ConfigError(f"--set expects NAME.OPTION=VALUE (e.g. hog.cell_size=4), "
                              f"got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        options.setdefault(name, {})[option] = value
    return options
