"""Where registered data sets are looked for (candidate_locations) and found (locate)."""

from __future__ import annotations

from pathlib import Path

import pytest

import chainrule as cr
from chainrule.data import candidate_locations, default_data_dir, locate
from chainrule.data.idx import IDX_FILES


def idx_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem in IDX_FILES.values():
        (folder / stem).write_bytes(b"")  # uncompressed names count too
    return folder


def test_default_data_dir_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "d"))
    assert default_data_dir() == tmp_path / "d"
    monkeypatch.delenv("CHAINRULE_DATA")
    assert default_data_dir() == Path.home() / ".chainrule" / "data"


def test_candidates_in_order(tmp_path: Path) -> None:
    assert candidate_locations("mnist", tmp_path) == [tmp_path / "mnist", tmp_path]
    fashion = candidate_locations("fashion-mnist", tmp_path)
    assert fashion[:2] == [tmp_path / "fashion-mnist", tmp_path / "fashion_mnist"]
    assert fashion[-1] == tmp_path and len(fashion) == 4  # the Debian folder before the root
    cifar = candidate_locations("cifar10", tmp_path)
    assert cifar[0] == tmp_path / "cifar10" / "cifar-10-batches-py"
    assert all(p.suffix != ".zip" for p in cifar[:5]) and cifar[-1].name == "cifar10-jpeg.zip"
    assert candidate_locations("digits", tmp_path) == []
    with pytest.raises(cr.DataError, match="unknown dataset 'svhn'"):
        candidate_locations("svhn", tmp_path)


def test_locate_returns_the_first_place_that_holds_the_data(tmp_path: Path) -> None:
    assert locate("mnist", tmp_path) is None
    idx_folder(tmp_path)
    assert locate("mnist", tmp_path) == tmp_path  # the data folder itself, last resort
    idx_folder(tmp_path / "mnist")
    assert locate("mnist", tmp_path) == tmp_path / "mnist"
    assert locate("digits", tmp_path) is None  # embedded: nothing to locate


def test_locate_cifar_by_its_files(tmp_path: Path) -> None:
    (tmp_path / "cifar10").mkdir()
    assert locate("cifar10", tmp_path) is None  # an empty folder is not CIFAR-10
    (tmp_path / "cifar10-jpeg.zip").write_bytes(b"")
    assert locate("cifar10", tmp_path) == tmp_path / "cifar10-jpeg.zip"
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"")
    assert locate("cifar10", tmp_path) == tmp_path / "cifar10" / "cifar-10-python.tar.gz"
