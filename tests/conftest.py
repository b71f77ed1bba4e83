"""Shared test fixtures: the real reference data, a local HTTP server, small datasets.

- ``shared_data``: the folder of real files (``../shared/data`` next to the repository, or
  ``$CLIMBENCH_TEST_DATA``); tests that need it are skipped when it is missing.
- ``serve_directory``: serve a folder over ``http://127.0.0.1:<port>`` from a thread, with
  ``Range`` support (for resumable downloads), a request log, and a switch that cuts a
  response short (to simulate an interrupted download).
- ``make_dataset``: a small ERA5-like dataset (latitude descending, longitude -20..40) to
  write as a test file and break on purpose.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from climbench.tasks import Task, get_task
from tests import small_tasks

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data_dir() -> Path:
    """Where the real reference files are (``$CLIMBENCH_TEST_DATA`` overrides)."""
    return Path(os.environ.get("CLIMBENCH_TEST_DATA") or DEFAULT_DATA)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real reference files; skips the test when it is missing."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real reference data not found at {path} (set CLIMBENCH_TEST_DATA)")
    return path


@pytest.fixture(scope="session")
def shared_file(shared_data: Path) -> Callable[[str], Path]:
    """``shared_file("rel/path")``: a file under ``shared_data``, skipping when absent."""

    def get(relative: str) -> Path:
        path = shared_data / relative
        if not path.exists():
            pytest.skip(f"reference file missing: {path}")
        return path

    return get


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes into the user's real download cache."""
    monkeypatch.setenv("CLIMBENCH_CACHE", str(tmp_path_factory.mktemp("climbench-cache")))


# --------------------------------------------------------------------------------------
# local HTTP server with Range support
# --------------------------------------------------------------------------------------

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class LocalHTTPServer:
    """A running server: ``url`` of its root, the ``requests`` it saw, and ``cut_after``
    (URL path -> bytes): the next GET of that path sends only that many body bytes, then
    drops the connection, as a network failure would."""

    url: str
    root: Path
    requests: list[dict] = field(default_factory=list)
    cut_after: dict[str, int] = field(default_factory=dict)

    def url_of(self, relative: str) -> str:
        return f"{self.url}/{relative}"

    def gets(self, path_suffix: str) -> list[dict]:
        """The GET requests whose path ends with ``path_suffix``."""
        return [
            r for r in self.requests if r["method"] == "GET" and r["path"].endswith(path_suffix)
        ]


def _handler_for(server: LocalHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _target(self) -> Path | None:
            rel = unquote(urlparse(self.path).path).lstrip("/")
            path = (server.root / rel).resolve()
            if server.root.resolve() not in (path, *path.parents) or not path.is_file():
                return None
            return path

        def _serve(self, send_body: bool) -> None:
            server.requests.append(
                {"method": self.command, "path": self.path, "range": self.headers.get("Range")}
            )
            path = self._target()
            if path is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = path.stat().st_size
            start, end, status = 0, size - 1, 200
            header = self.headers.get("Range")
            if header:
                match = _RANGE.match(header.strip())
                if match and (match.group(1) or match.group(2)):
                    if match.group(1):
                        start = int(match.group(1))
                        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
                    else:  # suffix range: the last N bytes
                        start = max(size - int(match.group(2)), 0)
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
            length = end - start + 1
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(length))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if not send_body:
                return
            cut = server.cut_after.pop(urlparse(self.path).path, None)
            with open(path, "rb") as f:
                f.seek(start)
                body = f.read(length)
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            self._serve(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

    return Handler


@pytest.fixture
def serve_directory() -> Iterator[Callable[[Path], LocalHTTPServer]]:
    """``serve_directory(path)`` starts a server for ``path`` and returns its handle."""
    running: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(root: Path) -> LocalHTTPServer:
        info = LocalHTTPServer(url="", root=Path(root))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(info))
        httpd.daemon_threads = True
        info.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        running.append((httpd, thread))
        return info

    yield start
    for httpd, thread in running:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def copy_to(tmp_path: Path) -> Callable[[Path, str | None], Path]:
    """``copy_to(src, name=None)``: a copy of ``src`` under ``tmp_path/served``."""

    def copy(src: Path, name: str | None = None) -> Path:
        dest_dir = tmp_path / "served"
        dest_dir.mkdir(exist_ok=True)
        dest = dest_dir / (name or src.name)
        shutil.copyfile(src, dest)
        return dest

    return copy


# --------------------------------------------------------------------------------------
# small generated datasets
# --------------------------------------------------------------------------------------


def synthetic_era5(
    ntime: int = 4, seed: int = 0, calendar: str = "standard", start: str = "2000-01-01"
) -> xr.Dataset:
    """A small ERA5-like dataset: ``t2m`` in K plus ``myvar`` (outside the vocabulary,
    in an unknown unit) on (time, latitude, longitude), latitude descending and longitude
    in -20..40, 6-hourly times in ``calendar``."""
    rng = np.random.default_rng(seed)
    data = rng.normal(280.0, 5.0, (ntime, 3, 4)).astype("float32")
    if calendar == "standard":
        time = pd.date_range(start, periods=ntime, freq="6h")
    else:
        time = xr.date_range(start, periods=ntime, freq="6h", calendar=calendar, use_cftime=True)
    return xr.Dataset(
        {
            "t2m": (
                ("time", "latitude", "longitude"),
                data,
                {"units": "K", "long_name": "2 metre temperature"},
            ),
            "myvar": (
                ("time", "latitude", "longitude"),
                data * 2,
                {"units": "furlongs", "long_name": "not in the vocabulary"},
            ),
        },
        coords={
            "time": time,
            "latitude": ("latitude", [10.0, 0.0, -10.0], {"units": "degrees_north"}),
            "longitude": ("longitude", [-20.0, 0.0, 20.0, 40.0], {"units": "degrees_east"}),
        },
    )


@pytest.fixture
def make_dataset() -> Callable[..., xr.Dataset]:
    """The :func:`synthetic_era5` factory as a fixture."""
    return synthetic_era5


# -- small task variants, built once per session (tests/small_tasks.py) ---------------


@pytest.fixture(scope="session")
def forecast_task(tmp_path_factory) -> Task:
    return small_tasks.small_forecast_task(small_tasks.small_root(tmp_path_factory))


@pytest.fixture(scope="session")
def downscaling_tasks(tmp_path_factory) -> dict[str, Task]:
    return small_tasks.small_downscaling_tasks(small_tasks.small_root(tmp_path_factory))


@pytest.fixture(scope="session")
def emulation_task(tmp_path_factory) -> Task:
    task = get_task("emulation/synthetic", small_tasks.small_root(tmp_path_factory))
    task.prepare_data()
    return task


@pytest.fixture(scope="session")
def access_task(tmp_path_factory, shared_data) -> Task:
    source = shared_data / small_tasks.CMIP6
    if not source.is_dir():
        pytest.skip(f"CMIP6 sample data missing: {source}")
    task = get_task("emulation/access-esm1-5", small_tasks.small_root(tmp_path_factory))
    task.prepare_data([source])
    return task
