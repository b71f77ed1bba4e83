"""Scoring gridded forecasts against station observations.

The forecast (a canonical regular-grid dataset, dims ``time, ..., lat, lon`` or the forecast
layout ``init_time, lead_time, ..., lat, lon``) is interpolated bilinearly to each station
(:func:`climbench.data.regrid_curvilinear.regular_to_points_matrix`; NaN-aware, so a
station beside a masked cell takes the valid neighbours). Temperatures may be moved from
the model's terrain height to the station's with a constant lapse rate (the standard
atmosphere's 6.5 K km-1 by default), ``T_station = T_model + gamma (z_model - z_station)``,
which needs the model orography (``geopotential_at_surface`` in m2 s-2, or a height in m).

Scores per station (over the times both have): ``bias`` (forecast - observed), ``mae``,
``rmse`` and ``n`` (the number of pairs). Aggregated over stations per time step, then over
times: bias and MAE are means of all pairs, RMSE ``sqrt`` of the mean squared error (each
time weighted by its number of valid stations), with a percentile bootstrap interval over
times (the resamples of :func:`climbench.evaluation.aggregate.resample_counts`, seeded, so
two forecasts on the same times get the same resamples).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.grids import Grid
from climbench.data.regrid_curvilinear import regular_to_points_matrix
from climbench.data.sparse_weights import regrid_array
from climbench.errors import DataValueError, SchemaError, VariableNotFoundError
from climbench.evaluation.aggregate import resample_counts

STANDARD_LAPSE_RATE = 0.0065  # K m-1, ICAO standard atmosphere below 11 km
G0 = 9.80665  # m s-2, the geopotential of 1 m
TEMPERATURES = ("2m_temperature", "2m_dewpoint_temperature")
METRICS = ("bias", "mae", "rmse")


def interpolate_to_stations(
    field: xr.Dataset | xr.DataArray, stations: xr.Dataset | xr.DataArray
) -> xr.Dataset | xr.DataArray:
    """``field`` (regular grid) at the stations' positions: dims ``..., station`` with the
    stations' coordinates."""
    if "lat" not in field.dims or "lon" not in field.dims:
        raise SchemaError(
            "station scoring needs a forecast on a regular lat-lon grid",
            path=field.attrs.get("climbench_path"),
            expected="dims lat, lon",
            found=f"dims {tuple(field.dims)}",
            hint="regrid curvilinear forecasts first (climbench.data.regrid.regrid)",
        )
    weights = regular_to_points_matrix(
        Grid.from_dataset(field), stations["lat"].values, stations["lon"].values
    )
    coords = {c: stations[c] for c in ("station", "lat", "lon", "elevation", "station_name")}

    def one(da: xr.DataArray) -> xr.DataArray:
        if "lat" not in da.dims or "lon" not in da.dims:
            return da
        da = da.drop_vars([c for c in da.coords if {"lat", "lon"} & set(da[c].dims)])
        n = stations.sizes["station"]
        return regrid_array(da, weights, ("lat", "lon"), ("station",), (n,), coords)

    return one(field) if isinstance(field, xr.DataArray) else field.map(one, keep_attrs=True)


def height_corrected(
    temperature: xr.DataArray,
    model_height: xr.DataArray,
    station_height: xr.DataArray,
    lapse_rate: float = STANDARD_LAPSE_RATE,
) -> xr.DataArray:
    """Temperature at the stations' heights: ``T + lapse_rate * (z_model - z_station)``
    (heights in m; a station below the model terrain is warmer)."""
    return (temperature + lapse_rate * (model_height - station_height)).assign_attrs(
        temperature.attrs
    )


def _model_height(orography: xr.DataArray) -> xr.DataArray:
    unit = str(orography.attrs.get("units", "m"))
    return orography / G0 if unit.replace(" ", "") in ("m2s-2", "m**2s**-2") else orography


def score_stations(
    forecast: xr.Dataset,
    observations: xr.Dataset,
    variables: list[str] | None = None,
    *,
    orography: xr.DataArray | None = None,
    lapse_rate: float | None = None,
    resamples: int = 1000,
) -> tuple[xr.Dataset, pd.DataFrame]:
    """Scores of a gridded ``forecast`` against station ``observations``.

    Args:
        forecast: canonical regular-grid dataset with ``time`` (valid times), or
            ``init_time`` and timedelta ``lead_time`` (scored per lead at its valid times).
        observations: canonical station dataset (:mod:`climbench.data.stations`).
        variables: variables in both (default: all they share).
        orography: model terrain on the forecast grid (m2 s-2 or m); with ``lapse_rate``
            (K m-1, e.g. :data:`STANDARD_LAPSE_RATE`) temperatures are height-corrected.
        resamples: bootstrap resamples over times for the aggregated intervals.

    Returns:
        ``(per_station, summary)``: a dataset of ``bias``, ``mae``, ``rmse`` and ``n`` per
        variable, [lead] and station (variables named ``<variable>_<metric>``), and a table
        with one row per variable, [lead] and metric: ``value``, ``ci_low``, ``ci_high``,
        ``n_times``, ``n_stations``.
    """
    shared = [str(v) for v in forecast.data_vars if v in observations.data_vars]
    variables = shared if variables is None else list(variables)
    missing = [v for v in variables if v not in shared]
    if missing or not variables:
        raise VariableNotFoundError(
            "variables to score are not in both the forecast and the observations",
            variable=", ".join(missing) or None,
            expected=f"variables of both: {shared}",
            found=f"forecast {sorted(map(str, forecast.data_vars))}, observations "
            f"{sorted(map(str, observations.data_vars))}",
        )
    at_stations = interpolate_to_stations(forecast[variables], observations)
    if lapse_rate is not None and orography is not None:
        height = interpolate_to_stations(_model_height(orography), observations)
        for name in variables:
            if name in TEMPERATURES:
                at_stations[name] = height_corrected(
                    at_stations[name], height, observations["elevation"], lapse_rate
                )
    leads = at_stations["lead_time"].values if "lead_time" in at_stations.dims else [None]
    per_station, rows = [], []
    for lead in leads:
        fc = at_stations if lead is None else _at_valid_times(at_stations, lead)
        fc, obs = xr.align(fc, observations[variables], join="inner")
        if fc.sizes.get("time", 0) == 0:
            raise DataValueError(
                "forecast and observations share no time",
                expected="overlapping valid times",
                found=f"forecast {_span(at_stations)}, observations {_span(observations)}",
            )
        scores = {}
        for name in variables:
            error = (fc[name] - obs[name]).astype(np.float64)
            scores.update(_per_station(error, name))
            rows += _aggregate(error, name, lead, resamples)
        block = xr.Dataset(scores)
        per_station.append(block if lead is None else block.expand_dims(lead_time=[lead]))
    table = pd.DataFrame(rows)
    return xr.concat(per_station, "lead_time") if leads[0] is not None else per_station[0], table


def _at_valid_times(ds: xr.Dataset, lead) -> xr.Dataset:
    one = ds.sel(lead_time=lead)
    valid = one["init_time"].values + lead
    return one.rename(init_time="time").assign_coords(time=valid).drop_vars("lead_time")


def _span(ds: xr.Dataset) -> str:
    for name in ("time", "init_time"):
        if name in ds.dims and ds.sizes[name]:
            return f"{ds[name].values[0]}..{ds[name].values[-1]}"
    return "no times"


def _per_station(error: xr.DataArray, name: str) -> dict[str, xr.DataArray]:
    dims = [d for d in error.dims if d != "station"]
    return {
        f"{name}_bias": error.mean(dims),
        f"{name}_mae": abs(error).mean(dims),
        f"{name}_rmse": np.sqrt((error**2).mean(dims)),
        f"{name}_n": error.notnull().sum(dims),
    }


def _aggregate(error: xr.DataArray, name: str, lead, resamples: int) -> list[dict]:
    """Station-aggregated scores with bootstrap intervals over times."""
    dims = [d for d in error.dims if d != "time"]
    values = error.values.reshape(error.sizes["time"], -1) if dims else error.values[:, None]
    valid = np.isfinite(values)
    count = valid.sum(axis=1).astype(float)
    keep = count > 0
    filled = np.where(valid, values, 0.0)[keep]
    sums = np.stack([filled.sum(1), np.abs(filled).sum(1), (filled**2).sum(1)], -1)
    count = count[keep]

    def scores(weights: np.ndarray) -> np.ndarray:
        total = weights @ count
        mean = (weights @ sums) / total[..., None]
        return np.stack([mean[..., 0], mean[..., 1], np.sqrt(mean[..., 2])], -1)

    value = scores(np.ones(count.size))
    draws = scores(resample_counts(count.size, resamples))
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    stations = int(np.isfinite(values).any(axis=0).sum())
    return [
        {
            "variable": name,
            "lead": lead,
            "metric": metric,
            "value": float(value[k]),
            "ci_low": float(low[k]),
            "ci_high": float(high[k]),
            "n_times": int(count.size),
            "n_stations": stations,
        }
        for k, metric in enumerate(METRICS)
    ]
