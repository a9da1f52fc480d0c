"""cr.Device: names, equality, errors."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.devices import is_device_name


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
