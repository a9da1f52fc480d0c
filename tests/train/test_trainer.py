"""Trainer: learning, history, callbacks, early stopping, keep-best, exact resume."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader
from chainrule.train import Callback, History, Trainer, load_checkpoint


def blobs(n: int = 300, d: int = 5, k: int = 3, seed: int = 0, spread: float = 1.0):
    """k Gaussian clusters in d dimensions: easy to separate, fast to train."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(k, d))
    y = rng.integers(0, k, size=n)
    X = centers[y] + rng.normal(0, spread, size=(n, d))
    return X.astype(np.float32), y.astype(np.int64)


def make(seed: int = 0, lr: float = 1e-2, hidden=(16,), dropout: float = 0.0, scheduler=True,
         **kwargs):
    cr.manual_seed(seed)
    model = nn.MLP(5, list(hidden), 3, dropout=dropout)
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if scheduler else None
    kwargs.setdefault("progress", False)
    return Trainer(model, nn.CrossEntropyLoss(), opt, sched, batch_size=32, seed=seed, **kwargs)


def test_fit_learns_and_records_history():
    X_all, y_all = blobs(400)
    X, y, Xv, yv = X_all[:300], y_all[:300], X_all[300:], y_all[300:]
    trainer = make()
    history = trainer.fit((X, y), (Xv, yv), epochs=5)
    assert len(history) == 5
    assert history.val_acc[-1] > 0.9  # a broken update rule stays near 1/3
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.lr == pytest.approx([1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3])  # lr each epoch used
    assert all(s > 0 for s in history.seconds)
    d = history.to_dict()
    assert d["epochs"] == 5 and d["best_epoch"] == history.best_epoch
    assert History.from_dict(d).val_acc == history.val_acc


def test_without_validation_val_acc_is_nan_and_keep_best_is_idle():
    X, y = blobs()
    trainer = make()
    history = trainer.fit((X, y), None, epochs=2)
    assert all(math.isnan(v) for v in history.val_acc)
    assert history.best_epoch is None
    assert history.to_dict()["val_acc"] == [None, None]
    assert trainer.best_state is None


def test_regularization_adds_the_l2_penalty():
    X, y = blobs(64)
    plain, reg = make(scheduler=False), make(scheduler=False, reg=0.5)
    loss_plain = plain.fit((X, y), None, epochs=1).train_loss[0]
    loss_reg = reg.fit((X, y), None, epochs=1).train_loss[0]
    assert loss_reg > loss_plain + 0.05  # 0.5 * sum W^2 of a fresh net is well above that


def test_callbacks_see_every_epoch_and_can_stop():
    X, y = blobs()
    seen, batches = [], []

    class Recorder(Callback):
        def on_batch_end(self, trainer, step, logs):
            batches.append(logs["batch_size"])

        def on_epoch_end(self, trainer, epoch, logs):
            seen.append((epoch, logs["train_loss"]))
            if epoch == 3:
                trainer.stop_training = True

    calls = []
    trainer = make(callbacks=[Recorder(), lambda t, e, logs: calls.append(e)])
    history = trainer.fit((X, y), None, epochs=10)
    assert [e for e, _ in seen] == [1, 2, 3] and calls == [1, 2, 3]
    assert len(history) == 3
    assert sum(batches) == 3 * len(X)


def test_early_stopping_and_keep_best():
    X_all, y_all = blobs(400, spread=2.5)
    X, y, Xv, yv = X_all[:300], y_all[:300], X_all[300:], y_all[300:]
    snapshots = {}
    trainer = make(lr=0.05, scheduler=False, early_stopping=2, callbacks=[
        lambda t, e, logs: snapshots.__setitem__(e, {k: v.copy() for k, v in
                                                     t.model.state_dict().items()})])
    history = trainer.fit((X, y), (Xv, yv), epochs=40)
    best = history.best_epoch
    assert len(history) < 40  # stopped early
    assert len(history) - best == 2  # exactly `patience` epochs without improvement
    for name, value in trainer.model.state_dict().items():  # keep-best restored epoch `best`
        np.testing.assert_array_equal(value, snapshots[best][name])


def test_accepts_dataloaders():
    X, y = blobs()
    trainer = make()
    loader = DataLoader(X, y, batch_size=50, seed=3)
    history = trainer.fit(loader, DataLoader(X, y, batch_size=100, shuffle=False), epochs=2)
    assert len(history) == 2 and history.val_acc[-1] > 0.8


def test_bad_arguments():
    model = nn.MLP(5, [4], 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Trainer(model, nn.CrossEntropyLoss(), opt, batch_size=0)
    with pytest.raises(ValueError, match="patience"):
        Trainer(model, nn.CrossEntropyLoss(), opt, early_stopping=0)
    with pytest.raises(ValueError, match="3 inputs but 2 labels"):
        Trainer(model, nn.CrossEntropyLoss(), opt, progress=False).fit(
            (np.zeros((3, 5)), np.zeros(2, np.int64)), None, 1)


def test_diverging_loss_is_reported():
    X, y = blobs()
    model = nn.MLP(5, [16], 3)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e30),
                      progress=False)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="lower the lea"):
        trainer.fit((X, y), None, epochs=1)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_resume_gives_exactly_the_uninterrupted_numbers(tmp_path, dropout):
    X_all, y_all = blobs(400, spread=2.0)
    X, y, Xv, yv = X_all[:300], y_all[:300], X_all[300:], y_all[300:]
    full = make(dropout=dropout)
    full_history = full.fit((X, y), (Xv, yv), epochs=5)

    first = make(dropout=dropout)
    first.fit((X, y), (Xv, yv), epochs=2)
    path = first.save_checkpoint(tmp_path / "run")
    cr.manual_seed(12345)  # a new process starts from another RNG state

    second = make(seed=0, dropout=dropout)
    second.resume(load_checkpoint(path, build_model=False))
    second_history = second.fit((X, y), (Xv, yv), epochs=5)
    assert second_history.train_loss == full_history.train_loss
    assert second_history.val_acc == full_history.val_acc
    assert second_history.lr == full_history.lr
    for name, value in full.model.state_dict().items():
        np.testing.assert_array_equal(second.model.state_dict()[name], value)
    a, b = full.optimizer.state_dict(), second.optimizer.state_dict()
    for k in a["state"]:
        for key, v in a["state"][k].items():
            np.testing.assert_array_equal(np.asarray(b["state"][k][key]), np.asarray(v))


def test_checkpoint_stores_best_weights_and_resume_weights(tmp_path):
    X_all, y_all = blobs(400, spread=2.5)
    X, y, Xv, yv = X_all[:300], y_all[:300], X_all[300:], y_all[300:]
    found = []

    def save(trainer, epoch, logs):
        if trainer.best_epoch != epoch and not found:  # the current weights are not the best
            path = trainer.save_checkpoint(tmp_path)
            ckpt = load_checkpoint(path)
            for name, value in trainer.model.state_dict().items():
                np.testing.assert_array_equal(ckpt.resume_state_dict[name], value)
                np.testing.assert_array_equal(ckpt.state_dict[name], trainer.best_state[name])
            assert ckpt.epoch == epoch
            assert ckpt.trainer_state["best_epoch"] == trainer.best_epoch
            found.append(epoch)

    make(lr=0.05, scheduler=False, callbacks=[save]).fit((X, y), (Xv, yv), epochs=15)
    assert found, "validation accuracy never dropped: the test did not run its check"


def test_fit_in_steps_equals_one_fit():
    X, y = blobs()
    whole = make()
    whole.fit((X, y), None, epochs=3)
    steps = make()
    for e in (1, 2, 3):
        steps.fit((X, y), None, epochs=e)  # a new tuple each time: same data, same loader
    assert steps.history.train_loss == whole.history.train_loss


def test_keep_best_then_fit_again_continues_from_the_last_epoch(tmp_path):
    X_all, y_all = blobs(400, spread=2.5)
    X, y, Xv, yv = X_all[:300], y_all[:300], X_all[300:], y_all[300:]
    last = {}
    trainer = make(lr=0.05, scheduler=False, callbacks=[
        lambda t, e, logs: last.update({k: v.copy() for k, v in t.model.state_dict().items()})])
    trainer.fit((X, y), (Xv, yv), epochs=6)
    ckpt = load_checkpoint(trainer.save_checkpoint(tmp_path))
    if trainer.best_epoch != 6:  # the model now holds the best weights, the file both sets
        for name, value in last.items():
            np.testing.assert_array_equal(ckpt.resume_state_dict[name], value)
    for name, value in trainer.best_state.items():
        np.testing.assert_array_equal(ckpt.state_dict[name], value)
        np.testing.assert_array_equal(trainer.model.state_dict()[name], value)
    trainer.fit((X, y), (Xv, yv), epochs=6)  # nothing left to do: last weights back, then best
    for name, value in trainer.best_state.items():
        np.testing.assert_array_equal(trainer.model.state_dict()[name], value)
