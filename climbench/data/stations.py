"""Station observations in the canonical schema, and station tables (CSV).

A canonical station dataset has dims ``time, station`` (other dims such as ``member``
between them, like gridded data) and the coordinates

- ``station``: the station id (strings, unique);
- ``lat`` (degrees north), ``lon`` (degrees east in [0, 360)) and ``elevation`` (m above
  mean sea level, NaN where unknown), all on ``station``;
- ``station_name`` on ``station`` (the id again where the source gives no name).

Variables use the canonical vocabulary names and SI units (KNMI's ``ta`` in degC becomes
``2m_temperature`` in K); :data:`STATION_NAMES` maps the station networks' own names.
Adapters: CF discrete sampling geometry files (``featureType = timeSeries``, e.g. KNMI) and
single-station files with scalar positions (ARM) in :mod:`climbench.data.sources.stations`;
CSV tables with one row per station and time in :func:`open_station_csv`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from climbench.errors import CoordinateError, DataFileError

DIM = "station"
COORDS = ("lat", "lon", "elevation", "station_name")
#: station networks' variable names -> canonical names (units converted by the schema)
STATION_NAMES = {
    # KNMI 10-minute observations (KMDS)
    "ta": "2m_temperature",
    "td": "2m_dewpoint_temperature",
    "pp": "mean_sea_level_pressure",
    "ff": "10m_wind_speed",
    # ARM surface meteorology (MET)
    "temp_mean": "2m_temperature",
    "atmos_pressure": "surface_pressure",
    "wspd_vec_mean": "10m_wind_speed",
}


def network_names(ds: xr.Dataset) -> xr.Dataset:
    """Rename a station network's variables to canonical names (:data:`STATION_NAMES`);
    any other name that is an alias in the vocabulary gets the prefix ``obs_``.

    Station networks reuse short names with other meanings (KNMI's ``t10`` is the
    temperature 10 cm above ground, not at 10 hPa; its ``pr`` a precipitation duration in
    seconds): only the mapped names may take a vocabulary meaning.
    """
    from climbench.data import vocabulary

    ds = ds.rename({k: v for k, v in STATION_NAMES.items() if k in ds.data_vars})
    clashes = {
        str(n): f"obs_{n}"
        for n in ds.data_vars
        if str(n) not in vocabulary.BY_NAME and vocabulary.resolve(str(n)) is not None
    }
    for old in clashes:
        ds[old].attrs["climbench_source_name"] = old
    return ds.rename(clashes)


def is_station_dataset(ds: xr.Dataset | xr.DataArray) -> bool:
    """True when ``ds`` is laid out by station (a ``station`` dimension)."""
    return DIM in ds.dims


def station_coords(
    ids: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    elevation: np.ndarray | None = None,
    names: np.ndarray | None = None,
) -> dict[str, tuple]:
    """The canonical station coordinates as ``assign_coords`` arguments."""
    ids = np.asarray(ids).astype(str)
    n = ids.size
    elevation = np.full(n, np.nan) if elevation is None else np.asarray(elevation, dtype=float)
    names = ids if names is None else np.asarray(names).astype(str)
    return {
        DIM: (DIM, ids, {"long_name": "station id", "cf_role": "timeseries_id"}),
        "lat": (DIM, np.asarray(lat, dtype=float), {"units": "degrees_north"}),
        "lon": (DIM, np.asarray(lon, dtype=float), {"units": "degrees_east"}),
        "elevation": (DIM, elevation, {"units": "m", "long_name": "height above sea level"}),
        "station_name": (DIM, names, {"long_name": "station name"}),
    }


def normalise(ds: xr.Dataset, path: str | None) -> xr.Dataset:
    """Check an adapter's station dataset and normalise its coordinates.

    Refuses missing coordinates, duplicate ids and positions that are not degrees with
    :class:`CoordinateError`; wraps longitudes to [0, 360) and puts ``time`` first.
    """
    missing = [c for c in (DIM, *COORDS) if c not in ds.coords]
    if missing:
        raise CoordinateError(
            "station data without its station coordinates",
            path=path,
            expected=f"coordinates {[DIM, *COORDS]} on dim '{DIM}'",
            found=f"no {missing}",
            hint="build them with climbench.data.stations.station_coords",
        )
    ids = ds[DIM].values.astype(str)
    if np.unique(ids).size != ids.size:
        dupes = pd.Index(ids)[pd.Index(ids).duplicated()].unique()[:3].tolist()
        raise CoordinateError(
            "station ids repeat",
            path=path,
            variable=DIM,
            expected="one entry per station",
            found=f"repeated ids {dupes}",
            hint="merge the duplicated stations' rows first",
        )
    lat = ds["lat"].values.astype(float)
    lon = ds["lon"].values.astype(float)
    bad = ~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 360)
    if bad.any():
        raise CoordinateError(
            "station positions are not degrees",
            path=path,
            variable="lat/lon",
            expected="latitudes in [-90, 90] and longitudes in [-360, 360]",
            found=f"stations {ids[bad][:3].tolist()} at lat {lat[bad][:3].tolist()}, "
            f"lon {lon[bad][:3].tolist()}",
            hint="drop or fix those stations",
        )
    ds = ds.assign_coords(
        {DIM: ids, "lon": (DIM, lon % 360.0, ds["lon"].attrs), "lat": (DIM, lat, ds["lat"].attrs)}
    )
    ds["lat"].attrs.update(units="degrees_north", standard_name="latitude")
    ds["lon"].attrs.update(units="degrees_east", standard_name="longitude")
    return ds


def problems(ds: xr.Dataset) -> list[str]:
    """What breaks the station schema (empty when ``ds`` follows it)."""
    found = [f"missing coordinate '{c}' on '{DIM}'" for c in COORDS if c not in ds.coords]
    if found:
        return found
    for c in COORDS:
        if ds[c].dims != (DIM,):
            found.append(f"coordinate '{c}' has dims {ds[c].dims}, expected ('{DIM}',)")
    lon = ds["lon"].values
    if lon.size and (np.nanmin(lon) < 0 or np.nanmax(lon) >= 360):
        found.append("'lon' is outside [0, 360)")
    if np.unique(ds[DIM].values).size != ds.sizes[DIM]:
        found.append("station ids repeat")
    for name, da in ds.data_vars.items():
        if DIM in da.dims and da.dims[-1] != DIM:
            found.append(f"variable '{name}' has dims {da.dims}; '{DIM}' must come last")
    return found


def open_station_csv(
    path: str | os.PathLike,
    *,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """A canonical station dataset from a CSV table with one row per station and time.

    Args:
        path: the CSV file. It needs columns for the station id, time, latitude and
            longitude (``station``, ``time``, ``lat``, ``lon`` unless ``columns`` maps
            them), optionally ``elevation`` and ``station_name``; every other numeric
            column is a variable.
        columns: ``{canonical role: column}`` for differently named columns, e.g.
            ``{"station": "STN", "time": "date", "lat": "latitude"}``.
        units: ``{column: unit}`` of the variables (a CSV has no attributes); variables
            of the vocabulary need one, others are kept with ``units`` if given.

    Returns:
        dims ``time, station``; stations without a row at some time are NaN there.
    """
    from climbench.data import schema

    roles = {"station": "station", "time": "time", "lat": "lat", "lon": "lon"}
    roles.update({"elevation": "elevation", "station_name": "station_name"})
    roles.update(columns or {})
    try:
        table = pd.read_csv(path, dtype={roles["station"]: str})  # ids keep leading zeros
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DataFileError(
            "cannot read the CSV table", path=path, expected="a CSV file", found=str(err)
        ) from err
    needed = [roles[r] for r in ("station", "time", "lat", "lon")]
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise DataFileError(
            "station table lacks columns",
            path=path,
            expected=f"columns {needed} (station id, time, latitude, longitude)",
            found=f"columns {list(table.columns)}",
            hint="name the columns with columns={'station': ..., 'time': ..., 'lat': ..., "
            "'lon': ...}",
        )
    table[roles["station"]] = table[roles["station"]].astype(str)
    try:
        table[roles["time"]] = pd.to_datetime(table[roles["time"]])
    except (ValueError, TypeError) as err:
        raise DataFileError(
            "station table times are not dates",
            path=path,
            variable=roles["time"],
            expected="ISO dates such as 2024-05-16T17:30",
            found=str(err),
        ) from err
    table = table.set_index([roles["time"], roles["station"]])
    if table.index.has_duplicates:
        raise DataFileError(
            "station table has several rows for one station and time",
            path=path,
            expected="one row per station and time",
            found=f"{int(table.index.duplicated().sum())} repeated rows",
        )
    meta_columns = [roles[r] for r in ("lat", "lon", "elevation", "station_name")]
    meta = table.reset_index().groupby(roles["station"])
    first = meta.first()
    for role in ("lat", "lon"):
        if (meta[roles[role]].nunique() > 1).any():
            raise DataFileError(
                f"a station's {role} changes between rows",
                path=path,
                variable=roles[role],
                expected="one position per station",
                found=f"stations {meta[roles[role]].nunique()[lambda s: s > 1].index[:3].tolist()}",
                hint="give moved stations new ids",
            )
    values = table.drop(columns=[c for c in meta_columns if c in table.columns])
    values = values.select_dtypes("number")
    ds = xr.Dataset.from_dataframe(values).rename({roles["time"]: "time", roles["station"]: DIM})
    ids = ds[DIM].values
    ds = ds.assign_coords(
        station_coords(
            ids,
            first.loc[ids, roles["lat"]].to_numpy(),
            first.loc[ids, roles["lon"]].to_numpy(),
            first.loc[ids, roles["elevation"]].to_numpy()
            if roles["elevation"] in first.columns
            else None,
            first.loc[ids, roles["station_name"]].to_numpy()
            if roles["station_name"] in first.columns
            else None,
        )
    )
    for column, unit in (units or {}).items():
        if column in ds.data_vars:
            ds[column].attrs["units"] = unit
    ds = network_names(ds)
    ds = normalise(ds, str(path))
    ds = schema.canonicalise(ds, str(path))
    ds.attrs.update(
        climbench_source="station-csv", climbench_format="csv", climbench_path=str(path)
    )
    return ds
