"""CIFAR-10 python batches (folder and tar.gz), corruptions, and the real JPEG zip."""

from __future__ import annotations

import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import CIFAR10_CLASSES, load_cifar10, md5sum

N_PER_BATCH = 4


def batch(seed: int, n: int = N_PER_BATCH, n_labels: int | None = None) -> dict:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"x", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, n if n_labels is None else n_labels).tolist(),
            b"filenames": [b"f.png"] * n}


def make_batches(folder: Path, protocol: int = 2, **overrides: dict) -> dict[str, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i}": batch(i) for i in range(1, 6)}
    batches["test_batch"] = batch(9)
    batches.update(overrides)
    for name, content in batches.items():
        (folder / name).write_bytes(pickle.dumps(content, protocol=protocol))
    meta = {b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return batches


def make_tarball(tmp_path: Path) -> tuple[Path, dict]:
    batches = make_batches(tmp_path / "src" / "cifar-10-batches-py")
    tar_path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return tar_path, batches


def check(ds: cr.data.ImageDataset, batches: dict) -> None:
    assert ds.train_images.shape == (5 * N_PER_BATCH, 32, 32, 3)
    assert ds.test_images.shape == (N_PER_BATCH, 32, 32, 3)
    assert ds.classes == CIFAR10_CLASSES
    first = batches["data_batch_1"][b"data"][0]
    # Row layout: the red plane, then green, then blue, each 32x32 row-major.
    np.testing.assert_array_equal(ds.train_images[0, :, :, 0], first[:1024].reshape(32, 32))
    np.testing.assert_array_equal(ds.train_images[0, :, :, 2], first[2048:].reshape(32, 32))
    np.testing.assert_array_equal(ds.test_labels, batches["test_batch"][b"labels"])
    last = batches["data_batch_5"][b"labels"]
    np.testing.assert_array_equal(ds.train_labels[-N_PER_BATCH:], last)


@pytest.mark.parametrize("protocol", [2, 5])
def test_batches_folder(tmp_path: Path, protocol: int) -> None:
    batches = make_batches(tmp_path / "cifar-10-batches-py", protocol=protocol)
    check(load_cifar10(tmp_path / "cifar-10-batches-py"), batches)
    check(load_cifar10(tmp_path), batches)  # the folder that contains cifar-10-batches-py
    check(cr.data.load(str(tmp_path / "cifar-10-batches-py")), batches)


def test_tarball_and_lookup_by_name(tmp_path: Path) -> None:
    tar_path, batches = make_tarball(tmp_path)
    check(load_cifar10(tar_path), batches)
    check(cr.data.load(str(tar_path)), batches)
    data_dir = tmp_path / "data"
    (data_dir / "cifar10").mkdir(parents=True)
    os.replace(tar_path, data_dir / "cifar10" / "cifar-10-python.tar.gz")
    ds = cr.data.load("cifar10", data_dir)
    check(ds, batches)
    assert ds.name == "cifar10"


def test_truncated_tarball(tmp_path: Path) -> None:
    tar_path, _ = make_tarball(tmp_path)
    data = tar_path.read_bytes()
    tar_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(cr.DataError, match=r"cifar-10-python.tar.gz: truncated or corrupt archive"):
        load_cifar10(tar_path)


def test_count_mismatch_missing_batch_and_bad_shape(tmp_path: Path) -> None:
    make_batches(tmp_path / "a", data_batch_3=batch(3, n_labels=3))
    with pytest.raises(cr.DataError, match=r"data_batch_3: 4 images but 3 labels"):
        load_cifar10(tmp_path / "a")
    make_batches(tmp_path / "b")
    (tmp_path / "b" / "data_batch_4").unlink()
    with pytest.raises(cr.DataError, match=r"data_batch_4 missing from .*b"):
        load_cifar10(tmp_path / "b")
    bad = batch(1)
    bad[b"data"] = bad[b"data"][:, :100]
    make_batches(tmp_path / "c", data_batch_1=bad)
    with pytest.raises(cr.DataError, match=r"data_batch_1: expected uint8 data of shape \(N, 30"):
        load_cifar10(tmp_path / "c")
    (tmp_path / "c" / "data_batch_1").write_bytes(b"garbage, not a pickle")
    with pytest.raises(cr.DataError, match="data_batch_1: not a readable CIFAR batch"):
        load_cifar10(tmp_path / "c")
    with pytest.raises(cr.DataError, match="chainrule download cifar10"):
        load_cifar10(tmp_path / "nothing-here")


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned",))


def test_pickles_cannot_run_code(tmp_path: Path) -> None:
    make_batches(tmp_path / "d")
    (tmp_path / "d" / "test_batch").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}))
    with pytest.raises(cr.DataError, match="refusing to load"):
        load_cifar10(tmp_path / "d")


@pytest.mark.slow
def test_real_cifar10_jpeg_zip(shared_data: Path, tmp_path: Path) -> None:
    """The shared JPEG zip: md5, layout (5,000 / 1,000 per class), and a decoded subset."""
    from chainrule.data.imagefolder import _class_files, _tree_of_zip

    path = shared_data / "cifar10-jpeg" / "cifar10-jpeg.zip"
    assert md5sum(path) == "cbe51c91f49dbdd258cb39c659a76be4"
    assert cr.data.locate("cifar10", shared_data) == path
    tree, reader = _tree_of_zip(path)
    try:
        train, test = _class_files(tree, "train", "train"), _class_files(tree, "test", "test")
        assert sorted(train) == CIFAR10_CLASSES
        assert {len(v) for v in train.values()} == {5000}
        assert {len(v) for v in test.values()} == {1000}
        # Decode a subset: 20 train and 5 test images per class, repacked into a small zip.
        small = tmp_path / "cifar-subset.zip"
        with zipfile.ZipFile(small, "w") as out:
            for c in CIFAR10_CLASSES:
                for rel in train[c][:20] + test[c][:5]:
                    out.writestr(rel, tree.read(rel))
    finally:
        reader.close()
    ds = cr.data.load(str(small))
    assert ds.classes == CIFAR10_CLASSES
    assert ds.train_images.shape == (200, 32, 32, 3) and ds.test_images.shape == (50, 32, 32, 3)
    assert np.bincount(ds.train_labels).tolist() == [20] * 10
    assert 60 < ds.train_images.mean() < 200  # real photos, not blank decodes
    assert ds.train_images.std() > 30
