"""The playground's session (no web): data, features, config rules, frames, export, limits."""

from __future__ import annotations

import base64
import importlib.util

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.playground import export, limits
from chainrule.playground.config import Config
from chainrule.playground.datasets import FEATURES, feature_matrix
from chainrule.playground.frames import plane_grid
from chainrule.playground.limits import LimitError, RateLimiter
from chainrule.playground.session import Session


def test_uploaded_data_keeps_its_classes():
    s = Session()
    s.load_csv("0,0,0\n1,1,1\n2,2,2\n-1,-1,1\n")
    assert s.config.dataset == "custom" and s.config.num_classes == 3
    with pytest.raises(LimitError, match="keeps its problem"):
        s.apply({"num_classes": 5})
    assert s.config.num_classes == 3  # a refused change leaves the setup as it was
    assert s.apply({"train_ratio": 80}) == "data" and len(s.X) == 4  # re-split, same points
    assert s.apply({"dataset": "xor"}) == "data" and len(s.X) == 400


def test_apply_rebuilds_only_what_changed():
    s = Session()
    s.step(2)
    weights = s.linears[0].weight.data.copy()
    assert s.apply({"learning_rate": 0.5}) == "live"
    assert s.epoch == 2 and s.optimizer.param_groups[0]["lr"] == 0.5
    np.testing.assert_array_equal(s.linears[0].weight.data, weights)
    assert s.apply({"optimizer": "adam", "regularization": "l1", "reg_rate": 0.01}) == "live"
    assert s.epoch == 2 and type(s.optimizer).__name__ == "Adam"
    assert s.apply({"activation": "elu"}) == "net" and s.epoch == 0
    assert s.apply({"hidden": []}) == "net" and len(s.linears) == 1
    n = len(s.X)
    assert s.apply({"num_points": 200}) == "data" and len(s.X) == 200 != n


def test_reset_is_reproducible():
    a, b = Session(), Session()
    np.testing.assert_array_equal(a.linears[0].weight.data, b.linears[0].weight.data)
    a.reset_net()
    assert not np.array_equal(a.linears[0].weight.data, b.linears[0].weight.data)


@pytest.mark.parametrize("reg", ["none", "l1", "l2"])
@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_training_lowers_the_loss(reg, loss):
    s = Session(Config(regularization=reg, reg_rate=0.001, loss=loss, learning_rate=0.1,
                       features=["x1", "x2", "x1sq", "x2sq"], hidden=[4]))
    before = s.frame()["train_loss"]
    s.step(15)
    after = s.frame()
    assert after["train_loss"] < before and after["train_acc"] > 0.8


@pytest.mark.parametrize("config", [
    Config(),
    Config(regularization="l1", reg_rate=0.01, optimizer="momentum", batch_size=7),
    Config(problem="regression", dataset="plane", regularization="l2", reg_rate=0.01),
])
def test_compiled_training_matches_eager(config):
    compiled, eager = Session(config), Session(config)
    eager.compile_steps = False  # the plain graph-per-step path
    compiled.step(3)
    eager.step(3)
    assert compiled._train_step.compiled  # the compiled path really ran
    for a, b in zip(compiled.model.parameters(), eager.model.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-4, atol=1e-5)


def test_live_changes_retrace_the_compiled_step():
    s = Session(Config(regularization="l2", reg_rate=0.0))
    s.step(1)
    s.apply({"reg_rate": 1.0})  # a strong penalty must now shrink the weights
    before = sum(float((lin.weight.data ** 2).sum()) for lin in s.linears)
    s.step(1)
    after = sum(float((lin.weight.data ** 2).sum()) for lin in s.linears)
    assert after < 0.5 * before


def test_l1_penalty_is_the_sum_of_absolute_weights():
    s = Session(Config(regularization="l1", reg_rate=0.5))
    expected = 0.5 * sum(np.abs(lin.weight.data).sum() for lin in s.linears)
    assert float(s._penalty().item()) == pytest.approx(expected, rel=1e-5)
    s.apply({"regularization": "l2"})
    expected = 0.5 * sum((lin.weight.data ** 2).sum() for lin in s.linears)
    assert float(s._penalty().item()) == pytest.approx(expected, rel=1e-5)


def test_frame_is_one_batched_forward_pass(monkeypatch):
    s = Session(Config(hidden=[5, 3]))
    calls = []
    original = nn.Linear.forward

    def counting(self, x):
        calls.append(x.shape)
        return original(self, x)

    monkeypatch.setattr(nn.Linear, "forward", counting)
    f = s.frame()
    grid = limits.GRID * limits.GRID
    assert calls == [(grid + len(s.X), 2), (grid + len(s.X), 5), (grid + len(s.X), 3)]
    assert len(base64.b64decode(f["heat_class"])) == grid
    assert len(base64.b64decode(f["heat_conf"])) == grid
    assert [len(layer) for layer in f["neurons"]] == [5, 3]
    assert len(base64.b64decode(f["neurons"][0][0])) == limits.NEURON_GRID ** 2
    assert len(f["inputs"]) == 2
    assert np.array(f["weights"][1]).shape == (3, 5)


def test_heat_map_matches_the_model():
    s = Session()
    s.step(5)
    f = s.frame()
    cls = np.frombuffer(base64.b64decode(f["heat_class"]), dtype=np.uint8)
    grid = plane_grid()
    with cr.no_grad():
        pred = s.model(cr.tensor(feature_matrix(grid, s.config.features))).data.argmax(axis=1)
    np.testing.assert_array_equal(cls, pred)
    assert grid[0].tolist() == [-limits.DOMAIN, limits.DOMAIN]  # row 0 is the top-left


def test_regression_frame():
    s = Session(Config(problem="regression", dataset="multigauss"))
    s.step(3)
    f = s.frame()
    assert "heat_value" in f and "heat_class" not in f and "train_acc" not in f
    assert f["train_loss"] is not None
    assert len(base64.b64decode(f["heat_value"])) == limits.GRID ** 2


def test_points_and_weights_edits_are_bounded():
    s = Session()
    with pytest.raises(LimitError):
        s.add_point(0.0, 7.0, 0)
    with pytest.raises(LimitError):
        s.set_weight(0, 99, 0, 1.0)
    with pytest.raises(LimitError):
        s.set_bias(0, 0, float("nan"))
    s.apply({"num_points": limits.MAX_POINTS})
    with pytest.raises(LimitError, match="already has"):
        s.add_point(0.0, 0.0, 0)
    assert not s.remove_point(5.9, -5.9)  # nothing that close


def test_added_and_removed_points_are_trained_and_drawn():
    s = Session()
    s.add_point(1.5, -2.0, 1)
    np.testing.assert_array_equal(s.phi, feature_matrix(s.X, s.config.features))
    s.step(1)  # the new point is a training point: its features must exist
    f = s.frame()
    assert f["train_acc"] is not None
    x, y = s.X[0]
    assert s.remove_point(float(x), float(y))
    np.testing.assert_array_equal(s.phi, feature_matrix(s.X, s.config.features))
    s.step(1)
    assert s.frame()["epoch"] == 2


def test_backprop_graph_does_not_touch_training_gradients():
    s = Session()
    for p in s.model.parameters():
        p.grad = np.full(p.shape, 7.0, dtype=np.float32)
    out = s.backprop_graph(0)
    assert "<svg" in out["svg"] and out["index"] == 0
    assert all((p.grad == 7.0).all() for p in s.model.parameters())


@pytest.mark.parametrize("config", [
    Config(features=list(FEATURES)),
    Config(problem="regression", dataset="multigauss", features=["x1", "x2", "r"], hidden=[3]),
])
def test_exported_script_uses_the_same_features(tmp_path, config):
    s = Session(config)
    path = tmp_path / "model.py"
    path.write_text(export.script(s))
    spec = importlib.util.spec_from_file_location("playground_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    np.testing.assert_allclose(module.features(module.POINTS),
                               feature_matrix(s.X, s.config.features), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(module.LABELS, s.y)
    assert module.IS_TRAIN.sum() == s.is_train.sum()
    model = module.main(epochs=1, verbose=False)
    assert isinstance(model, nn.MLP) and model.hidden == s.config.hidden


def test_export_csv_has_features_label_and_split():
    s = Session(Config(features=["x1", "r"]))
    lines = export.points_csv(s).splitlines()
    assert lines[0] == "x1,r,label,split" and len(lines) == len(s.X) + 1
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {"train", "test"}


def test_rate_limiter_window():
    r = RateLimiter(limit=3, window=1.0)
    assert [r.allow(now=t) for t in (0.0, 0.1, 0.2, 0.3)] == [True, True, True, False]
    assert r.allow(now=1.15) is True  # the first one left the window
