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

from climbench.data import layouts, vocabulary
from climbench.data import units as units_mod
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
    "member_id": "member",
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
# lat, lon on regular grids; y, x on curvilinear grids; station for station data
CANONICAL_ORDER = ("time", "member", "level", "lat", "lon", "y", "x", "station")
# (canonical name, CF units that identify it, CF standard name)
AXES = (
    ("lat", ("degrees_north", "degree_north", "degrees_n"), "latitude"),
    ("lon", ("degrees_east", "degree_east", "degrees_e"), "longitude"),
)
# names of latitude / longitude variables in any shape; the last one is also a prefix
LAT_NAMES = ("lat", "latitude", "nav_lat", "y_lat", "glat", "tlat", "xlat")
LON_NAMES = ("lon", "longitude", "nav_lon", "x_lon", "glon", "tlon", "xlong")
LAT_BOUNDS = (-90.0, 90.0)
# -180..180 and 0..360 are both in use; anything beyond [-360, 720] is not degrees east
LON_BOUNDS = (-360.0, 720.0)


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

    Raises :class:`TimeAxisError` for a time dimension without dates (no coordinate
    variable, or numbers without CF units) and for duplicate or non-increasing times, and
    :class:`CoordinateError` when latitude or longitude cannot be found or is not 1-D
    (curvilinear grids and station data are not supported: the message names the 2-D or
    per-station coordinates found), or when their values are not degrees (latitudes
    outside [-90, 90], longitudes outside [-360, 720]).
    """
    other_layout = layouts.normalise(ds, path)  # curvilinear grids, stations, indices
    if other_layout is not None:
        return other_layout
    ds = ds.drop_vars([v for v in DROPPED_VARS if v in ds.variables])
    if "time_bnds" in ds.data_vars:
        ds = ds.set_coords("time_bnds")
    source = ds
    renames = {
        k: v for k, v in COORD_RENAMES.items() if k in ds.variables and v not in ds.variables
    }
    if "valid_time" in ds.dims and "time" not in ds.variables:
        renames["valid_time"] = "time"  # new Climate Data Store netCDF layout
    ds = ds.rename(renames)
    for axis, cf_units, std in AXES:
        if axis not in ds.coords:
            found = _find_axis(ds, cf_units, std)
            if found is not None and found in ds.dims:
                ds = ds.rename({found: axis})
                renames[found] = axis
    grid_error = _grid_problem(source, ds, path)
    # both problems in one message, so that a user does not fix one only to meet the other
    time_error = _time_problem(ds, path, grid_error)
    if time_error is not None:
        raise time_error
    if grid_error is not None:
        raise grid_error
    origin = {v: k for k, v in renames.items()}
    for axis, bounds in (("lat", LAT_BOUNDS), ("lon", LON_BOUNDS)):
        _check_degrees(ds, axis, origin.get(axis, axis), bounds, path)
    # a forecast's valid_time (init_time x lead_time) is kept: month leads are no timedelta
    keep = {"valid_time"} if "lead_time" in ds.dims else set()
    ds = ds.drop_vars(
        [c for c in DROPPED_COORDS if c in ds.coords and c not in set(ds.dims) | keep]
    )
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


def _usable_axis(ds: xr.Dataset, axis: str) -> bool:
    return axis in ds.coords and ds[axis].ndim == 1 and axis in ds[axis].dims


def _grid_problem(source: xr.Dataset, ds: xr.Dataset, path: str | None) -> CoordinateError | None:
    """Why ``ds`` (``source`` after renaming) has no regular lat/lon grid, or None.

    The error names what the file has instead, read from ``source`` so that the names are
    the file's own: 2-D latitudes and longitudes (a curvilinear, rotated-pole or projected
    grid, such as WRF's ``XLAT``/``XLONG`` or NEMO's ``nav_lat``), coordinates per station
    (CF discrete sampling geometry), a single point (0-d ``lat``), or nothing at all.
    """
    missing = [(axis, units, std) for axis, units, std in AXES if not _usable_axis(ds, axis)]
    if not missing:
        return None
    axis, cf_units, std = missing[0]
    found = {s: [source[n] for n in _axis_candidates(source, s, u)] for _, u, s in AXES}
    candidates = found["latitude"] + found["longitude"]
    described = " and ".join(_describe_variable(v[0]) for v in found.values() if v)
    others = [str(v.name) for v in found["latitude"][1:] + found["longitude"][1:]]
    if others:
        described += f"; also {', '.join(others)}"
    expected = f"a 1-D coordinate named {axis}/{std} or with units '{cf_units[0]}'"
    if any(v.ndim >= 2 for v in candidates):
        mapping = _grid_mapping_names(source)
        return CoordinateError(
            "2-D latitude and longitude: curvilinear, rotated-pole and projected grids are "
            "not supported yet",
            path=path,
            expected=expected,
            found=described + (f" (grid mapping {mapping})" if mapping else ""),
            hint="name the 2-D coordinates lat/lon (or give them standard_name latitude / "
            "longitude): such files open as curvilinear grids (dims y, x) that "
            "climbench.data.regrid can regrid",
        )
    lat, lon = found["latitude"][:1], found["longitude"][:1]
    if lat and lon and lat[0].dims == lon[0].dims:  # lat(station), lon(station), or 0-d
        return CoordinateError(
            "station (point) data: latitude and longitude are given per station, not as "
            "grid axes; station data are not supported yet",
            path=path,
            expected=expected,
            found=described,
            hint="mark the file as CF discrete sampling geometry (global attribute "
            "featureType = 'timeSeries', station ids with cf_role = 'timeseries_id'), which "
            "opens as station data, or read a table with climbench.data.stations."
            "open_station_csv; a single point opens as a 1 x 1 grid when lat and lon are "
            "1-element dimensions",
        )
    return CoordinateError(
        f"no usable {std} coordinate",
        path=path,
        expected=expected,
        found=f"coordinates {sorted(map(str, source.coords))} and dims {dict(source.sizes)}",
        hint="add the coordinate (ds.assign_coords) if the file lost it; data without a "
        "latitude-longitude grid (an index, a station series) must be gridded first",
    )


def _axis_candidates(ds: xr.Dataset, std: str, cf_units: tuple[str, ...]) -> list[str]:
    """Variables of any shape that hold latitudes (``std="latitude"``) or longitudes."""
    names = LAT_NAMES if std == "latitude" else LON_NAMES
    out = []
    for name, var in ds.variables.items():
        lower = str(name).lower()
        if lower.endswith(("_bnds", "_bounds", "_vertices")):
            continue  # cell corners, not the cell centres
        if (
            lower in names
            or lower.startswith(names[-1] + "_")  # WRF staggered XLAT_U, XLONG_V
            or var.attrs.get("standard_name") == std
            or str(var.attrs.get("units", "")).lower() in cf_units
        ):
            out.append(str(name))
    return sorted(out, key=lambda n: (len(n), n))  # XLAT before its staggered XLAT_U


def _describe_variable(var: xr.DataArray) -> str:
    if var.ndim == 0:
        value = var.values
        shown = f" = {float(value):.6g}" if np.issubdtype(value.dtype, np.number) else ""
        return f"'{var.name}'{shown} (a single point)"
    dims = ", ".join(f"{d}: {n}" for d, n in var.sizes.items())
    return f"{var.ndim}-D '{var.name}' ({dims})"


def _grid_mapping_names(ds: xr.Dataset) -> list[str]:
    """CF ``grid_mapping_name`` of the variables that describe a projection."""
    return sorted(
        {
            str(v.attrs["grid_mapping_name"])
            for v in ds.variables.values()
            if "grid_mapping_name" in v.attrs
        }
    )


def _time_problem(
    ds: xr.Dataset, path: str | None, grid_error: CoordinateError | None
) -> TimeAxisError | None:
    """A :class:`TimeAxisError` when a time dimension carries no dates, or None.

    Two layouts are refused: a time dimension without a coordinate variable (WRF keeps its
    times as the strings ``Times`` and minutes ``XTIME`` on dimension ``Time``), and a time
    coordinate of plain numbers (no CF units, or units xarray could not decode: decimal
    years such as 1880.04). Reading times from such files is not supported yet. The hint
    also says when the grid (``grid_error``) is unsupported too.
    """
    also = (
        ""
        if grid_error is None
        else f". Its grid is not supported either: {grid_error.message} "
        f"(found {grid_error.found}); {grid_error.hint}"
    )
    for dim in map(str, ds.dims):
        if dim.lower() == "time" and dim not in ds.coords:
            candidates = _time_candidates(ds, dim)
            return TimeAxisError(
                f"time dimension '{dim}' has no coordinate variable; times stored in other "
                "variables are not supported yet",
                path=path,
                variable=dim,
                expected=f"a coordinate variable '{dim}' with CF units such as "
                "'hours since 1970-01-01'",
                found=f"dimension '{dim}' of length {ds.sizes[dim]} without one; variables "
                f"that may hold the times: {candidates or 'none'}",
                hint=f"pass times=[...] (one datetime per '{dim}' step) to open_dataset, or "
                "the units of a lead beside a reference time (units={'lead': 'hours'})" + also,
            )
    if "time" in ds.coords and not _holds_dates(ds["time"]):
        time = ds["time"]
        values = np.ravel(time.values)
        shown = f"{values[0]}..{values[-1]}" if values.size else "no values"
        return TimeAxisError(
            "time coordinate holds plain numbers, not dates; such time axes are not supported yet",
            path=path,
            variable="time",
            expected="dates: CF units such as 'days since 1850-01-01' (and a calendar)",
            found=f"{time.dtype} values {shown}, units {time.attrs.get('units')!r}",
            hint="pass times=[...] (one datetime per step) to open_dataset" + also,
        )
    return None


def _holds_dates(time: xr.DataArray) -> bool:
    """numpy datetime64 or cftime datetimes (the only time types a canonical dataset has)."""
    if np.issubdtype(time.dtype, np.datetime64):
        return True
    first = np.ravel(time.values)[:1]
    return time.dtype == object and (first.size == 0 or hasattr(first[0], "calendar"))


def _time_candidates(ds: xr.Dataset, dim: str) -> list[str]:
    """Variables along ``dim`` that may hold its times: by name, dtype or CF units; leads
    (``lead``, ``step``) and 0-d reference times (:func:`climbench.data.times.build_time_axis`
    uses them when the lead has units)."""
    from climbench.data.times import LEAD_NAMES

    return sorted(
        str(name)
        for name, var in ds.variables.items()
        if (var.dims[:1] == (dim,) or (var.ndim == 0 and var.dtype.kind == "M"))
        and (
            "time" in str(name).lower()
            or "date" in str(name).lower()
            or str(name).lower() in LEAD_NAMES
            or var.dtype.kind in "MSUO"
            or " since " in str(var.attrs.get("units", ""))
        )
    )


def _check_degrees(
    ds: xr.Dataset, axis: str, name: str, bounds: tuple[float, float], path: str | None
) -> None:
    """Refuse latitudes or longitudes that cannot be degrees (a 0..180 colatitude would
    otherwise lose every row above 90 N later, silently)."""
    values = np.asarray(ds[axis].values, dtype=float)
    low, high = bounds
    finite = np.isfinite(values)
    if finite.all() and (values.size == 0 or (values.min() >= low and values.max() <= high)):
        return
    std = "latitude" if axis == "lat" else "longitude"
    shown = f"{np.nanmin(values):g}..{np.nanmax(values):g}" if finite.any() else "no finite value"
    if not finite.all():
        shown += f" with {int((~finite).sum())} NaN/Inf"
    raise CoordinateError(
        f"{std} values are outside [{low:g}, {high:g}]",
        path=path,
        variable=name,
        expected=f"{std}s in degrees within [{low:g}, {high:g}]",
        found=shown,
        hint="latitude 0..180 is a colatitude or a row number (latitude = 90 - colatitude); "
        "fix the coordinate (ds.assign_coords), write the file again and open that file"
        if axis == "lat"
        else "longitudes beyond that are indices or another unit, not degrees east; fix the "
        "coordinate (ds.assign_coords), write the file again and open that file",
    )


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
    for corners in ("lat_vertices", "lon_vertices"):  # curvilinear cell corners
        if corners in ds.coords:
            result = result.assign_coords({corners: ds[corners]})
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
    time axis. Values are not read. Curvilinear, station and index datasets are checked
    against their own layouts (:mod:`climbench.data.layouts`).
    """
    problems = layouts.problems(ds)
    if problems is None:
        problems = _regular_grid_problems(ds)
    _check_vars_and_time(ds, name, problems)


def _regular_grid_problems(ds: xr.Dataset) -> list[str]:
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
    return problems


def _check_vars_and_time(ds: xr.Dataset, name: str, problems: list[str]) -> None:
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
