"""Where a run's data is: stored as absolute paths, found again when the run resumes.

A run stores its configuration in its checkpoint; ``chainrule train --resume`` loads the
same data again. A relative path (``--data ./shapes``, ``--data-dir data``) means nothing
from another working directory, so a new run stores them absolute
(:func:`absolute_locations`). A resumed run may be pointed at its data
(:func:`resumed_locations`): ``--data-dir`` (or ``CHAINRULE_DATA``) where a named data set
now lives, or ``--data PATH`` where a data set from a path moved; :func:`check_same_data`
then makes sure the data found is the one the run was trained on (its classes and its
image shape), so a resumed run never silently trains on other data.

>>> absolute_locations(TrainConfig(data="shapes")).data           # doctest: +SKIP
'/home/me/project/shapes'
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from chainrule.errors import ConfigError, DataError
from chainrule.train.config import TrainConfig

__all__ = ["absolute_locations", "check_same_data", "resumed_locations"]


def _is_named(data: str) -> bool:
    from chainrule.data import DATASETS

    return data in DATASETS


def absolute_locations(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with its data path and data folder absolute (named data sets stay names)."""
    changes: dict[str, Any] = {}
    if not _is_named(cfg.data):
        changes["data"] = os.path.abspath(Path(cfg.data).expanduser())
    if cfg.data_dir is not None:
        changes["data_dir"] = os.path.abspath(Path(cfg.data_dir).expanduser())
    return dataclasses.replace(cfg, **changes) if changes else cfg


def resumed_locations(cfg: TrainConfig, data: str | None = None,
                      data_dir: str | None = None) -> TrainConfig:
    """The stored ``cfg`` with its data found again, where the user points, or where it was.

    ``data``: a new path for a data set that was loaded from a path (a named data set keeps
    its name). ``data_dir``: where named data sets are looked for now; without it, the
    stored data folder, then ``$CHAINRULE_DATA`` (or ``~/.chainrule/data``). A path data
    set is looked for at its stored path, then in the data folder under its own name.
    """
    from chainrule.data import default_data_dir, locate

    if data is not None:
        if _is_named(cfg.data) or _is_named(data):
            if data != cfg.data:
                raise ConfigError(f"--data {data}: a resumed run keeps its data set "
                                  f"({cfg.data}); --data may only point it at a new place")
        else:
            cfg = dataclasses.replace(cfg, data=data)
    if data_dir is not None:
        cfg = dataclasses.replace(cfg, data_dir=data_dir)
    if _is_named(cfg.data):
        if cfg.data != "digits" and data_dir is None and cfg.data_dir is not None \
                and locate(cfg.data, cfg.data_dir) is None and locate(cfg.data) is not None:
            cfg = dataclasses.replace(cfg, data_dir=None)  # moved: $CHAINRULE_DATA has it
        return absolute_locations(cfg)
    stored = Path(cfg.data).expanduser()
    if not stored.exists():
        roots = [Path(cfg.data_dir).expanduser()] if cfg.data_dir else []
        roots.append(default_data_dir())
        for root in roots:
            if (root / stored.name).exists():
                return absolute_locations(dataclasses.replace(cfg, data=str(root / stored.name)))
        raise DataError(
            f"{cfg.data}: the run's data is not there any more (also looked for "
            f"{stored.name} in {', '.join(str(r) for r in roots)}); point the resumed run "
            f"at it with --data PATH or --data-dir DIR"
        )
    return absolute_locations(cfg)


def check_same_data(where: str, classes: list[str], image_shape: tuple | None,
                    stored_classes: list[str] | None,
                    stored_shape: tuple | None) -> None:
    """Refuse data whose classes or image shape differ from the ones the run was trained on."""
    if stored_classes is not None and list(classes) != list(stored_classes):
        raise DataError(f"{where}: the data set has classes {_short(classes)}, but the run was "
                        f"trained on {_short(stored_classes)}; resume it on the same data")
    if stored_shape is not None and image_shape is not None and \
            tuple(image_shape) != tuple(stored_shape):
        raise DataError(f"{where}: the images are {tuple(image_shape)}, but the run was trained "
                        f"on {tuple(stored_shape)}; resume it on the same data")


def _short(names: list[str]) -> str:
    names = [str(n) for n in names]
    return ", ".join(names) if len(names) <= 6 else ", ".join([*names[:3], "...", *names[-2:]])
