"""Forecast-layout conventions (DESIGN.md) and the checks every xarray entry point shares.

- Predictions have dims ``init_time, lead_time, [member], [level], lat, lon``; truth has
  ``time, [level], lat, lon``. :func:`align_to_forecast` brings truth into the forecast
  layout by valid time ``valid_time = init_time + lead_time``, so every score is computed per
  lead time (``lead_time`` is never averaged over).
- Time averages run over the *sample* dims: ``init_time`` for forecasts, ``time`` for
  fields that are not forecasts (emulators, downscaling).
- Climatologies (for ACC) come from the training period only and are indexed by
  ``dayofyear`` (1-366) and optionally ``hour``; :func:`climatology_at` picks the value at
  each valid time.
"""

from __future__ import annotations

from functools import partial
from itertools import pairwise

import numpy as np
import pandas as pd
import xarray as xr

from climbench.errors import CoordinateError, DataValueError, SchemaError

SAMPLE_DIMS = ("init_time", "time")
SPATIAL = ("lat", "lon")


def sample_dims(da: xr.DataArray | xr.Dataset) -> list[str]:
    """The dims averaged over time: ``init_time`` and/or ``time`` when present."""
    return [d for d in SAMPLE_DIMS if d in da.dims]


def check_spatial(da: xr.DataArray | xr.Dataset, what: str = "forecast") -> None:
    """Raise :class:`SchemaError` unless ``da`` has ``lat`` and ``lon`` dims."""
    missing = [d for d in SPATIAL if d not in da.dims]
    if missing:
        raise SchemaError(
            f"{what} lacks spatial dimensions",
            variable=getattr(da, "name", None) if isinstance(da, xr.DataArray) else None,
            expected="dims lat and lon (canonical schema)",
            found=f"dims {tuple(da.dims)}",
            hint="open data with climbench.open_dataset or rename latitude/longitude",
        )


def check_pair(
    forecast: xr.DataArray | xr.Dataset,
    truth: xr.DataArray | xr.Dataset,
    ignore: tuple[str, ...] = ("member",),
) -> None:
    """Forecast and truth must share dims (bar ``ignore``) and spatial coordinates."""
    check_spatial(forecast, "forecast")
    check_spatial(truth, "truth")
    fdims = set(forecast.dims) - set(ignore)
    tdims = set(truth.dims) - set(ignore)
    if fdims != tdims:
        hint = None
        if "time" in tdims and "init_time" in fdims:
            hint = "align truth first: truth = align_to_forecast(forecast, truth)"
        raise DataValueError(
            "forecast and truth have different dimensions",
            expected=f"the forecast's dims {sorted(fdims)}",
            found=f"truth dims {sorted(tdims)}",
            hint=hint,
        )
    for dim in SPATIAL:
        f, t = forecast[dim].values, truth[dim].values
        if f.shape != t.shape or not np.allclose(f, t):
            raise CoordinateError(
                f"forecast and truth are on different grids ({dim})",
                expected=f"{dim} of the forecast ({f.size} values from {f[0]:g})",
                found=f"{t.size} values from {t[0]:g}",
                hint="regrid one onto the other before scoring",
            )


def check_member_dim(forecast: xr.DataArray | xr.Dataset, member_dim: str) -> None:
    """Raise :class:`SchemaError` when the ensemble dimension is missing."""
    if member_dim not in forecast.dims:
        raise SchemaError(
            "ensemble forecast lacks its member dimension",
            expected=f"a dim named {member_dim!r}",
            found=f"dims {tuple(forecast.dims)}",
            hint="pass member_dim='<name>' (for example 'number' in raw GRIB)",
        )


def valid_time(forecast: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """``init_time + lead_time`` as a 2-D (init_time, lead_time) DataArray."""
    for dim in ("init_time", "lead_time"):
        if dim not in forecast.dims:
            raise SchemaError(
                "not in forecast layout",
                expected="dims init_time and lead_time",
                found=f"dims {tuple(forecast.dims)}",
            )
    return forecast["init_time"] + forecast["lead_time"]


def align_to_forecast(
    forecast: xr.DataArray | xr.Dataset,
    truth: xr.DataArray | xr.Dataset,
    missing: str = "raise",
) -> xr.DataArray | xr.Dataset:
    """Truth at each forecast's valid time, in the forecast layout (init_time, lead_time, ...).

    ``truth`` has a ``time`` dim; the result has ``init_time`` and ``lead_time`` instead,
    with the forecast's coordinates, and stays lazy for dask-backed truth (one orthogonal
    selection per lead time; with a dask-backed forecast, one per forecast chunk and lead
    time, so the result is chunked exactly like the forecast). ``missing="raise"`` refuses
    valid times absent from truth; ``missing="nan"`` fills them with NaN (they are then
    skipped by the time means).
    """
    if "time" not in truth.dims:
        raise SchemaError(
            "truth lacks a time dimension", expected="dim 'time'", found=f"dims {tuple(truth.dims)}"
        )
    vt = valid_time(forecast)
    if missing == "raise":
        absent = np.setdiff1d(vt.values.ravel(), truth["time"].values)
        if absent.size:
            raise CoordinateError(
                "truth does not cover every valid time of the forecast",
                expected="truth at every init_time + lead_time",
                found=f"{absent.size} valid times missing, first {absent[0]}",
                hint="subset the forecast's init_time, or pass missing='nan'",
            )
    if forecast.chunks and truth.chunks and missing == "raise":
        out = _align_by_chunk(forecast, truth, vt)
    else:
        parts = []
        for lead in forecast["lead_time"].values:
            times = forecast["init_time"].values + lead
            part = truth.sel(time=times) if missing == "raise" else truth.reindex(time=times)
            parts.append(
                part.rename(time="init_time").assign_coords(init_time=forecast["init_time"].values)
            )
        out = _concat_leads(parts)
    out = out.assign_coords(
        init_time=forecast["init_time"].values, lead_time=forecast["lead_time"].values
    )
    return out.transpose("init_time", "lead_time", ...)


def _concat_leads(parts: list) -> xr.DataArray | xr.Dataset:
    return xr.concat(parts, dim="lead_time", coords="minimal", compat="override", join="override")


def _align_array(truth: xr.DataArray, positions: np.ndarray, bounds: np.ndarray):
    import dask.array as dsa

    axis = truth.get_axis_num("time")
    blocks = []
    for a, b in pairwise(bounds):
        local = positions[a:b]
        lo, hi = int(local.min()), int(local.max()) + 1
        window = truth.data[(slice(None),) * axis + (slice(lo, hi),)].rechunk({axis: -1})
        chunks = (*window.chunks[:axis], (b - a,), (local.shape[1],), *window.chunks[axis + 1 :])
        blocks.append(
            window.map_blocks(
                partial(np.take, indices=local - lo, axis=axis),
                chunks=chunks,
                new_axis=axis + 1,
                dtype=window.dtype,
            )
        )
    dims = (*truth.dims[:axis], "init_time", "lead_time", *truth.dims[axis + 1 :])
    coords = {k: v for k, v in truth.coords.items() if "time" not in v.dims}
    return xr.DataArray(
        dsa.concatenate(blocks, axis=axis),
        dims=dims,
        coords=coords,
        name=truth.name,
        attrs=truth.attrs,
    )


def _align_by_chunk(forecast, truth, vt: xr.DataArray):
    """Dask truth: one block per forecast init_time chunk holding all lead times, cut from
    a small window of truth times, so scoring never splits or rechunks the forecast and the
    graph stays small (memory bounded by a few forecast chunks)."""
    positions = pd.Index(truth["time"].values).get_indexer(vt.values.ravel()).reshape(vt.shape)
    bounds = np.cumsum((0, *forecast.chunksizes["init_time"]))
    if isinstance(truth, xr.Dataset):
        return xr.Dataset(
            {k: _align_array(v, positions, bounds) for k, v in truth.items()}, attrs=truth.attrs
        )
    return _align_array(truth, positions, bounds)


def climatology_at(climatology: xr.DataArray | xr.Dataset, times: xr.DataArray):
    """The climatology at each of ``times`` (any dims), by ``dayofyear`` and ``hour``.

    A climatology without a ``dayofyear`` dim is returned unchanged (it is already aligned or
    broadcastable). ``dayofyear`` runs 1-366 as in ``time.dt.dayofyear``.
    """
    if "dayofyear" not in climatology.dims:
        return climatology
    index = {"dayofyear": times.dt.dayofyear}
    if "hour" in climatology.dims:
        index["hour"] = times.dt.hour
    return climatology.sel(index)
