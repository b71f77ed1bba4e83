"""The canonical layouts beyond regular grids, and the one place that tells them apart.

- ``regular``: dims ``..., lat, lon`` with 1-D coordinates (the schema of DESIGN.md, in
  :mod:`climbench.data.schema`);
- ``curvilinear``: dims ``..., y, x`` with 2-D ``lat``/``lon`` (rotated-pole, projected and
  ocean grids; :mod:`climbench.data.curvilinear`);
- ``station``: dims ``time, station`` with per-station positions (:mod:`climbench.data.stations`);
- ``index``: no spatial dims at all (a climate index such as the Indian Ocean Dipole
  hindcast), marked ``climbench_layout = "index"`` by the adapter that built it.

Adapters set ``attrs["climbench_layout"]`` on what they return; :func:`normalise` then
replaces the regular-grid normalisation of :func:`climbench.data.schema.normalise_coords`,
and :func:`problems` the regular-grid part of :func:`climbench.data.schema.validate`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from climbench.data import curvilinear, stations

LAYOUTS = ("regular", "curvilinear", "station", "index")
ATTR = "climbench_layout"


def layout_of(ds: xr.Dataset | xr.DataArray) -> str:
    """The layout of a (canonical) dataset, read from its dims and coordinates."""
    if stations.is_station_dataset(ds):
        return "station"
    if curvilinear.is_curvilinear(ds):
        return "curvilinear"
    if ds.attrs.get(ATTR) == "index" and "lat" not in ds.coords and "lon" not in ds.coords:
        return "index"
    return "regular"


def normalise(ds: xr.Dataset, path: str | None) -> xr.Dataset | None:
    """Normalise a dataset of a non-regular layout; None for the regular one (the schema's
    own normalisation applies). Times must already be dates (the adapters build them)."""
    from climbench.data import schema

    layout = layout_of(ds)
    if layout == "regular" or ds.attrs.get(ATTR) != layout:
        return None  # not built by an adapter of that layout: the schema's refusals apply
    problem = schema._time_problem(ds, path, None)
    if problem is not None:
        raise problem
    # a hindcast's valid_time is kept: with leads in months it is no init + timedelta
    keep = {"valid_time"} if "lead_time" in ds.dims else set()
    ds = ds.drop_vars(
        [c for c in schema.DROPPED_COORDS if c in ds.coords and c not in set(ds.dims) | keep]
        + [v for v in schema.DROPPED_VARS if v in ds.variables]
    )
    ds = schema._normalise_level(ds)
    if layout == "curvilinear":
        ds = curvilinear.normalise(ds, path)
    elif layout == "station":
        ds = stations.normalise(ds, path)
    schema._check_time(ds, path)
    ds.attrs[ATTR] = layout
    return ds


def problems(ds: xr.Dataset) -> list[str] | None:
    """Schema problems of a non-regular dataset (empty when fine); None for regular grids."""
    layout = layout_of(ds)
    if layout == "curvilinear":
        return curvilinear.problems(ds)
    if layout == "station":
        return stations.problems(ds)
    if layout == "index":
        return [
            f"variable '{name}' has spatial dims {da.dims} in an index dataset"
            for name, da in ds.data_vars.items()
            if {"lat", "lon", "y", "x", "station"} & set(da.dims)
        ]
    return None


def describe_space(ds: xr.Dataset) -> str | None:
    """One line on the spatial layout of a non-regular dataset (``data info``); None for
    regular grids, which describe themselves by their axes."""
    layout = layout_of(ds)
    if layout == "regular":
        return None
    if layout == "index":
        return "index (no spatial dims)"
    lat, lon = ds["lat"].values, ds["lon"].values
    extent = (
        f"lat {np.nanmin(lat):.6g}..{np.nanmax(lat):.6g}, lon {np.nanmin(lon):.6g}.."
        f"{np.nanmax(lon):.6g}"
    )
    if layout == "station":
        return f"{ds.sizes['station']} stations, {extent}"
    crs = curvilinear.crs_of(ds)
    projection = crs.to_cf().get("grid_mapping_name", crs.name) if crs is not None else "none"
    corners = "with" if "lat_vertices" in ds.coords else "without"
    moving = ", moving with time" if curvilinear.is_moving(ds) else ""
    return (
        f"curvilinear {ds.sizes['y']} x {ds.sizes['x']} (y, x){moving}, {extent}, "
        f"projection {projection}, {corners} cell corners"
    )
