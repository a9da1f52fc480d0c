"""describe_datasets: which registered data sets are present, where, and their size on disk."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chainrule.data import DATASETS, DatasetStatus, candidate_locations, describe_datasets
from chainrule.data.cifar import BATCH_FILES
from chainrule.data.idx import IDX_FILES
from chainrule.data.inventory import format_size, size_on_disk


def write(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * n)
    return path


def by_name(data_dir: Path) -> dict[str, DatasetStatus]:
    return {s.name: s for s in describe_datasets(data_dir)}


def test_one_status_per_registered_data_set_in_registry_order(tmp_path: Path) -> None:
    statuses = describe_datasets(tmp_path)
    assert [s.name for s in statuses] == list(DATASETS)
    assert [s.summary for s in statuses] == [info.summary for info in DATASETS.values()]


def test_an_absent_data_set_lists_every_place_looked_in(tmp_path: Path) -> None:
    mnist = by_name(tmp_path)["mnist"]
    assert not mnist.present and mnist.path is None and mnist.size == 0
    assert list(mnist.places) == candidate_locations("mnist", tmp_path)
    assert mnist.looked_in == f"{tmp_path / 'mnist'}\n{tmp_path}"
    assert mnist.presence == "no: chainrule download mnist"


def test_a_present_idx_folder_counts_its_data_files_and_archives_only(tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    sizes = [100, 200, 300, 400]
    for stem, n in zip(IDX_FILES.values(), sizes):
        write(folder / f"{stem}.gz", n)
    write(folder / "mnist.zip", 24)
    write(folder / "notes.txt", 10_000)  # not data: not counted
    (folder / "sub").mkdir()
    mnist = by_name(tmp_path)["mnist"]
    assert mnist.present and mnist.path == folder and mnist.size == 1024
    assert mnist.looked_in == str(folder)
    assert mnist.presence == f"yes: {folder} (1.0 KB)"


def test_cifar_batches_a_tarball_and_the_jpeg_zip(tmp_path: Path) -> None:
    batches = tmp_path / "cifar10" / "cifar-10-batches-py"
    for name in BATCH_FILES:
        write(batches / name, 1000)
    cifar = by_name(tmp_path)["cifar10"]
    assert cifar.path == batches and cifar.size == 1000 * len(BATCH_FILES) == 7000
    assert cifar.presence == f"yes: {batches} (6.8 KB)"

    tarball = write(tmp_path / "official" / "cifar-10-python.tar.gz", 2048)
    cifar = by_name(tmp_path / "official")["cifar10"]
    assert cifar.path == tarball and cifar.size == size_on_disk(tarball) == 2048  # a file
    assert cifar.presence == f"yes: {tarball} (2.0 KB)"

    jpeg = write(tmp_path / "jpeg" / "cifar10-jpeg.zip", 5)
    cifar = by_name(tmp_path / "jpeg")["cifar10"]
    assert cifar.path == jpeg and cifar.presence == f"yes (JPEG): {jpeg} (5 B)"


def test_digits_is_embedded_and_present_when_scikit_learn_is(tmp_path: Path,
                                                              monkeypatch) -> None:
    import importlib.util

    digits = by_name(tmp_path)["digits"]
    assert digits.embedded and digits.places == () and digits.path is None
    assert digits.looked_in == "scikit-learn (sklearn.datasets)"
    installed = importlib.util.find_spec("sklearn") is not None
    assert digits.present is installed
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sklearn" else sys.modules.get(name))
    missing = by_name(tmp_path)["digits"]
    assert not missing.present and missing.presence == "no: pip install 'chainrule[data]'"


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (1536, "1.5 KB"),
    (5 * 2**20, "5.0 MB"), (3 * 2**30, "3.0 GB"), (2048 * 2**30, "2048.0 GB"),
])
def test_sizes_for_people(n: int, text: str) -> None:
    assert format_size(n) == text
