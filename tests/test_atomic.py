"""chainrule.atomic: whole files or none, with the permissions a plain open() gives."""

from __future__ import annotations

import os
import stat

import pytest

from chainrule.atomic import atomic_open, write_bytes, write_text


def test_writes_replace_whole_files_with_plain_permissions(tmp_path) -> None:
    target = tmp_path / "new" / "a.txt"
    assert write_text(target, "one") == target
    write_text(target, "two")
    assert target.read_text() == "two"
    (tmp_path / "plain.txt").write_text("x")
    mode = stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "new", "plain.txt"]


def test_a_failure_keeps_the_old_file_and_no_temporary(tmp_path) -> None:
    target = tmp_path / "a.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError, match="half way"), atomic_open(target, "w") as f:
        f.write("new, but ")
        raise RuntimeError("killed half way")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_only_write_modes() -> None:
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"), atomic_open("x", "a"):
        pass
