"""Valid files of every format chainrule reads, to break in tests, and what a refusal must be.

Each ``make_*`` writes a small valid data set (or checkpoint) that ``chainrule train`` (or
``evaluate``/``predict``) accepts; the tests then truncate, re-magic or inflate one of its
files. :func:`snapshot` records a folder tree so a test can assert that a refused command
wrote and changed nothing; :func:`refusal` runs a command in-process and checks its error.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from chainrule.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]


# ------------------------------------------------------------------ valid files
def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                       for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def make_mnist(folder: Path, gz: bool = True) -> dict[str, Path]:
    """An MNIST folder of four IDX files (20 train, 10 test images of 28x28)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(20) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(10) % 10).astype(np.uint8),
    }
    files = {}
    for stem, array in arrays.items():
        data = idx_bytes(array)
        path = folder / (stem + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(data) if gz else data)
        files[stem] = path
    return files


def cifar_batch(seed: int, n: int = 4) -> bytes:
    rng = np.random.default_rng(seed)
    return pickle.dumps({b"batch_label": b"x",
                         b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"labels": [int(v) for v in np.arange(n) % 10],
                         b"filenames": [b"f.png"] * n}, protocol=2)


CIFAR_FILES = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"]


def make_cifar_folder(folder: Path) -> dict[str, Path]:
    """CIFAR-10's python batches folder (4 images per batch)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, name in enumerate(CIFAR_FILES):
        data = pickle.dumps({b"label_names": [c.encode() for c in CIFAR_CLASSES]}, protocol=2) \
            if name == "batches.meta" else cifar_batch(i)
        (folder / name).write_bytes(data)
        files[name] = folder / name
    return files


def make_cifar_tarball(path: Path, members: dict[str, bytes] | None = None) -> Path:
    """``cifar-10-python.tar.gz`` with the batches (or ``members``, name -> bytes)."""
    if members is None:
        members = {name: (pickle.dumps({b"label_names": [c.encode() for c in CIFAR_CLASSES]},
                                       protocol=2) if name == "batches.meta" else cifar_batch(i))
                   for i, name in enumerate(CIFAR_FILES)}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def make_image_folder(root: Path, per_class: int = 6) -> list[Path]:
    """Two classes of 8x8 RGB PNGs (red and blue), train/ and test/."""
    rng = np.random.default_rng(0)
    files = []
    for split, n in (("train", per_class), ("test", 2)):
        for name, rgb in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                noise = rng.integers(-30, 30, size=(8, 8, 3))
                img = np.clip(np.array(rgb) + noise, 0, 255).astype(np.uint8)
                (folder / f"{i}.png").write_bytes(png_bytes(img))
                files.append(folder / f"{i}.png")
    return files


def make_image_zip(path: Path, root: Path) -> Path:
    """A zip of the image folder ``root`` (deflated)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(root.rglob("*.png")):
            zf.write(file, file.relative_to(root.parent).as_posix())
    return path


def make_csv(path: Path) -> Path:
    """A CSV of two features and a label, 40 rows of two classes."""
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(40)]
    path.write_text("\n".join(rows) + "\n")
    return path


def png_header_claiming(width: int, height: int) -> bytes:
    """The start of a PNG whose header declares ``width x height`` pixels (a bomb's header)."""
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    crc = struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    idat = zlib.compress(b"\x00" * 1024)
    idat_chunk = b"IDAT" + idat
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + crc
            + struct.pack(">I", len(idat)) + idat_chunk
            + struct.pack(">I", zlib.crc32(idat_chunk) & 0xFFFFFFFF))


# ------------------------------------------------------------------ checkpoints
def split_checkpoint(raw: bytes) -> tuple[dict, bytes]:
    """A safetensors file's JSON header and its data section."""
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def join_checkpoint(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def edit_document(raw: bytes, edit) -> bytes:
    """The checkpoint with ``edit(doc)`` applied to its 'chainrule' metadata document."""
    header, data = split_checkpoint(raw)
    doc = json.loads(header["__metadata__"]["chainrule"])
    edit(doc)
    header["__metadata__"]["chainrule"] = json.dumps(doc)
    return join_checkpoint(header, data)


# ------------------------------------------------------------------ what a refusal is
def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root``: size and content hash (folders as ``-1``)."""
    out: dict[str, tuple[int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root) + "/"] = (-1, "")
        for f in filenames:
            p = os.path.join(dirpath, f)
            data = Path(p).read_bytes()
            out[os.path.relpath(p, root)] = (len(data), hashlib.sha256(data).hexdigest())
    return out


def refusal(capsys, argv: list[str], command: str, names: list[str]) -> str:
    """Run ``chainrule ARGV`` in-process; it must fail with one line naming one of ``names``."""
    try:
        rc = main(argv)
    except SystemExit as e:  # a command line that does not parse: argparse's status 2
        rc = e.code
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert rc != 0, (argv, captured.out)
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"chainrule {command}: error: "), err
    assert any(str(n) in err for n in names), (err, names)
    return err


def run_command(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real ``chainrule`` command in a subprocess (caches off, the worktree's source)."""
    env = {**os.environ, "PYTHONPATH": SRC, "CHAINRULE_CACHE": "off",
           "CHAINRULE_DATA": str(cwd / "no-data-here")}
    return subprocess.run([sys.executable, "-m", "chainrule", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_refusal(result: subprocess.CompletedProcess, command: str,
                            names: list[str]) -> str:
    err = result.stderr.strip()
    assert result.returncode != 0, result.stdout
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"chainrule {command}: error: "), err
    assert any(str(n) in err for n in names), (err, names)
    return err
