"""Prepared stores: content, statistics, manifest, chunking, atomicity and bad requests."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import climbench
from climbench.data import prepare as prepare_mod
from climbench.data.grids import cell_area_weights, get_grid
from climbench.data.prepare import MANIFEST, open_prepared, read_manifest
from climbench.data.schema import validate
from climbench.errors import CoordinateError, DataValueError, RegridError, StoreError

UK = "pydata+xarray-data/era5-2mt-2019-03-uk.grib"
ERAINT = "pydata+xarray-data/eraint_uvz.nc"
CMIP6 = "Climate-REF+ref-sample-data/data/CMIP6/CMIP/CSIRO/ACCESS-ESM1-5/piControl/r1i1p1f1/Amon"


def synthetic(times: int = 48, nan_var: bool = False) -> xr.Dataset:
    """A small canonical dataset on the 5.625-degree grid."""
    grid = get_grid("5.625")
    rng = np.random.default_rng(0)
    time = pd.date_range("2000-01-01", periods=times, freq="6h")
    t2m = 280 + 10 * rng.standard_normal((times, *grid.shape)).astype(np.float32)
    ds = xr.Dataset(
        {"2m_temperature": (("time", "lat", "lon"), t2m, {"units": "K"})},
        coords={"time": time, **grid.coords()},
    )
    if nan_var:
        ds["mean_sea_level_pressure"] = xr.full_like(ds["2m_temperature"], np.nan).assign_attrs(
            units="Pa"
        )
    return ds


def test_prepare_real_grib_regional(tmp_path, shared_file):
    source = shared_file(UK)
    out = climbench.prepare(source, tmp_path / "uk.zarr", grid="lat=50.5:57.5:1,lon=-9.5:1.5:1")
    ds = open_prepared(out)
    validate(ds)
    assert ds["2m_temperature"].dtype == np.float32
    assert ds.sizes == {"time": 744, "lat": 8, "lon": 12}
    manifest = read_manifest(out)
    expected_sha = hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["sources"][0]["sha256"] == expected_sha
    assert manifest["grid"]["nlat"] == 8 and manifest["method"] == "conservative"
    assert manifest["chunks"]["2m_temperature"] == [1, 8, 12]  # one time step per chunk
    stats = manifest["stats"]["2m_temperature"]
    values = ds["2m_temperature"].values.astype(np.float64)
    assert stats["mean"] == pytest.approx(values.mean(), rel=1e-9)
    assert stats["std"] == pytest.approx(values.std(), rel=1e-9)
    assert stats["diff_std"] == pytest.approx(np.diff(values, axis=0).std(), rel=1e-9)
    assert 270 < stats["mean"] < 290  # March over the UK
    assert manifest["time"]["step"] == "0 days 01:00:00"


def test_stats_use_only_the_requested_period(tmp_path, shared_file):
    out = climbench.prepare(
        shared_file(UK), tmp_path / "uk.zarr", stats_period=("2019-03-01", "2019-03-10T23:00")
    )
    manifest = read_manifest(out)
    assert manifest["stats_period"]["steps"] == 240
    ds = open_prepared(out)
    first_days = ds["2m_temperature"].sel(time=slice("2019-03-01", "2019-03-10T23:00"))
    assert manifest["stats"]["2m_temperature"]["mean"] == pytest.approx(
        float(first_days.astype("float64").mean()), rel=1e-9
    )
    assert manifest["stats"]["2m_temperature"]["mean"] != pytest.approx(
        float(ds["2m_temperature"].astype("float64").mean()), rel=1e-6
    )


def test_prepare_levels_and_global_mean_from_cli(tmp_path, shared_file):
    out = tmp_path / "eraint.zarr"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "climbench.cli",
            "data",
            "prepare",
            str(shared_file(ERAINT)),
            "--grid",
            "5.625",
            "--out",
            str(out),
            "--level",
            "500",
            "-v",
            "z",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    ds = open_prepared(out)
    assert list(ds.data_vars) == ["geopotential"] and ds["level"].values.tolist() == [500.0]
    source = climbench.open_dataset(shared_file(ERAINT))["geopotential"].sel(level=500)
    w_src = xr.DataArray(cell_area_weights(source["lat"].values), dims="lat")
    w_out = xr.DataArray(cell_area_weights(ds["lat"].values), dims="lat")
    for month in range(2):
        before = float(source.isel(month=month).weighted(w_src).mean(("lat", "lon")))
        after = float(
            ds["geopotential"]
            .isel(month=month, level=0)
            .astype("float64")
            .weighted(w_out)
            .mean(("lat", "lon"))
        )
        assert abs(after / before - 1) < 1e-6


def test_prepare_combines_cmip6_variables_over_a_common_range(tmp_path, shared_data):
    tas = next((shared_data / CMIP6 / "tas").rglob("*.nc"))
    rlut = next((shared_data / CMIP6 / "rlut").rglob("*.nc"))
    with pytest.raises(Exception, match="cannot be combined"):
        climbench.prepare([tas, rlut], tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()
    out = climbench.prepare([tas, rlut], tmp_path / "cmip.zarr", time_range=(None, "0125-12-31"))
    ds = open_prepared(out)
    assert set(ds.data_vars) == {"2m_temperature", "toa_outgoing_longwave_flux"}
    assert ds.sizes["time"] == 300
    assert type(ds["time"].values[0]).__module__.startswith("cftime")  # calendar kept
    assert read_manifest(out)["time"]["calendar"] == "proleptic_gregorian"


def test_in_memory_dataset_source_and_sharding(tmp_path):
    out = climbench.prepare(synthetic(times=200), tmp_path / "s.zarr", time_chunk=4)
    manifest = read_manifest(out)
    assert manifest["chunks"]["2m_temperature"] == [4, 32, 64]
    ds = open_prepared(out)
    xr.testing.assert_allclose(ds["2m_temperature"].load(), synthetic(times=200)["2m_temperature"])


def test_existing_output_is_refused_then_replaced(tmp_path):
    out = climbench.prepare(synthetic(), tmp_path / "s.zarr")
    with pytest.raises(StoreError, match="already exists"):
        climbench.prepare(synthetic(), out)
    climbench.prepare(synthetic(times=8), out, overwrite=True)
    assert open_prepared(out).sizes["time"] == 8
    assert not list(tmp_path.glob(".s.zarr.*"))


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failed_write_leaves_nothing_that_looks_complete(tmp_path, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    out = tmp_path / "s.zarr"
    monkeypatch.setattr(prepare_mod, "write_json_atomic", fail)
    expected = StoreError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        climbench.prepare(synthetic(), out)
    assert not out.exists()
    assert not list(tmp_path.glob(".s.zarr.partial-*"))


def test_failed_overwrite_keeps_the_old_store(tmp_path, monkeypatch):
    out = climbench.prepare(synthetic(times=8), tmp_path / "s.zarr")
    before = (out / MANIFEST).read_text()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(prepare_mod.dask, "compute", fail)
    with pytest.raises(StoreError, match="No space left"):
        climbench.prepare(synthetic(times=16), out, overwrite=True)
    assert (out / MANIFEST).read_text() == before
    assert open_prepared(out).sizes["time"] == 8


def test_directory_without_manifest_is_not_a_prepared_store(tmp_path):
    synthetic().to_zarr(tmp_path / "raw.zarr")
    with pytest.raises(StoreError, match="not a complete prepared store"):
        open_prepared(tmp_path / "raw.zarr")


def test_all_nan_variable_is_refused(tmp_path):
    with pytest.raises(DataValueError, match="mean_sea_level_pressure"):
        climbench.prepare(synthetic(nan_var=True), tmp_path / "s.zarr")
    assert not (tmp_path / "s.zarr").exists()


def test_bad_selections(tmp_path, shared_file):
    with pytest.raises(CoordinateError, match="levels"):
        climbench.prepare(shared_file(ERAINT), tmp_path / "a.zarr", levels=[300])
    with pytest.raises(CoordinateError, match="no time step"):
        climbench.prepare(synthetic(), tmp_path / "b.zarr", time_range=("1990", "1991"))
    with pytest.raises(CoordinateError, match="statistics period"):
        climbench.prepare(synthetic(), tmp_path / "c.zarr", stats_period=("1990", "1991"))
    with pytest.raises(RegridError, match="different grids"):
        climbench.prepare(
            [synthetic(), synthetic().coarsen(lat=2, lon=2).mean()], tmp_path / "d.zarr"
        )
    assert not any(tmp_path.iterdir())


def test_manifest_is_json_with_versions(tmp_path):
    out = climbench.prepare(synthetic(), tmp_path / "s.zarr")
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["climbench_version"] == climbench.__version__
    assert {"xarray", "zarr", "dask"} <= set(manifest["libraries"])
    assert manifest["variables"]["2m_temperature"]["units"] == "K"
