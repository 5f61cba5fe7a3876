"""Fetch MNIST, Fashion-MNIST and CIFAR-10 from their canonical sources, checked against SHA-256.

Each file is streamed into `<file>.part` (resumed with an HTTP Range request when a previous attempt
left one behind) with a progress bar, every connect and read bounded by `timeout` seconds (a stalled
server fails instead of hanging) and the whole download by `deadline` seconds (a server trickling a byte
now and then fails too, keeping what it sent for the next attempt), retried `retries` times with back-off on network errors and 5xx answers, verified against the
SHA-256 table below, and only then renamed into place (`os.replace`), so a file under its final name
is always complete. A wrong checksum deletes the partial file. Files go to
`<root or the first data root>/<name>/`, where the loaders look first.

`base_url` (or the environment variable SIMVAE_DOWNLOAD_URL) replaces the canonical source, e.g. for
a local mirror or for tests; `{name}` in it is replaced by the dataset's name.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from simvae.data.cifar10 import ARCHIVE, BATCH_DIR, FILES, extract_cifar10
from simvae.data.mnist import data_roots, system_copy
from simvae.errors import DataError

BASE_URLS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",  # the mirror torchvision uses
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's own bucket
    "cifar10": "https://www.cs.toronto.edu/~kriz/",  # Alex Krizhevsky's page
}

# SHA-256 of every file, dataset -> file name -> hex digest. None of them could be fetched from here
# (no network); each value was taken from public code and cross-checked as follows:
# * mnist: identical in several independent projects that download these exact files, among them a Ruby
#   port of torchvision listing the ossci-datasets mirror with these SHA-256s; the files match torchvision's
#   MD5s (f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...), so the mirror serves LeCun's bytes.
# * fashion-mnist: identical in several projects that also list the official MD5s torchvision checks
#   (8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...) and the file sizes 26,421,880 / 29,515 /
#   4,422,102 / 5,148 bytes. Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist)
#   ships the same data re-gzipped (its files are exactly the 23-24 bytes of the gzip FNAME field shorter,
#   other MD5s), so its SHA-256s differ from these and could not serve as a check of the compressed bytes.
# * cifar10: Keras' `cifar10.load_data` file_hash, repeated by several projects next to the official MD5
#   c58f30108f718f92721af3b95e74349a and the size 170,498,071 bytes.
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    "cifar10": {
        "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    },
}

DOWNLOADABLE = tuple(CHECKSUMS)
CHUNK = 1 << 16
RETRY_DELAY = 1.0  # seconds before the first retry, doubled for each further one
USER_AGENT = "simvae-downloader/0.1 (+urllib)"


class _Retryable(Exception):
    """A failure worth another attempt (the connection broke, the server is busy)."""


class _PastDeadline(Exception):
    """The download as a whole took longer than its deadline (not retried: the time is up)."""


DEFAULT_TIMEOUT = 30.0  # seconds a connection or a single read may take
DEFAULT_RETRIES = 3  # further attempts per file after the first
DEFAULT_DEADLINE = 3600.0  # seconds the whole download may take (CIFAR-10's 170 MB at 50 kB/s)


def download_dataset(name: str, root: str | Path | None = None, progress: bool = True, base_url: str | None = None,
                     *, retries: int = DEFAULT_RETRIES, timeout: float = DEFAULT_TIMEOUT,
                     deadline: float = DEFAULT_DEADLINE) -> Path:
    """Download dataset `name` into `<root or first data root>/<name>/` and return that directory.

    Files already present with the right checksum are kept; a `.part` left by an interrupted run is
    resumed. `timeout` bounds each connect and read (seconds), `deadline` the whole download (seconds); a file
    gets `retries` further attempts.
    Raises DataError for an unknown name, a checksum mismatch, or when every attempt fails (naming which
    files to put where by hand, and an installed system copy if there is one).
    """
    if name not in CHECKSUMS:
        hint = " CelebA cannot be downloaded automatically; see `simvae data` for where to put its files." if name.startswith("celeba") else ""
        raise DataError(f"cannot download {name!r}: downloadable datasets are {list(DOWNLOADABLE)}.{hint}")
    target = data_roots(root)[0] / name
    try:
        target.mkdir(parents=True, exist_ok=True)
        probe = target / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        reason = "the file system is read-only" if error.errno == errno.EROFS else error.strerror or error
        raise DataError(f"cannot write into {target} ({reason}); pass a writable root (--root or $SIMVAE_DATA)") from None
    ends = time.monotonic() + deadline
    base = base_url or os.environ.get("SIMVAE_DOWNLOAD_URL") or BASE_URLS[name]
    base = base.replace("{name}", name).rstrip("/") + "/"
    for filename, sha256 in CHECKSUMS[name].items():
        manual = (f"download {', '.join(BASE_URLS[name] + f for f in CHECKSUMS[name])} by hand (browser, curl, wget) "
                  f"and put {'them' if len(CHECKSUMS[name]) > 1 else 'it'} in {target}")
        try:
            fetch(base + filename, target / filename, sha256, progress=progress, retries=retries, timeout=timeout,
                  manual=manual, ends=ends, deadline=deadline)
        except DataError as error:
            installed = system_copy(name)
            if installed is None:
                raise
            raise DataError(f"{error}. No download is needed: an installed copy is in {installed}, "
                            "used when data.root (--root) is left unset") from error
    if name == "cifar10":
        if not all((target / BATCH_DIR / f).is_file() for f in FILES):
            extract_cifar10(target / ARCHIVE)
    return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, dest: Path, sha256: str, *, progress: bool = True, retries: int = DEFAULT_RETRIES,
          timeout: float = DEFAULT_TIMEOUT, manual: str = "", ends: float | None = None,
          deadline: float = DEFAULT_DEADLINE) -> Path:
    """Download `url` to `dest` through `dest.part`: resumable, retried, verified, atomic, done by the monotonic
    time `ends` (`deadline` seconds after the download began; default: that many from now)."""
    ends = time.monotonic() + deadline if ends is None else ends
    if dest.is_file() and sha256_of(dest) == sha256:
        return dest
    part = dest.with_name(dest.name + ".part")
    last_error: Exception | None = None
    attempts = 1 + max(0, retries)
    for attempt in range(attempts):
        if attempt:
            time.sleep(RETRY_DELAY * 2 ** (attempt - 1))
        try:
            _stream(url, part, progress, timeout, ends)
            break
        except _PastDeadline:
            kept = f"{part.stat().st_size} bytes are kept in {part} and the next attempt resumes from there; " if part.is_file() else ""
            raise DataError(f"downloading {url} did not finish within the deadline of {deadline:g} s ({kept}the server "
                            "sends too slowly): check the network and run the download again (for a slow link raise "
                            f"--deadline SECONDS), or, as the manual alternative, {manual}") from None
        except _Retryable as error:
            last_error = error.__cause__ or error
        except urllib.error.HTTPError as error:  # 4xx other than 408/429: retrying will not help
            raise DataError(f"downloading {url} failed: HTTP {error.code} {error.reason}. Manual alternative: {manual}") from error
    else:
        kept = f"; {part.stat().st_size} bytes are kept in {part} and the next attempt resumes from there" if part.is_file() else ""
        raise DataError(f"downloading {url} failed after {attempts} attempt(s) of at most {timeout:g} s per read "
                        f"({last_error}){kept}. Check the network and run the download again (for a slow link raise "
                        f"--timeout SECONDS / --retries N), or, as the manual alternative, {manual}")
    got = sha256_of(part)
    if got != sha256:
        part.unlink(missing_ok=True)
        raise DataError(f"{url}: checksum mismatch, expected sha256 {sha256}, got {got}; the partial file {part} was deleted. "
                        f"Run the download again; if it keeps failing, {manual} (and check the file)")
    os.replace(part, dest)
    return dest


def _stream(url: str, part: Path, progress: bool, timeout: float, ends: float) -> None:
    """One attempt: append to `part` from where it ends (HTTP Range) or start afresh, by the monotonic time `ends`."""
    left = ends - time.monotonic()
    if left <= 0:
        raise _PastDeadline()
    timeout = min(timeout, left)
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # nothing left to send: the .part is whole; the checksum decides
            return
        if error.code >= 500 or error.code in (408, 429):
            raise _Retryable() from error
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise _Retryable() from error
    with response:
        mode = "wb"
        if offset and response.status == 206:
            match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                raise _Retryable() from OSError(f"server answered range {response.headers.get('Content-Range')!r} "
                                                f"to a request from byte {offset}; restarting")
            mode = "ab"
        else:
            offset = 0  # the server ignored the Range header: start over
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        received = 0
        with open(part, mode) as sink, tqdm(total=None if expected is None else offset + expected, initial=offset,
                                            unit="B", unit_scale=True, desc=part.name[:-5], disable=not progress) as bar:
            try:
                while chunk := response.read1(CHUNK):  # whatever has arrived: the deadline is checked between reads
                    sink.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > ends:
                        raise _PastDeadline()
            except (http.client.HTTPException, OSError) as error:
                raise _Retryable() from error
    if expected is not None and received < expected:
        raise _Retryable() from OSError(f"connection closed after {offset + received} of {offset + expected} bytes")
