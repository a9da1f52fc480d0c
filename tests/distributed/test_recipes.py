"""The recipes of docs/distributed.md (examples/): Dask feature extraction, Ray Tune reports."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dask_map_blocks_hog_equals_hog_of_the_whole_set():
    da = pytest.importorskip("dask.array", reason="dask is not installed (pip install dask)")
    recipe = _load("dask_hog_features")
    images = np.random.default_rng(0).integers(0, 256, (50, 16, 24, 3), dtype=np.uint8)
    lazy = recipe.hog_features(da.from_array(images, chunks=(7, 8, 24, 3)), cell_size=4)
    assert lazy.shape == (50, 4 * 6 * 9) and lazy.numblocks == (8, 1)
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"),
                                  cr.features.hog(images, cell_size=4))


def test_ray_tune_callback_reports_every_epoch():
    """The trial function with a stand-in for ``tune.report`` (Ray itself is not needed)."""
    recipe = _load("ray_tune_sweep")
    reports: list[dict] = []
    best = recipe.train_digits({"lr": 3e-3, "hidden": 32}, reports.append, epochs=3)
    assert [r["epoch"] for r in reports] == [1, 2, 3]
    assert best == max(r["val_acc"] for r in reports) > 0.8


def test_the_training_loop_of_the_docs_runs_in_a_world_of_one(monkeypatch, capsys):
    import re
    import sys

    from chainrule.distributed import comm

    monkeypatch.setattr(comm, "_initialized", False)
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # a world of one, without MPI
    page = (EXAMPLES.parent / "docs" / "distributed.md").read_text()
    block = re.findall(r"^```python\n(.*?)^```", page, re.M | re.S)[0]
    namespace: dict = {}
    exec(compile(block, "docs/distributed.md", "exec"), namespace)
    assert "gradient_hook" in namespace["step"].source
    assert capsys.readouterr().out.startswith("rank 0 of 1: loss")
