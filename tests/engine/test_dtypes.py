"""PyTorch's dtype rule: NumPy arrays keep their dtype, Python numbers and lists take the
default (float32, or what cr.set_default_dtype says); dtype names; what training feeds."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader
from chainrule.train import Trainer, predict_scores


@pytest.fixture
def float64_default() -> Iterator[None]:
    cr.set_default_dtype(cr.float64)
    try:
        yield
    finally:
        cr.set_default_dtype(cr.float32)


@pytest.mark.parametrize(("data", "dtype"), [
    (np.zeros(3), np.float64),
    (np.zeros(3, np.float32), np.float32),
    (np.float64(1.5), np.float64),
    (np.zeros(3, np.float16), np.float16),
    ([1.0, 2.0], np.float32),
    (1.5, np.float32),
    ([[1, 2]], np.int64),
    (np.array([True]), np.bool_),
])
def test_numpy_arrays_keep_their_dtype_numbers_take_the_default(data, dtype) -> None:
    assert cr.tensor(data).dtype == dtype
    assert cr.Tensor(data).dtype == dtype


def test_a_float64_gradient_check_keeps_its_digits() -> None:
    """The CS231n habit: a float64 array in, float64 gradients out (not float32's 7 digits)."""
    x = cr.tensor(np.array([0.1, 0.2, 0.3]), requires_grad=True)
    (x ** 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, 3 * np.array([0.1, 0.2, 0.3]) ** 2, rtol=1e-15)


def test_float128_is_refused() -> None:
    if not hasattr(np, "float128"):
        pytest.skip("no float128 on this platform")
    with pytest.raises(TypeError, match="not supported"):
        cr.tensor(np.zeros(2, np.float128))


def test_set_default_dtype(float64_default) -> None:
    assert cr.get_default_dtype() == np.float64
    assert cr.tensor([1.0]).dtype == np.float64
    assert cr.zeros(2).dtype == cr.randn(2).dtype == cr.arange(0.0, 1.0, 0.5).dtype == np.float64
    assert nn.Linear(2, 3).weight.dtype == np.float64
    assert cr.tensor(np.zeros(2, np.float32)).dtype == np.float32    # arrays keep theirs
    assert "dtype" not in repr(cr.tensor([1.0]))                      # the default is not shown


def test_set_default_dtype_takes_only_floats() -> None:
    with pytest.raises(TypeError, match="float32 and float64"):
        cr.set_default_dtype("int64")
    assert cr.get_default_dtype() == np.float32


def test_pytorch_dtype_names() -> None:
    assert cr.tensor([1], dtype=cr.float).dtype == np.float32
    assert cr.tensor([1], dtype=cr.double).dtype == np.float64
    assert cr.tensor([1.7], dtype=cr.long).dtype == np.int64
    assert cr.zeros(2, dtype="float").dtype == np.float32          # not NumPy's float64
    assert cr.full((2,), 1.0, dtype=cr.float).dtype == np.float32
    assert nn.Linear(2, 2).to(cr.double).weight.dtype == np.float64
    assert cr.tensor([1, 0]).to(cr.bool).dtype == np.bool_
    assert "float" not in cr.__all__ and "bool" not in cr.__all__   # a star import keeps builtins


def test_training_feeds_arrays_in_the_models_dtype() -> None:
    """float64 data train a float32 model in float32 (results and speed as before), a
    float64 model in float64."""
    X = np.random.default_rng(0).standard_normal((40, 3))           # float64
    y = np.arange(40) % 2
    for dtype in ("float32", "float64"):
        model = nn.MLP(3, [4], 2, dtype=dtype)
        seen = []
        forward = model.forward
        model.forward = lambda x, forward=forward, seen=seen: (seen.append(x.dtype), forward(x))[1]
        opt = cr.optim.SGD(model.parameters(), lr=0.1)
        Trainer(model, nn.CrossEntropyLoss(), opt, batch_size=20, progress=False,
                compile=False).fit((X, y), (X, y), epochs=1)
        assert set(seen) == {np.dtype(dtype)}
        assert predict_scores(model, X).dtype == np.dtype(dtype)


def test_data_loader_dtype_and_regression_targets() -> None:
    X, t = np.zeros((5, 2)), np.arange(10.0).reshape(5, 2)
    xb, yb = next(iter(DataLoader(X, np.arange(5), batch_size=5, shuffle=False)))
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    xb, _ = next(iter(DataLoader(X, np.arange(5), batch_size=5, dtype=None)))
    assert xb.dtype == np.float64
    xb, yb = next(iter(DataLoader(X, t, batch_size=5, shuffle=False, targets="values")))
    assert yb.dtype == np.float32 and yb.shape == (5, 2)
    np.testing.assert_array_equal(yb.data, t)
    with pytest.raises(ValueError, match="targets must be"):
        DataLoader(X, t, targets="classes")
    with pytest.raises(cr.DataError, match="labels must be integers"):
        DataLoader(X, np.full(5, 0.5))
