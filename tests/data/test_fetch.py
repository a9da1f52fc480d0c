"""download(): md5-checked fetching, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.data import download, fetch, md5sum

FILES = {
    "train-images-idx3-ubyte.gz": b"pretend images" * 1000,
    "train-labels-idx1-ubyte.gz": b"pretend labels",
    "t10k-images-idx3-ubyte.gz": b"test images" * 300,
    "t10k-labels-idx1-ubyte.gz": b"test labels",
}
MD5S = {name: hashlib.md5(data).hexdigest() for name, data in FILES.items()}


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (base URL, folder, requests)."""
    www = tmp_path / "www"
    www.mkdir()
    for name, data in FILES.items():
        (www / name).write_bytes(data)
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", www, requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_verifies_and_skips_present_files(server, tmp_path: Path) -> None:
    url, _, requests = server
    root = tmp_path / "data" / "mnist"
    logged: list[str] = []
    folder = download("mnist", root, mirror=url, md5s=MD5S, log=logged.append)
    assert folder == root
    for name, data in FILES.items():
        assert (root / name).read_bytes() == data
    assert len(requests) == 4 and all("downloaded from" in line for line in logged)
    assert sorted(p.name for p in root.iterdir()) == sorted(FILES)  # no temporary file left
    download("mnist", root, mirror=url, md5s=MD5S)  # all present with the right md5
    assert len(requests) == 4
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(b"stale")  # wrong md5: fetched again
    download("mnist", root, mirror=url, md5s=MD5S)
    assert len(requests) == 5 and md5sum(root / "t10k-labels-idx1-ubyte.gz") == MD5S[
        "t10k-labels-idx1-ubyte.gz"]


def test_md5_mismatch_removes_file(server, tmp_path: Path) -> None:
    url, _, _ = server
    wrong = dict(MD5S, **{"train-labels-idx1-ubyte.gz": "0" * 32})
    with pytest.raises(cr.DataError, match=r"train-labels-idx1-ubyte.gz: md5 mismatch: got "
                       + MD5S["train-labels-idx1-ubyte.gz"]):
        download("mnist", tmp_path / "m", mirror=url, md5s=wrong)
    assert not (tmp_path / "m" / "train-labels-idx1-ubyte.gz").exists()
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["train-images-idx3-ubyte.gz"]


def test_http_error_and_mirror_fallback(server, tmp_path: Path, monkeypatch) -> None:
    url, www, _ = server
    (www / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(cr.DataError, match=r"could not download t10k-images.*HTTP 404"):
        download("mnist", tmp_path / "a", mirror=url, md5s=MD5S)
    (www / "t10k-images-idx3-ubyte.gz").write_bytes(FILES["t10k-images-idx3-ubyte.gz"])
    dead = "http://127.0.0.1:9/"  # nothing listens on the discard port
    info = dataclasses.replace(cr.data.DATASETS["mnist"], mirrors=(dead, url))
    monkeypatch.setitem(fetch.DATASETS, "mnist", info)
    download("mnist", tmp_path / "b", md5s=MD5S, timeout=5)
    assert md5sum(tmp_path / "b" / "train-images-idx3-ubyte.gz") == MD5S[
        "train-images-idx3-ubyte.gz"]


def test_mirror_environment_variable_and_progress(server, tmp_path: Path, monkeypatch,
                                                  capsys) -> None:
    url, _, requests = server
    monkeypatch.setenv(fetch.MIRROR_ENV, url)
    download("fashion-mnist", tmp_path / "f", md5s=MD5S, progress=True)
    assert len(requests) == 4 and len(list((tmp_path / "f").iterdir())) == 4


def test_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(cr.DataError, match="nothing to download"):
        download("digits", tmp_path)
    with pytest.raises(cr.DataError, match="can download mnist, fashion-mnist, cifar10"):
        download("imagenet", tmp_path)


def test_cli_download_error_is_one_line(server, tmp_path: Path, capsys) -> None:
    url, _, _ = server
    # The official md5 sums do not match the generated files: exit code 1, one line.
    code = main(["download", "mnist", "--root", str(tmp_path / "x"), "--mirror", url])
    err = capsys.readouterr().err
    assert code == 1 and "md5 mismatch" in err and err.count("\n") == 1


@pytest.mark.slow
def test_cli_download_real_files_with_official_md5(shared_data: Path, tmp_path: Path,
                                                   capsys) -> None:
    """Serve the shared MNIST files locally: the official md5 sums must accept them."""
    www = shared_data / "mnist"
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        code = main(["download", "mnist", "--data-dir", str(tmp_path), "--mirror", url])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 0 and "MNIST is ready in" in capsys.readouterr().out
    assert cr.data.load("mnist", tmp_path).train_images.shape == (60000, 28, 28, 1)
