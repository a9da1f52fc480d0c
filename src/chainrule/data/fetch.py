"""Fetch MNIST, Fashion-MNIST or CIFAR-10 from their official URLs, md5-verified.

Each file is streamed to a temporary file beside its destination while its md5 is
computed; only when the md5 equals the official one is it renamed into place
(:func:`chainrule.atomic.atomic_open`), so a half-downloaded or corrupt file never sits
under the real name. Files already present with the right md5 are skipped. Mirrors are
tried in order.

The base URL can be overridden (``mirror=`` or the environment variable
``CHAINRULE_DATA_MIRROR``): the file names are appended to it, e.g. for a local copy
served with ``python -m http.server``.

>>> download("mnist")                          # doctest: +SKIP
PosixPath('/home/me/.chainrule/data/mnist')
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from chainrule.atomic import atomic_open
from chainrule.data.datasets import DATASETS
from chainrule.data.locations import default_data_dir
from chainrule.errors import DataError

__all__ = ["MIRROR_ENV", "download", "md5sum"]

#: Environment variable that overrides the download base URL of every data set.
MIRROR_ENV = "CHAINRULE_DATA_MIRROR"
_CHUNK = 1 << 16
_USER_AGENT = "chainrule-download (python urllib)"


def md5sum(path: str | Path) -> str:
    """The hex md5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Progress:
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool | None) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._bar: Any = None
        if enabled:
            try:
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                    TransferSpeedColumn,
                )
            except ImportError:
                return
            from rich.console import Console

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TransferSpeedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def task(self, name: str, total: int | None) -> Callable[[int], None]:
        if self._bar is None:
            return lambda n: None
        task_id = self._bar.add_task(name, total=total)
        return lambda n: self._bar.advance(task_id, n)


def _fetch(url: str, dest: Path, expected_md5: str, progress: _Progress, timeout: float) -> None:
    """Stream ``url`` into a temporary file, check its md5, then move it to ``dest``.

    The temporary file is :func:`chainrule.atomic.atomic_open`'s: the md5 error raised
    inside it removes it, so a bad download leaves nothing behind.
    """
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(request, timeout=timeout) as r, atomic_open(dest, "wb") as out:
        length = r.headers.get("Content-Length")
        advance = progress.task(dest.name, int(length) if length else None)
        _copy(r, out, digest, advance)
        got = digest.hexdigest()
        if got != expected_md5:
            raise DataError(
                f"{url}: md5 mismatch: got {got}, expected {expected_md5} "
                f"(corrupt or different file; it was removed)"
            )


def _copy(src: IO[bytes], out: IO[bytes], digest: Any, advance: Callable[[int], None]) -> None:
    while chunk := src.read(_CHUNK):
        out.write(chunk)
        digest.update(chunk)
        advance(len(chunk))


def download(
    name: str,
    root: str | Path | None = None,
    *,
    mirror: str | None = None,
    md5s: Mapping[str, str] | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Download the data set ``name`` (``mnist``, ``fashion-mnist``, ``cifar10``) into ``root``.

    ``root`` defaults to ``default_data_dir() / name``, where :func:`chainrule.data.load`
    finds it. ``mirror`` (or ``$CHAINRULE_DATA_MIRROR``) replaces the official base URLs;
    ``md5s`` (file name -> md5) replaces the official list of files and their sums (for
    tests and private copies).
    ``progress``: a rich progress bar on stderr (default: when stderr is a terminal).
    ``log`` receives one line per file (e.g. ``print``). Returns the folder.

    Raises :class:`chainrule.DataError` when every mirror fails for a file, naming each
    URL and its error (an md5 mismatch, an HTTP status, a network error).
    """
    if name == "digits":
        raise DataError("digits is embedded in scikit-learn: nothing to download")
    if name not in DATASETS or not DATASETS[name].files:
        downloadable = [n for n, info in DATASETS.items() if info.files]
        raise DataError(f"unknown dataset {name!r}: can download {', '.join(downloadable)}")
    info = DATASETS[name]
    folder = Path(root).expanduser() if root is not None else default_data_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    bases = (mirror,) if mirror else info.mirrors
    sums = dict(md5s) if md5s is not None else dict(info.files)
    say = log or (lambda line: None)

    with _Progress(progress) as bar:
        for filename in sums:
            dest = folder / filename
            expected = sums[filename].lower()
            if dest.is_file():
                if md5sum(dest) == expected:
                    say(f"{dest}: present, md5 ok")
                    continue
                say(f"{dest}: md5 differs from {expected}; downloading it again")
            errors = []
            for base in bases:
                url = base.rstrip("/") + "/" + filename
                try:
                    _fetch(url, dest, expected, bar, timeout)
                except DataError as e:
                    errors.append(str(e))
                    continue
                except urllib.error.HTTPError as e:
                    errors.append(f"{url}: HTTP {e.code} {e.reason}")
                    continue
                except (urllib.error.URLError, OSError, ValueError) as e:
                    reason = getattr(e, "reason", e)
                    errors.append(f"{url}: {reason}")
                    continue
                say(f"{dest}: downloaded from {url}, md5 ok")
                break
            else:
                raise DataError(
                    f"{info.title}: could not download {filename}: {'; '.join(errors)}"
                )
    return folder
