"""The real ``chainrule`` command, as a user runs it, on the issue's examples of each class."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.robustness.files import (
    SRC,
    assert_one_line_refusal,
    make_image_folder,
    png_header_claiming,
    run_command,
    snapshot,
)

QUICK = ["--hidden", "8", "--epochs", "1", "--augment", "none", "--quiet"]


def test_a_run_folder_is_protected_from_a_second_run(tmp_path) -> None:
    """A finished run is not overwritten; a running one is locked; a killed one resumable."""
    first = run_command(["train", *QUICK, "--out", "run"], tmp_path)
    assert first.returncode == 0, first.stderr
    before = snapshot(tmp_path / "run")
    second = run_command(["train", *QUICK, "--out", "run"], tmp_path)
    assert_one_line_refusal(second, "train", ["already holds a run", "--overwrite"])
    assert snapshot(tmp_path / "run") == before

    env = {**os.environ, "PYTHONPATH": SRC}
    slow = subprocess.Popen([sys.executable, "-m", "chainrule", "train", "--hidden", "8",
                             "--epochs", "500", "--augment", "none", "--quiet",
                             "--out", "busy"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "busy" / "checkpoint.safetensors").exists():
            assert time.monotonic() < deadline and slow.poll() is None
            time.sleep(0.2)
        for argv in (["train", *QUICK, "--out", "busy"],
                     ["train", *QUICK, "--out", "busy", "--overwrite"],
                     ["train", "--resume", "busy", "--epochs", "600", "--quiet"]):
            refused = run_command(argv, tmp_path)
            assert_one_line_refusal(refused, "train", [f"pid {slow.pid}"])
    finally:
        slow.send_signal(signal.SIGKILL)  # as a crash or an OOM kill would
        slow.wait()
    stale = tmp_path / "busy" / ".checkpoint.safetensors.x7k2p9qa.tmp"
    stale.write_bytes(b"\0" * 2_000_000)  # what a kill during a checkpoint write leaves
    ckpt = json.loads(run_command(["evaluate", "busy", "--json"], tmp_path).stdout)
    assert ckpt["accuracy"] > 0
    done = run_command(["train", "--resume", "busy", "--epochs", "1", "--quiet"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and not (tmp_path / "busy" / ".chainrule.lock").exists()


@pytest.mark.parametrize(("options", "says"), [
    (["--lr", "1e308"], "training diverged"),
    (["--reg", "inf"], "--reg must be a finite number"),
    (["--reg", "1e300"], "lower the regularization"),
    (["--epochs", "0"], "--epochs must be >= 1"),
])
def test_a_run_that_fails_leaves_no_folder(tmp_path, options, says) -> None:
    result = run_command(["train", "--hidden", "8", "--epochs", "2", "--augment", "none",
                          "--quiet", "--out", "run", *options], tmp_path)
    assert_one_line_refusal(result, "train", [says])
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_features_refuses_a_batch_size_of_zero(tmp_path) -> None:
    for size in ("0", "-1"):
        result = run_command(["features", "--data", "digits", "--batch-size", size,
                              "--out", "f.npz"], tmp_path)
        assert_one_line_refusal(result, "features", ["--batch-size"])
    assert list(tmp_path.iterdir()) == []


def test_single_class_data_is_refused(tmp_path) -> None:
    make_image_folder(tmp_path / "shapes")
    for split in ("train", "test"):
        for png in (tmp_path / "shapes" / split / "blue").iterdir():
            png.unlink()
        (tmp_path / "shapes" / split / "blue").rmdir()
    result = run_command(["train", "--data", "shapes", *QUICK, "--out", "run"], tmp_path)
    assert_one_line_refusal(result, "train", ["all of one class ('red')"])
    assert not (tmp_path / "run").exists()


def test_predict_on_many_files_reports_the_bad_ones_and_predicts_the_rest(tmp_path) -> None:
    make_image_folder(tmp_path / "shapes")
    assert run_command(["train", "--data", "shapes", *QUICK, "--out", "run"],
                       tmp_path).returncode == 0
    good = sorted((tmp_path / "shapes" / "test").rglob("*.png"))[:2]
    (tmp_path / "bomb.png").write_bytes(png_header_claiming(40_000, 40_000))
    (tmp_path / "notes.png").write_text("not an image")
    files = [str(good[0]), "bomb.png", "missing.png", "notes.png", str(good[1])]
    result = run_command(["predict", "run", *files], tmp_path)
    assert result.returncode == 1
    errors = [e for e in result.stderr.splitlines() if ": error: " in e]  # and warnings
    assert [e.split(": ")[2] for e in errors] == ["bomb.png", "missing.png", "notes.png"]
    assert "1,600,000,000 pixels" in errors[0] and "decompression bomb" in errors[0]
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == \
        [str(good[0]), str(good[1])]
    as_json = json.loads(run_command(["predict", "run", *files, "--json"], tmp_path).stdout)
    assert [("error" in r) for r in as_json] == [False, True, True, True, False]


def test_a_diverged_checkpoint_is_refused_not_evaluated(tmp_path) -> None:
    assert run_command(["train", *QUICK, "--out", "run"], tmp_path).returncode == 0
    from tests.robustness.files import join_checkpoint, split_checkpoint

    ckpt = tmp_path / "run" / "checkpoint.safetensors"
    header, data = split_checkpoint(ckpt.read_bytes())
    data = bytearray(data)
    for name, entry in header.items():
        if name.startswith("model.") and entry["dtype"] == "F32":
            start, end = entry["data_offsets"]
            data[start:end] = np.full((end - start) // 4, np.nan, np.float32).tobytes()
    ckpt.write_bytes(join_checkpoint(header, bytes(data)))
    for argv in (["evaluate", "run"], ["predict", "run", "x.png"]):
        result = run_command(argv, tmp_path)
        assert_one_line_refusal(result, argv[0], ["NaN or infinite values"])


def test_resume_finds_relative_data_from_elsewhere_and_follows_it(tmp_path) -> None:
    work = tmp_path / "work"
    make_image_folder(work / "shapes")
    assert run_command(["train", "--data", "shapes", *QUICK, "--out", "run"],
                       work).returncode == 0
    other = tmp_path / "other"
    other.mkdir()
    resumed = run_command(["train", "--resume", str(work / "run"), "--epochs", "2",
                           "--quiet"], other)
    assert resumed.returncode == 0, resumed.stderr
    (tmp_path / "archive").mkdir()
    (work / "shapes").rename(tmp_path / "archive" / "shapes")
    lost = run_command(["train", "--resume", str(work / "run"), "--epochs", "3"], other)
    assert_one_line_refusal(lost, "train", ["not there any more"])
    found = run_command(["train", "--resume", str(work / "run"), "--epochs", "3", "--quiet",
                         "--data-dir", "../archive"], other)
    assert found.returncode == 0, found.stderr
    stored = json.loads((work / "run" / "metrics.json").read_text())["config"]["data"]
    assert stored == str(tmp_path / "archive" / "shapes")  # absolute, for the next resume
    (tmp_path / "archive" / "shapes").rename(tmp_path / "renamed")
    found = run_command(["train", "--resume", str(work / "run"), "--epochs", "4", "--quiet",
                         "--data", "../renamed"], other)
    assert found.returncode == 0, found.stderr
