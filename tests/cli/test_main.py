"""The command line's error policy, and the option parsing shared by features and compare."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import chainrule as cr
import chainrule.train
from chainrule.cli import main
from chainrule.cli.arguments import feature_names, parse_options


def _raising(error: BaseException):
    def evaluate_run(*args, **kwargs):
        raise error

    return evaluate_run


@pytest.mark.parametrize("error", [
    cr.ConfigError("--x must be >= 1, got 0"), cr.DataError("data.csv: no label column"),
    chainrule.train.CheckpointError("run/checkpoint.safetensors: bad header"),
    FileNotFoundError(2, "No such file or directory"), PermissionError("runs: read-only"),
])
def test_chainrule_errors_and_os_errors_are_one_line(monkeypatch, capsys, error) -> None:
    monkeypatch.setattr(chainrule.train, "evaluate_run", _raising(error))
    assert main(["evaluate", "runs/x"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"chainrule evaluate: error: {error}\n" and captured.out == ""


@pytest.mark.parametrize("error", [TypeError("bug"), KeyError("bug"), IndexError("bug"),
                                   ValueError("bug"), AttributeError("bug")])
def test_other_exceptions_keep_their_traceback(monkeypatch, capsys, error) -> None:
    monkeypatch.setattr(chainrule.train, "evaluate_run", _raising(error))
    with pytest.raises(type(error), match="bug"):
        main(["evaluate", "runs/x"])
    assert capsys.readouterr().err == ""


def test_interrupt_exits_130(monkeypatch, capsys) -> None:
    monkeypatch.setattr(chainrule.train, "evaluate_run", _raising(KeyboardInterrupt()))
    assert main(["evaluate", "runs/x"]) == 130
    assert capsys.readouterr().err == "chainrule: interrupted\n"


def test_a_bug_prints_a_traceback_from_the_shell(tmp_path) -> None:
    script = ("import chainrule.train, chainrule.cli as c\n"
              "def bug(*a, **k): return None + 1\n"
              "chainrule.train.evaluate_run = bug\n"
              "raise SystemExit(c.main(['evaluate', 'x']))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "TypeError: unsupported operand" in result.stderr
    missing = subprocess.run([sys.executable, "-m", "chainrule", "evaluate", "nowhere"],
                             capture_output=True, text=True, cwd=tmp_path, check=False)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("chainrule evaluate: error: ") and \
        "no checkpoint here" in missing.stderr


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    """``chainrule explain ... | head``: no Broken pipe message, no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has already gone
    try:
        result = subprocess.run(
            [sys.executable, "-c", "import sys; from chainrule.cli import main; "
             "sys.exit(main(sys.argv[1:]))", "explain", "--example", "sigmoid-neuron"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert result.stderr == ""


def test_parse_options_and_feature_names() -> None:
    assert parse_options(["hog.cell_size=4", "hog.block_norm=L1", "gabor.frequencies=[0.1,0.2]"]) \
        == {"hog": {"cell_size": 4, "block_norm": "L1"}, "gabor": {"frequencies": [0.1, 0.2]}}
    for bad in ("hog.cell_size", "cell_size=4", ".x=1", "hog.=1"):
        with pytest.raises(cr.ConfigError, match=r"NAME\.OPTION=VALUE"):
            parse_options([bad])
    assert feature_names(" hog, color ,") == ["hog", "color"]


def test_option_mistakes_in_other_commands_are_one_line(capsys, monkeypatch) -> None:
    assert main(["compare", "--epochs", "0"]) == 1
    assert "--epochs must be >= 1" in capsys.readouterr().err
    assert main(["features", "--features", "pixels"]) == 1
    assert "needs no extraction" in capsys.readouterr().err
    assert main(["features", "--data", "digits", "--set", "hog.cel_size=4", "--limit", "10"]) == 1
    assert "hog options" in capsys.readouterr().err
    assert main(["playground", "--port", "70000"]) == 1
    assert "--port must be in 0..65535" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # the playground extra is missing
    assert main(["playground"]) == 1
    assert "pip install 'chainrule[playground]'" in capsys.readouterr().err


def test_a_bad_input_file_for_explain_is_one_line(tmp_path, capsys) -> None:
    from chainrule.train import save_checkpoint

    save_checkpoint(tmp_path / "run", cr.nn.MLP(6, [5], 3))
    (tmp_path / "x.npy").write_text("not an array")
    assert main(["explain", "--model", str(tmp_path / "run"), "--input",
                 str(tmp_path / "x.npy")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule explain: error: --model: ") and "not a .npy array" in err
