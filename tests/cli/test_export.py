"""``chainrule export RUN --onnx FILE``."""

from __future__ import annotations

import pytest

from chainrule.cli import main
from chainrule.train import TrainConfig, train_run

pytest.importorskip("onnx")


def test_export_writes_the_file_and_says_so(tmp_path, capsys) -> None:
    train_run(TrainConfig(epochs=1, hidden=[16], augment="none"), out=tmp_path / "run",
              progress=False)
    capsys.readouterr()
    assert main(["export", str(tmp_path / "run"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'm.onnx'}\n"
    assert (tmp_path / "m.onnx").stat().st_size > 1000


def test_errors_are_one_line(tmp_path, capsys) -> None:
    assert main(["export", str(tmp_path / "missing"), "--onnx", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule export: error: ") and err.count("\n") == 1


def test_onnx_is_required(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["export", "runs/x"])
    assert "--onnx" in capsys.readouterr().err
