"""Untrusted input costs what it is, not what it claims: refused fast, in little memory."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import tarfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_cifar10, read_idx
from chainrule.errors import DataError
from chainrule.train import CheckpointError, load_checkpoint, save_checkpoint
from tests.robustness.files import SRC, edit_document, idx_bytes

MB = 1024 * 1024


def _within(limit_s: float, limit_mb: float, fn, *args):
    """Run ``fn``; it must raise within ``limit_s`` seconds and ``limit_mb`` of allocations."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises((CheckpointError, DataError)) as info:
            fn(*args)
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
    assert seconds < limit_s and peak < limit_mb, (seconds, peak, str(info.value))
    return info.value


@pytest.fixture
def small_run(tmp_path) -> Path:
    model = cr.nn.MLP(64, [16], 10)
    save_checkpoint(tmp_path / "run", model, class_names=[str(i) for i in range(10)],
                    image_shape=(8, 8, 1), config={"features": "pixels"})
    return tmp_path / "run" / "checkpoint.safetensors"


@pytest.mark.parametrize("architecture", [
    {"in_features": 64, "hidden": [25_000], "out_features": 10},        # the 9.8 GB
    {"in_features": 64, "hidden": [16, 10**7], "out_features": 10},
    {"in_features": 10**9, "hidden": [16], "out_features": 10},
    {"in_features": 64, "hidden": [16], "out_features": 10, "activation": "prelu",
     "activation_kwargs": {"num_parameters": 10**10}},
    {"in_features": 64, "hidden": [16], "out_features": 10, "activation": "maxout",
     "activation_kwargs": {"pieces": 10**8}},
])
def test_an_oversized_architecture_is_refused_within_1_s_and_200_mb(small_run,
                                                                      architecture) -> None:
    small_run.write_bytes(edit_document(small_run.read_bytes(),
                                        lambda d: d["architecture"].update(architecture)))
    error = _within(1.0, 200, load_checkpoint, small_run)
    assert str(small_run) in str(error)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_the_real_command_stays_small_too(small_run, tmp_path) -> None:
    small_run.write_bytes(edit_document(small_run.read_bytes(), lambda d: d["architecture"]
                                        .update(hidden=[25_000])))
    from PIL import Image

    Image.new("L", (8, 8)).save(tmp_path / "x.png")
    # The peak resident memory of this process image (VmHWM; ru_maxrss would also count the
    # test process it was forked from).
    code = ("import sys\nfrom chainrule.cli import main\n"
            f"rc = main(['predict', {str(small_run)!r}, {str(tmp_path / 'x.png')!r}])\n"
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
            "sys.exit(rc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": SRC}, timeout=120)
    assert result.returncode == 1 and "shape mismatch" in result.stderr
    peak_mb = int(result.stdout.split()[-2]) / 1024  # "VmHWM:  65536 kB"
    assert peak_mb < 200, peak_mb


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, streamed (a bomb's content, never held in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _bomb_tarball(path: Path, member: str, size: int) -> Path:
    with gzip.open(path, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
        info.size = size
        tar.addfile(info, io.BufferedReader(_Zeros(size)))
    return path


@pytest.mark.parametrize("member", ["data_batch_1", "readme.html"])
def test_a_cifar_archive_that_inflates_to_hundreds_of_mb_is_refused_on_its_headers(
        tmp_path, member) -> None:
    bomb = _bomb_tarball(tmp_path / "cifar-10-python.tar.gz", member, 300 * MB)
    assert bomb.stat().st_size < 2 * MB  # ~1000x
    error = _within(1.0, 50, load_cifar10, bomb)
    assert "decompression bomb" in str(error) and str(bomb) in str(error)


def test_an_idx_gzip_bomb_is_read_no_further_than_its_header_says(tmp_path) -> None:
    header = idx_bytes(np.zeros((10,), np.uint8))
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(header)
        zeros = bytes(MB)
        for _ in range(300):  # 300 MB of trailing zeros, ~300 KB on disk
            gz.write(zeros)
    error = _within(1.0, 50, read_idx, path)
    assert "unexpected bytes after the 10 bytes" in str(error)
    big = tmp_path / "claims.idx.gz"  # a header claiming 2^32^3 bytes in a tiny file
    big.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3 + bytes(100)))
    error = _within(1.0, 50, read_idx, big)
    assert "more than a" in str(error) and "-" not in str(error).split("(")[1][:20]
