"""Where the registered data sets live on disk: the data folder and the places to look in it.

:func:`default_data_dir` is ``$CHAINRULE_DATA`` or ``~/.chainrule/data``;
:func:`candidate_locations` lists, in order, where a registered data set may be (the
folder :func:`chainrule.data.download` fills, and the layouts other tools leave);
:func:`locate` returns the first of them that holds the data, recognised by the
loaders' own format checks.

>>> candidate_locations("mnist", "/data")
[PosixPath('/data/mnist'), PosixPath('/data')]
"""

from __future__ import annotations

import os
from pathlib import Path

from chainrule.data.cifar import is_cifar_source
from chainrule.data.datasets import DATASETS
from chainrule.data.idx import find_idx_files
from chainrule.errors import DataError

__all__ = ["candidate_locations", "default_data_dir", "locate"]

#: Where the Debian package ``dataset-fashion-mnist`` installs its files.
_DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def default_data_dir() -> Path:
    """``$CHAINRULE_DATA`` when set, else ``~/.chainrule/data``."""
    env = os.environ.get("CHAINRULE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".chainrule" / "data"


def _data_dir(data_dir: str | Path | None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def candidate_locations(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Where :func:`chainrule.data.load` looks for the registered data set ``name``, in order."""
    root = _data_dir(data_dir)
    if name in ("mnist", "fashion-mnist"):
        places = [root / name]
        if name == "fashion-mnist":
            places += [root / "fashion_mnist", _DEBIAN_FASHION_MNIST]
        return [*places, root]
    if name == "cifar10":
        official = [
            root / "cifar10" / "cifar-10-batches-py",
            root / "cifar10" / "cifar-10-python.tar.gz",
            root / "cifar10",
            root / "cifar-10-batches-py",
            root / "cifar-10-python.tar.gz",
        ]
        jpeg = [
            root / "cifar10" / "cifar10-jpeg.zip",
            root / "cifar10-jpeg" / "cifar10-jpeg.zip",
            root / "cifar10-jpeg.zip",
        ]
        return official + jpeg
    if name == "digits":
        return []
    raise DataError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


def locate(name: str, data_dir: str | Path | None = None) -> Path | None:
    """The first place where the registered data set ``name`` is present, or ``None``.

    For ``digits`` (embedded in scikit-learn) this is ``None``: nothing to locate.
    """
    for place in candidate_locations(name, data_dir):
        if name == "cifar10":
            if place.suffix == ".zip" and place.is_file():
                return place
            if is_cifar_source(place):
                return place
        elif find_idx_files(place) is not None:
            return place
    return None
