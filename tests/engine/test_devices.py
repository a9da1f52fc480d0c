"""cr.Device: names, equality, errors; and cr.cuda on a machine without CuPy."""

from __future__ import annotations

import importlib.util

import pytest

import chainrule as cr
from chainrule.devices import is_device_name

no_cupy = pytest.mark.skipif(importlib.util.find_spec("cupy") is not None,
                             reason="CuPy is installed here")


def test_names_and_equality() -> None:
    assert str(cr.Device("cuda:1")) == "cuda:1" and repr(cr.Device("cpu")) == "device(type='cpu')"
    assert cr.Device("cuda:1") == "cuda:1" and cr.Device(" CPU ") == "cpu"
    assert cr.Device("cuda") != "cuda:0" and cr.Device("cpu") != "gpu"
    assert cr.Device(cr.Device("cuda:2")).index == 2
    assert len({cr.Device("cpu"), cr.Device("cpu"), cr.Device("cuda:0")}) == 2
    assert cr.Device("cuda").includes(cr.Device("cuda:3"))
    assert not cr.Device("cuda:0").includes(cr.Device("cuda:1"))
    assert cr.Device("cpu") != 3


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "cpu:0", "", 0])
def test_unknown_devices_are_refused(spec: object) -> None:
    with pytest.raises(cr.DeviceError, match="device"):
        cr.Device(spec)  # type: ignore[arg-type]


def test_device_names_are_told_from_dtypes() -> None:
    assert is_device_name("cuda:0") and is_device_name(cr.Device("cpu"))
    assert not is_device_name("float64") and not is_device_name(None)


@no_cupy
def test_cuda_without_cupy() -> None:
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    with pytest.raises(cr.DeviceError, match=r"cuda: CuPy is not installed: pip install"):
        cr.cuda.cupy()
    with pytest.raises(cr.DeviceError, match="CuPy"):
        cr.zeros(3, device="cuda")
    with pytest.raises(cr.DeviceError, match="CuPy"):
        cr.nn.Linear(2, 3).to("cuda")
