"""Every numeric option of every command refuses what it cannot mean, in one line naming it.

Hypothesis draws values outside each option's range, of the wrong type, NaN, infinities and
plain text; each must end the command with a non-zero status, one line on stderr that names
the option, and nothing written or changed on disk.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.robustness.files import refusal, snapshot

MAX_SEED = 2**63 - 1
TEXT = st.sampled_from(["", "abc", "1e", "0x10", "1,5", "½", "one", " ", "-x"])


def bad_whole(low: int | None, high: int | None = None) -> st.SearchStrategy[str]:
    """Text that is not a whole number in ``[low, high]``."""
    outside = [st.integers(max_value=low - 1)] if low is not None else []
    if high is not None:
        outside.append(st.integers(min_value=high + 1))
    wrong_type = st.sampled_from(["2.5", "1e3", "nan", "inf", "-inf", "3.0e0"])
    return st.one_of(*(s.map(str) for s in outside), wrong_type, TEXT)


def bad_real(low: float | None = None, high: float | None = None, low_open: bool = False,
             high_open: bool = False) -> st.SearchStrategy[str]:
    """Text that is not a finite number in the range (``low_open``: ``low`` itself is out)."""
    outside = []
    if low is not None:
        outside.append(st.floats(max_value=low, exclude_max=not low_open, allow_nan=False))
    if high is not None:
        outside.append(st.floats(min_value=high, exclude_min=not high_open, allow_nan=False))
    return st.one_of(*(s.map(repr) for s in outside),
                     st.sampled_from(["nan", "inf", "-inf", "1e999"]), TEXT)


# (command, option, the values it refuses, the other arguments the command needs)
OPTIONS = [
    ("train", "--epochs", bad_whole(1), []),
    ("train", "--batch-size", bad_whole(1), []),
    ("train", "--hidden", bad_whole(1), []),
    ("train", "--early-stopping", bad_whole(1), ["--val-fraction", "0.1"]),
    ("train", "--seed", bad_whole(0, MAX_SEED), []),
    ("train", "--lr", bad_real(low=0.0, low_open=True), []),
    ("train", "--reg", bad_real(low=0.0), []),
    ("train", "--dropout", bad_real(low=0.0, high=1.0, high_open=True), []),
    ("train", "--val-fraction", bad_real(low=0.0, high=1.0, high_open=True), []),
    ("train", "--image-size", st.sampled_from(["0", "5000", "8x", "x8", "8x8x8", "-8", "a"]),
     []),
    ("features", "--batch-size", bad_whole(1), ["--data", "digits"]),
    ("features", "--limit", bad_whole(1), ["--data", "digits"]),
    ("features", "--seed", bad_whole(0, MAX_SEED), ["--data", "digits"]),
    ("features", "--image-size", st.sampled_from(["0", "9999", "3x", "big"]), []),
    ("compare", "--image-size", st.sampled_from(["0", "4097", "x3", "a"]), []),
    ("compare", "--epochs", bad_whole(1), ["--data", "digits"]),
    ("compare", "--hidden", bad_whole(1), ["--data", "digits"]),
    ("compare", "--batch-size", bad_whole(1), ["--data", "digits"]),
    ("compare", "--limit", bad_whole(1), ["--data", "digits"]),
    ("compare", "--seed", bad_whole(0, MAX_SEED), ["--data", "digits"]),
    ("compare", "--lr", bad_real(low=0.0, low_open=True), ["--data", "digits"]),
    ("compare", "--reg", bad_real(low=0.0), ["--data", "digits"]),
    ("compare", "--val-fraction", bad_real(low=0.0, high=1.0, high_open=True),
     ["--data", "digits"]),
    ("predict", "--top", bad_whole(1), ["nowhere", "x.png"]),
    ("explain", "--precision", bad_whole(0, 12), ["x * y", "--values", "x=1", "y=2"]),
    ("explain", "--seed", bad_whole(0, MAX_SEED), ["x * y", "--values", "x=1", "y=2"]),
    ("download", "--timeout", bad_real(low=0.0, high=86400.0, low_open=True),
     ["mnist", "--root", "downloads"]),
    ("playground", "--port", bad_whole(0, 65535), []),
]


@contextlib.contextmanager
def inside(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "kept.txt").write_text("the user's file")
    return folder


@pytest.mark.parametrize(("command", "option", "values", "rest"), OPTIONS,
                         ids=[f"{c} {o}" for c, o, _, _ in OPTIONS])
def test_bad_values_are_one_line_naming_the_option(command, option, values, rest, workdir,
                                                   capsys) -> None:
    @settings(max_examples=12, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(value=values)
    def check(value: str) -> None:
        before = snapshot(workdir)
        with inside(workdir):
            refusal(capsys, [command, *rest, f"{option}={value}", *_out(command)], command,
                    [option])
        assert snapshot(workdir) == before  # nothing written, nothing changed

    check()


def _out(command: str) -> list[str]:
    """Where the command would write, so that the test sees if anything was written."""
    return {"train": ["--out", "run"], "features": ["--out", "f.npz"],
            "compare": ["--out", "cmp"]}.get(command, [])


def test_unknown_options_and_values_are_one_line(workdir, capsys) -> None:
    with inside(workdir):
        for argv, needle in ([["train", "--epochz", "3"], "--epochz"],
                             [["train", "--optimizer", "adagrad"], "--optimizer"],
                             [["train", "--resume", "run", "--lr", "0.1"], "--lr"],
                             [["predict"], "RUN"],
                             [["features", "--set", "hog.cell_size=0"], "cell_size"],
                             [["features", "--set", "hog.cell_size=1e9"], "cell_size"],
                             [["features", "--set", "color.bins=2.5"], "bins"],
                             [["features", "--features", "gabor", "--set",
                               "gabor.frequencies=[1e-9]"], "frequency"],
                             [["features", "--set", "gabor.grid=2"], "gabor is not among"],
                             [["features", "--features", "bow", "--set",
                               "bow.n_words=100000000"], "n_words"]):
            command = argv[0]
            refusal(capsys, [*argv, *_out(command)], command, [needle])


def test_every_numeric_option_of_every_command_is_tried() -> None:
    import argparse

    from chainrule.cli import build_parser

    numeric = set()
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                for option in sub._actions:
                    if option.type is not None and option.type is not str:
                        numeric.add((command, option.option_strings[-1]))
    assert numeric <= {(command, option) for command, option, _, _ in OPTIONS}
