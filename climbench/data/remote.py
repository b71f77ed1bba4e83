"""Fetching remote files: resumable, verified, atomic downloads into a local cache.

Zarr stores are read in place over HTTP / cloud storage (fsspec); single files (GRIB,
netCDF) are downloaded once into the cache (``$CLIMBENCH_CACHE`` or
``~/.cache/climbench``) because their engines need random access to a local file.

A download goes to ``<name>.part``; an interrupted one resumes with an HTTP ``Range``
request; the file is renamed into place only after its size (``Content-Length``) and, when
given, its sha256 match. A cached file is never trusted without the same checks.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlparse

import requests

from climbench.errors import DataFileError

CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where downloaded files live."""
    return Path(os.environ.get("CLIMBENCH_CACHE", Path.home() / ".cache" / "climbench"))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_path(url: str) -> Path:
    """The cache location of ``url``: host and path kept readable, no collisions."""
    parsed = urlparse(url)
    tag = hashlib.sha256(url.encode()).hexdigest()[:12]
    return cache_dir() / parsed.netloc.replace(":", "_") / tag / Path(parsed.path).name


def fetch(url: str, sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Download ``url`` into the cache (resuming a partial download) and return its path.

    Raises :class:`DataFileError` on HTTP errors, short downloads and checksum mismatches;
    a file that fails its checks is removed, never left where it looks complete.
    """
    target = cached_path(url)
    if target.exists():
        if sha256 is None or sha256_file(target) == sha256:
            return target
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            if response.status_code == 416:  # the partial file is already complete
                response.close()
            else:
                if response.status_code not in (200, 206):
                    raise DataFileError(
                        "download failed",
                        path=url,
                        expected="HTTP 200",
                        found=f"HTTP {response.status_code}",
                        hint="check the URL and that the server is up",
                    )
                resumed = response.status_code == 206
                total = response.headers.get("Content-Length")
                expected_size = (int(total) + (start if resumed else 0)) if total else None
                with open(part, "ab" if resumed else "wb") as f:
                    for block in response.iter_content(CHUNK):
                        f.write(block)
                size = part.stat().st_size
                if expected_size is not None and size != expected_size:
                    raise DataFileError(
                        "download incomplete",
                        path=url,
                        expected=f"{expected_size} bytes",
                        found=f"{size} bytes",
                        hint="run again: the download resumes where it stopped",
                    )
    except requests.RequestException as err:
        raise DataFileError(
            "download failed",
            path=url,
            expected="a reachable URL",
            found=f"{type(err).__name__}: {err}",
            hint="run again: the download resumes where it stopped",
        ) from err
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256:
            part.unlink()
            raise DataFileError(
                "checksum mismatch",
                path=url,
                expected=f"sha256 {sha256}",
                found=f"sha256 {got}",
                hint="the file changed upstream or was "
                "corrupted in transit; the partial file was removed",
            )
    os.replace(part, target)
    return target
