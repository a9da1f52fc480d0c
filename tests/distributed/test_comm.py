"""The process group in a world of one (no launcher), and a missing mpi4py."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributed import comm


@pytest.fixture
def fresh(monkeypatch):
    """cr.distributed as before init(), with no launcher in the environment."""
    monkeypatch.setattr(comm, "_initialized", False)
    monkeypatch.setattr(comm, "_comm", None)
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_world_of_one_without_a_launcher(fresh):
    fresh.setitem(sys.modules, "mpi4py", None)  # not even mpi4py: still a world of one
    assert not cr.distributed.is_initialized()
    assert cr.distributed.init() == 1 and cr.distributed.is_initialized()
    assert (cr.distributed.rank(), cr.distributed.world_size()) == (0, 1)
    assert cr.distributed.is_main()
    a = np.arange(3.0)
    assert cr.distributed.allreduce_(a) is a and a.tolist() == [0, 1, 2]
    assert cr.distributed.broadcast_(a) is a
    assert cr.distributed.allgather("x") == ["x"]
    assert cr.distributed.broadcast_object({"k": 1}) == {"k": 1}
    cr.distributed.barrier()
    with pytest.raises(ValueError, match="op must be one of sum, max, min"):
        cr.distributed.allreduce_(a, "prod")


@pytest.mark.parametrize("name", ["PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS"])
def test_the_launchers_world_size_comes_from_its_environment(fresh, name):
    assert comm.launcher_world_size() == 1
    fresh.setenv(name, "4")
    assert comm.launcher_world_size() == 4


def test_under_a_launcher_without_mpi4py_the_error_says_what_to_install(fresh):
    fresh.setitem(sys.modules, "mpi4py", None)
    fresh.setenv("PMI_SIZE", "2")
    with pytest.raises(cr.distributed.DistributedError) as info:
        cr.distributed.init()
    message = str(info.value)
    assert "one of 2 processes" in message and "pip install 'chainrule[mpi]'" in message
    assert "\n" not in message and not cr.distributed.is_initialized()


def test_cli_train_under_a_launcher_without_mpi4py_is_one_line(fresh, capsys):
    from chainrule.cli import main

    fresh.setitem(sys.modules, "mpi4py", None)
    fresh.setenv("PMI_SIZE", "2")
    assert main(["train", "--epochs", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule train: error:") and len(err.splitlines()) == 1
    assert "chainrule[mpi]" in err


def test_collectives_refuse_non_contiguous_arrays(fresh):
    class FakeComm:  # a world of two that only exists to reach the check
        def Get_size(self):
            return 2

    fresh.setattr(comm, "_comm", FakeComm())
    with pytest.raises(cr.distributed.DistributedError, match="C-contiguous NumPy array"):
        comm.allreduce_(np.zeros((3, 4))[:, 1])
