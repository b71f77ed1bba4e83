"""The canonical dataset: coordinate normalisation, variable canonicalisation, validation.

A canonical dataset (DESIGN.md) is an ``xarray.Dataset`` with
- dims ``time, [member], [level], lat, lon`` in that order (other dims such as ERA-Interim's
  ``month`` come first); ``lat`` ascending in degrees north, ``lon`` in [0, 360) ascending,
  ``level`` in hPa ascending, ensemble members on ``member``;
- vocabulary names in SI units (:mod:`climbench.data.vocabulary`, :mod:`climbench.data.units`);
  names outside the vocabulary are kept unchanged;
- a time axis that is unique and increasing, in its own calendar (cftime calendars are kept).

:func:`canonicalise` turns an opened source dataset into that form; :func:`validate` checks a
dataset against it (used on generated data, prepared stores and user predictions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data import units as units_mod
from climbench.data import vocabulary
from climbench.errors import (
    CoordinateError,
    SchemaError,
    TimeAxisError,
    UnitsError,
)

# source coordinate name -> canonical name
COORD_RENAMES = {
    "latitude": "lat",
    "nav_lat": "lat",
    "y_lat": "lat",
    "longitude": "lon",
    "nav_lon": "lon",
    "isobaricInhPa": "level",
    "pressure_level": "level",
    "plev": "level",
    "lev": "level",
    "pressure": "level",
    "number": "member",
    "realization": "member",
    "ensemble": "member",
}
# coordinates that only describe how a source was made; they block merging sources
DROPPED_COORDS = (
    "height",
    "surface",
    "heightAboveGround",
    "expver",
    "step",
    "valid_time",
    "depthBelowLandLayer",
    "meanSea",
    "entireAtmosphere",
)
DROPPED_VARS = (
    "lat_bnds",
    "lon_bnds",
    "latitude_bnds",
    "longitude_bnds",
    "lat_bounds",
    "lon_bounds",
)
CANONICAL_ORDER = ("time", "member", "level", "lat", "lon")


def _find_axis(ds: xr.Dataset, units: tuple[str, ...], standard_name: str) -> str | None:
    """Name of a 1-D coordinate identified by CF ``units`` or ``standard_name``."""
    for name, coord in ds.coords.items():
        if coord.ndim == 1 and (
            coord.attrs.get("standard_name") == standard_name
            or str(coord.attrs.get("units", "")).lower() in units
        ):
            return str(name)
    return None


def normalise_coords(ds: xr.Dataset, path: str | None = None) -> xr.Dataset:
    """Rename and reorder coordinates to the canonical conventions.

    Raises :class:`CoordinateError` when latitude or longitude cannot be found or is not 1-D
    (curvilinear grids are not supported), and :class:`TimeAxisError` for duplicate or
    non-increasing times.
    """
    ds = ds.drop_vars([v for v in DROPPED_VARS if v in ds.variables])
    if "time_bnds" in ds.data_vars:
        ds = ds.set_coords("time_bnds")
    renames = {
        k: v for k, v in COORD_RENAMES.items() if k in ds.variables and v not in ds.variables
    }
    if "valid_time" in ds.dims and "time" not in ds.variables:
        renames["valid_time"] = "time"  # new Climate Data Store netCDF layout
    ds = ds.rename(renames)
    for axis, cf_units, std in (
        ("lat", ("degrees_north", "degree_north", "degrees_n"), "latitude"),
        ("lon", ("degrees_east", "degree_east", "degrees_e"), "longitude"),
    ):
        if axis not in ds.coords:
            found = _find_axis(ds, cf_units, std)
            if found is not None and found in ds.dims:
                ds = ds.rename({found: axis})
        if axis not in ds.coords or ds[axis].ndim != 1 or axis not in ds[axis].dims:
            raise CoordinateError(
                f"no usable {std} coordinate",
                path=path,
                expected=f"a 1-D coordinate named {axis}/{std} or with units '{cf_units[0]}'",
                found=f"coordinates {sorted(map(str, ds.coords))} and dims {dict(ds.sizes)}",
                hint="curvilinear grids must be regridded to a regular grid first",
            )
    ds = ds.drop_vars([c for c in DROPPED_COORDS if c in ds.coords and c not in ds.dims])
    if "member" in ds.coords and "member" not in ds.dims:
        ds = ds.drop_vars("member")  # a scalar ensemble number (ERA5 HRES has number=0)
    ds = _normalise_level(ds)
    ds = ds.sortby("lat")
    lon = ds["lon"].values
    if np.any(lon < 0) or np.any(lon >= 360):
        ds = ds.assign_coords(lon=ds["lon"] % 360)
    if not (np.diff(ds["lon"].values) > 0).all():
        ds = ds.sortby("lon")
    if np.unique(ds["lon"].values).size != ds.sizes["lon"]:
        raise CoordinateError(
            "longitudes repeat after wrapping to [0, 360)",
            path=path,
            expected="distinct longitudes",
            found="e.g. both -180 and 180",
        )
    _check_time(ds, path)
    ds["lat"].attrs.update(units="degrees_north", standard_name="latitude")
    ds["lon"].attrs.update(units="degrees_east", standard_name="longitude")
    return ds


def _normalise_level(ds: xr.Dataset) -> xr.Dataset:
    if "level" not in ds.coords:
        return ds
    level = ds["level"]
    unit = str(level.attrs.get("units", "")).strip()
    values = level.values.astype(float)
    if units_mod.normalise_unit(unit) == "pa" or (not unit and np.nanmax(values) > 2000):
        values = values / 100.0
    ds = ds.assign_coords(
        level=(
            level.dims,
            values,
            {"units": "hPa", "long_name": "pressure level", "standard_name": "air_pressure"},
        )
    )
    if "level" in ds.dims:
        ds = ds.sortby("level")
    return ds


def _check_time(ds: xr.Dataset, path: str | None) -> None:
    if "time" not in ds.dims:
        return
    index = ds.indexes["time"]
    if index.has_duplicates:
        dupes = index[index.duplicated()].unique()[:3]
        raise TimeAxisError(
            "duplicate time steps",
            path=path,
            variable="time",
            expected="unique times",
            found=f"{len(index) - len(index.unique())} repeats, e.g. {[str(t) for t in dupes]}",
            hint="remove the overlapping file or select a time range",
        )
    if not index.is_monotonic_increasing:
        values = np.asarray(index)
        bad = int(np.argmax(values[1:] <= values[:-1]))
        raise TimeAxisError(
            "time steps are not increasing",
            path=path,
            variable="time",
            expected="strictly increasing times",
            found=f"{values[bad]} followed by {values[bad + 1]} at position {bad}",
            hint="sort the data by time (ds.sortby('time')) or fix the file order",
        )


def time_step(ds: xr.Dataset) -> pd.Timedelta | None:
    """The regular time step of ``ds``, or None when irregular or fewer than 2 steps."""
    if "time" not in ds.dims or ds.sizes["time"] < 2:
        return None
    values = ds.indexes["time"]
    try:
        deltas = pd.TimedeltaIndex(np.diff(np.asarray(values)))
    except (TypeError, ValueError):
        return None
    return deltas[0] if (deltas == deltas[0]).all() else None


def canonicalise(
    ds: xr.Dataset,
    path: str | None = None,
    units: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Canonical names, units, dims and order for a dataset whose coords are normalised.

    Args:
        ds: output of :func:`normalise_coords`.
        path: the source, for error messages.
        units: overrides of wrong or missing ``units`` attributes, keyed by source or
            canonical variable name, e.g. ``{"tasmax": "degC"}``.
    """
    units = dict(units or {})
    step = time_step(ds)
    groups: dict[str, list[tuple[float | None, xr.DataArray]]] = defaultdict(list)
    for name, da in ds.data_vars.items():
        name = str(name)
        found = vocabulary.resolve(name)
        if found is None:
            if name in units:
                da = da.assign_attrs(units=units[name])
            groups[name].append((None, da))
            continue
        var, level = found
        has_level = "level" in da.dims or ("level" in da.coords and da["level"].ndim == 0)
        if var.kind == "pressure" and level is None and not has_level:
            surface = vocabulary.SURFACE_MEANING.get(var.name)
            var = vocabulary.BY_NAME[surface] if surface else var
        override = units.get(name, units.get(var.name))
        if override is not None:
            da = da.assign_attrs(units=override)
        da = _convert(da, var, path, name, step)
        da.attrs.update(long_name=var.long_name, climbench_source_name=name)
        if level is not None:
            da = da.expand_dims(level=[level])
        elif "level" in da.coords and da["level"].ndim == 0:
            da = da.expand_dims("level")
        if var.kind == "constant" and "time" in da.dims and da.sizes["time"] == 1:
            da = da.isel(time=0, drop=True)
        groups[var.name].append((level, da))
    out = {}
    for canonical, parts in groups.items():
        if len(parts) == 1:
            out[canonical] = parts[0][1]
            continue
        sources = [p[1].attrs.get("climbench_source_name", canonical) for p in parts]
        if any(level is None for level, _ in parts):
            raise SchemaError(
                "several source variables map onto one canonical variable",
                path=path,
                variable=canonical,
                expected="one source variable per canonical name",
                found=f"{sources}",
                hint="drop all but one of them before opening",
            )
        out[canonical] = xr.concat([p[1] for p in parts], dim="level").sortby("level")
    result = xr.Dataset(out, attrs=ds.attrs)
    if "time_bnds" in ds.coords and "time" in result.dims:
        result = result.assign_coords(time_bnds=ds["time_bnds"])
    if "level" in result.coords:
        result["level"].attrs.update(units="hPa", standard_name="air_pressure")
    return _order_dims(result)


def _convert(
    da: xr.DataArray,
    var: vocabulary.Variable,
    path: str | None,
    name: str,
    step: pd.Timedelta | None,
) -> xr.DataArray:
    try:
        return units_mod.to_canonical(
            da, var.quantity, var.units, path=path, variable=name, time_step=step
        )
    except UnitsError as err:
        sample = da.isel({d: 0 for d in da.dims if d not in ("lat", "lon")})
        lo, hi = float(sample.min()), float(sample.max())
        raise UnitsError(
            err.message + f" (it maps to '{var.name}'; values of the first field range "
            f"from {lo:.4g} to {hi:.4g})",
            path=path,
            variable=name,
            expected=err.expected,
            found=err.found,
            hint=err.hint,
        ) from None


def _order_dims(ds: xr.Dataset) -> xr.Dataset:
    for name, da in ds.data_vars.items():
        front = [d for d in da.dims if d not in CANONICAL_ORDER]
        order = front + [d for d in CANONICAL_ORDER if d in da.dims]
        if list(da.dims) != order:
            ds[name] = da.transpose(*order)
    return ds


def validate(ds: xr.Dataset, name: str = "dataset") -> None:
    """Raise :class:`SchemaError` unless ``ds`` follows the canonical conventions.

    Checks coordinate names, order and units, dimension order, vocabulary units, and the
    time axis. Values are not read.
    """
    problems = []
    for axis in ("lat", "lon"):
        if axis not in ds.coords or ds[axis].ndim != 1:
            problems.append(f"missing 1-D '{axis}' coordinate")
    if not problems:
        lat, lon = ds["lat"].values, ds["lon"].values
        if lat.size > 1 and not (np.diff(lat) > 0).all():
            problems.append("'lat' is not strictly ascending")
        if lat.size and (lat.min() < -90 or lat.max() > 90):
            problems.append("'lat' is outside [-90, 90]")
        if lon.size > 1 and not (np.diff(lon) > 0).all():
            problems.append("'lon' is not strictly ascending")
        if lon.size and (lon.min() < 0 or lon.max() >= 360):
            problems.append("'lon' is outside [0, 360)")
    if "level" in ds.dims:
        if ds["level"].attrs.get("units") != "hPa":
            problems.append(f"'level' units are {ds['level'].attrs.get('units')!r}, not 'hPa'")
        if ds.sizes["level"] > 1 and not (np.diff(ds["level"].values) > 0).all():
            problems.append("'level' is not ascending")
    for vname, da in ds.data_vars.items():
        var = vocabulary.BY_NAME.get(str(vname))
        if var is not None and da.attrs.get("units") != var.units:
            problems.append(
                f"variable '{vname}' has units {da.attrs.get('units')!r}, expected {var.units!r}"
            )
        known = [d for d in da.dims if d in CANONICAL_ORDER]
        if known != [d for d in CANONICAL_ORDER if d in da.dims]:
            problems.append(
                f"variable '{vname}' has dims {da.dims}, expected the order {CANONICAL_ORDER}"
            )
    if problems:
        raise SchemaError(
            "; ".join(problems),
            path=name,
            expected="the canonical schema of DESIGN.md",
            found=f"{len(problems)} problem(s)",
            hint="open sources with climbench.open_dataset, which normalises",
        )
    _check_time(ds, name)
