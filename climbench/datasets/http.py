"""Resumable, verified HTTP downloads of single files.

A file is written beside its target as ``NAME.part`` and renamed to ``NAME`` only when it is
complete (its size matches the server's) and its checksum, when the provider gives one,
matches. An interrupted download continues with an HTTP ``Range`` request; the answer is
validated: a ``206`` must carry a ``Content-Range`` that starts where the partial file ends,
and a server that ignores ``Range`` (answers ``200``) restarts the file cleanly from byte 0.
Timeouts, dropped connections, ``429`` and ``5xx`` answers are retried with exponential
backoff, resuming each time; ``401`` / ``403`` / ``404`` are not retried and say what to do.
A file whose checksum does not match is kept aside as ``NAME.bad`` and named in the error.

The sha256 of every file (and the provider's checksum) is computed once it is complete,
from the page cache: measured faster than hashing block by block while streaming
(``benchmarks/bench_download.py``), and it covers resumed bytes the same way.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from climbench.errors import ConfigError, DataFileError, StoreError

#: bytes per read from the network and per write to disk: the resume granularity (a
#: broken connection loses at most the block in flight)
BLOCK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True)
class FileRecord:
    """A downloaded file, as the manifest lists it."""

    name: str
    url: str
    size: int
    sha256: str
    provider_checksum: str | None = None
    fetched_bytes: int = 0  # bytes transferred by this run (0 when already complete)


def parse_checksum(text: str) -> tuple[str, str]:
    """``("md5", hex)`` from ``"md5:HEX"``, ``"sha256:HEX"`` or a bare sha256 hex digest."""
    algo, _, digest = text.rpartition(":")
    algo = (algo or "sha256").lower().replace("-", "")
    if algo not in ("md5", "sha256", "sha1", "sha512"):
        raise ConfigError(
            "unknown checksum type", expected="md5, sha1, sha256 or sha512", found=repr(text)
        )
    return algo, digest.lower()


def file_digest(path: str | os.PathLike, algo: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_session(token: str | None = None) -> requests.Session:
    """A session that follows redirects and reads ``~/.netrc`` (``$NETRC``) for each host it
    is sent to (Earthdata Login redirects to its own host for basic auth); ``token`` is
    sent as a bearer token instead."""
    session = requests.Session()
    session.headers["User-Agent"] = "climbench-download"
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def download_file(
    url: str,
    target: str | os.PathLike,
    *,
    session: requests.Session | None = None,
    checksum: str | None = None,
    credential_hint: str = "the server asked for credentials",
    retries: int = 5,
    backoff_s: float = 0.5,
    timeout_s: float = 60.0,
    on_bytes: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> FileRecord:
    """Download ``url`` to ``target`` (resuming ``target.part``) and return its record.

    Args:
        checksum: the provider's checksum (``"md5:HEX"``, ``"sha256:HEX"``); checked after
            the download, a mismatch keeps the file aside as ``NAME.bad``.
        credential_hint: which credential a 401 / 403 concerns and where it is read from.
        retries: attempts after a timeout, a dropped connection, 429 or 5xx.
        on_bytes / on_total: progress callbacks (bytes written; the file's total size).

    Raises :class:`DataFileError` (HTTP errors, checksum mismatch, unreachable host) and
    :class:`StoreError` (disk full, unwritable folder); a partial file is never renamed
    into place.
    """
    target = Path(target)
    session = session or new_session()
    part = target.with_name(target.name + ".part")
    fetched = 0
    total: int | None = None
    attempt = 0
    while True:
        start = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={start}-"} if start else {}
        try:
            with session.get(url, headers=headers, stream=True, timeout=timeout_s) as response:
                status = response.status_code
                if status == 416 and start:
                    total = _total_from_416(response)
                    if total == start:
                        break  # the partial file was already complete
                    part.unlink()
                    continue
                _refuse_status(url, status, credential_hint)
                if status >= 500 or status == 429:
                    raise _Retry(f"HTTP {status}")
                offset, total = _offset_and_total(response, start)
                if on_total is not None and total is not None:
                    on_total(total)
                fetched += _stream(response, part, offset, on_bytes)
        except (_Retry, requests.ConnectionError, requests.Timeout) as err:
            attempt += 1
            if attempt > retries:
                raise DataFileError(
                    "download failed after retries",
                    path=url,
                    expected="a reachable server",
                    found=f"{type(err).__name__}: {err}",
                    hint="check the network (or the endpoint option); run again to resume "
                    f"from the {part.stat().st_size if part.exists() else 0} bytes kept",
                ) from err
            time.sleep(backoff_s * 2 ** (attempt - 1))
            continue
        except requests.RequestException as err:  # a broken stream mid-body
            attempt += 1
            if attempt > retries:
                raise DataFileError(
                    "download interrupted", path=url, found=str(err), hint="run again to resume"
                ) from err
            time.sleep(backoff_s * 2 ** (attempt - 1))
            continue
        size = part.stat().st_size
        if total is None or size == total:
            break
        attempt += 1  # the body ended early: resume
        if attempt > retries:
            raise DataFileError(
                "download incomplete",
                path=url,
                expected=f"{total} bytes",
                found=f"{size} bytes",
                hint="run again: the download resumes where it stopped",
            )
    return _finish(url, target, part, checksum, fetched)


class _Retry(Exception):
    """A transient failure (5xx, 429): retried with backoff."""


def _refuse_status(url: str, status: int, credential_hint: str) -> None:
    """Raise the clear error of a non-retryable HTTP status."""
    if status in (401, 403):
        raise DataFileError(
            "access refused" if status == 403 else "authentication required",
            path=url,
            expected="valid credentials",
            found=f"HTTP {status}",
            hint=credential_hint,
        )
    if status == 404:
        raise DataFileError(
            "not found on the server",
            path=url,
            expected="an existing file",
            found="HTTP 404",
            hint="the dataset card may be out of date (the provider moved or renamed the "
            "file); point the card's endpoint at a mirror with --endpoint, or report it",
        )
    if 400 <= status < 500 and status != 429:
        raise DataFileError(
            "request refused", path=url, expected="HTTP 200 or 206", found=f"HTTP {status}"
        )


def _total_from_416(response: requests.Response) -> int | None:
    """The file size of a ``416 Range Not Satisfiable`` answer (``Content-Range: bytes */N``)."""
    text = response.headers.get("Content-Range", "")
    total = text.rpartition("/")[2]
    return int(total) if total.isdigit() else None


def _offset_and_total(response: requests.Response, start: int) -> tuple[int, int | None]:
    """Where the body goes in the partial file, and the full size of the file.

    A ``206`` must start at ``start``; any other range (or a ``200``, a server that
    ignored ``Range``) restarts the file from 0.
    """
    length = response.headers.get("Content-Length")
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match and int(match.group(1)) == start:
            total = match.group(3)
            return start, (int(total) if total != "*" else None)
        raise _Retry("a 206 answer for another range than asked; restarting")
    return 0, (int(length) if length is not None else None)


def _stream(response: requests.Response, part: Path, offset: int, on_bytes) -> int:
    """Write the body at ``offset`` of ``part`` (truncating what follows); bytes written."""
    part.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with open(part, "r+b" if part.exists() else "wb") as f:
            f.seek(offset)
            f.truncate()
            for block in response.iter_content(BLOCK):
                f.write(block)
                written += len(block)
                if on_bytes is not None:
                    on_bytes(len(block))
    except requests.RequestException:
        raise  # a broken stream (an OSError too): resumed by the caller
    except OSError as err:
        raise StoreError(
            "cannot write the download" + (" (disk full)" if err.errno == errno.ENOSPC else ""),
            path=part,
            expected="a writable folder with free space",
            found=f"{type(err).__name__}: {err}",
            hint="free disk space or choose another --out; run again to resume",
        ) from err
    return written


def _finish(url: str, target: Path, part: Path, checksum: str | None, fetched: int) -> FileRecord:
    """Verify the complete ``part`` and rename it to ``target``."""
    sha256 = file_digest(part)
    if checksum:
        algo, want = parse_checksum(checksum)
        got = sha256 if algo == "sha256" else file_digest(part, algo)
        if got != want:
            bad = target.with_name(target.name + ".bad")
            os.replace(part, bad)
            raise DataFileError(
                "checksum mismatch",
                path=url,
                expected=f"{algo} {want}",
                found=f"{algo} {got}",
                hint=f"the file was kept aside as {bad} (not used); it changed upstream or "
                "was corrupted in transit: run again to fetch it anew",
            )
    os.replace(part, target)
    return FileRecord(
        name=target.name,
        url=url,
        size=target.stat().st_size,
        sha256=sha256,
        provider_checksum=checksum,
        fetched_bytes=fetched,
    )
