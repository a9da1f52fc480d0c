"""Which registered data sets are present, where each was looked for and found, its size.

:func:`describe_datasets` gives one :class:`DatasetStatus` per entry of
:data:`~chainrule.data.DATASETS` (what ``chainrule datasets`` lists). The places come from
:func:`~chainrule.data.candidate_locations`, the data set from
:func:`~chainrule.data.locate`, and the size on disk counts the files the loaders read
(their own file names: :data:`~chainrule.data.idx.IDX_FILES`,
:data:`~chainrule.data.cifar.BATCH_FILES`) and the archives beside them.

>>> [s.name for s in describe_datasets("/nowhere")]
['digits', 'mnist', 'fashion-mnist', 'cifar10']
>>> describe_datasets("/nowhere")[1].presence
'no: chainrule download mnist'
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from chainrule.data.cifar import BATCH_FILES
from chainrule.data.datasets import DATASETS
from chainrule.data.idx import IDX_FILES
from chainrule.data.locations import candidate_locations, locate

__all__ = ["DatasetStatus", "describe_datasets", "format_size", "size_on_disk"]

#: Names of the files a loader reads from a data set's folder (IDX files may be gzipped).
_DATA_FILES = frozenset({*IDX_FILES.values(), *BATCH_FILES})
#: Archives counted with them (the downloaded tarball, a JPEG zip).
_ARCHIVES = (".tar.gz", ".zip")


def size_on_disk(path: str | Path) -> int:
    """Bytes a data set found at ``path`` takes: the file itself, or in a folder its data
    files (official names, ``.gz`` or not) and archives; other files are not counted."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    total = 0
    for f in path.iterdir():
        if f.is_file() and (f.name in _DATA_FILES or f.name.removesuffix(".gz") in _DATA_FILES
                            or f.name.endswith(_ARCHIVES)):
            total += f.stat().st_size
    return total


def format_size(n: int) -> str:
    """A number of bytes for people: ``512 B``, ``1.5 KB``, ``52.4 MB`` (units of 1024).

    >>> format_size(512), format_size(1536), format_size(170_498_071)
    ('512 B', '1.5 KB', '162.6 MB')
    """
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@dataclass(frozen=True)
class DatasetStatus:
    """Whether one registered data set is present, and where it was looked for.

    ``places``: where it is looked for, in order (none for an embedded one); ``path``:
    where it was found (``None`` when absent or embedded); ``size``: its bytes on disk
    (0 when not found); ``embedded``: it comes with a package (digits: scikit-learn) and
    ``present`` says whether that package is installed.
    """

    name: str
    summary: str
    present: bool
    places: tuple[Path, ...] = ()
    path: Path | None = None
    size: int = 0
    embedded: bool = False

    @property
    def looked_in(self) -> str:
        """Where it was found, or else every place looked in, one per line."""
        if self.embedded:
            return "scikit-learn (sklearn.datasets)"
        if self.path is not None:
            return str(self.path)
        return "\n".join(str(p) for p in self.places)

    @property
    def presence(self) -> str:
        """``yes: PATH (SIZE)`` (``yes (JPEG): ...`` for the JPEG zip), or how to get it."""
        if self.embedded:
            return "yes (embedded)" if self.present else "no: pip install 'chainrule[data]'"
        if self.path is None:
            return f"no: chainrule download {self.name}"
        kind = " (JPEG)" if self.path.suffix == ".zip" else ""
        return f"yes{kind}: {self.path} ({format_size(self.size)})"


def describe_datasets(data_dir: str | Path | None = None) -> list[DatasetStatus]:
    """One :class:`DatasetStatus` per registered data set, in registry order.

    ``data_dir`` is the data folder to look in (default:
    :func:`~chainrule.data.default_data_dir`).
    """
    statuses = []
    for name, info in DATASETS.items():
        if name == "digits":
            installed = importlib.util.find_spec("sklearn") is not None  # importing is slow
            statuses.append(DatasetStatus(name, info.summary, installed, embedded=True))
            continue
        found = locate(name, data_dir)
        places = tuple(candidate_locations(name, data_dir))
        size = size_on_disk(found) if found is not None else 0
        statuses.append(DatasetStatus(name, info.summary, found is not None, places, found,
                                      size))
    return statuses
