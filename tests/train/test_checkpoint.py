"""Checkpoints: round trip, atomic writes, and exact messages for broken files."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train import checkpoint as ckpt_mod
from chainrule.train.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)


def _optimizer_state() -> dict:
    """A PyTorch-layout optimizer state: int keys, tuples, arrays, scalars."""
    return {
        "state": {0: {"step": 7, "exp_avg": np.arange(12, dtype=np.float32).reshape(3, 4),
                      "exp_avg_sq": np.full((3,), 0.5, np.float32)}},
        "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 1]}],
    }


@pytest.fixture
def saved(tmp_path):
    model = nn.MLP(4, [3], 2)
    path = save_checkpoint(
        tmp_path / "run", model, optimizer=_optimizer_state(),
        scheduler={"last_epoch": 5, "base_lrs": [0.01]},
        config={"epochs": 3, "hidden": [3]},
        normalization={"mean": np.ones(4, np.float32), "std": np.full(4, 2.0, np.float32)},
        class_names=["cat", "dog"], image_shape=(2, 2, 1), epoch=3,
        history={"train_loss": [1.0, 0.5]},
    )
    return model, path


def test_round_trip_restores_everything(saved):
    model, path = saved
    assert path.name == CHECKPOINT_NAME
    ckpt = load_checkpoint(path.parent)  # a run folder works as well as the file
    assert type(ckpt.model).__name__ == "MLP"
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(ckpt.model.state_dict()[name], value)
    assert ckpt.class_names == ["cat", "dog"]
    assert ckpt.image_shape == (2, 2, 1)
    assert ckpt.epoch == 3
    assert ckpt.config == {"epochs": 3, "hidden": [3]}
    assert ckpt.history == {"train_loss": [1.0, 0.5]}
    assert ckpt.version == cr.__version__
    opt = ckpt.optimizer_state
    assert list(opt["state"]) == [0]  # integer keys survive JSON
    expected = _optimizer_state()["state"][0]["exp_avg"]
    np.testing.assert_array_equal(opt["state"][0]["exp_avg"], expected)
    assert opt["state"][0]["step"] == 7
    assert opt["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert ckpt.scheduler_state == {"last_epoch": 5, "base_lrs": [0.01]}
    np.testing.assert_array_equal(ckpt.normalization["std"], np.full(4, 2.0, np.float32))
    assert ckpt.rng_state["bit_generator"] == "PCG64"


def test_round_trip_with_real_optimizer_state(tmp_path):
    model = nn.MLP(3, [5], 2)
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    loss = nn.CrossEntropyLoss()(model(cr.randn(4, 3)), cr.tensor(np.array([0, 1, 1, 0])))
    loss.backward()
    opt.step()
    path = save_checkpoint(tmp_path, model, optimizer=opt)
    fresh = cr.optim.Adam(nn.MLP(3, [5], 2).parameters(), lr=1e-2)
    fresh.load_state_dict(load_checkpoint(path).optimizer_state)
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for k in a["state"]:
        for name, v in a["state"][k].items():
            np.testing.assert_array_equal(np.asarray(b["state"][k][name]), np.asarray(v))


def test_write_is_atomic_and_a_crash_keeps_the_old_file(saved, monkeypatch):
    _, path = saved
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full (simulated crash before the rename)")

    monkeypatch.setattr(ckpt_mod.os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, nn.MLP(4, [3], 2), epoch=99)
    assert path.read_bytes() == before
    assert load_checkpoint(path).epoch == 3
    assert sorted(p.name for p in path.parent.iterdir()) == [CHECKPOINT_NAME]  # no temp left


def test_crash_in_the_middle_of_writing_keeps_the_old_file(saved, monkeypatch):
    _, path = saved
    before = path.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise KeyboardInterrupt  # killed half way through

    monkeypatch.setattr(ckpt_mod.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, nn.MLP(4, [3], 2), epoch=99)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [CHECKPOINT_NAME]


def _rewrite_metadata(path, **changes):
    """Rewrite the JSON header of a safetensors file with changed metadata."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    for key, value in changes.items():
        if value is None:
            header["__metadata__"].pop(key)
        else:
            header["__metadata__"][key] = value
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n:])


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="file not found"):
        load_checkpoint(tmp_path / "nothing.safetensors")


def test_truncated_file(saved):
    _, path = saved
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 10])
    with pytest.raises(CheckpointError, match=r"truncated: tensor .* needs bytes"):
        load_checkpoint(path)
    path.write_bytes(raw[:5])
    with pytest.raises(CheckpointError, match="truncated: 5 bytes"):
        load_checkpoint(path)


def test_bad_header(saved):
    _, path = saved
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(CheckpointError, match="bad header: the JSON header does not parse"):
        load_checkpoint(path)
    path.write_bytes(b"PK\x03\x04 this is a zip file, not a checkpoint")
    with pytest.raises(CheckpointError, match="bad header: it announces"):
        load_checkpoint(path)


def test_not_a_chainrule_file(saved):
    _, path = saved
    _rewrite_metadata(path, format=None)
    with pytest.raises(CheckpointError, match="not a chainrule checkpoint"):
        load_checkpoint(path)


def test_newer_format_version(saved):
    _, path = saved
    _rewrite_metadata(path, format_version="99", chainrule_version="9.0")
    with pytest.raises(CheckpointError, match=r"incompatible version: written by chainrule 9\.0 "
                                              r"in checkpoint format 99"):
        load_checkpoint(path)


def test_missing_keys(saved):
    _, path = saved
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    doc = json.loads(json.loads(raw[8:8 + n])["__metadata__"]["chainrule"])
    del doc["architecture"]
    _rewrite_metadata(path, chainrule=json.dumps(doc))
    with pytest.raises(CheckpointError, match="missing keys in the metadata: architecture"):
        load_checkpoint(path)


def test_weights_missing_from_file(saved):
    _, path = saved
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    doc = json.loads(json.loads(raw[8:8 + n])["__metadata__"]["chainrule"])
    doc["weights"].append("9.weight")
    _rewrite_metadata(path, chainrule=json.dumps(doc))
    with pytest.raises(CheckpointError, match=r"missing keys: weights 9\.weight"):
        load_checkpoint(path)


def test_shape_mismatch_with_architecture(saved):
    _, path = saved
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    doc = json.loads(json.loads(raw[8:8 + n])["__metadata__"]["chainrule"])
    doc["architecture"]["hidden"] = [5]  # the stored weights are for 3 hidden units
    _rewrite_metadata(path, chainrule=json.dumps(doc))
    with pytest.raises(CheckpointError, match=r"shape mismatch: 0\.weight is \(3, 4\) in the file, "
                                              r"the architecture needs \(5, 4\)"):
        load_checkpoint(path)


def test_unsupported_values_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match=r"cannot store config\.when of type"):
        save_checkpoint(tmp_path, nn.MLP(2, [], 2), config={"when": object()})


def test_state_dict_without_architecture(tmp_path):
    weights = {"w": np.eye(2, dtype=np.float32)}
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "c.safetensors", weights))
    assert ckpt.model is None
    np.testing.assert_array_equal(ckpt.state_dict["w"], np.eye(2))


def test_zero_dim_and_strided_arrays_keep_their_shape(tmp_path):
    weights = {"count": np.array(7, dtype=np.int64),
               "t": np.arange(6, dtype=np.float32).reshape(2, 3).T}
    ckpt = load_checkpoint(save_checkpoint(tmp_path, weights))
    assert ckpt.state_dict["count"].shape == () and ckpt.state_dict["count"] == 7
    np.testing.assert_array_equal(ckpt.state_dict["t"], weights["t"])


def test_a_convnet_checkpoint_is_checked_against_its_images(tmp_path):
    """A ConvNet takes images: its class names and image channels must fit the network."""
    net = nn.ConvNet(3, 2, [4, "pool", 4])
    path = save_checkpoint(tmp_path / "c.safetensors", net, class_names=["cat", "dog"],
                           image_shape=(8, 8, 3))
    ckpt = load_checkpoint(path)
    assert isinstance(ckpt.model, nn.ConvNet)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    doc = json.loads(json.loads(raw[8:8 + n])["__metadata__"]["chainrule"])
    doc["image_shape"] = [8, 8, 1]
    _rewrite_metadata(path, chainrule=json.dumps(doc))
    with pytest.raises(CheckpointError, match="have 1 channels, but the network takes 3"):
        load_checkpoint(path)
