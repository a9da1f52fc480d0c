"""Sharding an epoch over K ranks: disjoint, equal, and the same global batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.data.sharding import check_shard, shard_indices, shard_size


@given(n=st.integers(1, 60), k=st.integers(1, 7), seed=st.integers(0, 99))
def test_pad_gives_equal_shards_covering_everything(n, k, seed):
    order = np.random.default_rng(seed).permutation(n)
    shards = [shard_indices(order, k, r) for r in range(k)]
    assert {len(s) for s in shards} == {shard_size(n, k)}
    union = np.concatenate(shards)
    assert set(union.tolist()) == set(range(n))
    if n % k == 0:  # nothing padded: disjoint
        assert len(union) == n


@given(n=st.integers(1, 60), k=st.integers(1, 7))
def test_drop_gives_equal_disjoint_shards(n, k):
    order = np.arange(n)[::-1]
    shards = [shard_indices(order, k, r, tail="drop") for r in range(k)]
    assert {len(s) for s in shards} == {n // k}
    union = np.concatenate(shards)
    assert len(set(union.tolist())) == len(union) == k * (n // k)


@given(k=st.integers(1, 5), b=st.integers(1, 6), m=st.integers(1, 8))
def test_ranks_batches_together_are_one_process_batch(k, b, m):
    """Batch j of every rank together holds exactly batch j of size K*B of the order."""
    n = k * m
    order = np.random.default_rng(k * 100 + b).permutation(n)
    shards = [shard_indices(order, k, r) for r in range(k)]
    for j in range(-(-m // b)):
        together = np.concatenate([s[j * b:(j + 1) * b] for s in shards])
        assert sorted(together.tolist()) == sorted(order[j * k * b:(j + 1) * k * b].tolist())


def test_padding_repeats_the_orders_start_like_pytorch():
    order = np.array([5, 3, 9, 0, 1])
    assert [shard_indices(order, 3, r).tolist() for r in range(3)] == [[5, 0], [3, 1], [9, 5]]
    assert shard_size(5, 3) == 2 and shard_size(5, 3, "drop") == 1


@pytest.mark.parametrize("k, r, tail, message", [
    (0, 0, "pad", "num_replicas must be >= 1"),
    (2, 2, "pad", "rank must be in 0..1"),
    (2, 0, "cut", "shard_tail must be one of pad, drop"),
])
def test_bad_shards_are_named(k, r, tail, message):
    with pytest.raises(ValueError, match=message):
        check_shard(k, r, tail, "DataLoader")
