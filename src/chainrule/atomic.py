"""Atomic file writes: readers see the old file or the new one, never half of one.

Every file chainrule writes (checkpoints, reports, feature arrays, downloads, caches)
goes through :func:`atomic_open`: the content is written to a temporary file in the
target's folder (``.<name>.<random>.tmp``), flushed to disk, given the permissions a
plain ``open`` would give, and renamed over the target with :func:`os.replace`. If
anything fails on the way, the temporary file is removed and the old file is untouched.

>>> from chainrule.atomic import write_text
>>> write_text("runs/notes.txt", "hello")          # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["TMP_SUFFIX", "atomic_open", "write_bytes", "write_text"]

#: Suffix of the temporary files (a crashed writer's leftovers end with it).
TMP_SUFFIX = ".tmp"


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
