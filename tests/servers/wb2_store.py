"""WeatherBench-2-layout Zarr stores built from real files of ``../shared/data``.

- :func:`build_uk_t2m`: ERA5 2 m temperature over the UK, March 2019 (hourly, 0.25 deg),
  stored as WeatherBench 2's older stores are: Zarr v2 with consolidated metadata,
  dims ``(time, longitude, latitude)``, latitude descending, the WB2 variable name.
- :func:`build_eda_levels`: ERA5 EDA member 0 geopotential and temperature at 500 and
  850 hPa (12-hourly, 3 deg, global), dims ``(time, level, longitude, latitude)``.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

UK_GRIB = "pydata+xarray-data/era5-2mt-2019-03-uk.grib"
EDA_GRIB = "ecmwf+cfgrib/tests/sample-data/era5-levels-members.grib"


def _open_grib(path: Path) -> xr.Dataset:
    return xr.open_dataset(path, engine="cfgrib", backend_kwargs={"indexpath": ""})


def build_uk_t2m(shared_data: Path, dest: Path, time_chunk: int = 24) -> Path:
    raw = _open_grib(shared_data / UK_GRIB).load()
    ds = raw[["t2m"]].rename(t2m="2m_temperature")
    ds = ds.drop_vars(["number", "step", "surface", "valid_time"])
    ds = ds.transpose("time", "longitude", "latitude")
    ds["2m_temperature"].encoding = {"chunks": (time_chunk, 49, 33)}
    ds.to_zarr(dest, mode="w-", zarr_format=2, consolidated=True)
    return dest


def build_eda_levels(shared_data: Path, dest: Path) -> Path:
    raw = _open_grib(shared_data / EDA_GRIB).isel(number=0).load()
    ds = raw[["z", "t"]].rename(z="geopotential", t="temperature", isobaricInhPa="level")
    ds = ds.drop_vars([c for c in ("number", "step", "valid_time") if c in ds.coords])
    ds = ds.transpose("time", "level", "longitude", "latitude")
    for name in ("geopotential", "temperature"):
        ds[name].encoding = {"chunks": (1, 1, ds.sizes["longitude"], ds.sizes["latitude"])}
    ds.to_zarr(dest, mode="w-", zarr_format=2, consolidated=True)
    return dest


OETZTAL_T2M = "OGGM+oggm-sample-data/test-workflow/climate/sel_era5_monthly_t2m_1979-2018.nc"


def build_monthly_t2m(shared_data: Path, dest: Path, time_chunk: int = 12) -> Path:
    """ERA5 monthly 2 m temperature over the Oetztal Alps, 1979-2018 (480 months, 4 x 4),
    one year per chunk, dims ``(time, longitude, latitude)``: years select chunks."""
    with xr.open_dataset(shared_data / OETZTAL_T2M) as raw:
        ds = raw[["t2m"]].rename(t2m="2m_temperature").load()
    ds = ds.transpose("time", "longitude", "latitude")
    ds["2m_temperature"].encoding = {"chunks": (time_chunk, 4, 4)}
    ds.to_zarr(dest, mode="w-", zarr_format=2, consolidated=True)
    return dest
