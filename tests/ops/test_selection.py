"""The selection gates (gather, and sort/topk/max(dim) built on it): float64 gradcheck over
random shapes, the indices they return, their errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule as cr
from chainrule.ops.selection import ValuesIndices

EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True)
shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**32 - 1)


def distinct(rng: np.random.Generator, shape: tuple) -> cr.Tensor:
    n = int(np.prod(shape))
    values = (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)
    return cr.tensor(values, dtype="float64", requires_grad=True)


@EXAMPLES
@given(shape=shapes, seed=seeds, data=st.data())
def test_gather_gradcheck(shape: tuple, seed: int, data: st.DataObject) -> None:
    rng = np.random.default_rng(seed)
    axis = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(1, 4)) if i == axis else n
                        for i, n in enumerate(shape))
    index = rng.integers(0, shape[axis], index_shape)     # repeats allowed: gradients add
    x = cr.tensor(rng.standard_normal(shape), requires_grad=True)
    assert cr.gradcheck(lambda t: cr.gather(t, axis, index), [x], seed=seed)


@EXAMPLES
@given(shape=shapes, seed=seeds, descending=st.booleans())
def test_sort_topk_and_max_gradcheck(shape: tuple, seed: int, descending: bool) -> None:
    x = distinct(np.random.default_rng(seed), shape)
    assert cr.gradcheck(lambda t: t.sort(dim=-1, descending=descending).values, [x], seed=seed)
    k = min(2, shape[0])
    assert cr.gradcheck(lambda t: cr.topk(t, k, dim=0).values, [x], seed=seed)
    assert cr.gradcheck(lambda t: t.max(0).values * t.min(-1, keepdim=True).values.sum(),
                        [x], seed=seed)


@EXAMPLES
@given(shape=shapes, seed=seeds)
def test_sort_indices_match_numpys_stable_argsort(shape: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.integers(0, 3, shape).astype(np.float32))   # many ties
    result = cr.sort(x, dim=0)
    assert isinstance(result, ValuesIndices)
    np.testing.assert_array_equal(result.indices.data, np.argsort(x.data, 0, kind="stable"))
    np.testing.assert_array_equal(result.values.data, np.sort(x.data, 0))


def test_errors_name_the_op_and_the_sizes() -> None:
    x = cr.zeros(2, 3)
    with pytest.raises(cr.ShapeError, match="topk: k=4 is out of range for dim -1 of size 3"):
        x.topk(4)
    with pytest.raises(cr.ShapeError, match="sort: dim 2 is out of range for a tensor of 2"):
        x.sort(dim=2)
    with pytest.raises(cr.ShapeError, match="gather: index must be integers with 2 dim"):
        cr.gather(x, 0, np.zeros((2,), np.int64))


def test_a_zero_dimensional_tensor_is_its_own_max() -> None:
    values, index = cr.tensor(3.0).max(0)
    assert values.item() == 3.0 and index.item() == 0
