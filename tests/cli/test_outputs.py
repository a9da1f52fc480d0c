"""What commands write is never lost: outputs that exist are refused unless --overwrite."""

from __future__ import annotations

from chainrule.cli import main
from tests.robustness.files import make_image_folder, refusal, snapshot


def test_features_refuses_an_existing_file_before_extracting(tmp_path, capsys) -> None:
    make_image_folder(tmp_path / "shapes")
    out = tmp_path / "f.npz"
    out.write_bytes(b"an hour of extraction")
    argv = ["features", "--data", str(tmp_path / "shapes"), "--features", "color", "--out",
            str(out)]
    refusal(capsys, argv, "features", [str(out), "--overwrite"])
    assert out.read_bytes() == b"an hour of extraction"
    assert main([*argv, "--overwrite"]) == 0
    assert out.read_bytes()[:2] == b"PK"  # an .npz now


def test_compare_refuses_a_folder_holding_a_comparison(tmp_path, capsys) -> None:
    make_image_folder(tmp_path / "shapes")
    out = tmp_path / "cmp"
    argv = ["compare", "--data", str(tmp_path / "shapes"), "--epochs", "1", "--hidden", "4",
            "--val-fraction", "0.25", "--out", str(out)]
    assert main(argv) == 0
    before = snapshot(out)
    capsys.readouterr()
    refusal(capsys, argv, "compare", ["already holds a run", "--overwrite"])
    assert snapshot(out) == before
    assert main([*argv, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "report.html"]
