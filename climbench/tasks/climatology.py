"""Day-of-year x hour-of-day climatologies from the training split only.

The climatology of a field at (day of year d, hour h) is the mean of all training-period
values at hour h whose day of year lies within ``window_days / 2`` of d (circular in the
year), as WeatherBench 2's smoothed hourly climatology (61-day window). It is the reference
of the ACC and the climatology baseline, and it never sees validation or test data.

Days of year run 1-366 as ``time.dt.dayofyear`` (so 31 December is 365 or 366); day 366 has
few samples of its own but the window fills it from its neighbours. A (day, hour) with no
training value in its window is NaN; the scorer refuses to use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from climbench.io import atomic_directory
from climbench.tasks.spec import Field, Period

DAYS = 366
#: time steps decoded per block while accumulating sums (bounds memory, keeps reads large)
BLOCK_STEPS = 256


def _window_sum(x: np.ndarray, window_days: int) -> np.ndarray:
    """Circular moving sum over axis 0 (the 366 days) of ``window_days`` centred days."""
    half = window_days // 2
    padded = np.concatenate([x[-half:], x, x[:half]], axis=0) if half else x
    csum = np.cumsum(padded, axis=0, dtype=np.float64)
    csum = np.concatenate([np.zeros_like(csum[:1]), csum], axis=0)
    return csum[2 * half + 1 :] - csum[: -2 * half - 1] if half else x.astype(np.float64)


def compute_climatology(
    ds: xr.Dataset,
    fields: Sequence[Field],
    period: Period,
    window_days: int = 61,
) -> xr.Dataset:
    """The smoothed (dayofyear, hour) climatology of ``fields`` over ``period`` of ``ds``.

    ``ds``: canonical dataset with a ``time`` dim (e.g. a prepared store). Returns float32
    variables named by :attr:`Field.name` with dims (dayofyear, hour, lat, lon).
    """
    part = ds.sel(time=period.slice())
    times = pd.DatetimeIndex(part["time"].values)
    hours = np.unique(times.hour)
    day_index = times.day_of_year.to_numpy() - 1
    hour_index = np.searchsorted(hours, times.hour.to_numpy())
    out = {}
    for f in fields:
        da = part[f.variable]
        if f.level is not None:
            da = da.sel(level=f.level)
        shape = (DAYS, hours.size, da.sizes["lat"], da.sizes["lon"])
        sums = np.zeros(shape, dtype=np.float64)
        counts = np.zeros(shape[:2], dtype=np.float64)
        for start in range(0, times.size, BLOCK_STEPS):
            block = slice(start, start + BLOCK_STEPS)
            values = np.asarray(da.isel(time=block).values, dtype=np.float64)
            np.add.at(sums, (day_index[block], hour_index[block]), values)
            np.add.at(counts, (day_index[block], hour_index[block]), 1.0)
        total = _window_sum(sums, window_days)
        n = _window_sum(counts, window_days)[..., None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        out[f.name] = xr.DataArray(
            mean.astype(np.float32),
            dims=("dayofyear", "hour", "lat", "lon"),
            attrs={
                "units": da.attrs.get("units", ""),
                "variable": f.variable,
                "level": "" if f.level is None else f.level,
            },
        )
    return xr.Dataset(
        out,
        coords={
            "dayofyear": np.arange(1, DAYS + 1),
            "hour": hours,
            "lat": ds["lat"].values,
            "lon": ds["lon"].values,
        },
        attrs={
            "climatology_period": f"{period.start}..{period.end}",
            "window_days": window_days,
            "description": "smoothed day-of-year x hour climatology, training split only",
        },
    )


def write_climatology(clim: xr.Dataset, out: Path, overwrite: bool = True) -> Path:
    """Write ``clim`` as a Zarr store atomically (one chunk per variable and hour)."""
    encoding = {
        name: {"chunks": (DAYS, 1, clim.sizes["lat"], clim.sizes["lon"])} for name in clim.data_vars
    }
    with atomic_directory(out, "climatology", overwrite=overwrite) as tmp:
        clim.to_zarr(
            tmp,
            mode="w",
            encoding=encoding,
            consolidated=True,
            zarr_format=3,
            write_empty_chunks=True,
        )
    return out
