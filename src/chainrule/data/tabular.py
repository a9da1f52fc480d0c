"""A CSV file of numeric features with a label column, as a :class:`TabularDataset`.

The first row names the columns. One column (``label`` by default) holds the class of
each row: integers ``0..K-1`` are used as they are; other integers become classes in
numeric order, and any other values (``"setosa"``, ``"cat"``) classes in sorted order.
Every other column must be numeric. An optional ``split`` column with values ``train`` /
``test`` fixes the split; otherwise a seeded stratified test split is drawn.

>>> ds = load_csv("iris.csv", label_column="species")        # doctest: +SKIP
>>> ds.classes, ds.num_features                             # doctest: +SKIP
(['setosa', 'versicolor', 'virginica'], 4)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from chainrule.data.datasets import DEFAULT_TEST_FRACTION, TabularDataset
from chainrule.data.split import stratified_split_indices
from chainrule.errors import DataError

__all__ = ["load_csv"]


def _class_names(values: list[str]) -> tuple[list[str], np.ndarray]:
    """Class names and integer labels for the label column's strings."""
    try:
        ints = [int(v) for v in values]
    except ValueError:
        ints = None
    if ints is not None and ints and min(ints) >= 0:
        k = max(ints) + 1
        if len(set(ints)) == k:  # 0..K-1 all present: the labels are the indices already
            return [str(i) for i in range(k)], np.array(ints, dtype=np.int64)
        names = sorted(set(ints))
        index = {v: i for i, v in enumerate(names)}
        return [str(v) for v in names], np.array([index[v] for v in ints], dtype=np.int64)
    names = sorted(set(values))
    index = {v: i for i, v in enumerate(names)}
    return names, np.array([index[v] for v in values], dtype=np.int64)


def load_csv(
    path: str | Path,
    label_column: str = "label",
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = 0,
    name: str | None = None,
) -> TabularDataset:
    """Read a CSV of numeric features plus ``label_column`` into a :class:`TabularDataset`.

    The delimiter (comma, semicolon, tab) is detected from the header line. Empty or
    non-numeric feature cells raise :class:`chainrule.DataError` naming the file, line
    and column.
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: CSV file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a UTF-8 text file ({e})") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DataError(f"{path}: empty CSV file (expected a header line naming the columns)")
    header_line = lines[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    if label_column not in header:
        raise DataError(
            f"{path}: no label column {label_column!r}; the columns are {header} "
            f"(choose one with label_column= / --label-column)"
        )
    label_at = header.index(label_column)
    split_at = header.index("split") if "split" in header and label_column != "split" else None
    feature_at = [i for i in range(len(header)) if i not in (label_at, split_at)]
    if not feature_at:
        raise DataError(f"{path}: no feature columns besides {label_column!r}")

    features = np.empty((len(rows) - 1, len(feature_at)), dtype=np.float32)
    labels, splits = [], []
    n = 0
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataError(
                f"{path}, line {line_no}: {len(row)} fields, the header has {len(header)}"
            )
        for j, col in enumerate(feature_at):
            cell = row[col].strip()
            try:
                features[n, j] = float(cell)
            except ValueError:
                raise DataError(
                    f"{path}, line {line_no}, column {header[col]!r}: expected a number, "
                    f"found {cell!r}"
                ) from None
        label = row[label_at].strip()
        if not label:
            raise DataError(f"{path}, line {line_no}: empty label in column {label_column!r}")
        labels.append(label)
        if split_at is not None:
            splits.append(row[split_at].strip().lower())
        n += 1
    if n == 0:
        raise DataError(f"{path}: no data rows after the header")
    features = features[:n]
    if not np.all(np.isfinite(features)):
        bad_row, bad_col = np.argwhere(~np.isfinite(features))[0]
        raise DataError(
            f"{path}: non-finite value in column {header[feature_at[bad_col]]!r} of data row "
            f"{bad_row + 1}"
        )
    classes, y = _class_names(labels)

    if split_at is not None:
        split = np.array(splits)
        unknown = sorted(set(splits) - {"train", "test"})
        if unknown:
            raise DataError(f"{path}: column 'split' must hold train or test, found {unknown}")
        train, test = np.flatnonzero(split == "train"), np.flatnonzero(split == "test")
    else:
        train, test = stratified_split_indices(y, test_fraction, seed=seed)
    return TabularDataset(
        name=name or path.stem,
        train_features=features[train],
        train_labels=y[train],
        test_features=features[test],
        test_labels=y[test],
        classes=classes,
        feature_names=[header[i] for i in feature_at],
        source=str(path),
    )
