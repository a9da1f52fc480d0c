"""A run stores where its data is, absolute, and a resumed run finds it (or is pointed at it)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from chainrule.errors import ConfigError, DataError
from chainrule.train import TrainConfig, load_checkpoint, train_run
from chainrule.train.run_data import absolute_locations, check_same_data, resumed_locations


def _shapes(root, classes=("red", "blue")):
    """A tiny image folder: 12x12 RGB squares of one colour per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    colors = {"red": (200, 30, 30), "blue": (30, 30, 200), "green": (30, 200, 30)}
    for split, n in (("train", 12), ("test", 4)):
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                noise = rng.integers(-40, 40, size=(12, 12, 3))
                img = np.clip(np.array(colors[name]) + noise, 0, 255).astype(np.uint8)
                Image.fromarray(img).save(folder / f"{i}.png")
    return root


def test_new_runs_store_absolute_paths(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = absolute_locations(TrainConfig(data="shapes", data_dir="data"))
    assert cfg.data == str(tmp_path / "shapes") and cfg.data_dir == str(tmp_path / "data")
    assert absolute_locations(TrainConfig(data="mnist")).data == "mnist"


def test_resumed_named_data_follows_the_data_dir(tmp_path, monkeypatch) -> None:
    from chainrule.data.idx import IDX_FILES

    moved = tmp_path / "moved" / "mnist"
    moved.mkdir(parents=True)
    for stem in IDX_FILES.values():
        (moved / stem).write_bytes(b"")
    stored = TrainConfig(data="mnist", data_dir=str(tmp_path / "gone"))
    assert resumed_locations(stored, data_dir=str(tmp_path / "moved")).data_dir == \
        str(tmp_path / "moved")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "moved"))
    assert resumed_locations(stored).data_dir is None  # $CHAINRULE_DATA holds it now
    with pytest.raises(ConfigError, match="keeps its data set"):
        resumed_locations(stored, data="cifar10")


def test_resumed_path_data_is_looked_for_in_the_data_folder(tmp_path, monkeypatch) -> None:
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "iris.csv").write_text("a,label\n1,0\n")
    stored = TrainConfig(data=str(tmp_path / "old" / "iris.csv"))
    found = resumed_locations(stored, data_dir=str(tmp_path / "new"))
    assert found.data == str(tmp_path / "new" / "iris.csv")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match=r"not there any more .*--data PATH or --data-dir"):
        resumed_locations(stored)
    monkeypatch.chdir(tmp_path)
    assert resumed_locations(stored, data="new/iris.csv").data == str(tmp_path / "new/iris.csv")


def test_check_same_data() -> None:
    check_same_data("x", ["a", "b"], (8, 8, 1), ["a", "b"], (8, 8, 1))
    with pytest.raises(DataError, match="has classes a, b, c, but the run was trained on a, b"):
        check_same_data("x", ["a", "b", "c"], None, ["a", "b"], None)
    with pytest.raises(DataError, match=r"images are \(9, 9, 1\)"):
        check_same_data("x", ["a"], (9, 9, 1), ["a"], (8, 8, 1))


def test_a_run_resumes_from_another_directory_and_follows_moved_data(tmp_path,
                                                                     monkeypatch) -> None:
    work = tmp_path / "work"
    _shapes(work / "shapes")
    monkeypatch.chdir(work)
    cfg = TrainConfig(data="shapes", hidden=[8], epochs=1, augment="none")
    train_run(cfg, out="run", progress=False)
    stored = load_checkpoint(work / "run").config
    assert stored["data"] == str(work / "shapes")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = train_run(TrainConfig(epochs=2), resume=work / "run", progress=False)
    assert len(result.history.train_loss) == 2
    shutil.move(work / "shapes", tmp_path / "archive")
    with pytest.raises(DataError, match="not there any more"):
        train_run(TrainConfig(epochs=3), resume=work / "run", progress=False)
    result = train_run(TrainConfig(epochs=3), resume=work / "run", data=str(tmp_path / "archive"),
                       progress=False)
    assert len(result.history.train_loss) == 3
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    assert metrics["config"]["data"] == str(tmp_path / "archive")


def test_resuming_on_other_data_is_refused(tmp_path) -> None:
    _shapes(tmp_path / "two")
    _shapes(tmp_path / "three", classes=("red", "blue", "green"))
    train_run(TrainConfig(data=str(tmp_path / "two"), hidden=[8], epochs=1, augment="none"),
              out=tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "checkpoint.safetensors").read_bytes()
    with pytest.raises(DataError, match="but the run was trained on blue, red"):
        train_run(TrainConfig(epochs=2), resume=tmp_path / "run",
                  data=str(tmp_path / "three"), progress=False)
    assert (tmp_path / "run" / "checkpoint.safetensors").read_bytes() == before


def test_single_class_and_empty_test_data_are_refused(tmp_path) -> None:
    _shapes(tmp_path / "one", classes=("red",))
    with pytest.raises(DataError, match=r"all of one class \('red'\).*at least 2 classes"):
        train_run(TrainConfig(data=str(tmp_path / "one"), hidden=[8], epochs=1),
                  out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
