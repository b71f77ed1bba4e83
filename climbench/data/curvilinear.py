"""Curvilinear, rotated-pole and projected grids in the canonical schema.

A canonical curvilinear dataset has dims ``time, [member], [level], y, x`` and 2-D ``lat``
(degrees north) and ``lon`` (degrees east in [0, 360)) coordinates on ``(y, x)``, or on
``(time, y, x)`` for a grid that moves (a WRF vortex-following nest). What is
known of the grid travels with it, so that :mod:`climbench.data.regrid_curvilinear` can
regrid it conservatively:

- ``crs``: a 0-d coordinate whose attributes are the CF grid mapping of the projection
  (``grid_mapping_name`` ...; WRF's projection comes from its global attributes, see
  :mod:`climbench.data.sources.wrf`), with 1-D ``x`` / ``y`` coordinates in the projection's
  units (metres, or degrees on rotated-pole grids) when the grid is regular in it;
- ``lat_vertices`` / ``lon_vertices``: cell corners ``(y, x, vertices)`` in counter-clockwise
  CF order, when the file has them (CORDEX) or they follow from the projection.

Grids without either (the NEMO ORCA2 ocean grid) can still be regridded bilinearly.
"""

from __future__ import annotations

import numpy as np
import pyproj
import xarray as xr

from climbench.errors import CoordinateError

DIMS = ("y", "x")
VERTICES = "vertices"


def is_curvilinear(ds: xr.Dataset | xr.DataArray) -> bool:
    """True when ``ds`` has 2-D ``lat``/``lon`` coordinates on ``(y, x)`` (or a moving
    grid's on ``(time, y, x)``)."""
    return (
        "lat" in ds.coords
        and "lon" in ds.coords
        and ds["lat"].dims in (DIMS, ("time", *DIMS))
        and ds["lon"].dims == ds["lat"].dims
    )


def is_moving(ds: xr.Dataset | xr.DataArray) -> bool:
    """True when the grid's positions change with time (``lat`` on ``(time, y, x)``)."""
    return is_curvilinear(ds) and ds["lat"].dims[0] == "time"


def crs_of(ds: xr.Dataset | xr.DataArray) -> pyproj.CRS | None:
    """The projection of a curvilinear dataset (from its ``crs`` grid mapping), or None."""
    if "crs" not in ds.coords or "grid_mapping_name" not in ds["crs"].attrs:
        return None
    return pyproj.CRS.from_cf(dict(ds["crs"].attrs))


def crs_coordinate(crs: pyproj.CRS) -> xr.DataArray:
    """A 0-d ``crs`` coordinate carrying the CF grid mapping of ``crs`` (and its WKT)."""
    attrs = {k: v for k, v in crs.to_cf().items() if v is not None}
    return xr.DataArray(np.int32(0), attrs=attrs)


def normalise(ds: xr.Dataset, path: str | None) -> xr.Dataset:
    """Check and normalise an adapter's curvilinear dataset: latitudes in [-90, 90] and
    finite, longitudes wrapped to [0, 360), CF attributes, variables pointing at ``crs``."""
    lat = np.asarray(ds["lat"].values, dtype=float)
    lon = np.asarray(ds["lon"].values, dtype=float)
    for name, values, low, high in (("lat", lat, -90.0, 90.0), ("lon", lon, -360.0, 720.0)):
        if not np.isfinite(values).all() or values.min() < low or values.max() > high:
            raise CoordinateError(
                f"2-D {name} values are not degrees",
                path=path,
                variable=name,
                expected=f"finite values within [{low:g}, {high:g}]",
                found=f"{np.nanmin(values):g}..{np.nanmax(values):g}, "
                f"{int((~np.isfinite(values)).sum())} NaN",
                hint="fix the coordinate (ds.assign_coords), write the file again and open that",
            )
    dims = ds["lat"].dims
    ds = ds.assign_coords(
        lat=(dims, lat, {"units": "degrees_north", "standard_name": "latitude"}),
        lon=(dims, lon % 360.0, {"units": "degrees_east", "standard_name": "longitude"}),
    )
    if "lon_vertices" in ds.coords:
        ds = ds.assign_coords(lon_vertices=ds["lon_vertices"] % 360.0)
    if "crs" in ds.coords:
        for name in ds.data_vars:
            if {"y", "x"} <= set(ds[name].dims):
                ds[name].attrs["grid_mapping"] = "crs"
    return ds


def problems(ds: xr.Dataset) -> list[str]:
    """What breaks the curvilinear schema (empty when ``ds`` follows it)."""
    found = []
    lat, lon = ds["lat"].values, ds["lon"].values
    if np.nanmin(lat) < -90 or np.nanmax(lat) > 90:
        found.append("2-D 'lat' is outside [-90, 90]")
    if np.nanmin(lon) < 0 or np.nanmax(lon) >= 360:
        found.append("2-D 'lon' is outside [0, 360)")
    for name, da in ds.data_vars.items():
        if ("y" in da.dims) != ("x" in da.dims):
            found.append(f"variable '{name}' has only one of the dims y, x: {da.dims}")
        elif "y" in da.dims and da.dims[-2:] != DIMS:
            found.append(f"variable '{name}' has dims {da.dims}; y, x must come last")
    return found
