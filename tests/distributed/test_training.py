"""The Trainer's distributed side in a world of one: same numbers, checkpoints, checks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.distributed import comm
from chainrule.train import Trainer, load_checkpoint


@pytest.fixture
def world_of_one(monkeypatch):
    monkeypatch.setattr(comm, "_initialized", True)
    monkeypatch.setattr(comm, "_comm", None)


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _trainer(distributed, **kw):
    cr.manual_seed(0)
    model = nn.MLP(4, [8], 2)
    return Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2),
                   batch_size=8, progress=False, distributed=distributed, **kw)


def test_distributed_trainer_in_a_world_of_one_gives_the_same_numbers(world_of_one):
    X, y = _data()
    a, b = _trainer(True), _trainer(False)
    ha = a.fit((X, y), (X, y), epochs=3)
    hb = b.fit((X, y), (X, y), epochs=3)
    assert ha.train_loss == hb.train_loss and ha.val_acc == hb.val_acc
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert a.loader.num_replicas == 1 and a._parallel is not None and b._parallel is None


def test_checkpoint_holds_every_ranks_rng_and_resume_checks_the_world_size(
        world_of_one, tmp_path):
    X, y = _data()
    trainer = _trainer(True)
    trainer.fit((X, y), None, epochs=1)
    path = trainer.save_checkpoint(tmp_path)
    state = load_checkpoint(path).trainer_state["distributed"]
    assert state["world_size"] == 1 and len(state["rng_states"]) == 1
    _trainer(True).resume(path)  # the same world size: fine

    ckpt = load_checkpoint(path)
    ckpt.trainer_state["distributed"]["world_size"] = 2
    with pytest.raises(cr.distributed.DistributedError,
                       match="a 2-rank run and this run has 1 ranks; resume it with mpirun -n 2"):
        _trainer(False).resume(ckpt)


def test_distributed_true_needs_init(monkeypatch):
    monkeypatch.setattr(comm, "_initialized", False)
    with pytest.raises(cr.distributed.DistributedError, match=r"call cr.distributed.init\(\)"):
        _trainer(True)
