"""Zarr layouts of the field: WeatherBench 2 / ARCO-ERA5 stores and CMIP6 (Pangeo) stores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import climbench
from climbench.data.schema import validate


def wb2_store(path, latitude_descending: bool) -> xr.Dataset:
    """A store in the WeatherBench 2 layout: long names, latitude/longitude, level in hPa."""
    lat = np.linspace(-87.1875, 87.1875, 32)
    lat = lat[::-1] if latitude_descending else lat
    lon = np.arange(64) * 5.625
    time = pd.date_range("2020-01-01", periods=4, freq="6h")
    rng = np.random.default_rng(1)
    ds = xr.Dataset(
        {
            "geopotential": (
                ("time", "level", "latitude", "longitude"),
                5e4 + rng.standard_normal((4, 3, 32, 64)),
                {"units": "m**2 s**-2"},
            ),
            "2m_temperature": (
                ("time", "latitude", "longitude"),
                280 + rng.standard_normal((4, 32, 64)),
                {"units": "K"},
            ),
            "total_precipitation_6hr": (
                ("time", "latitude", "longitude"),
                rng.random((4, 32, 64)) * 1e-3,
                {"units": "m"},
            ),
        },
        coords={
            "time": time,
            "level": ("level", [1000, 500, 850], {"units": "hPa"}),
            "latitude": lat,
            "longitude": lon,
        },
    )
    ds.to_zarr(path, consolidated=True)
    return ds


@pytest.mark.parametrize("descending", [False, True])
def test_weatherbench2_zarr_layout(tmp_path, descending):
    raw = wb2_store(tmp_path / "wb2.zarr", descending)
    ds = climbench.open_dataset(tmp_path / "wb2.zarr")
    validate(ds)
    assert ds.attrs["climbench_source"] == "era5"
    assert ds["level"].values.tolist() == [500.0, 850.0, 1000.0]
    assert ds["geopotential"].dims == ("time", "level", "lat", "lon")
    assert (np.diff(ds["lat"].values) > 0).all()
    expected = raw["geopotential"].sel(level=850).sortby("latitude").isel(time=2).values
    np.testing.assert_array_equal(ds["geopotential"].sel(level=850).isel(time=2).values, expected)
    assert ds["total_precipitation_6hr"].attrs["units"] == "m"


def test_cmip6_zarr_store_keeps_calendar_and_metadata(tmp_path):
    import cftime

    time = [cftime.DatetimeNoLeap(2015 + i // 12, i % 12 + 1, 16) for i in range(24)]
    ds = xr.Dataset(
        {
            "tas": (("time", "lat", "lon"), 288 + np.zeros((24, 4, 8), np.float32), {"units": "K"}),
            "pr": (
                ("time", "lat", "lon"),
                np.full((24, 4, 8), 3e-5, np.float32),
                {"units": "kg m-2 s-1"},
            ),
        },
        coords={"time": time, "lat": [-67.5, -22.5, 22.5, 67.5], "lon": np.arange(8) * 45.0},
        attrs={
            "mip_era": "CMIP6",
            "activity_id": "ScenarioMIP",
            "source_id": "TOY-ESM",
            "experiment_id": "ssp245",
            "variant_label": "r2i1p1f1",
            "table_id": "Amon",
            "grid_label": "gn",
            "institution_id": "XYZ",
        },
    )
    ds.to_zarr(tmp_path / "cmip6.zarr", consolidated=True)
    out = climbench.open_dataset(tmp_path / "cmip6.zarr")
    validate(out)
    assert out.attrs["climbench_source"] == "cmip6"
    assert out.attrs["member_id"] == "r2i1p1f1" and out.attrs["experiment_id"] == "ssp245"
    assert isinstance(out["time"].values[0], cftime.DatetimeNoLeap)  # calendar kept
    assert set(out.data_vars) == {"2m_temperature", "mean_total_precipitation_rate"}
