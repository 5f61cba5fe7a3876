"""download_dataset end to end against a local HTTP server serving small files in the real formats."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from simvae.data import download, load_dataset
from simvae.data.download import download_dataset
from simvae.data.mnist import IDX_FILES
from simvae.errors import DataError

TIMEOUT = 5.0


class Handler(BaseHTTPRequestHandler):
    """Serves server.files; server.plan[name] is a list of behaviours consumed one per request."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        server = self.server
        name = self.path.lstrip("/")
        server.requests.append((name, self.headers.get("Range")))
        behaviour = server.plan[name].pop(0) if server.plan.get(name) else "ok"
        if behaviour == "error":
            self.send_error(500, "boom")
            return
        body = server.files.get(name)
        if body is None:
            self.send_error(404, "no such file")
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and server.honour_range:
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if behaviour == "truncate":  # announce everything, send half, hang up
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        if behaviour == "trickle":  # announce everything, then a byte every 0.2 s: no read ever times out
            for byte in payload:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if server.release.wait(0.2):
                    break
            self.close_connection = True
            return
        if behaviour == "stall":  # announce everything, send half, then go silent with the connection open
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            server.release.wait(30)
            self.close_connection = True
            return
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    httpd.files, httpd.plan, httpd.requests, httpd.honour_range = {}, {}, [], True
    httpd.release = threading.Event()  # ends a "stall"
    httpd.url = f"http://127.0.0.1:{httpd.server_port}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch):
    monkeypatch.setattr(download, "RETRY_DELAY", 0.0)


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def serve_mnist(server, monkeypatch, tmp_path, fakes) -> dict[str, bytes]:
    """Put generated MNIST .gz files on the server under mnist/ and make them the expected checksums."""
    fakes.write_mnist(tmp_path / "generated")
    files = {f"{stem}.gz": (tmp_path / "generated" / f"{stem}.gz").read_bytes() for stem in IDX_FILES.values()}
    server.files.update({f"mnist/{name}": raw for name, raw in files.items()})
    monkeypatch.setitem(download.CHECKSUMS, "mnist", {name: sha(raw) for name, raw in files.items()})
    return files


def test_mnist_download_then_load(isolated, server, monkeypatch, tmp_path, fakes):
    files = serve_mnist(server, monkeypatch, tmp_path, fakes)
    target = download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "{name}/", timeout=TIMEOUT)
    assert target == isolated / "mnist"
    assert {p.name for p in target.iterdir()} == set(files)  # no .part left behind
    data = load_dataset("mnist", root=isolated, val_fraction=0.25)
    assert len(data.test) == 10 and data.image_shape == (1, 28, 28)
    served = len(server.requests)
    assert served == 4
    download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "{name}/", timeout=TIMEOUT)
    assert len(server.requests) == served  # verified files are not fetched again


def test_cifar10_download_extracts_and_loads(isolated, server, monkeypatch, fakes):
    archive = fakes.cifar_archive()
    server.files["cifar10/cifar-10-python.tar.gz"] = archive
    monkeypatch.setitem(download.CHECKSUMS, "cifar10", {"cifar-10-python.tar.gz": sha(archive)})
    monkeypatch.setenv("SIMVAE_DOWNLOAD_URL", server.url + "{name}")  # the environment variable works too
    target = download_dataset("cifar10", root=isolated, progress=False, timeout=TIMEOUT)
    assert (target / "cifar-10-batches-py" / "test_batch").is_file()
    data = load_dataset("cifar10", root=isolated)
    assert data.image_shape == (3, 32, 32) and len(data.test) == 10
    assert len(server.requests) == 1


def test_wrong_checksum_deletes_partial_and_names_both(isolated, server, monkeypatch, tmp_path, fakes):
    serve_mnist(server, monkeypatch, tmp_path, fakes)
    expected = "0" * 64
    monkeypatch.setitem(download.CHECKSUMS["mnist"], "train-images-idx3-ubyte.gz", expected)
    with pytest.raises(DataError) as error:
        download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", timeout=TIMEOUT)
    got = sha(server.files["mnist/train-images-idx3-ubyte.gz"])
    assert expected in str(error.value) and got in str(error.value) and "checksum mismatch" in str(error.value)
    assert not (isolated / "mnist" / "train-images-idx3-ubyte.gz").exists()
    assert not (isolated / "mnist" / "train-images-idx3-ubyte.gz.part").exists()


def test_truncated_download_is_resumed_by_the_next_call(isolated, server, monkeypatch, tmp_path, fakes):
    files = serve_mnist(server, monkeypatch, tmp_path, fakes)
    name = "train-images-idx3-ubyte.gz"
    server.plan[f"mnist/{name}"] = ["truncate"]
    with pytest.raises(DataError) as error:
        download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", retries=0, timeout=TIMEOUT)
    part = isolated / "mnist" / f"{name}.part"
    half = len(files[name]) // 2
    assert part.stat().st_size == half and "resumes" in str(error.value)
    assert not (isolated / "mnist" / name).exists()
    download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", retries=1, timeout=TIMEOUT)
    assert (isolated / "mnist" / name).read_bytes() == files[name] and not part.exists()
    ranges = [r for n, r in server.requests if n == f"mnist/{name}"]
    assert ranges == [None, f"bytes={half}-"]
    assert len(server.requests) <= 6
    assert len(load_dataset("mnist", root=isolated).test) == 10


def test_truncation_is_resumed_within_one_call_by_a_retry(isolated, server, monkeypatch, tmp_path, fakes):
    files = serve_mnist(server, monkeypatch, tmp_path, fakes)
    name = "t10k-images-idx3-ubyte.gz"
    server.plan[f"mnist/{name}"] = ["truncate"]
    download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", retries=2, timeout=TIMEOUT)
    assert (isolated / "mnist" / name).read_bytes() == files[name]
    assert [r for n, r in server.requests if n == f"mnist/{name}"] == [None, f"bytes={len(files[name]) // 2}-"]


def test_server_ignoring_range_restarts_from_zero(isolated, server, monkeypatch, tmp_path, fakes):
    files = serve_mnist(server, monkeypatch, tmp_path, fakes)
    server.honour_range = False
    name = "train-labels-idx1-ubyte.gz"
    server.plan[f"mnist/{name}"] = ["truncate"]
    download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", retries=2, timeout=TIMEOUT)
    assert (isolated / "mnist" / name).read_bytes() == files[name]


def test_server_error_is_a_clear_data_error(isolated, server, monkeypatch, tmp_path, fakes):
    serve_mnist(server, monkeypatch, tmp_path, fakes)
    server.plan["mnist/train-images-idx3-ubyte.gz"] = ["error"] * 5
    with pytest.raises(DataError) as error:
        download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", retries=1, timeout=TIMEOUT)
    message = str(error.value)
    assert "after 2 attempt(s)" in message and "500" in message and "--timeout" in message and "--retries" in message
    # the manual alternative: the canonical URLs and the directory to put the files in
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz" in message
    assert str(isolated / "mnist") in message
    assert len(server.requests) == 2


def test_stalled_server_fails_within_the_timeout(isolated, server, monkeypatch, tmp_path, fakes):
    serve_mnist(server, monkeypatch, tmp_path, fakes)
    server.plan["mnist/train-images-idx3-ubyte.gz"] = ["stall"]
    start = time.monotonic()
    with pytest.raises(DataError) as error:
        download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", retries=1, timeout=1)
    elapsed = time.monotonic() - start
    assert elapsed < 1 * (1 + 1) + 2, f"took {elapsed:.1f} s"
    message = str(error.value)
    assert "\n" not in message and "after 2 attempt(s)" in message and "timed out" in message
    assert "--timeout" in message and "--retries" in message and str(isolated / "mnist") in message


def test_a_trickling_server_fails_at_the_overall_deadline_and_keeps_what_it_sent(isolated, server, monkeypatch, tmp_path,
                                                                                fakes):
    serve_mnist(server, monkeypatch, tmp_path, fakes)
    server.plan["mnist/train-images-idx3-ubyte.gz"] = ["trickle"]
    start = time.monotonic()
    with pytest.raises(DataError) as error:
        download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", retries=3, timeout=1,
                         deadline=1.5)
    elapsed = time.monotonic() - start
    assert elapsed < 1.5 + 1 + 1, f"took {elapsed:.1f} s"
    message = str(error.value)
    assert "\n" not in message and "did not finish within the deadline of 1.5 s" in message and "--deadline" in message
    part = isolated / "mnist" / "train-images-idx3-ubyte.gz.part"
    assert part.stat().st_size >= 3 and f"bytes are kept in {part}" in message  # the next attempt resumes from there


def test_cli_download_passes_the_deadline(isolated, server, monkeypatch, tmp_path, fakes, capsys):
    from simvae.cli.main import main

    serve_mnist(server, monkeypatch, tmp_path, fakes)
    server.plan["mnist/train-images-idx3-ubyte.gz"] = ["trickle"]
    monkeypatch.setenv("SIMVAE_DOWNLOAD_URL", server.url + "{name}")
    assert main(["data", "download", "mnist", "--root", str(isolated), "--timeout", "5", "--deadline", "1"]) == 2
    assert "did not finish within the deadline of 1 s" in capsys.readouterr().err


def test_cli_download_passes_timeout_and_retries(isolated, server, monkeypatch, tmp_path, fakes, capsys):
    from simvae.cli.main import main

    serve_mnist(server, monkeypatch, tmp_path, fakes)
    server.plan["mnist/train-images-idx3-ubyte.gz"] = ["stall"]
    monkeypatch.setenv("SIMVAE_DOWNLOAD_URL", server.url + "{name}")
    start = time.monotonic()
    assert main(["data", "download", "mnist", "--root", str(isolated), "--timeout", "1", "--retries", "0"]) == 2
    assert time.monotonic() - start < 3
    assert "after 1 attempt(s) of at most 1 s per read" in capsys.readouterr().err


def test_failure_names_an_installed_system_copy(isolated, monkeypatch, tmp_path, fakes):
    from simvae.data import mnist

    fakes.write_mnist(tmp_path / "system" / "fashion-mnist")
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {"fashion-mnist": [tmp_path / "system" / "fashion-mnist"]})
    port = closed_port()
    with pytest.raises(DataError) as error:
        download_dataset("fashion-mnist", root=isolated, progress=False, base_url=f"http://127.0.0.1:{port}/", retries=0,
                         timeout=TIMEOUT)
    assert f"an installed copy is in {tmp_path / 'system' / 'fashion-mnist'}" in str(error.value)


def closed_port() -> int:
    """A local port with nobody listening."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_missing_file_fails_at_once(isolated, server, monkeypatch, tmp_path, fakes):
    serve_mnist(server, monkeypatch, tmp_path, fakes)
    del server.files["mnist/train-images-idx3-ubyte.gz"]
    with pytest.raises(DataError, match="HTTP 404"):
        download_dataset("mnist", root=isolated, progress=False, base_url=server.url + "mnist", retries=3, timeout=TIMEOUT)
    assert len(server.requests) == 1


def test_unreachable_server_names_the_manual_alternative(isolated):
    port = closed_port()
    with pytest.raises(DataError) as error:
        download_dataset("cifar10", root=isolated, progress=False, base_url=f"http://127.0.0.1:{port}/", retries=2,
                         timeout=TIMEOUT)
    message = str(error.value)
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message and str(isolated / "cifar10") in message


def test_unknown_and_manual_only_datasets(isolated):
    with pytest.raises(DataError, match="downloadable datasets are"):
        download_dataset("imagenet", root=isolated)
    with pytest.raises(DataError, match="CelebA cannot be downloaded automatically"):
        download_dataset("celeba", root=isolated)


def test_default_target_is_the_first_data_root(isolated, server, monkeypatch, tmp_path, fakes):
    serve_mnist(server, monkeypatch, tmp_path, fakes)
    monkeypatch.setenv("SIMVAE_DATA", str(isolated / "env"))
    target = download_dataset("mnist", progress=False, base_url=server.url + "mnist", timeout=TIMEOUT)
    assert target == isolated / "env" / "mnist"


def test_checksum_table_is_complete():
    assert set(download.CHECKSUMS) == {"mnist", "fashion-mnist", "cifar10"}
    for name in ("mnist", "fashion-mnist"):
        assert set(download.CHECKSUMS[name]) == {f"{stem}.gz" for stem in IDX_FILES.values()}
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for files in download.CHECKSUMS.values() for h in files.values())
