"""Dataset types, the registry, load() by name and path, and the `datasets` command."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.data import ImageDataset, TabularDataset, default_data_dir, load
from tests.data.test_cifar import make_batches
from tests.data.test_idx import make_mnist


def tiny(**overrides: object) -> ImageDataset:
    fields = {"name": "tiny", "train_images": np.zeros((4, 2, 3, 1), np.uint8),
              "train_labels": [0, 1, 0, 1], "test_images": np.zeros((2, 2, 3, 1), np.uint8),
              "test_labels": [1, 0], "classes": ["a", "b"]}
    fields.update(overrides)
    return ImageDataset(**fields)


def test_image_dataset_contract() -> None:
    ds = tiny()
    assert ds.image_shape == (2, 3, 1) and ds.num_classes == 2 and ds.num_features == 6
    assert ds.train_labels.dtype == np.int64
    assert ds.describe() == "tiny: 4 train + 2 test images of 2x3 gray, 2 classes (a, b)"
    with pytest.raises(cr.DataError, match=r"train_images must be uint8 of shape \(N, H, W, C\)"):
        tiny(train_images=np.zeros((4, 2, 3), np.uint8))
    with pytest.raises(cr.DataError, match=r"labels must lie in 0..1"):
        tiny(test_labels=[2, 0])
    with pytest.raises(cr.DataError, match="train has 4 samples but labels of shape"):
        tiny(train_labels=[0, 1])
    with pytest.raises(cr.DataError, match="train images are"):
        tiny(test_images=np.zeros((2, 5, 3, 1), np.uint8))


def test_tabular_dataset_contract() -> None:
    ds = TabularDataset("t", np.zeros((3, 2)), [0, 1, 2], np.zeros((1, 2)), [2], ["x", "y", "z"],
                        ["f1", "f2"])
    assert ds.train_features.dtype == np.float32 and ds.num_features == 2
    with pytest.raises(cr.DataError, match="must be"):
        TabularDataset("t", np.zeros((3, 3)), [0, 1, 2], np.zeros((1, 2)), [2], ["x"] * 3,
                       ["f1", "f2"])


def test_default_data_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path
    make_mnist(tmp_path / "mnist", n_train=4)
    assert load("mnist").train_images.shape[0] == 4  # found through $CHAINRULE_DATA
    monkeypatch.delenv("CHAINRULE_DATA")
    assert default_data_dir() == Path.home() / ".chainrule" / "data"


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(cr.DataError, match=r"unknown dataset 'imagenet': expected one of digits"):
        load("imagenet")
    with pytest.raises(cr.DataError, match=r"CIFAR-10 not found \(looked in .*cifar10.*\)"):
        load("cifar10", tmp_path)
    (tmp_path / "notes.bin").write_bytes(b"x")
    with pytest.raises(cr.DataError, match="unsupported file type"):
        load(str(tmp_path / "notes.bin"))


def test_cifar_official_preferred_over_jpeg(tmp_path: Path) -> None:
    (tmp_path / "cifar10-jpeg").mkdir()
    (tmp_path / "cifar10-jpeg" / "cifar10-jpeg.zip").write_bytes(b"")
    assert cr.data.locate("cifar10", tmp_path) == tmp_path / "cifar10-jpeg" / "cifar10-jpeg.zip"
    make_batches(tmp_path / "src" / "cifar-10-batches-py")
    (tmp_path / "cifar10").mkdir()
    with tarfile.open(tmp_path / "cifar10" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    assert cr.data.locate("cifar10", tmp_path) == tmp_path / "cifar10" / "cifar-10-python.tar.gz"


def test_datasets_command(tmp_path: Path, capsys) -> None:
    make_mnist(tmp_path / "mnist", n_train=4)
    assert main(["datasets", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "mnist", "fashion-mnist", "cifar10"):
        assert name in out
    assert "chainrule download fashion-mnist" in out and "chainrule download cifar10" in out
    assert "yes (embedded)" in out
    mnist_row = next(line for line in out.splitlines() if "│ mnist" in line)
    assert "yes" in mnist_row and "chainrule download mnist" not in out


def test_help_lists_commands(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "datasets" in out and "download" in out
    with pytest.raises(SystemExit):
        main(["download", "--help"])
    out = capsys.readouterr().out
    assert "md5" in out and "--root" in out and "ossci-datasets.s3.amazonaws.com" in out


def test_datasets_command_without_rich(tmp_path: Path, capsys, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "rich.table", None)  # makes `import rich.table` fail
    assert main(["datasets", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"data folder: {tmp_path}" in out
    assert "mnist\n" in out and "present: no: chainrule download mnist" in out
