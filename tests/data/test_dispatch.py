"""load(): which loader each registered name and each kind of path goes to.

The loaders are replaced by recorders, so these tests check the dispatch alone: the
loaders' own parsing is tested in test_data_<format>.py.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.data import dispatch
from chainrule.data.idx import IDX_FILES

LOADERS = ("load_cifar10", "load_csv", "load_digits", "load_image_folder", "load_mnist")


@pytest.fixture
def calls(monkeypatch) -> list[tuple[str, tuple, dict]]:
    """Every loader of the dispatcher, recording its calls instead of loading."""
    seen: list[tuple[str, tuple, dict]] = []
    for name in LOADERS:
        def record(*args, _name=name, **kwargs):
            seen.append((_name, args, kwargs))
            return _name
        monkeypatch.setattr(dispatch, name, record)
    return seen


def idx_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for stem in IDX_FILES.values():
        (folder / f"{stem}.gz").write_bytes(b"")
    return folder


def test_names_go_to_their_loaders(tmp_path: Path, calls) -> None:
    assert cr.data.load("digits", test_fraction=0.5, seed=3) == "load_digits"
    idx_folder(tmp_path / "fashion-mnist")
    assert cr.data.load("fashion-mnist", tmp_path) == "load_mnist"
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"")
    assert cr.data.load("cifar10", tmp_path) == "load_cifar10"
    assert calls == [
        ("load_digits", (), {"test_fraction": 0.5, "seed": 3}),
        ("load_mnist", (tmp_path / "fashion-mnist",), {"kind": "fashion-mnist"}),
        ("load_cifar10", (tmp_path / "cifar10" / "cifar-10-python.tar.gz",), {}),
    ]


def test_the_cifar_jpeg_zip_is_an_image_folder(tmp_path: Path, calls) -> None:
    (tmp_path / "cifar10-jpeg.zip").write_bytes(b"")
    cr.data.load("cifar10", tmp_path, test_fraction=0.25)
    assert calls == [("load_image_folder", (tmp_path / "cifar10-jpeg.zip",),
                      {"name": "CIFAR-10 (JPEG)", "test_fraction": 0.25, "seed": 0})]


def make_source(root: Path, kind: str) -> Path:
    """An (empty) source of one format under ``root``: only its shape matters here."""
    if kind == "csv":
        (root / "table.csv").write_text("a,label\n")
        return root / "table.csv"
    if kind == "zip":
        (root / "pets.zip").write_bytes(b"")
        return root / "pets.zip"
    if kind == "cifar tarball":
        (root / "cifar-10-python.tar.gz").write_bytes(b"")
        return root / "cifar-10-python.tar.gz"
    if kind == "cifar batches":
        (root / "batches").mkdir()
        (root / "batches" / "data_batch_1").write_bytes(b"")
        return root / "batches"
    if kind == "idx folder":
        return idx_folder(root / "my-fashion-set")
    (root / "pets" / "cat").mkdir(parents=True)
    return root / "pets"


@pytest.mark.parametrize("kind, loader", [
    ("csv", "load_csv"), ("zip", "load_image_folder"), ("cifar tarball", "load_cifar10"),
    ("cifar batches", "load_cifar10"), ("idx folder", "load_mnist"),
    ("image folder", "load_image_folder"),
])
def test_paths_go_to_the_loader_of_their_format(tmp_path: Path, calls, kind, loader) -> None:
    path = make_source(tmp_path, kind)
    assert cr.data.load(str(path)) == loader
    name, args, kwargs = calls[0]
    assert (name, args[0]) == (loader, path)
    if kind == "idx folder":  # Fashion-MNIST's classes when the folder's name says fashion
        assert kwargs == {"kind": "fashion-mnist", "name": "my-fashion-set"}


def test_a_folder_holding_only_a_zip_loads_the_zip(tmp_path: Path, calls) -> None:
    holder = tmp_path / "holder"
    holder.mkdir()
    with zipfile.ZipFile(holder / "images.zip", "w"):
        pass
    (holder / ".DS_Store").write_bytes(b"")  # hidden entries do not count
    cr.data.load(str(holder), size=16, grayscale=True)
    assert calls == [("load_image_folder", (holder / "images.zip",),
                      {"size": 16, "grayscale": True, "test_fraction": 0.2, "seed": 0})]


def test_unknown_names_and_files_name_what_is_accepted(tmp_path: Path, calls) -> None:
    with pytest.raises(cr.DataError, match="unknown dataset 'imagenet': expected one of digits"):
        cr.data.load("imagenet")
    (tmp_path / "notes.bin").write_bytes(b"")
    with pytest.raises(cr.DataError, match=r"notes\.bin: unsupported file type"):
        cr.data.load(str(tmp_path / "notes.bin"))
    with pytest.raises(cr.DataError, match=r"MNIST not found .*chainrule download mnist"):
        cr.data.load("mnist", tmp_path)
    assert calls == []
