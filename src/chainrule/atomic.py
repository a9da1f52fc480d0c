"""Atomic file writes: readers see the old file or the new one, never half of one.

Every file chainrule writes (checkpoints, reports, feature arrays, downloads, caches)
goes through :func:`atomic_open`: the content is written to a temporary file in the
target's folder (``.<name>.<random>.tmp``), flushed to disk, given the permissions a
plain ``open`` would give, and renamed over the target with :func:`os.replace`. If
anything fails on the way, the temporary file is removed and the old file is untouched.
A writer killed mid-write leaves its temporary file; the next write of the same file
removes it once it is stale (:func:`sweep_temporary`).

>>> from chainrule.atomic import write_text
>>> write_text("runs/notes.txt", "hello")          # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["STALE_AFTER_S", "TMP_SUFFIX", "atomic_open", "sweep_temporary", "write_bytes",
           "write_text"]

#: Suffix of the temporary files (a crashed writer's leftovers end with it).
TMP_SUFFIX = ".tmp"
#: A temporary file unchanged for this long has no live writer: a writer that is still at
#: work keeps changing it, and every write chainrule makes takes seconds to minutes.
STALE_AFTER_S = 3600.0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None,
                fsync: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on a clean exit it replaces ``path``.

    ``mode`` is ``"wb"`` or ``"w"`` (text, UTF-8 unless ``encoding`` says otherwise).
    The folder is created if needed.

    >>> with atomic_open("out/arrays.npz") as f:      # doctest: +SKIP
    ...     np.savez(f, x=x)
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', got {mode!r}")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    sweep_temporary(folder, [target.name])
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=folder)
    try:
        if mode == "w":
            f: IO[Any] = os.fdopen(fd, "w", encoding=encoding or "utf-8")
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual ones
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def sweep_temporary(folder: str | os.PathLike, names: Iterable[str],
                    older_than: float = STALE_AFTER_S) -> list[Path]:
    """Remove the temporary files that writers of ``names`` in ``folder`` left behind.

    A writer killed mid-write (SIGKILL, power cut) cannot remove its ``.<name>.<random>.tmp``
    file; the next write of the same file does, once the file is ``older_than`` seconds
    unchanged (0: all of them, for a caller that knows no writer is at work, such as a run
    holding its folder's lock). Returns the files removed.

    >>> sweep_temporary("runs/demo", ["checkpoint.safetensors"], older_than=0)  # doctest: +SKIP
    [PosixPath('runs/demo/.checkpoint.safetensors.k2j3h4.tmp')]
    """
    folder = Path(folder)
    prefixes = [f".{name}." for name in names]
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        name = entry.name
        if not name.endswith(TMP_SUFFIX):
            continue
        randoms = [name[len(p):-len(TMP_SUFFIX)] for p in prefixes if name.startswith(p)]
        if not any(r and "." not in r for r in randoms):  # mkstemp's random part has no dot
            continue
        try:
            if older_than > 0 and now - entry.stat(follow_symlinks=False).st_mtime < older_than:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        removed.append(Path(entry.path))
    return removed


def write_bytes(path: str | os.PathLike, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as f:
        f.write(payload)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "w", encoding=encoding) as f:
        f.write(text)
    return Path(path)
