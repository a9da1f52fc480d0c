"""DataLoader: batching, shuffling, seeds, and exact resume from state_dict."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader


def data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    return X, np.arange(n) % 3


def epoch_ids(loader: DataLoader) -> list[list[int]]:
    return [(xb.data[:, 0] / 2).astype(int).tolist() for xb, _ in loader]


def test_batches_types_and_len() -> None:
    X, y = data(10)
    loader = DataLoader(X, y, batch_size=4, shuffle=False)
    assert len(loader) == 3
    batches = list(loader)
    assert [tuple(xb.shape) for xb, _ in batches] == [(4, 2), (4, 2), (2, 2)]
    xb, yb = batches[0]
    assert isinstance(xb, cr.Tensor) and xb.data.dtype == np.float32
    assert yb.data.dtype == np.int64 and not xb.requires_grad
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    dropped = DataLoader(X, y, batch_size=4, shuffle=False, drop_last=True)
    assert len(dropped) == 2 and sum(len(b[1].data) for b in dropped) == 8
    assert len(DataLoader(X, y, batch_size=20)) == 1


def test_shuffle_is_a_new_permutation_each_epoch_and_seeded() -> None:
    X, y = data(50)
    loader = DataLoader(X, y, batch_size=8, seed=1)
    first, second = epoch_ids(loader), epoch_ids(loader)
    flat_first, flat_second = np.concatenate(first).tolist(), np.concatenate(second).tolist()
    assert sorted(flat_first) == list(range(50)) == sorted(flat_second)
    assert first != second and flat_first != list(range(50))
    assert epoch_ids(DataLoader(X, y, batch_size=8, seed=1)) == first
    assert epoch_ids(DataLoader(X, y, batch_size=8, seed=2)) != first
    for xb, yb in DataLoader(X, y, batch_size=8, seed=1):  # rows stay with their labels
        np.testing.assert_array_equal((xb.data[:, 0] / 2).astype(int) % 3, yb.data)
    assert loader.epoch == 2


def test_default_seed_follows_manual_seed() -> None:
    X, y = data(30)
    cr.manual_seed(5)
    a = epoch_ids(DataLoader(X, y, batch_size=7))
    cr.manual_seed(5)
    b = epoch_ids(DataLoader(X, y, batch_size=7))
    assert a == b


@pytest.mark.parametrize("stop_after", [0, 1, 3, 4])
def test_exact_resume_mid_epoch(stop_after: int) -> None:
    X, y = data(37)
    reference = DataLoader(X, y, batch_size=10, seed=11)
    expected = epoch_ids(reference) + epoch_ids(reference) + epoch_ids(reference)

    run = DataLoader(X, y, batch_size=10, seed=11)
    seen = epoch_ids(run)  # one full epoch
    it = iter(run)
    for _ in range(stop_after):  # part of the second epoch, then "crash"
        xb, _ = next(it)
        seen.append((xb.data[:, 0] / 2).astype(int).tolist())
    state = run.state_dict()

    resumed = DataLoader(X, y, batch_size=10, seed=999)  # the state overrides the seed
    resumed.load_state_dict(state)
    seen += epoch_ids(resumed) + epoch_ids(resumed)
    if stop_after == len(run):
        seen += epoch_ids(resumed)
    assert seen[: len(expected)] == expected


def test_state_mismatch_and_bad_inputs() -> None:
    X, y = data(10)
    state = DataLoader(X, y, batch_size=4).state_dict()
    with pytest.raises(cr.DataError, match="state is for 10 samples, this loader has 9"):
        DataLoader(X[:9], y[:9], batch_size=4).load_state_dict(state)
    with pytest.raises(cr.DataError, match="batch_size=4, this loader batch_size=5"):
        DataLoader(X, y, batch_size=5).load_state_dict(state)
    with pytest.raises(cr.DataError, match="X has 10 samples but y has 9"):
        DataLoader(X, y[:9])
    with pytest.raises(cr.DataError, match="labels must be integers"):
        DataLoader(X, y + 0.5)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(X, y, batch_size=0)
    assert DataLoader(cr.tensor(X), cr.tensor(y), batch_size=5).num_samples == 10


def test_transform_makes_each_batch_with_a_resumable_generator() -> None:
    X = np.arange(10 * 2, dtype=np.uint8).reshape(10, 2)
    y = np.arange(10)

    def transform(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return batch.astype(np.float32) + rng.integers(0, 1000)

    loader = DataLoader(X, y, batch_size=4, seed=3, transform=transform)
    first = [xb.data.copy() for xb, _ in loader]
    assert first[0].dtype == np.float32
    loader.load_state_dict({**loader.state_dict(), "epoch": 0})
    again = [xb.data.copy() for xb, _ in DataLoader(X, y, batch_size=4, seed=3,
                                                    transform=transform)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)  # same seed, epoch and batch: same draws
    second_epoch = [xb.data for xb, _ in loader]
    assert not all(np.array_equal(a, b) for a, b in zip(first, second_epoch))


def test_sharded_loaders_split_each_epoch_between_ranks() -> None:
    X, y = data(10)
    loaders = [DataLoader(X, y, batch_size=2, seed=3, num_replicas=3, rank=r) for r in range(3)]
    whole = DataLoader(X, y, batch_size=6, seed=3)
    assert [len(ld) for ld in loaders] == [2, 2, 2] and loaders[0].shard_samples == 4
    for _ in range(2):  # epochs: the same permutation on every rank, dealt out in turn
        ranks = [epoch_ids(ld) for ld in loaders]
        order = [i for batch in epoch_ids(whole) for i in batch]
        padded = order + order[:2]
        for r in range(3):
            assert [i for batch in ranks[r] for i in batch] == padded[r::3]
    assert "rank 1 of 3" in repr(loaders[1])


def test_sharded_loader_resumes_and_refuses_another_world_size() -> None:
    X, y = data(12)
    a = DataLoader(X, y, batch_size=2, seed=1, num_replicas=2, rank=1)
    it = iter(a)
    next(it)
    state = a.state_dict()
    rest = [b for batch in it for b in (batch[1].data.tolist(),)]
    b = DataLoader(X, y, batch_size=2, seed=1, num_replicas=2, rank=1)
    b.load_state_dict(state)
    assert [yb.data.tolist() for _, yb in b] == rest
    with pytest.raises(cr.DataError, match="num_replicas=2, this loader num_replicas=3"):
        DataLoader(X, y, batch_size=2, seed=1, num_replicas=3, rank=0).load_state_dict(state)


def test_sharded_shuffling_loader_needs_a_seed() -> None:
    X, y = data(4)
    with pytest.raises(ValueError, match="needs a seed, the same on every rank"):
        DataLoader(X, y, num_replicas=2, rank=0)
    assert len(DataLoader(X, y, batch_size=1, shuffle=False, num_replicas=2, rank=1)) == 2


def test_batches_go_to_the_device_given() -> None:
    X, y = data()
    loader = DataLoader(X, y, batch_size=4, shuffle=False, device="array_api_strict")
    batches = list(loader)
    assert all(xb.device == "array_api_strict" and yb.device == "array_api_strict"
               for xb, yb in batches)
    np.testing.assert_array_equal(batches[0][0].cpu().numpy(), X[:4].astype(np.float32))
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
