"""What runs read: data set splits, random subsets of image data sets, image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import load_image_files, load_image_splits, load_splits

Image = pytest.importorskip("PIL.Image")


def test_load_splits_of_images_and_of_tables(tmp_path: Path) -> None:
    ds, train_x, train_y, test_x, test_y = load_splits("digits")
    assert train_x.shape == (1438, 8, 8, 1) and test_x.shape == (359, 8, 8, 1)
    assert len(train_y) == 1438 and len(test_y) == 359 and len(ds.classes) == 10
    rows = "\n".join(f"{i},{i % 3}" for i in range(30))
    (tmp_path / "t.csv").write_text(f"x,label\n{rows}\n")
    _, train_x, _, test_x, _ = load_splits(str(tmp_path / "t.csv"))
    assert train_x.ndim == 2 and len(train_x) + len(test_x) == 30


def test_image_splits_draw_seeded_subsets() -> None:
    parts, classes, title = load_image_splits("digits", limit=100, seed=3)
    assert len(parts["train"][0]) == 100 and len(parts["test"][0]) == 20
    assert classes == [str(d) for d in range(10)] and title
    again, _, _ = load_image_splits("digits", limit=100, seed=3)
    np.testing.assert_array_equal(again["train"][1], parts["train"][1])
    full, _, _ = load_image_splits("digits")
    assert len(full["train"][0]) == 1438
    with pytest.raises(cr.ConfigError, match="--limit must be >= 1"):
        load_image_splits("digits", limit=0)


def test_image_splits_refuse_tables(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("x,label\n" + "\n".join(f"{i},{i % 2}" for i in range(10)))
    with pytest.raises(cr.DataError, match="need an image data set"):
        load_image_splits(str(tmp_path / "t.csv"))


def test_image_files_are_converted_like_training_images(tmp_path: Path) -> None:
    Image.new("RGB", (20, 10), (255, 255, 255)).save(tmp_path / "white.png")
    gray = load_image_files([tmp_path / "white.png"], (8, 8, 1))
    assert gray.shape == (1, 8, 8, 1) and gray.dtype == np.uint8 and (gray == 255).all()
    assert (load_image_files([tmp_path / "white.png"], (4, 6, 3), invert=True) == 0).all()
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(cr.DataError, match="not a readable PNG/JPEG image"):
        load_image_files([tmp_path / "notes.png"], (8, 8, 1))
    with pytest.raises(FileNotFoundError, match="no such image file"):
        load_image_files([tmp_path / "none.png"], (8, 8, 1))
