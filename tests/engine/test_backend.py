"""chainrule.backend: namespaces, dtypes, moves and what the array API lacks."""

from __future__ import annotations

import array_api_strict as xps
import numpy as np
import pytest

import chainrule as cr
from chainrule import backend


def test_numpy_arrays_get_numpys_own_functions() -> None:
    xp = backend.namespace(np.ones(3))
    assert xp is backend.NUMPY and xp.exp is np.exp and xp.matmul is np.matmul
    assert backend.namespace(2.0, None, np.ones(2)) is xp  # numbers are skipped
    assert backend.namespace() is xp and backend.namespace(cr.ones(2)) is xp  # none: NumPy


def test_the_numpy_namespace_keeps_the_standards_meaning() -> None:
    """The fast replacements of NumPy's Python wrappers give what the wrappers give."""
    xp = backend.NUMPY
    a = np.arange(24.0).reshape(2, 3, 4)
    assert xp.sum(a) == np.sum(a)  # all axes by default, not ufunc.reduce's axis 0
    np.testing.assert_array_equal(xp.sum(a, axis=(0, 2), keepdims=True),
                                  np.sum(a, axis=(0, 2), keepdims=True))
    assert xp.max(a) == 23.0 and xp.min(a) == 0.0
    np.testing.assert_array_equal(xp.max(a, axis=1), np.max(a, axis=1))
    np.testing.assert_array_equal(xp.mean(a, axis=-1), np.mean(a, axis=-1))
    assert xp.reshape(a, (4, 6)).shape == (4, 6)
    assert not np.shares_memory(xp.reshape(a, (24,), copy=True), a)
    assert xp.permute_dims(a, (2, 0, 1)).shape == (4, 2, 3)
    assert xp.matrix_transpose(a).shape == (2, 4, 3)
    assert xp.astype(a, np.float32).dtype == np.float32
    for axis in (0, 1, -1, -4):
        assert xp.expand_dims(a, axis=axis).shape == np.expand_dims(a, axis).shape
    assert xp.sum(np.array([True, True, False])) == 2


def test_a_device_librarys_namespace_is_learned_once() -> None:
    a = xps.asarray([1.0, 2.0])
    xp = backend.namespace(a)
    assert xp is backend.namespace(3.0, a) and hasattr(xp, "logaddexp")
    assert backend.is_array(a) and backend.is_device_array(a)
    assert backend.is_array(np.ones(2)) and not backend.is_device_array(np.ones(2))
    assert not backend.is_array([1.0]) and not backend.is_array(np.float32(1))
    assert backend.is_numpy_scalar(np.float32(1)) and not backend.is_numpy_scalar(1.0)


def test_dtypes_by_any_name() -> None:
    assert backend.numpy_dtype("float64") == np.float64
    assert backend.numpy_dtype(np.float32) == np.float32
    assert backend.numpy_dtype(xps.float32) == np.float32
    assert backend.numpy_dtype(xps.asarray([1]).dtype).kind == "i"
    with pytest.raises(TypeError, match="not a data type"):
        backend.numpy_dtype(xps.Device("CPU_DEVICE"))
    assert backend.native_dtype(backend.NUMPY, "float32") == np.float32
    assert backend.native_dtype(backend.namespace(xps.ones(1)), np.float64) == xps.float64
    assert backend.is_floating(xps.float64) and not backend.is_floating("int64")


def test_device_of_and_moves() -> None:
    a = np.arange(3.0)
    assert backend.device_of(a) == "cpu" and backend.device_of([1, 2]) == "cpu"
    s = backend.to_device(a, "array_api_strict")
    assert backend.device_of(s) == "array_api_strict"
    assert backend.to_device(s, "array_api_strict") is s
    back = backend.to_numpy(s)
    assert type(back) is np.ndarray
    np.testing.assert_array_equal(back, a)
    assert backend.to_device(a, "cpu") is a and backend.to_numpy(a) is a
    assert backend.to_numpy(a, copy=True) is not a
    with pytest.raises(cr.DeviceError, match="CuPy is not installed"):
        backend.to_device(a, "cuda")


def test_asarray_and_copy() -> None:
    a = np.arange(3.0)
    assert backend.asarray(a) is a
    assert backend.asarray([1, 2]).dtype.kind == "i"
    assert backend.asarray(a, dtype="float32").dtype == np.float32
    assert backend.asarray(a, copy=True) is not a
    s = backend.asarray([1.0, 2.0], like=xps.ones(1))
    assert backend.device_of(s) == "array_api_strict"
    assert backend.numpy_dtype(backend.asarray(s, dtype="float32").dtype) == np.float32
    c = backend.copy(s)
    c[...] = 0.0
    assert backend.to_numpy(s).tolist() == [1.0, 2.0]
    assert type(backend.copy(np.float32(2))) is np.ndarray  # a scalar becomes a 0-d array
    assert backend.owns_memory(np.ones(3)) and not backend.owns_memory(np.ones(3)[1:])
    assert not backend.owns_memory(xps.ones(3))  # the standard does not say: copy


@pytest.mark.parametrize("make", [np.asarray, xps.asarray], ids=["numpy", "strict"])
def test_what_the_standard_lacks(make: object) -> None:
    out = make(np.zeros((3, 2)))
    backend.scatter_add(out, make(np.array([0, 2, 0])), make(np.ones((3, 2))))
    np.testing.assert_array_equal(backend.to_numpy(out), [[2, 2], [0, 0], [1, 1]])
    backend.put(out, (make(np.array([1, 2])), make(np.array([0, 1]))), 5.0)
    np.testing.assert_array_equal(backend.to_numpy(out), [[2, 2], [5, 0], [1, 5]])
    picked = backend.getitem(out, make(np.array([2, 2])))
    np.testing.assert_array_equal(backend.to_numpy(picked), [[1, 5], [1, 5]])
    np.testing.assert_array_equal(backend.to_numpy(backend.getitem(out, 1)), [5, 0])
    t = make(np.empty(2))
    assert backend.into(t, "multiply", make(np.array([1.0, 2.0])), 3.0) is t
    np.testing.assert_array_equal(backend.to_numpy(t), [3.0, 6.0])
    y, x = make(np.ones(4)), make(np.arange(4.0))
    backend.add_scaled(y, -0.5, x, make(np.empty(4)))
    np.testing.assert_array_equal(backend.to_numpy(y), 1 - 0.5 * np.arange(4.0))
    backend.assign(y, np.arange(4))  # any device, cast to y's dtype
    np.testing.assert_array_equal(backend.to_numpy(y), np.arange(4.0))
    weights = backend.ones_where(x > 1.5, x)
    np.testing.assert_array_equal(backend.to_numpy(x * weights), [0, 0, 2, 3])


def test_method_helpers_work_on_arrays_and_tensors() -> None:
    for a in (np.arange(6.0).reshape(2, 3), xps.reshape(xps.arange(6.0), (2, 3)),
              cr.arange(6.0).reshape(2, 3)):
        assert backend.reshape(a, (3, 2)).shape == (3, 2)
        assert tuple(backend.sum(a, axis=0).shape) == (3,)
        assert backend.permute_dims(a, None).shape == (3, 2)
        assert backend.numpy_dtype(backend.astype(a, "float32").dtype) == np.float32


def test_require_device() -> None:
    assert backend.require_device("cpu") == "cpu"
    assert backend.require_device("array_api_strict") == "array_api_strict"
    with pytest.raises(cr.DeviceError, match=r"pip install 'chainrule\[cuda12\]'"):
        backend.require_device("cuda:0")
    with pytest.raises(cr.DeviceError, match="unknown device 'gpu'"):
        backend.require_device("gpu")
    assert backend.generator(cr.Device("cpu"), 0) is None  # the CPU's NumPy generator


def test_errstate_quiets_numpy() -> None:
    with backend.errstate(divide="raise"), pytest.raises(FloatingPointError):
        np.log(np.zeros(1))
