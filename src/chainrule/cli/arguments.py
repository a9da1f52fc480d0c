"""What several commands share: their parser's layout, a run folder, data and feature options.

Also the parser itself (:class:`OneLineParser`: a command line that does not parse is one
line naming the option), the record of which options the user gave (:func:`track_given`)
and the range check of a numeric option (:func:`check_option`).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from typing import Any, NoReturn

from chainrule.errors import ConfigError

__all__ = [
    "OneLineParser",
    "UsageError",
    "add_command",
    "add_data_arguments",
    "add_device_argument",
    "add_feature_arguments",
    "add_run_argument",
    "check_data_options",
    "check_option",
    "feature_names",
    "image_size",
    "parse_options",
    "track_given",
]


class UsageError(Exception):
    """A command line that does not parse; the message is the one line to print."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, ``chainrule train: error: ...``.

    argparse prints the whole usage before its error; the usage of ``chainrule train`` is
    a dozen lines that bury the one that matters. ``--help`` still prints all of it.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and " " in self.prog:  # a sub-command's: say which command has no such option
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


class _Store(argparse.Action):
    """argparse's ``store``, also recording the option in ``namespace.given``."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        namespace.given = frozenset(getattr(namespace, "given", frozenset()) | {self.dest})


class _StoreTrue(_Store):
    """argparse's ``store_true``, also recording the option in ``namespace.given``."""

    def __init__(self, option_strings: Sequence[str], dest: str, default: bool = False,
                 required: bool = False, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, const=True, default=default,
                         required=required, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        super().__call__(parser, namespace, self.const, option_string)


def track_given(p: argparse.ArgumentParser) -> None:
    """Make ``args.given`` the set of option names (dests) the user gave on the command line.

    Options the user left at their default are not in it, even when the default is the
    value that was given; ``chainrule train --resume`` refuses settings it cannot apply.
    """
    p.register("action", None, _Store)
    p.register("action", "store", _Store)
    p.register("action", "store_true", _StoreTrue)
    p.set_defaults(given=frozenset())


def check_option(option: str, value: Any, *, low: float | None = None,
                 high: float | None = None, low_open: bool = False,
                 high_open: bool = False) -> Any:
    """``value`` if it is a finite number in range, else a ``ConfigError`` naming ``option``.

    >>> check_option("--top", 0, low=1)
    Traceback (most recent call last):
        ...
    chainrule.errors.ConfigError: --top must be >= 1, got 0
    """
    if value is None:
        return value
    finite = not isinstance(value, bool) and isinstance(value, (int, float)) and \
        math.isfinite(value)
    if not finite:
        raise ConfigError(f"{option} must be a finite number, got {value!r}")
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        if low is not None and high is not None:
            where = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            where = f"{'>' if low_open else '>='} {low:g}"
        else:
            where = f"{'<' if high_open else '<='} {high:g}"
        raise ConfigError(f"{option} must be {where}, got {value!r}")
    return value


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
    p.add_argument("--image-size", type=image_size, default=None, metavar="N|HxW",
                   help="resize an image folder's images to N x N or H x W pixels (needed "
                        "when they differ in size)")


def image_size(text: str) -> list[int]:
    """``--image-size``: ``'32'`` -> ``[32, 32]``, ``'48x64'`` -> ``[48, 64]`` (height x width)."""
    parts = text.lower().split("x")
    try:
        sides = [int(p) for p in parts]
    except ValueError:
        sides = []
    if len(sides) == 1:
        sides *= 2
    if len(sides) != 2 or not all(1 <= s <= 4096 for s in sides):
        raise argparse.ArgumentTypeError(f"expected N or HxW with sides in 1..4096 "
                                         f"(e.g. 32 or 48x64), got {text!r}")
    return sides


def check_data_options(args: argparse.Namespace) -> None:
    """The numbers of :func:`add_data_arguments`: ``--limit`` >= 1, ``--seed`` a valid seed."""
    from chainrule.train.config import MAX_SEED

    check_option("--limit", args.limit, low=1)
    check_option("--seed", args.seed, low=0, high=MAX_SEED)


def add_feature_arguments(p: argparse.ArgumentParser, features_help: str, set_help: str) -> None:
    """--features NAMES and --set NAME.OPTION=VALUE of ``chainrule features`` and ``compare``."""
    p.add_argument("--features", default="hog,color", metavar="NAMES", help=features_help)
    p.add_argument("--set", action="append", default=[], metavar="NAME.OPTION=VALUE",
                   dest="options", help=set_help)


def feature_names(text: str) -> list[str]:
    """``'hog, color'`` -> ``['hog', 'color']``."""
    return [n.strip() for n in text.split(",") if n.strip()]


def parse_options(items: list[str], names: list[str] | None = None) -> dict[str, dict]:
    """``['hog.cell_size=4', 'color.bins=16']`` -> ``{'hog': {'cell_size': 4}, ...}``.

    Values are JSON where they parse as JSON, else strings. With ``names`` (the extractors
    of ``--features``), an option for an extractor that is not among them is refused: it
    would have no effect.
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
        if names is not None and name not in names:
            raise ConfigError(f"--set {item}: {name} is not among --features "
                              f"{','.join(names)}, so the option would have no effect")
        options.setdefault(name, {})[option] = value
    return options
