"""Download benchmark: the figures of the dataset-download issue, each beside its target.

Everything runs against loopback servers (no network): WeatherBench-2-layout Zarr stores
built from real ERA5 files of ``../shared/data`` and a real netCDF file served over HTTP.

1. Bytes fetched for a Zarr subset / bytes of the chunks covering the selection
   (target <= 1.1): a level subset (geopotential at 500 hPa of the ERA5 EDA store) and a
   many-chunk subset (a month of hourly UK 2 m temperature, one chunk per hour).
2. Many-chunk subset throughput with 16 fetches at once / one chunk at a time (target
   >= 4x). The file server (in its own process) adds 10 ms to each request, the
   first-byte latency of a remote object store (loopback has none; the figure without it
   is printed too).
3. A single large file (the real ERA-Interim netCDF repeated to 267 MB) through
   ``climbench.datasets.http.download_file`` (Range-resumable, sha256-verified, atomic
   rename) / a plain ``requests`` streaming read into a file (target >= 0.8), with the
   server (in its own process) sending at 100 MB/s, a 1 Gbit/s link. Unthrottled, the
   loopback transfer is CPU-bound and the figure is the cost of hashing every byte
   (sha256, about 1 GB/s on one core here), printed beside it.
4. A download cut at half, then resumed: bytes transferred by the resume / file size
   (target <= 0.55).

Run: ``python benchmarks/bench_download.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from climbench.datasets import http, zarr_subset  # noqa: E402
from climbench.datasets.card import card_from_dict  # noqa: E402
from climbench.datasets.selection import select  # noqa: E402
from climbench.errors import DataFileError  # noqa: E402
from tests.conftest import shared_data_dir  # noqa: E402
from tests.servers.http_files import FileServer  # noqa: E402
from tests.servers.wb2_store import build_eda_levels, build_uk_t2m  # noqa: E402

ERAINT = "pydata+xarray-data/eraint_uvz.nc"


def card():
    data = yaml.safe_load((REPO / "climbench/datasets/cards/wb2-era5-5.625.yaml").read_text())
    return card_from_dict(data, "wb2-era5-5.625")


def covering_bytes(store: Path, zplan) -> int:
    """On-disk bytes of the data chunks the plan lists (the selection's covering chunks)."""
    return sum(
        (store / key).stat().st_size
        for arr in zplan.arrays
        if arr.name in zplan.data_vars
        for key in arr.keys
        if (store / key).exists()
    )


def subset_bytes(root: Path, store: str, variables, levels, years) -> tuple[int, int]:
    """(bytes the server sent for a whole subset fetch, covering chunk bytes)."""
    server = FileServer(root)
    try:
        c = card()
        sel = select(c, variables, years, levels)
        zplan = zarr_subset.plan(c, sel, server.url_of(store))
        with tempfile.TemporaryDirectory() as tmp:
            zarr_subset.fetch_chunks(zplan, Path(tmp) / "mirror", jobs=16)
        return server.bytes_sent(), covering_bytes(root / store, zplan)
    finally:
        server.close()


def _serve(root: str, latency_s: float, rate: float | None, queue) -> None:  # noqa: ANN001
    server = FileServer(Path(root))
    server.faults.latency_s = latency_s
    server.faults.rate = rate
    queue.put(server.url)
    server.thread.join()


@contextmanager
def server_process(root: Path, latency_s: float = 0.0, rate: float | None = None) -> Iterator[str]:
    """A file server in its own process (timings do not share the client's GIL), adding
    ``latency_s`` to each request and sending at most ``rate`` bytes per second."""
    queue = multiprocessing.Queue()
    args = (str(root), latency_s, rate, queue)
    proc = multiprocessing.Process(target=_serve, args=args, daemon=True)
    proc.start()
    try:
        yield queue.get(timeout=30)
    finally:
        proc.terminate()
        proc.join()


def chunk_rate(root: Path, jobs: int, latency_s: float) -> tuple[float, int, int]:
    """(seconds, chunks, bytes) to fetch every hourly chunk of the UK store."""
    with server_process(root, latency_s) as url:
        c = card()
        sel = select(c, ["2m_temperature"], "2019", None)
        zplan = zarr_subset.plan(c, sel, f"{url}/uk-hourly.zarr")
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            stats = zarr_subset.fetch_chunks(zplan, Path(tmp) / "mirror", jobs=jobs)
            return time.perf_counter() - start, stats.fetched, stats.bytes


def large_file(root: Path, rate: float | None = None, repeat: int = 64) -> tuple[float, float, int]:
    """(plain streaming s, climbench download s, size) for one large file (best of 5)."""
    data = (shared_data_dir() / ERAINT).read_bytes() * repeat
    (root / "large.nc").write_bytes(data)
    with server_process(root, rate=rate) as base:
        url = f"{base}/large.nc"
        plain, ours = [], []
        for _ in range(5):  # interleaved, best of each: the machine may be shared
            # each in its own folder, deleted at once: no dirty pages of the other's file
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                with requests.get(url, stream=True, timeout=60) as r, open(f"{tmp}/p", "wb") as f:
                    for block in r.iter_content(http.BLOCK):
                        f.write(block)
                plain.append(time.perf_counter() - start)
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                http.download_file(url, Path(tmp) / "large.nc")
                ours.append(time.perf_counter() - start)
        return min(plain), min(ours), len(data)


def resume_fraction(root: Path) -> tuple[int, int]:
    """(bytes the resume transferred, file size) for a download cut at half."""
    server = FileServer(root)
    try:
        src = root / "eraint_uvz.nc"
        src.write_bytes((shared_data_dir() / ERAINT).read_bytes())
        size = src.stat().st_size
        server.faults.drop_after = size // 2
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / src.name
            with suppress(DataFileError):  # the cut: the first run stops there
                http.download_file(server.url_of(src.name), target, retries=0)
            before = server.bytes_sent()
            http.download_file(server.url_of(src.name), target)
            assert target.read_bytes() == src.read_bytes()
        return server.bytes_sent() - before, size
    finally:
        server.close()


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-download-"))
    data = shared_data_dir()
    build_eda_levels(data, root / "eda.zarr")
    build_uk_t2m(data, root / "uk-hourly.zarr", time_chunk=1)
    rows = []

    sent, covering = subset_bytes(root, "eda.zarr", ["geopotential"], [500], "2017")
    rows.append(("Zarr level subset: bytes fetched / covering chunks", sent / covering, "<= 1.1"))
    sent, covering = subset_bytes(root, "uk-hourly.zarr", ["2m_temperature"], None, "2019")
    rows.append(("Zarr 744-chunk subset: bytes fetched / covering chunks", sent / covering,
                 "<= 1.1"))  # fmt: skip

    for latency in (0.01, 0.0):
        seq_s, n, size = chunk_rate(root, 1, latency)
        par_s, _, _ = chunk_rate(root, 16, latency)
        label = f"{n} chunks ({size / 1e6:.1f} MB), {latency * 1e3:.0f} ms latency"
        print(f"  {label}: one at a time {seq_s:.2f} s, 16 at once {par_s:.2f} s")
        target = ">= 4" if latency else "(no latency: informative)"
        rows.append((f"Zarr throughput 16 at once / sequential, {label}", seq_s / par_s, target))

    for rate, target in ((100e6, ">= 0.8"), (None, "(CPU-bound: informative)")):
        plain_s, ours_s, size = large_file(root, rate)
        link = "server at 100 MB/s (a 1 Gbit/s link)" if rate else "unthrottled loopback"
        print(f"  {size / 1e6:.0f} MB file, {link}: plain {size / plain_s / 1e6:.0f} MB/s, "
              f"climbench {size / ours_s / 1e6:.0f} MB/s")  # fmt: skip
        rows.append((f"Large file, {link}: climbench / plain", plain_s / ours_s, target))

    resumed, size = resume_fraction(root)
    rows.append(("Cut at half: resume transferred / file size", resumed / size, "<= 0.55"))

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average while measuring: {load} on {os.cpu_count()} cores")
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'measured':>9}  target")
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:9.3f}  {target}")


if __name__ == "__main__":
    main()
