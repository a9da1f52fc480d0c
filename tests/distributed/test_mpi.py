"""Data-parallel training under ``mpiexec -n 2`` and ``-n 3`` on this machine (loopback).

Each test starts a job in a subprocess (``mpi_program.py`` or ``python -m chainrule``) with
a timeout, so a job that hangs fails instead of blocking the suite; the job's processes
are killed with it. Skipped, with the reason, without mpi4py or an ``mpiexec``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'chainrule[mpi]')")

PROGRAM = Path(__file__).with_name("mpi_program.py")
SRC = Path(__file__).resolve().parents[2] / "src"
TIMEOUT = 180  # seconds for one job: a hang fails the test


def _mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"  # the MPICH wheel installs it here
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich)")


def mpirun(n: int, *args: str) -> subprocess.CompletedProcess:
    """``mpiexec -n N python ARGS`` with one BLAS thread per rank; killed after TIMEOUT."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
                   [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.Popen([MPIEXEC, "-n", str(n), sys.executable, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"mpiexec -n {n} {' '.join(args)} hung for {TIMEOUT}s:\n{out}\n{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("ranks", [2, 3])
def test_k_ranks_equal_one_process_with_k_times_the_batch(ranks):
    """Weights after N steps on K ranks (batch B each) == one process with batch K x B on the
    same data order: 1e-12 in float64 (compiled and eager, Adam and SGD momentum), 1e-5 in
    float32; Trainer, sharding, broadcast and sharded evaluate too."""
    job = mpirun(ranks, str(PROGRAM), "checks")
    assert job.returncode == 0, job.stderr
    lines = job.stdout.splitlines()
    for name in ("sharding and broadcast", "equivalence float64 adam compiled",
                 "equivalence float64 adam eager", "equivalence float64 sgd compiled",
                 "equivalence float64 sgd eager", "equivalence float32 adam compiled",
                 "trainer float32", "evaluate"):
        assert any(line.startswith(f"ok {name}") for line in lines), (name, job.stdout)
    assert len(lines) == 8  # only rank 0 prints


def _history(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.slow
def test_chainrule_train_on_two_ranks_matches_one_rank(tmp_path):
    """``mpiexec -n 2 chainrule train --batch-size 32`` == ``chainrule train --batch-size 64``
    within noise (no dropout: only rounding differs), and the same run folder."""
    common = ["-m", "chainrule", "train", "--epochs", "4", "--hidden", "64", "--dropout", "0",
              "--augment", "none", "--val-fraction", "0.1"]
    two = mpirun(2, *common, "--batch-size", "32", "--out", str(tmp_path / "two"))
    assert two.returncode == 0, two.stderr
    assert "data-parallel on 2 ranks: batch 32 per rank, global batch 64" in two.stdout
    assert two.stdout.count("test accuracy:") == 1  # rank 0 alone prints
    one = mpirun(1, *common, "--batch-size", "64", "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    a, b = _history(tmp_path / "two"), _history(tmp_path / "one")
    assert abs(a["test"]["accuracy"] - b["test"]["accuracy"]) <= 0.02
    np.testing.assert_allclose(a["history"]["train_loss"], b["history"]["train_loss"],
                               rtol=1e-3)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == \
        sorted(p.name for p in (tmp_path / "one").iterdir())
    assert set(a) - set(b) == {"distributed"} and set(b) <= set(a)
    assert a["distributed"] == {"world_size": 2, "batch_size_per_rank": 32,
                                "global_batch_size": 64}
    assert a["test"]["num_examples"] == b["test"]["num_examples"] == 359


@pytest.mark.slow
def test_interrupted_two_rank_run_resumes_exactly(tmp_path):
    """A 2-rank run stopped after epoch 2 and resumed with ``--resume`` on 2 ranks gives the
    numbers of the run that never stopped (dropout on: every rank's RNG is restored)."""
    from chainrule.train import load_checkpoint

    job = mpirun(2, str(PROGRAM), "train", str(tmp_path))
    assert job.returncode == 0 and "ok interrupted" in job.stdout, job.stderr
    cut = load_checkpoint(tmp_path / "cut")
    assert cut.epoch == 2 and len(cut.trainer_state["distributed"]["rng_states"]) == 2
    resumed = mpirun(2, "-m", "chainrule", "train", "--resume", str(tmp_path / "cut"),
                     "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    a, b = _history(tmp_path / "full"), _history(tmp_path / "cut")
    for key in ("train_loss", "train_acc", "val_acc", "lr"):
        assert a["history"][key] == b["history"][key]
    assert a["test"] == b["test"]
    wa, wb = load_checkpoint(tmp_path / "full"), load_checkpoint(tmp_path / "cut")
    for name, value in wa.state_dict.items():
        np.testing.assert_array_equal(wb.state_dict[name], value)
    other = mpirun(3, "-m", "chainrule", "train", "--resume", str(tmp_path / "cut"), "--quiet")
    assert other.returncode != 0
    assert "2-rank run" in other.stderr and "mpirun -n 2" in other.stderr


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_the_job_and_is_named(tmp_path, how):
    """Rank 1 raises (or is SIGKILLed) after epoch 2: the whole job ends, rank 1 is named,
    and the last checkpoint on disk is whole."""
    from chainrule.train import load_checkpoint

    job = mpirun(2, str(PROGRAM), "fault", how, str(tmp_path / "run"))
    assert job.returncode != 0
    if how == "raise":
        assert "chainrule: rank 1 of 2 failed: ValueError: rank 1 gives up" in job.stderr
    else:
        assert "chainrule: rank 1 of 2 (pid" in job.stderr
        assert "ended before the job finished" in job.stderr
    assert load_checkpoint(tmp_path / "run").epoch in (1, 2)
    visible = [p.name for p in (tmp_path / "run").iterdir() if not p.name.startswith(".")]
    assert visible == ["checkpoint.safetensors"]  # (a writer killed mid-write may leave
    # its hidden temporary file, never a partial checkpoint)
