"""A run folder belongs to one run: refused when taken, locked while written, cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainrule.atomic import sweep_temporary
from chainrule.train.run_folder import LOCK_NAME, RunFolder, RunFolderError

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _holder(folder: Path) -> subprocess.Popen:
    """Another process holding ``folder`` open as a run, until killed."""
    code = ("import sys, time\n"
            "from chainrule.train.run_folder import RunFolder\n"
            f"RunFolder({str(folder)!r}).open()\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env=env)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_folder_holding_a_run_is_refused_unless_asked(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("metrics.json", "checkpoint.safetensors"):
        (run / name).write_text("old")
        with pytest.raises(RunFolderError, match=r"already holds a run .*--overwrite"):
            RunFolder(run).check()
        (run / name).unlink()
    (run / "metrics.json").write_text("old")
    (run / "notes.txt").write_text("mine")
    with RunFolder(run, overwrite=True) as folder:
        assert not (run / "metrics.json").exists()  # nothing of the old run beside the new
        assert (run / LOCK_NAME).exists() and folder.path == run
    assert (run / "notes.txt").read_text() == "mine" and not (run / LOCK_NAME).exists()
    (run / "metrics.json").write_text("old")
    with RunFolder(run, resume=True):
        assert (run / "metrics.json").read_text() == "old"  # resumed: replaced when rewritten


def test_a_second_run_cannot_write_a_locked_folder_and_a_killed_one_frees_it(tmp_path) -> None:
    run = tmp_path / "run"
    holder = _holder(run)
    try:
        for attempt in (RunFolder(run).check, RunFolder(run, overwrite=True).open):
            with pytest.raises(RunFolderError, match=rf"being written by the run of pid "
                                                      rf"{holder.pid} on "):
                attempt()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (run / LOCK_NAME).exists()  # a killed run cannot remove its lock file ...
    with RunFolder(run):                # ... but it no longer holds it
        pass


def test_a_stale_lock_without_os_locks_is_judged_by_pid(tmp_path, monkeypatch) -> None:
    import chainrule.train.run_folder as rf

    monkeypatch.setattr(rf, "_try_flock", lambda fd: None)  # a file system without flock
    run = tmp_path / "run"
    run.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    import socket

    (run / LOCK_NAME).write_text(f'{{"pid": {int(dead.stdout)}, "host": '
                                 f'"{socket.gethostname()}", "started": "then"}}')
    with RunFolder(run):
        pass
    (run / LOCK_NAME).write_text(f'{{"pid": {os.getppid()}, "host": "{socket.gethostname()}"}}')
    with pytest.raises(RunFolderError, match=rf"pid {os.getppid()}"):
        RunFolder(run).open()
    (run / LOCK_NAME).write_text('{"pid": 1, "host": "elsewhere"}')  # cannot tell: refuse
    with pytest.raises(RunFolderError, match=r"on elsewhere.*delete .*\.chainrule\.lock"):
        RunFolder(run).open()


def test_a_failed_run_removes_the_folder_it_created(tmp_path) -> None:
    run = tmp_path / "a" / "run"
    with pytest.raises(ZeroDivisionError), RunFolder(run):
        (run / ".checkpoint.safetensors.x1y2z3ab.tmp").write_bytes(b"half")
        raise ZeroDivisionError
    assert not run.exists()
    with pytest.raises(KeyboardInterrupt), RunFolder(run):
        (run / "checkpoint.safetensors").write_bytes(b"epoch 1")
        raise KeyboardInterrupt
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.safetensors"]  # resumable
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(ValueError), RunFolder(kept):
        raise ValueError
    assert kept.is_dir()  # the user's folder stays


def test_stale_temporary_files_are_swept(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    leftovers = [run / ".checkpoint.safetensors.k2j3h4l5.tmp", run / ".report.html.abcdefgh.tmp"]
    foreign = [run / ".notes.txt.abcdefgh.tmp", run / ".checkpoint.safetensors.tmp",
               run / ".checkpoint.safetensors.old.abcdefgh.tmp"]
    for p in leftovers + foreign:
        p.write_bytes(b"x" * 100)
    with RunFolder(run, resume=True):
        assert not any(p.exists() for p in leftovers)
        assert all(p.exists() for p in foreign)
    fresh = tmp_path / ".data.npz.a1b2c3d4.tmp"
    fresh.write_bytes(b"a writer may still be at work")
    assert sweep_temporary(tmp_path, ["data.npz"]) == []
    old = time.time() - 2 * 3600
    os.utime(fresh, (old, old))
    assert sweep_temporary(tmp_path, ["data.npz"]) == [fresh]


def test_atomic_writes_sweep_their_own_stale_leftovers(tmp_path) -> None:
    from chainrule.atomic import write_text

    stale = tmp_path / ".out.txt.q1w2e3r4.tmp"
    stale.write_bytes(b"killed mid-write")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    write_text(tmp_path / "out.txt", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
