"""Zarr subsets of WeatherBench-2-layout stores built from real ERA5 files, read over HTTP
(a loopback server) and over a GCS emulator through gcsfs: only the covering chunks are
fetched, the result is canonical and equal to the source, and an interrupted fetch
resumes without fetching any chunk twice, also after a SIGKILL mid-fetch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
import zarr
from typer.testing import CliRunner

import climbench
from climbench.cli import app
from climbench.datasets import zarr_subset
from climbench.datasets.card import card_from_dict
from climbench.datasets.manifest import MANIFEST, verify
from climbench.errors import ConfigError, DataFileError, StoreError
from tests.servers.gcs import gcs_emulator
from tests.servers.http_files import FileServer
from tests.servers.wb2_store import build_eda_levels, build_monthly_t2m, build_uk_t2m

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stores(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    build_monthly_t2m(shared_data, root / "monthly.zarr")
    build_eda_levels(shared_data, root / "eda.zarr")
    build_uk_t2m(shared_data, root / "uk.zarr")
    return root


@pytest.fixture
def server(stores):
    server = FileServer(stores)
    yield server
    server.close()


def wb2_card(name: str = "wb2-era5-5.625"):
    data = yaml.safe_load((REPO / f"climbench/datasets/cards/{name}.yaml").read_text())
    return card_from_dict(data, name)


def chunk_requests(server: FileServer, store: str, array: str) -> list[str]:
    prefix = f"/{store}/{array}/"
    return [
        r.path.removeprefix(prefix)
        for r in server.log
        if r.path.startswith(prefix) and r.status == 200 and r.path[-1].isdigit()
    ]


def test_years_fetch_only_their_chunks(server, stores, tmp_path) -> None:
    out = climbench.download(
        wb2_card(),
        variables=["2m_temperature"],
        years="2000-2004",
        out=tmp_path / "dl",
        endpoint=server.url_of("monthly.zarr"),
    )
    # one year per chunk: chunks 21..25 along time, one along longitude and latitude
    assert sorted(chunk_requests(server, "monthly.zarr", "2m_temperature")) == [
        f"{i}.0.0" for i in range(21, 26)
    ]
    ds = climbench.open_dataset(out / "wb2-era5-5.625.zarr")
    src = climbench.open_dataset(stores / "monthly.zarr").sel(time=slice("2000", "2004"))
    assert ds.sizes == {"time": 60, "lat": 4, "lon": 4}
    assert list(ds["lat"].values) == sorted(ds["lat"].values)  # canonical: ascending
    np.testing.assert_array_equal(ds["2m_temperature"].values, src["2m_temperature"].values)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["source"]["chunks_fetched"] == 5 + 3  # and the time, lat, lon coordinates
    assert manifest["request"]["years"] == [2000, 2004]
    assert verify(out)[1] == []
    assert not (out / zarr_subset.MIRROR).exists()


def test_bytes_fetched_are_the_covering_chunks(server, stores, tmp_path) -> None:
    climbench.download(
        wb2_card(), variables=["2m_temperature"], years="2019", out=tmp_path / "dl",
        endpoint=server.url_of("uk.zarr"),
    )  # fmt: skip
    chunks = sorted((stores / "uk.zarr" / "2m_temperature").glob("[0-9]*"))
    covering = sum(p.stat().st_size for p in chunks)
    sent = sum(
        r.sent
        for r in server.log
        if r.path.startswith("/uk.zarr/2m_temperature/") and r.path[-1].isdigit()
    )
    assert sent == covering
    assert server.bytes_sent() <= 1.1 * covering  # metadata and coordinates included


def test_level_selection_reads_only_that_level(server, stores, tmp_path) -> None:
    out = climbench.download(
        wb2_card(), variables=["geopotential"], levels=[500], years="2017",
        out=tmp_path / "dl", endpoint=server.url_of("eda.zarr"),
    )  # fmt: skip
    levels = zarr.open_group(stores / "eda.zarr", mode="r")["level"][:].tolist()  # as stored
    keys = chunk_requests(server, "eda.zarr", "geopotential")
    assert keys and {k.split(".")[1] for k in keys} == {str(levels.index(500))}
    ds = climbench.open_dataset(out / "wb2-era5-5.625.zarr")
    assert ds["level"].values.tolist() == [500] and ds.sizes["time"] == 4
    src = climbench.open_dataset(stores / "eda.zarr")["geopotential"].sel(level=[500])
    np.testing.assert_allclose(ds["geopotential"].values, src.values)


def test_interrupted_fetch_resumes_with_the_missing_chunks(server, tmp_path) -> None:
    card = wb2_card()
    url = server.url_of("monthly.zarr")
    server.faults.fail_after = 12  # metadata, coordinates and a few chunks, then 500s
    with pytest.raises(DataFileError, match="cannot read the remote store"):
        climbench.download(card, variables=["2m_temperature"], out=tmp_path / "dl",
                           endpoint=url, jobs=1)  # fmt: skip
    assert not (tmp_path / "dl" / MANIFEST).exists()
    first = set(chunk_requests(server, "monthly.zarr", "2m_temperature"))
    assert 0 < len(first) < 40
    server.faults.fail_after = None
    server.log.clear()
    out = climbench.download(card, variables=["2m_temperature"], out=tmp_path / "dl", endpoint=url)
    second = set(chunk_requests(server, "monthly.zarr", "2m_temperature"))
    assert first.isdisjoint(second) and len(first | second) == 40
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["source"]["chunks_reused"] == len(first) + 3  # and the coordinates
    assert climbench.open_dataset(out / "wb2-era5-5.625.zarr").sizes["time"] == 480


def test_unknown_level_and_years_outside_are_refused(server, tmp_path) -> None:
    with pytest.raises(ConfigError, match="no such pressure level"):
        climbench.download(wb2_card(), variables=["geopotential"], levels=[333], dry_run=True,
                           out=tmp_path / "dl", endpoint=server.url_of("eda.zarr"))  # fmt: skip
    with pytest.raises(ConfigError, match="no times of the store fall in the years"):
        climbench.download(wb2_card(), variables=["2m_temperature"], years="1950", dry_run=True,
                           out=tmp_path / "dl", endpoint=server.url_of("monthly.zarr"))  # fmt: skip
    with pytest.raises(DataFileError, match="no Zarr store at the endpoint"):
        climbench.download(wb2_card(), variables=["2m_temperature"], dry_run=True,
                           out=tmp_path / "dl", endpoint=server.url_of("missing.zarr"))  # fmt: skip


def test_gcs_emulator_through_gcsfs(stores, tmp_path, monkeypatch) -> None:
    """The card's own gs:// endpoint, served by a GCS emulator (gcsfs with an endpoint URL)."""
    gcsfs = pytest.importorskip("gcsfs")
    path = "weatherbench2/datasets/era5/1959-2023_01_10-6h-64x32_equiangular_conservative.zarr"
    with gcs_emulator("weatherbench2") as endpoint:
        fs = gcsfs.GCSFileSystem(endpoint_url=endpoint, token="anon")
        fs.put(str(stores / "monthly.zarr"), path, recursive=True)
        monkeypatch.setenv(zarr_subset.GCS_ENDPOINT_ENV, endpoint)
        out = climbench.download("wb2-era5-5.625", variables=["2m_temperature"],
                                 years="2016-2018", out=tmp_path / "dl")  # fmt: skip
    ds = climbench.open_dataset(out / "wb2-era5-5.625.zarr")
    src = climbench.open_dataset(stores / "monthly.zarr").sel(time=slice("2016", "2018"))
    np.testing.assert_array_equal(ds["2m_temperature"].values, src["2m_temperature"].values)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["endpoint"].startswith("gs://weatherbench2/")
    assert manifest["source"]["chunks_fetched"] == 3 + 3


def test_cli_download_dry_run_and_verify(server, tmp_path, monkeypatch) -> None:
    """The README commands, on the real card pointed at the loopback server."""
    monkeypatch.setenv("CLIMBENCH_ENDPOINT_WB2_ERA5_5_625", server.url_of("monthly.zarr"))
    runner = CliRunner()
    out = tmp_path / "era5"
    args = ["datasets", "download", "wb2-era5-5.625", "--variable", "2m_temperature",
            "--years", "1979-2018", "--out", str(out)]  # fmt: skip
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "40 chunk(s)" in dry.output.replace("\n", " ") and not out.exists()
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "complete" in done.output
    checked = runner.invoke(app, ["datasets", "verify", str(out)])
    assert checked.exit_code == 0 and "match the manifest" in checked.output
    store = out / "wb2-era5-5.625.zarr"
    victim = next(p for p in sorted(store.rglob("*")) if p.is_file() and p.parent.name == "c")
    victim.write_bytes(b"broken")
    checked = runner.invoke(app, ["datasets", "verify", str(out)])
    assert checked.exit_code != 0 and "bad" in checked.output


def test_arco_valid_time_attributes_clip_the_years(stores, tmp_path) -> None:
    """ARCO-ERA5's time axis runs past its data: only valid_time_start..stop is fetched."""
    store = tmp_path / "arco.zarr"
    shutil.copytree(stores / "monthly.zarr", store)
    group = zarr.open_group(store, mode="r+")
    group.attrs.update(valid_time_start="1979-01-01", valid_time_stop="1999-12-01")
    zarr.consolidate_metadata(store)
    server = FileServer(tmp_path)
    try:
        plan = climbench.download("arco-era5", variables=["2m_temperature"], years="1995-2005",
                                  endpoint=server.url_of("arco.zarr"), dry_run=True)  # fmt: skip
    finally:
        server.close()
    [data] = [a for a in plan.payload.arrays if a.name == "2m_temperature"]
    assert sorted(data.keys) == [f"2m_temperature/{i}.0.0" for i in range(16, 21)]
    assert any("valid times" in note for note in plan.notes)


def test_a_full_disk_is_reported_with_the_path(server, tmp_path, monkeypatch) -> None:
    def no_space(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zarr_subset, "_write_atomic", no_space)
    with pytest.raises(StoreError, match="disk full") as info:
        climbench.download(wb2_card(), variables=["2m_temperature"], years="2000",
                           out=tmp_path / "dl", endpoint=server.url_of("monthly.zarr"))  # fmt: skip
    assert str(tmp_path / "dl") in str(info.value)
    assert not (tmp_path / "dl" / MANIFEST).exists()


def test_partial_data_of_another_request_are_not_resumed(server, tmp_path) -> None:
    card, url = wb2_card(), server.url_of("monthly.zarr")
    server.faults.fail_after = 12
    with pytest.raises(DataFileError):
        climbench.download(card, variables=["2m_temperature"], years="1979-1990",
                           out=tmp_path / "dl", endpoint=url, jobs=1)  # fmt: skip
    assert (tmp_path / "dl" / zarr_subset.MIRROR).is_dir()
    server.faults.fail_after = None
    out = climbench.download(card, variables=["2m_temperature"], years="1979-1980",
                             out=tmp_path / "dl", endpoint=url)  # fmt: skip
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["source"]["chunks_reused"] == 0 and manifest["source"]["chunks_fetched"] == 5
    assert climbench.open_dataset(out / "wb2-era5-5.625.zarr").sizes["time"] == 24


def chunk_keys(paths, store: str) -> list[str]:
    """The chunk keys (``2m_temperature/3.0.0``, ``time/0``) among request paths of ``store``:
    not its metadata documents."""
    prefix = f"/{store}/"
    return [
        p.removeprefix(prefix)
        for p in paths
        if p.startswith(prefix) and p.rsplit("/", 1)[-1][:1].isdigit()
    ]


def mirror_chunks(mirror: Path) -> set[str]:
    """The chunk keys written into a mirror (not metadata, not a killed write's temporary)."""
    return {
        p.relative_to(mirror).as_posix()
        for p in mirror.rglob("*")
        if p.is_file() and p.name[:1].isdigit()
    }


def test_kill_9_mid_zarr_subset_then_rerun(server, stores, tmp_path) -> None:
    """A Zarr subset killed with SIGKILL mid-fetch resumes: complete, verified, equal to the
    source, and no chunk the first run received and wrote is fetched again.

    The server answers the data chunks one at a time, ``pace`` seconds apart (a slow store),
    while the child keeps 16 requests open, so the kill lands after some chunks and before
    the rest. "Fetched twice": a chunk key answered 200 with its full body in run 1 and
    requested again in run 2; at most one may be (the one answered just before the kill,
    sent but not yet written). The requests the server still held are in flight: run 2
    fetches them, as it must.
    """
    pace, kill_after, data = 0.25, 10, "/monthly.zarr/2m_temperature/"
    url, out = server.url_of("monthly.zarr"), tmp_path / "dl"
    server.faults.pace_s, server.faults.pace_prefix = pace, data
    script = textwrap.dedent(
        f"""
        import climbench
        climbench.download("wb2-era5-5.625", variables=["2m_temperature"],
                           out={str(out)!r}, endpoint={url!r})
        """
    )
    output = tmp_path / "child.txt"
    with output.open("wb") as sink:
        child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=sink,
                                 stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len([r for r in server.log if r.path.startswith(data)]) < kill_after:
            assert child.poll() is None, f"the child ended first:\n{output.read_text()}"
            assert time.monotonic() < deadline, "the child fetched too few chunks in 120 s"
            time.sleep(0.01)
        run1, arrived1 = list(server.log), list(server.arrived)  # the cut: the kill
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    server.faults.pace_s = 0  # the requests the dead child left are answered, into nothing
    deadline = time.monotonic() + 60
    while server.in_flight() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.in_flight() == 0

    # nothing looks complete; what was written is whole chunks of the source
    assert not (out / MANIFEST).exists() and not (out / "wb2-era5-5.625.zarr").exists()
    mirror = out / zarr_subset.MIRROR
    written = mirror_chunks(mirror)
    src = stores / "monthly.zarr"
    assert all((mirror / k).read_bytes() == (src / k).read_bytes() for k in written)
    all_keys = mirror_chunks(src)  # the 40 data chunks and the 3 coordinates
    assert 0 < len({k for k in written if k.startswith("2m_temperature/")}) < 40
    answered1 = {  # answered 200 with the full body before the kill
        k
        for r in run1
        for k in chunk_keys([r.path], "monthly.zarr")
        if r.status == 200 and r.sent == (src / k).stat().st_size
    }

    # rerun in-process, unpaced
    arrived_before = len(server.arrived)
    result = climbench.download(wb2_card(), variables=["2m_temperature"], out=out, endpoint=url)
    requested2 = set(chunk_keys(server.arrived[arrived_before:], "monthly.zarr"))
    ds = climbench.open_dataset(result / "wb2-era5-5.625.zarr")
    np.testing.assert_array_equal(
        ds["2m_temperature"].values, climbench.open_dataset(src)["2m_temperature"].values
    )
    assert ds.sizes == {"time": 480, "lat": 4, "lon": 4} and verify(result)[1] == []
    manifest = json.loads((result / MANIFEST).read_text())
    assert not mirror.exists()

    twice = answered1 & requested2
    in_flight = set(chunk_keys(arrived1, "monthly.zarr")) - written
    numbers = (
        f"run 1 answered {len(answered1)} chunks in full and wrote {len(written)}; "
        f"{len(in_flight)} were in flight at the kill; run 2 fetched {len(requested2)}, "
        f"{len(twice)} of them answered in full in run 1: {sorted(twice)}"
    )
    assert requested2.isdisjoint(written), numbers  # what was written is never refetched
    assert len(twice) <= 1, numbers
    assert requested2 == all_keys - written, numbers  # and what was not, is
    assert manifest["source"]["chunks_reused"] == len(written), numbers
    assert manifest["source"]["chunks_fetched"] == len(requested2), numbers
    print(numbers)
