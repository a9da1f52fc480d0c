"""cr.cuda on a machine without CuPy: nothing fails to start, and using a GPU says what to
install. (With CuPy and a GPU, tests/portability runs everything there: ``-m gpu``.)"""

from __future__ import annotations

import importlib.util

import pytest

import chainrule as cr

no_cupy = pytest.mark.skipif(importlib.util.find_spec("cupy") is not None,
                             reason="CuPy is installed here")


@no_cupy
def test_cuda_without_cupy() -> None:
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    with pytest.raises(cr.DeviceError, match=r"cuda: CuPy is not installed: pip install"):
        cr.cuda.cupy()
    with pytest.raises(cr.DeviceError, match="CuPy"):
        cr.zeros(3, device="cuda")
    with pytest.raises(cr.DeviceError, match="CuPy"):
        cr.nn.Linear(2, 3).to("cuda")


@no_cupy
def test_the_cli_and_the_playground_start_without_cupy() -> None:
    import subprocess
    import sys

    code = ("import sys, chainrule.cli, chainrule.playground, chainrule.train; "
            "sys.exit('cupy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_is_available_and_device_count_agree() -> None:
    assert cr.cuda.is_available() == (cr.cuda.device_count() > 0)
