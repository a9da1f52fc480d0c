"""IDX reading (MNIST / Fashion-MNIST): formats, corruptions, and the real shared files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_mnist, md5sum, read_idx

TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
              np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    dtype = array.dtype if array.dtype.itemsize == 1 else array.dtype.newbyteorder(">")
    header = bytes([0, 0, TYPE_CODES[dtype], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(dtype).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_mnist(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True) -> dict:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for stem, arr in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arr, gz=gz)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trips_every_type(tmp_path: Path, gz: bool, dtype: type) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype is np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a.idx", array.astype(np.dtype(dtype).newbyteorder(">")), gz=gz)
    out = read_idx(path)
    assert out.shape == (2, 3, 4)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable


def test_wrong_magic_names_file_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x08\x03" + bytes(100))
    with pytest.raises(cr.DataError, match=r"idx3-ubyte: wrong magic number 0x12340803"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x07\x01" + bytes(8))  # unknown type code
    with pytest.raises(cr.DataError, match="wrong magic number"):
        read_idx(path)


def test_truncated_data_header_and_gzip(tmp_path: Path) -> None:
    full = idx_bytes(np.zeros((10, 28, 28), np.uint8))
    path = tmp_path / "imgs.idx"
    path.write_bytes(full[:-100])
    with pytest.raises(cr.DataError, match=r"imgs.idx: truncated IDX file: shape \(10, 28, 28\)"):
        read_idx(path)
    path.write_bytes(full[:9])
    with pytest.raises(cr.DataError, match="truncated IDX header"):
        read_idx(path)
    path.write_bytes(full[:2])
    with pytest.raises(cr.DataError, match="truncated IDX file"):
        read_idx(path)
    gz = tmp_path / "imgs.idx.gz"
    gz.write_bytes(gzip.compress(full)[:-40])
    with pytest.raises(cr.DataError, match=r"imgs.idx.gz: truncated gzip"):
        read_idx(gz)
    path.write_bytes(full + b"extra")
    with pytest.raises(cr.DataError, match="5 unexpected bytes"):
        read_idx(path)


def test_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(cr.DataError, match="file not found"):
        read_idx(tmp_path / "nope.gz")
    make_mnist(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(cr.DataError, match=r"expected t10k-labels-idx1-ubyte.gz .* in .*m"):
        load_mnist(tmp_path / "m")


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_folder(tmp_path: Path, gz: bool) -> None:
    arrays = make_mnist(tmp_path / "mnist", gz=gz)
    ds = load_mnist(tmp_path / "mnist")
    assert ds.train_images.shape == (12, 28, 28, 1) and ds.test_images.shape == (5, 28, 28, 1)
    assert ds.train_labels.dtype == np.int64
    np.testing.assert_array_equal(ds.train_images[..., 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.test_labels, arrays["t10k-labels-idx1-ubyte"])
    assert ds.classes == [str(i) for i in range(10)]
    fashion = load_mnist(tmp_path / "mnist", kind="fashion-mnist")
    assert fashion.classes[0] == "T-shirt/top" and fashion.classes[9] == "Ankle boot"


def test_count_mismatch_and_bad_labels(tmp_path: Path) -> None:
    make_mnist(tmp_path / "m")
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(cr.DataError, match=r"12 images but train-labels-idx1-ubyte.gz holds 11"):
        load_mnist(tmp_path / "m")
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte.gz", np.full(12, 10, np.uint8))
    with pytest.raises(cr.DataError, match="label 10 is out of range"):
        load_mnist(tmp_path / "m")
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte.gz", np.zeros((12, 2), np.uint8))
    with pytest.raises(cr.DataError, match=r"expected labels of shape \(N,\)"):
        load_mnist(tmp_path / "m")


def test_load_by_path_and_name(tmp_path: Path) -> None:
    make_mnist(tmp_path / "data" / "mnist")
    make_mnist(tmp_path / "fashion-mnist-copy", n_train=7)
    assert cr.data.load("mnist", tmp_path / "data").train_images.shape[0] == 12
    by_path = cr.data.load(str(tmp_path / "fashion-mnist-copy"))
    assert by_path.classes[1] == "Trouser" and len(by_path.train_labels) == 7
    flat = tmp_path / "flat"
    make_mnist(flat, n_train=3)
    assert cr.data.load("mnist", flat).train_images.shape[0] == 3  # data_dir itself
    with pytest.raises(cr.DataError, match=r"Fashion-MNIST not found .*chainrule download fashion"):
        cr.data.load("fashion-mnist", tmp_path / "empty")


MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


@pytest.mark.slow
def test_real_mnist(shared_data: Path) -> None:
    folder = shared_data / "mnist"
    for name, md5 in MNIST_MD5.items():
        assert md5sum(folder / name) == md5
    assert dict(cr.data.DATASETS["mnist"].files) == MNIST_MD5
    ds = cr.data.load("mnist", shared_data)
    assert ds.train_images.shape == (60000, 28, 28, 1)
    assert ds.test_images.shape == (10000, 28, 28, 1)
    # Label counts of the official MNIST training and test sets.
    assert np.bincount(ds.train_labels).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(ds.test_labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert ds.train_images.max() == 255 and ds.train_images.min() == 0


@pytest.mark.slow
def test_real_fashion_mnist(shared_data: Path) -> None:
    folder = shared_data / "fashion-mnist"
    for name, md5 in cr.data.DATASETS["fashion-mnist"].files:
        assert md5sum(folder / name) == md5
    ds = cr.data.load("fashion-mnist", shared_data)
    assert ds.train_images.shape == (60000, 28, 28, 1)
    assert np.bincount(ds.train_labels).tolist() == [6000] * 10
    assert np.bincount(ds.test_labels).tolist() == [1000] * 10
