"""A run folder owned by one run: claimed, locked while the run writes, cleaned up after.

``chainrule train --out DIR`` writes ``checkpoint.safetensors``, ``metrics.json`` and
``report.html`` into ``DIR``. Two runs must never write the same folder (one run's metrics
beside the other's checkpoint), and a run must never replace a finished one unasked.
:class:`RunFolder` is the one place that decides:

- a folder that already holds a run (any of :data:`RUN_FILES`) is refused, unless the run
  was told to ``overwrite`` it (its old run files are removed first, so nothing of the old
  run survives beside the new one) or to ``resume`` the run in it;
- while a run writes, the folder holds a lock file, :data:`LOCK_NAME`, with the owner's
  pid, host and start time. The lock is an OS file lock (``flock``), which the kernel
  releases when the process ends, however it ends: a crashed or killed run never leaves
  the folder locked. Where the file system has no such locks, the pid and host in the file
  are checked instead (a lock of a process that no longer runs on this host is stale);
- a run that fails leaves nothing it created that is of no use: a folder it created is
  removed again unless a checkpoint was written (which ``--resume`` can continue from);
- once the lock is held, temporary files a killed writer left behind
  (:func:`chainrule.atomic.sweep_temporary`) are removed.

Under MPI only the process that writes (rank 0) holds the run folder: it alone creates a
:class:`RunFolder` and calls :meth:`RunFolder.open` / :meth:`RunFolder.close`.

>>> with RunFolder("runs/demo") as folder:          # doctest: +SKIP
...     write_files(folder.path)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from chainrule.atomic import sweep_temporary
from chainrule.errors import ChainruleError
from chainrule.train.checkpoint import CHECKPOINT_NAME

__all__ = ["LOCK_NAME", "RUN_FILES", "RunFolder", "RunFolderError"]

#: The files of a run folder (what marks a folder as holding a run).
RUN_FILES = (CHECKPOINT_NAME, "metrics.json", "report.html")
#: The lock file a writing run keeps in its folder.
LOCK_NAME = ".chainrule.lock"

try:
    import fcntl
except ImportError:  # not POSIX: the pid/host check below is the lock
    fcntl = None  # type: ignore[assignment]


class RunFolderError(ChainruleError):
    """A run folder that is taken: a finished run in it, or another run writing it."""


class RunFolder:
    """The folder of one run; see the module docstring.

    ``overwrite``: replace a run already in the folder. ``resume``: the folder holds the run
    being continued (its files stay until the run replaces them). Call :meth:`check` early
    (it changes nothing), :meth:`open` when the run is about to write, :meth:`close` at the
    end (``ok=False`` after a failure); or use it as a context manager, which does both.
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = False,
                 resume: bool = False) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.resume = resume
        self.created = False
        self._fd: int | None = None

    # ------------------------------------------------------------------ checks
    def existing_run_files(self) -> list[str]:
        """The run files already in the folder."""
        return [name for name in RUN_FILES if (self.path / name).exists()]

    def check(self) -> None:
        """Refuse now (before the data loads) what :meth:`open` would refuse; changes nothing."""
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"{self.path}: is a file, not a run folder")
        owner = self._live_owner_without_locking()
        if owner is not None:  # first: a run at work there matters more than its files
            raise RunFolderError(_in_use(self.path, owner))
        found = self.existing_run_files()
        if found and not (self.overwrite or self.resume):
            raise RunFolderError(
                f"{self.path} already holds a run ({', '.join(found)}); pass --overwrite to "
                f"replace it, --resume {self.path} to continue it, or another --out"
            )

    # ------------------------------------------------------------------ open / close
    def open(self) -> RunFolder:
        """Create (or claim) the folder, take its lock, sweep stale temporary files.

        With ``overwrite``, the old run's files are removed once the lock is held.
        """
        self.check()
        self.created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._lock()
            found = self.existing_run_files()
            if found and not (self.overwrite or self.resume):  # another run finished meanwhile
                raise RunFolderError(f"{self.path} already holds a run ({', '.join(found)}); "
                                     "pass --overwrite to replace it or choose another --out")
            sweep_temporary(self.path, RUN_FILES, older_than=0.0)
            if self.overwrite and not self.resume:
                for name in found:
                    (self.path / name).unlink()
        except BaseException:
            self.close(ok=False)
            raise
        return self

    def close(self, ok: bool = True) -> None:
        """Release the lock; after a failure, remove what this run created and cannot use.

        A folder this run created goes again unless it holds a checkpoint (the last finished
        epoch, which ``--resume`` continues from); the temporary files of a write the failure
        interrupted go in any case.
        """
        if not ok:
            with contextlib.suppress(OSError):
                sweep_temporary(self.path, RUN_FILES, older_than=0.0)
        self._unlock()
        if not ok and self.created and not (self.path / CHECKPOINT_NAME).exists():
            for name in RUN_FILES:
                with contextlib.suppress(FileNotFoundError):
                    (self.path / name).unlink()
            with contextlib.suppress(OSError):  # not empty: files that are not ours stay
                self.path.rmdir()

    def __enter__(self) -> RunFolder:
        return self.open()

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        self.close(ok=kind is None)

    # ------------------------------------------------------------------ the lock
    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_NAME

    def _lock(self) -> None:
        """Hold the folder's lock file, or raise :class:`RunFolderError` naming its owner."""
        for _ in range(10):  # the lock file may be replaced under us; then look again
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                held = _try_flock(fd)
                if held is None:  # no OS locks here: decide by the pid and host in the file
                    owner = _read_owner(fd)
                    if owner is not None and _alive(owner):
                        raise RunFolderError(_in_use(self.path, owner))
                elif not held:
                    raise RunFolderError(_in_use(self.path, _read_owner(fd)))
                if not _same_file(fd, self.lock_path):
                    os.close(fd)
                    continue
                _write_owner(fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise
            self._fd = fd
            return
        raise RunFolderError(f"{self.path}: could not take the run folder's lock")

    def _unlock(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.lock_path.unlink()  # while still holding it: nobody locks a file going away
        os.close(self._fd)
        self._fd = None

    def _live_owner_without_locking(self) -> dict | None:
        """The owner of the lock if a live process holds it (a look, no lock taken)."""
        if self._fd is not None or not self.lock_path.exists():
            return None
        try:
            fd = os.open(self.lock_path, os.O_RDWR)
        except OSError:
            return None
        try:
            held = _try_flock(fd)
            owner = _read_owner(fd)
            if held is None:
                return owner if owner is not None and _alive(owner) else None
            return None if held else (owner or {})
        finally:
            os.close(fd)  # closing drops the flock this look may have taken


def _try_flock(fd: int) -> bool | None:
    """True: locked now; False: another process holds it; None: no OS locks here."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # e.g. ENOLCK, EOPNOTSUPP on some network or FUSE file systems
        return None
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _write_owner(fd: int) -> None:
    owner = {"pid": os.getpid(), "host": socket.gethostname(),
             "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(owner).encode())


def _read_owner(fd: int) -> dict | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(owner: dict) -> bool:
    """Whether the lock's owner may still run: another host's process is assumed to."""
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname() or os.name == "nt":
        return True  # (on Windows, os.kill(pid, 0) would send Ctrl+C, not ask)
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the process exists, as another user
        return True
    return True


def _in_use(path: Path, owner: dict | None) -> str:
    who = "another run"
    if owner:
        who = f"the run of pid {owner.get('pid')} on {owner.get('host')}, started " \
              f"{owner.get('started')}"
    return (f"{path} is being written by {who}; wait for it to finish or choose another "
            f"--out (if no such run is alive, delete {path / LOCK_NAME})")
