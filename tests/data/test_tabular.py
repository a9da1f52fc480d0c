"""CSV of features with a label column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_numeric_labels_and_stratified_split(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 0.5},{i % 2}" for i in range(20))
    ds = load_csv(write(tmp_path / "toy.csv", f"x1,x2,label\n{rows}\n"), test_fraction=0.2)
    assert ds.name == "toy" and ds.feature_names == ["x1", "x2"] and ds.classes == ["0", "1"]
    assert ds.train_features.shape == (16, 2) and ds.train_features.dtype == np.float32
    assert np.bincount(ds.test_labels).tolist() == [2, 2]
    # each row's label is its x1 parity: the pairing of features and labels survived the split
    np.testing.assert_array_equal(ds.train_features[:, 0] % 2, ds.train_labels)
    np.testing.assert_allclose(ds.test_features[:, 1], ds.test_features[:, 0] * 0.5)
    assert "16 train + 4 test rows of 2 features" in ds.describe()


def test_string_labels_other_column_split_column_and_semicolons(tmp_path: Path) -> None:
    text = "species;a;b;split\nsetosa;1;2;train\nvirginica;3;4;train\nsetosa;5;6;test\n"
    ds = load_csv(write(tmp_path / "iris.csv", text), label_column="species")
    assert ds.classes == ["setosa", "virginica"] and ds.feature_names == ["a", "b"]
    assert ds.train_labels.tolist() == [0, 1] and ds.test_labels.tolist() == [0]
    np.testing.assert_array_equal(ds.test_features, [[5, 6]])
    sparse = load_csv(write(tmp_path / "s.csv", "v,label\n1,3\n2,7\n3,12\n4,3\n"),
                      test_fraction=0.0)
    assert sparse.classes == ["3", "7", "12"] and sparse.train_labels.tolist() == [0, 1, 2, 0]


def test_errors_name_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(cr.DataError, match=r"no label column 'label'; the columns are \['a'"):
        load_csv(write(tmp_path / "a.csv", "a,y\n1,0\n"))
    with pytest.raises(cr.DataError, match=r"b.csv, line 3, column 'a': expected a number"):
        load_csv(write(tmp_path / "b.csv", "a,label\n1,0\nx,1\n"))
    with pytest.raises(cr.DataError, match=r"c.csv, line 2: 3 fields, the header has 2"):
        load_csv(write(tmp_path / "c.csv", "a,label\n1,0,5\n"))
    with pytest.raises(cr.DataError, match="empty CSV file"):
        load_csv(write(tmp_path / "d.csv", ""))
    with pytest.raises(cr.DataError, match="no data rows"):
        load_csv(write(tmp_path / "e.csv", "a,label\n"))
    with pytest.raises(cr.DataError, match="CSV file not found"):
        load_csv(tmp_path / "none.csv")
    with pytest.raises(cr.DataError, match="non-finite value in column 'a'"):
        load_csv(write(tmp_path / "f.csv", "a,label\n1,0\nnan,1\n"))


def test_load_detects_csv_and_label_column(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "f,target\n" + "".join(f"{i},{i % 3}\n" for i in range(9)))
    ds = cr.data.load(str(path), label_column="target", test_fraction=1 / 3)
    assert isinstance(ds, cr.data.TabularDataset) and ds.num_classes == 3
    assert np.bincount(ds.test_labels).tolist() == [1, 1, 1]
