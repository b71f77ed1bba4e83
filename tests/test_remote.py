"""Remote data: files downloaded into the cache (verified, resumable), Zarr read in place.

A local HTTP server (``serve_directory`` in conftest.py) serves copies of real files from
``tmp_path``; ``CLIMBENCH_CACHE`` points into ``tmp_path`` for every test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import climbench
from climbench.data import remote
from climbench.errors import DataFileError
from tests.test_open_real_files import ERA5_EDA, ERSST, OGGM

T2M = f"{OGGM}/sel_era5_monthly_t2m_1979-2018.nc"


def without_path_attrs(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    for key in ("climbench_path", "history"):  # cfgrib's history names the local path
        ds.attrs.pop(key, None)
    return ds


def cache_files() -> list[Path]:
    return sorted(p for p in remote.cache_dir().rglob("*") if p.is_file())


@pytest.fixture
def served_t2m(shared_file, copy_to, serve_directory):
    src = shared_file(T2M)
    copy = copy_to(src)
    server = serve_directory(copy.parent)
    return src, server, server.url_of(copy.name)


def test_cache_dir_follows_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLIMBENCH_CACHE", str(tmp_path / "c"))
    assert remote.cache_dir() == tmp_path / "c"
    a = remote.cached_path("http://127.0.0.1:8000/x/data.nc")
    b = remote.cached_path("http://127.0.0.1:8000/y/data.nc")
    assert a != b and a.name == b.name == "data.nc"  # same name, no collision
    assert tmp_path / "c" in a.parents


def test_netcdf_url_equals_local_file(served_t2m) -> None:
    src, server, url = served_t2m
    local = climbench.open_dataset(src)
    ds = climbench.open_dataset(url)
    xr.testing.assert_identical(without_path_attrs(ds), without_path_attrs(local))
    assert ds.attrs["climbench_path"] == url
    assert ds.attrs["product"] == "ERA5"
    downloaded = remote.cached_path(url)
    assert downloaded.read_bytes() == src.read_bytes()
    assert not downloaded.with_name(downloaded.name + ".part").exists()
    # a second open uses the cache: no new GET
    gets = len(server.gets(src.name))
    climbench.open_dataset(url)
    assert len(server.gets(src.name)) == gets


def test_grib_url_equals_local_file(shared_file, copy_to, serve_directory) -> None:
    src = shared_file(ERA5_EDA)
    copy = copy_to(src)
    server = serve_directory(copy.parent)
    url = server.url_of(copy.name)
    ds = climbench.open_dataset(url)
    local = climbench.open_dataset(src)
    assert ds.attrs["climbench_format"] == "grib"
    assert ds["geopotential"].dims == ("time", "member", "level", "lat", "lon")
    xr.testing.assert_identical(without_path_attrs(ds).load(), without_path_attrs(local).load())


def test_zarr_store_over_http(tmp_path: Path, make_dataset, serve_directory) -> None:
    root = tmp_path / "www"
    root.mkdir()
    source = make_dataset(ntime=6)
    source.to_zarr(root / "store.zarr", consolidated=True)
    local = climbench.open_dataset(root / "store.zarr")
    server = serve_directory(root)
    url = server.url_of("store.zarr")
    ds = climbench.open_dataset(url)
    assert ds.attrs["climbench_format"] == "zarr"
    assert ds["2m_temperature"].dims == ("time", "lat", "lon")
    xr.testing.assert_identical(without_path_attrs(ds).load(), without_path_attrs(local).load())
    np.testing.assert_array_equal(ds["lat"].values, [-10.0, 0.0, 10.0])
    assert cache_files() == []  # read in place, nothing downloaded
    assert any(r["path"].endswith("zarr.json") for r in server.requests)
    # a trailing slash names the same store
    assert climbench.open_dataset(url + "/").sizes["time"] == 6


def test_missing_zarr_store_over_http(tmp_path: Path, serve_directory) -> None:
    server = serve_directory(tmp_path)
    url = server.url_of("absent.zarr")
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(url)
    assert url in str(info.value)


def test_checksum_verified(served_t2m) -> None:
    src, _, url = served_t2m
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    ds = climbench.open_dataset(url, sha256=good)
    assert "2m_temperature" in ds


def test_checksum_mismatch_leaves_nothing(served_t2m) -> None:
    src, _, url = served_t2m
    wrong = "0" * 64
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(url, sha256=wrong)
    message = str(info.value)
    assert url in message and "checksum" in message and wrong in message
    assert hashlib.sha256(src.read_bytes()).hexdigest() in message
    assert cache_files() == []


def test_cached_file_rechecked_against_checksum(served_t2m) -> None:
    src, server, url = served_t2m
    climbench.open_dataset(url)  # cached, unverified
    target = remote.cached_path(url)
    target.write_bytes(b"corrupted in the cache")
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    ds = climbench.open_dataset(url, sha256=good)  # mismatch: downloaded again
    assert target.read_bytes() == src.read_bytes()
    assert ds.sizes["time"] == 480
    assert len(server.gets(src.name)) == 2


def test_interrupted_download_resumes_with_range(shared_file, copy_to, serve_directory) -> None:
    # ERSST (4 MB): large enough that whole 1 MiB blocks arrive before the cut
    src = shared_file(ERSST)
    server = serve_directory(copy_to(src).parent)
    url = server.url_of(src.name)
    size = src.stat().st_size
    server.cut_after[f"/{src.name}"] = int(size * 0.7)  # the connection drops at 70 %
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(url)
    assert url in str(info.value) and "resume" in str(info.value)
    target = remote.cached_path(url)
    part = target.with_name(target.name + ".part")
    assert not target.exists()  # nothing that looks complete
    assert part.exists() and 0 < part.stat().st_size < size
    kept = part.stat().st_size

    ds = climbench.open_dataset(url)  # the second attempt resumes where it stopped
    gets = server.gets(src.name)
    assert len(gets) == 2 and gets[0]["range"] is None
    assert gets[1]["range"] == f"bytes={kept}-"
    assert target.read_bytes() == src.read_bytes()
    assert not part.exists()
    xr.testing.assert_identical(
        without_path_attrs(ds), without_path_attrs(climbench.open_dataset(src))
    )


def test_existing_part_file_resumes(served_t2m) -> None:
    src, server, url = served_t2m
    data = src.read_bytes()
    target = remote.cached_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    part.write_bytes(data[:1000])
    good = hashlib.sha256(data).hexdigest()
    path = remote.fetch(url, sha256=good)
    assert path == target and path.read_bytes() == data
    (get,) = server.gets(src.name)
    assert get["range"] == "bytes=1000-"


def test_complete_part_file_is_finished_without_download(served_t2m) -> None:
    src, server, url = served_t2m
    data = src.read_bytes()
    target = remote.cached_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.with_name(target.name + ".part").write_bytes(data)
    path = remote.fetch(url, sha256=hashlib.sha256(data).hexdigest())
    assert path.read_bytes() == data
    assert server.gets(src.name)[-1]["range"] == f"bytes={len(data)}-"  # answered 416


def test_http_404(tmp_path: Path, serve_directory) -> None:
    server = serve_directory(tmp_path)
    url = server.url_of("missing.nc")
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(url)
    assert url in str(info.value) and "404" in str(info.value)
    assert cache_files() == []


def test_unreachable_server(tmp_path: Path, serve_directory) -> None:
    server = serve_directory(tmp_path)
    url = server.url_of("x.nc").replace(server.url.rsplit(":", 1)[1], "9")  # port 9: closed
    with pytest.raises(DataFileError) as info:
        remote.fetch(url, timeout=5)
    assert "download failed" in str(info.value)


def test_downloaded_html_page_refused(tmp_path: Path, serve_directory) -> None:
    (tmp_path / "data.nc").write_text("<html><body>Please log in</body></html>")
    server = serve_directory(tmp_path)
    with pytest.raises(DataFileError, match="HTML"):
        climbench.open_dataset(server.url_of("data.nc"))
