"""Image folders (PNG/JPEG, class sub-folders, train/test, zip), single images, corruptions."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import chainrule as cr
from chainrule.data import load_image, load_image_folder

COLORS = {"cat": (200, 30, 30), "dog": (30, 200, 30), "emu": (30, 30, 200)}


def save(path: Path, array: np.ndarray, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if array.ndim == 2 else "RGB"
    Image.fromarray(array, mode).save(path, format=fmt)


def make_folder(root: Path, per_class: int = 5, size: tuple[int, int] = (6, 4),
                ext: str = ".png") -> None:
    """Solid-colour images: class c has colour COLORS[c], so labels can be checked by pixels."""
    for c, rgb in COLORS.items():
        for i in range(per_class):
            img = np.zeros((*size, 3), np.uint8) + np.array(rgb, np.uint8)
            save(root / c / f"{i:03d}{ext}", img)


def colour_labels(images: np.ndarray) -> list[int]:
    names = sorted(COLORS)
    centres = np.array([COLORS[c] for c in names], float)
    means = images.reshape(len(images), -1, 3).mean(axis=1)
    return np.argmin(((means[:, None] - centres) ** 2).sum(-1), axis=1).tolist()


def test_class_folders_png_with_stratified_split(tmp_path: Path) -> None:
    make_folder(tmp_path / "pets")
    (tmp_path / "pets" / "README.txt").write_text("not an image")
    (tmp_path / "pets" / "cat" / ".hidden.png").write_bytes(b"ignored")
    ds = load_image_folder(tmp_path / "pets", test_fraction=0.2, seed=0)
    assert ds.name == "pets" and ds.classes == ["cat", "dog", "emu"]
    assert ds.image_shape == (6, 4, 3)
    assert len(ds.train_labels) == 12 and len(ds.test_labels) == 3
    assert np.bincount(ds.test_labels).tolist() == [1, 1, 1]
    assert colour_labels(ds.train_images) == ds.train_labels.tolist()
    assert colour_labels(ds.test_images) == ds.test_labels.tolist()
    again = load_image_folder(tmp_path / "pets", test_fraction=0.2, seed=0)
    np.testing.assert_array_equal(again.test_images, ds.test_images)


def test_jpeg_train_test_folders_and_zip(tmp_path: Path) -> None:
    make_folder(tmp_path / "d" / "train", per_class=4, ext=".jpg")
    make_folder(tmp_path / "d" / "test", per_class=2, ext=".jpeg")
    ds = load_image_folder(tmp_path / "d")
    assert len(ds.train_labels) == 12 and len(ds.test_labels) == 6
    assert colour_labels(ds.test_images) == ds.test_labels.tolist()
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted((tmp_path / "d").rglob("*")):
            # a wrapping folder and explicit directory entries, as zip tools write them
            z.write(f, "wrapped/" + f.relative_to(tmp_path / "d").as_posix())
        z.writestr("__MACOSX/wrapped/._junk.jpg", b"resource fork")
    from_zip = cr.data.load(str(archive))
    assert from_zip.name == "d" and from_zip.classes == ["cat", "dog", "emu"]
    (tmp_path / "holder").mkdir()
    archive.rename(tmp_path / "holder" / "d.zip")  # a folder holding only the zip
    assert cr.data.load(str(tmp_path / "holder")).classes == from_zip.classes
    np.testing.assert_array_equal(from_zip.train_images, ds.train_images)
    np.testing.assert_array_equal(from_zip.test_labels, ds.test_labels)


def test_stored_zip_and_crc_check(tmp_path: Path) -> None:
    make_folder(tmp_path / "d", per_class=3)
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for f in sorted((tmp_path / "d").rglob("*.png")):
            z.write(f, f.relative_to(tmp_path / "d").as_posix())
    assert load_image_folder(archive).num_classes == 3
    data = bytearray(archive.read_bytes())
    first = zipfile.ZipFile(archive).infolist()[0]
    at = first.header_offset + 30 + len(first.filename.encode()) + 40
    data[at] ^= 0xFF  # flip a byte inside the first member's data
    archive.write_bytes(bytes(data))
    with pytest.raises(cr.DataError, match=r"s.zip/cat/000.png: cannot read from the zip"):
        load_image_folder(archive)


def test_gray_images_keep_one_channel_and_mixed_become_rgb(tmp_path: Path) -> None:
    for c in ("a", "b"):
        for i in range(3):
            save(tmp_path / "g" / c / f"{i}.png", np.full((5, 5), 40 * i, np.uint8))
    gray = load_image_folder(tmp_path / "g", test_fraction=0.0)
    assert gray.image_shape == (5, 5, 1) and len(gray.test_labels) == 0
    save(tmp_path / "g" / "b" / "rgb.png", np.full((5, 5, 3), (10, 20, 30), np.uint8))
    mixed = load_image_folder(tmp_path / "g", test_fraction=0.0)
    assert mixed.image_shape == (5, 5, 3)
    forced = load_image_folder(tmp_path / "g", grayscale=True, test_fraction=0.0)
    assert forced.image_shape == (5, 5, 1)


def test_mixed_sizes_need_size(tmp_path: Path) -> None:
    make_folder(tmp_path / "m", per_class=2)
    save(tmp_path / "m" / "dog" / "big.png", np.zeros((10, 12, 3), np.uint8))
    with pytest.raises(cr.DataError, match=r"different sizes: .*6x4 but .*big.png is 10x12.*size="):
        load_image_folder(tmp_path / "m")
    ds = load_image_folder(tmp_path / "m", size=(8, 9))
    assert ds.image_shape == (8, 9, 3)
    assert load_image_folder(tmp_path / "m", size=7).image_shape == (7, 7, 3)


def test_unreadable_image_names_file(tmp_path: Path) -> None:
    make_folder(tmp_path / "u", per_class=2)
    (tmp_path / "u" / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(cr.DataError, match=r"dog/broken.png: unreadable image"):
        load_image_folder(tmp_path / "u")
    good = (tmp_path / "u" / "cat" / "000.png").read_bytes()
    (tmp_path / "u" / "dog" / "broken.png").write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(cr.DataError, match=r"broken.png: unreadable image"):
        load_image_folder(tmp_path / "u")


def test_empty_class_folder_and_missing_structure(tmp_path: Path) -> None:
    make_folder(tmp_path / "e", per_class=2)
    (tmp_path / "e" / "fox").mkdir()
    with pytest.raises(cr.DataError, match=r"e/fox: class folder has no images"):
        load_image_folder(tmp_path / "e")
    (tmp_path / "flat").mkdir()
    save(tmp_path / "flat" / "x.png", np.zeros((3, 3), np.uint8))
    with pytest.raises(cr.DataError, match="one sub-folder per class"):
        load_image_folder(tmp_path / "flat")
    with pytest.raises(cr.DataError, match="no such image folder"):
        load_image_folder(tmp_path / "absent")
    (tmp_path / "bad.zip").write_bytes(b"PK not a zip")
    with pytest.raises(cr.DataError, match=r"bad.zip: not a readable zip file"):
        load_image_folder(tmp_path / "bad.zip")


def test_test_classes_must_exist_in_train(tmp_path: Path) -> None:
    make_folder(tmp_path / "t" / "train", per_class=2)
    make_folder(tmp_path / "t" / "test", per_class=1)
    save(tmp_path / "t" / "test" / "yak" / "0.png", np.zeros((6, 4, 3), np.uint8))
    with pytest.raises(cr.DataError, match=r"test classes \['yak'\] have no folder under train/"):
        load_image_folder(tmp_path / "t")


def test_load_image(tmp_path: Path) -> None:
    save(tmp_path / "x.png", np.full((6, 8, 3), 100, np.uint8))
    assert load_image(tmp_path / "x.png").shape == (6, 8, 3)
    assert load_image(tmp_path / "x.png", size=4, channels=1).shape == (4, 4, 1)
    assert load_image(tmp_path / "x.png", grayscale=True)[0, 0, 0] == 100
    save(tmp_path / "g.png", np.full((3, 3), 7, np.uint8))
    assert load_image(tmp_path / "g.png", channels=3).shape == (3, 3, 3)
    wide = Image.fromarray(np.full((2, 2), 0x8000, np.uint16))  # 16-bit gray PNG
    wide.save(tmp_path / "w.png")
    assert load_image(tmp_path / "w.png")[0, 0, 0] == 128
    with pytest.raises(cr.DataError, match="image file not found"):
        load_image(tmp_path / "nope.png")


def test_threaded_decoding_matches(tmp_path: Path) -> None:
    make_folder(tmp_path / "p", per_class=30)
    one = load_image_folder(tmp_path / "p", workers=1)
    many = load_image_folder(tmp_path / "p", workers=3)
    np.testing.assert_array_equal(one.train_images, many.train_images)


def test_decoded_zip_is_cached(tmp_path: Path, monkeypatch) -> None:
    from chainrule.data import imagefolder as module

    monkeypatch.setattr(module, "CACHE_MIN_IMAGES", 1)
    monkeypatch.setenv(module.CACHE_ENV, str(tmp_path / "cache"))
    make_folder(tmp_path / "d", per_class=3)
    archive = tmp_path / "d.zip"

    def pack(per_class: int) -> None:
        with zipfile.ZipFile(archive, "w") as z:
            for c in sorted(COLORS):
                for i in range(per_class):
                    z.write(tmp_path / "d" / c / f"{i:03d}.png", f"{c}/{i:03d}.png")

    pack(3)
    first = load_image_folder(archive, seed=1)
    assert len(list((tmp_path / "cache").glob("d-*.npz"))) == 1

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded again instead of using the cache")

    with monkeypatch.context() as m:
        m.setattr(module, "_read_tree", no_decoding)
        again = load_image_folder(archive, seed=1)
    np.testing.assert_array_equal(again.train_images, first.train_images)
    np.testing.assert_array_equal(again.test_labels, first.test_labels)
    assert again.classes == first.classes
    pack(2)  # the zip changed (size, mtime): a new entry, the new content
    changed = load_image_folder(archive)
    assert len(changed.train_labels) + len(changed.test_labels) == 6
    assert len(list((tmp_path / "cache").glob("d-*.npz"))) == 2
    monkeypatch.setenv(module.CACHE_ENV, "off")
    assert module.cache_dir() is None
