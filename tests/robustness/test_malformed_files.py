"""Malformed files of every format chainrule reads: one line naming the file, nothing written.

For each data format (IDX raw and gzip, CIFAR-10 batches and their .tar.gz, image folders
and zips, CSV, image files given to predict) and for the checkpoint, Hypothesis breaks one
file of a valid set (truncated anywhere, a wrong magic number, a header whose sizes
overflow, bytes appended, a member that inflates past any sane size, tampered metadata) and
the command that reads it must end with a non-zero status and one line on stderr that
names the file, writing nothing (no run folder, no temporary file) and changing nothing.
"""

from __future__ import annotations

import gzip
import re
import shutil
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.cli import main
from tests.robustness.files import (
    CIFAR_FILES,
    edit_document,
    join_checkpoint,
    make_cifar_folder,
    make_cifar_tarball,
    make_csv,
    make_image_folder,
    make_image_zip,
    make_mnist,
    png_header_claiming,
    refusal,
    snapshot,
    split_checkpoint,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
IDX_TYPES = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E}
#: First bytes that no image format Pillow reads starts with.
NOT_IMAGE_MAGICS = [b"\x00\x00\x00\x00", b"\x01\x02\x03\x04", b"junk", b"%PDF", b"{\"a\"",
                    b"\x7fELF", b"PK\x03\x04"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """Valid copies of every format (and a trained run), made once."""
    root = tmp_path_factory.mktemp("pristine")
    make_mnist(root / "mnist-gz", gz=True)
    make_mnist(root / "mnist-raw", gz=False)
    make_cifar_folder(root / "cifar")
    make_cifar_tarball(root / "cifar-10-python.tar.gz")
    make_image_folder(root / "shapes")
    make_image_zip(root / "shapes.zip", root / "shapes")
    make_csv(root / "table.csv")
    assert main(["train", "--data", str(root / "shapes"), "--hidden", "4", "--epochs", "1",
                 "--quiet", "--out", str(root / "run")]) == 0
    return root


class Workspace:
    """A fresh copy of one pristine item in a temporary folder, for one example."""

    def __init__(self, pristine: Path, name: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="malformed-"))
        self.path = self.tmp / name
        source = pristine / name
        if source.is_dir():
            shutil.copytree(source, self.path)
        else:
            shutil.copy2(source, self.path)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _train_refuses(capsys, ws: Workspace, names: list) -> str:
    """``chainrule train`` on the broken data: refused, one line, nothing written."""
    before = snapshot(ws.tmp)
    err = refusal(capsys, ["train", "--data", str(ws.path), "--hidden", "4", "--epochs", "1",
                           "--quiet", "--out", str(ws.tmp / "run")], "train", names)
    assert snapshot(ws.tmp) == before  # no run folder, no temporary file, input untouched
    for count in re.findall(r"(-?[\d,]+) bytes", err):
        assert not count.startswith("-"), err  # sizes are true: never negative
    return err


# ------------------------------------------------------------------ IDX (MNIST)
def _break_idx(data: bytes, how: str, draw: st.DrawFn) -> bytes:
    if how == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    if how == "magic":
        magic = draw(st.binary(min_size=4, max_size=4).filter(
            lambda m: m[:2] != b"\0\0" or m[2] not in IDX_TYPES or m[3] == 0))
        return magic + data[4:]
    if how == "overflow":  # dimensions whose product overflows 64 bits
        ndim = data[3]
        dims = draw(st.lists(st.integers(2**16, 2**32 - 1), min_size=ndim, max_size=ndim))
        return data[:4] + b"".join(d.to_bytes(4, "big") for d in dims) + data[4 + 4 * ndim:]
    return data + draw(st.binary(min_size=1, max_size=64))  # "append"


@SETTINGS
@given(data=st.data())
def test_broken_idx_files(pristine, capsys, data) -> None:
    folder = data.draw(st.sampled_from(["mnist-gz", "mnist-raw"]))
    stem = data.draw(st.sampled_from(["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]))
    how = data.draw(st.sampled_from(["truncate", "magic", "overflow", "append"]))
    with Workspace(pristine, folder) as ws:
        file = ws.path / (stem + (".gz" if folder == "mnist-gz" else ""))
        raw = file.read_bytes()
        gz = folder == "mnist-gz"
        if gz and how in ("overflow", "append"):  # inside the gzip stream: the IDX itself
            inner = _break_idx(gzip.decompress(raw), how, data.draw)
            broken = gzip.compress(inner)
        else:
            if gz and how == "append":
                broken = raw + data.draw(st.binary(min_size=1, max_size=64).filter(
                    lambda b: b[0] != 0))  # zero bytes are gzip's legal padding
            else:
                broken = _break_idx(raw, how, data.draw)
        file.write_bytes(broken)
        _train_refuses(capsys, ws, [file])


# ------------------------------------------------------------------ CIFAR-10
@SETTINGS
@given(data=st.data())
def test_broken_cifar_batches(pristine, capsys, data) -> None:
    name = data.draw(st.sampled_from(CIFAR_FILES))
    how = data.draw(st.sampled_from(["truncate", "magic", "grow"]))
    with Workspace(pristine, "cifar") as ws:
        file = ws.path / name
        raw = file.read_bytes()
        if how == "truncate":
            broken = raw[:data.draw(st.integers(0, len(raw) - 1))]
        elif how == "magic":
            broken = data.draw(st.binary(min_size=2, max_size=8).filter(
                lambda b: b[0] != 0x80)) + raw[8:]  # 0x80 opens a pickle
        else:  # a file larger than any CIFAR batch: refused before it is read
            broken = raw + b"\0" * (50 * 1024 * 1024 if name != "batches.meta" else 100_000)
        file.write_bytes(broken)
        _train_refuses(capsys, ws, [file])


@SETTINGS
@given(data=st.data())
def test_broken_cifar_archives(pristine, capsys, data) -> None:
    how = data.draw(st.sampled_from(["truncate", "magic", "bomb", "huge-member"]))
    with Workspace(pristine, "cifar-10-python.tar.gz") as ws:
        raw = ws.path.read_bytes()
        if how == "truncate":
            ws.path.write_bytes(raw[:data.draw(st.integers(0, len(raw) - 1))])
        elif how == "magic":
            ws.path.write_bytes(data.draw(st.binary(min_size=4, max_size=4).filter(
                lambda b: b[:2] != b"\x1f\x8b")) + raw[4:])
        elif how == "bomb":  # a batch that inflates past any CIFAR batch
            size = data.draw(st.integers(41, 64)) * 1024 * 1024
            make_cifar_tarball(ws.path, {"data_batch_1": b"\0" * size})
        else:  # a member whose header declares gigabytes: refused on its header alone
            make_cifar_tarball(ws.path, {"readme.html": b"x"})
            plain = bytearray(gzip.decompress(ws.path.read_bytes()))
            declared = data.draw(st.integers(2**31, 8**11 - 1))
            plain[124:136] = f"{declared:011o}\0".encode()
            checksum = sum(plain[:148]) + 8 * 32 + sum(plain[156:512])
            plain[148:156] = f"{checksum:06o}\0 ".encode()
            ws.path.write_bytes(gzip.compress(bytes(plain)))
        _train_refuses(capsys, ws, [ws.path])


# ------------------------------------------------------------------ image folders and zips
@SETTINGS
@given(data=st.data())
def test_broken_images_in_a_folder(pristine, capsys, data) -> None:
    how = data.draw(st.sampled_from(["truncate", "magic", "bomb"]))
    with Workspace(pristine, "shapes") as ws:
        files = sorted(ws.path.rglob("*.png"))
        file = files[data.draw(st.integers(0, len(files) - 1))]
        raw = file.read_bytes()
        if how == "truncate":
            file.write_bytes(raw[:data.draw(st.integers(0, len(raw) // 2))])  # into the pixels
        elif how == "magic":
            file.write_bytes(data.draw(st.sampled_from(NOT_IMAGE_MAGICS)) + raw[8:])
        else:
            side = data.draw(st.integers(10_000, 60_000))
            file.write_bytes(png_header_claiming(side, side))
        _train_refuses(capsys, ws, [file])


@SETTINGS
@given(data=st.data())
def test_broken_zips(pristine, capsys, data) -> None:
    how = data.draw(st.sampled_from(["truncate", "magic", "member-size", "member-data",
                                     "member-crc"]))
    with Workspace(pristine, "shapes.zip") as ws:
        raw = bytearray(ws.path.read_bytes())
        if how == "truncate":
            raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
        elif how == "magic":
            raw[:4] = data.draw(st.binary(min_size=4, max_size=4).filter(
                lambda b: b != b"PK\x03\x04"))
            central = raw.find(b"PK\x01\x02")
            raw[central:central + 4] = b"XXXX"  # and its directory, or the zip still opens
        elif how == "member-size":  # a member whose directory entry says it inflates to GBs
            central = raw.find(b"PK\x01\x02")
            raw[central + 24:central + 28] = struct.pack("<I", data.draw(
                st.integers(2**28 + 1, 2**32 - 1)))
        elif how == "member-crc":  # the directory's checksum of a member no longer fits
            central = raw.find(b"PK\x01\x02")
            raw[central + 16] ^= data.draw(st.integers(1, 255))
        else:  # the first member's compressed bytes replaced: inflate or the CRC fails
            # (flipping a single bit is not enough: the final-block flag or padding bits
            # can change without changing the data, and then the file is still good)
            name_len, extra = struct.unpack("<HH", raw[26:30])
            start = 30 + name_len + extra
            size = struct.unpack("<I", raw[18:22])[0]
            raw[start:start + size] = data.draw(st.binary(min_size=size, max_size=size))
        ws.path.write_bytes(bytes(raw))
        _train_refuses(capsys, ws, [ws.path])


# ------------------------------------------------------------------ CSV
BAD_LINES = st.one_of(
    st.just("1,2"), st.just("1,2,3,4"), st.just("1,,0"), st.just("a,2,0"), st.just("1,2,"),
    st.sampled_from(["nan,1,0", "inf,1,1", "1,-inf,0", "1e999,0,1"]),
    st.text(alphabet="xyz;:!", min_size=1, max_size=8).map(lambda t: f"{t},1,0"),
)


@SETTINGS
@given(line=BAD_LINES, at=st.integers(1, 40))
def test_broken_csv_rows(pristine, capsys, line, at) -> None:
    with Workspace(pristine, "table.csv") as ws:
        rows = ws.path.read_text().splitlines()
        rows[at] = line
        ws.path.write_text("\n".join(rows) + "\n")
        _train_refuses(capsys, ws, [ws.path])


@SETTINGS
@given(raw=st.binary(max_size=64).filter(lambda b: b"label" not in b))
def test_csv_without_header_or_text(pristine, capsys, raw) -> None:
    with Workspace(pristine, "table.csv") as ws:
        ws.path.write_bytes(raw)
        _train_refuses(capsys, ws, [ws.path])


# ------------------------------------------------------------------ image files to predict
@SETTINGS
@given(data=st.data())
def test_predict_reports_each_bad_file_and_predicts_the_rest(pristine, capsys, data) -> None:
    how = data.draw(st.sampled_from(["truncate", "magic", "bomb", "empty", "folder"]))
    with Workspace(pristine, "shapes") as ws:
        good = sorted(ws.path.rglob("*.png"))[:2]
        bad = ws.tmp / "bad.png"
        raw = good[0].read_bytes()
        if how == "truncate":
            bad.write_bytes(raw[:data.draw(st.integers(0, len(raw) // 2))])  # into the pixels
        elif how == "magic":
            bad.write_bytes(data.draw(st.sampled_from(NOT_IMAGE_MAGICS)) + raw[8:])
        elif how == "bomb":
            side = data.draw(st.integers(10_000, 60_000))
            bad.write_bytes(png_header_claiming(side, data.draw(st.integers(10_000, 60_000))))
        elif how == "empty":
            bad.write_bytes(b"")
        else:
            bad.mkdir()
        before = snapshot(ws.tmp)
        rc = main(["predict", str(pristine / "run"), str(good[0]), str(bad), str(good[1])])
        out, err = capsys.readouterr()
        errors = [line for line in err.splitlines() if ": warning: " not in line]
        assert rc == 1
        assert len(errors) == 1 and str(bad) in errors[0]  # one line; the rest may be warned
        assert errors[0].startswith("chainrule predict: error: ")
        assert [line.split(":")[0] for line in out.strip().splitlines()] == \
            [str(good[0]), str(good[1])]  # the others are still predicted
        assert snapshot(ws.tmp) == before


# ------------------------------------------------------------------ checkpoints
def _tamper(doc: dict, field: str, value: object) -> None:
    if field in ("in_features", "hidden", "out_features", "activation", "pieces"):
        if field == "pieces":
            doc["architecture"].update(activation="maxout", activation_kwargs={"pieces": value})
        else:
            doc["architecture"][field] = value
    else:
        doc[field] = value


TAMPERING = st.one_of(
    st.tuples(st.just("in_features"), st.one_of(st.integers(-5, 10**9), st.text(max_size=3))),
    st.tuples(st.just("hidden"), st.one_of(st.lists(st.integers(-5, 10**6), max_size=3),
                                           st.integers(5, 10**6), st.just("512"))),
    st.tuples(st.just("out_features"), st.integers(-5, 10**9).filter(lambda n: n != 2)),
    st.tuples(st.just("pieces"), st.integers(-3, 10**6)),
    st.tuples(st.just("activation"), st.sampled_from(["__import__", "", None, 3])),
    st.tuples(st.just("class_names"), st.one_of(
        st.lists(st.text(max_size=3), max_size=4).filter(lambda n: len(n) != 2),
        st.lists(st.integers(), min_size=2, max_size=2), st.just("blue,red"), st.just([]))),
    st.tuples(st.just("image_shape"), st.one_of(
        st.lists(st.integers(-3, 10**6), max_size=4).filter(lambda s: s != [8, 8, 3]),
        st.just([8, 8, 2]), st.just("8x8x3"), st.just([8.0, 8, 3]))),
    st.tuples(st.just("weights"), st.sampled_from([None, "0.weight", [1, 2], ["nope"]])),
    st.tuples(st.just("architecture"), st.sampled_from(["MLP", [], 5, {"type": "CNN"}])),
    st.tuples(st.just("epoch"), st.sampled_from([-1, "3", 2.5, [1]])),
)


@SETTINGS
@given(tampering=TAMPERING, command=st.sampled_from(["evaluate", "predict"]))
def test_tampered_checkpoints(pristine, capsys, tampering, command) -> None:
    field, value = tampering
    with Workspace(pristine, "run") as ws:
        ckpt = ws.path / "checkpoint.safetensors"
        ckpt.write_bytes(edit_document(ckpt.read_bytes(), lambda d: _tamper(d, field, value)))
        png = sorted((pristine / "shapes").rglob("*.png"))[0]
        before = snapshot(ws.tmp)
        argv = ["evaluate", str(ws.path)] if command == "evaluate" else \
            ["predict", str(ws.path), str(png)]
        refusal(capsys, argv, command, [ckpt])
        assert snapshot(ws.tmp) == before


@SETTINGS
@given(data=st.data())
def test_broken_checkpoint_bytes(pristine, capsys, data) -> None:
    how = data.draw(st.sampled_from(["truncate", "header-length", "offsets", "nan", "json"]))
    with Workspace(pristine, "run") as ws:
        ckpt = ws.path / "checkpoint.safetensors"
        raw = ckpt.read_bytes()
        if how == "truncate":
            broken = raw[:data.draw(st.integers(0, len(raw) - 1))]
        elif how == "header-length":
            (n,) = struct.unpack("<Q", raw[:8])
            broken = struct.pack("<Q", data.draw(st.integers(0, 2**64 - 1).filter(
                lambda m: m != n))) + raw[8:]
        elif how == "offsets":  # a tensor entry whose shape or offsets lie
            header, body = split_checkpoint(raw)
            name = data.draw(st.sampled_from(sorted(k for k in header if k.startswith("model."))))
            entry = header[name]
            if data.draw(st.booleans()):
                entry["shape"] = data.draw(st.lists(st.integers(0, 2**40), min_size=1,
                                                    max_size=4).filter(
                    lambda s: s != entry["shape"]))
            else:
                entry["data_offsets"] = [entry["data_offsets"][0], data.draw(
                    st.integers(entry["data_offsets"][1] + 1, 2**62))]
            broken = join_checkpoint(header, body)
        elif how == "nan":  # a diverged run: every weight NaN
            import numpy as np

            header, body = split_checkpoint(raw)
            body = bytearray(body)
            start, end = header["model.0.weight"]["data_offsets"]
            body[start:end] = np.full((end - start) // 4, np.nan, np.float32).tobytes()
            broken = join_checkpoint(header, bytes(body))
        else:  # the metadata's JSON cut short or nested without end
            header, body = split_checkpoint(raw)
            doc = header["__metadata__"]["chainrule"]
            header["__metadata__"]["chainrule"] = data.draw(st.sampled_from([
                doc[: len(doc) // 2], "[" * 100_000, "{}", "null", '"x"']))
            broken = join_checkpoint(header, body)
        ckpt.write_bytes(broken)
        before = snapshot(ws.tmp)
        refusal(capsys, ["evaluate", str(ws.path)], "evaluate", [ckpt])
        assert snapshot(ws.tmp) == before
