"""Station observation files: CF discrete sampling geometry time series and single stations.

Sources: KNMI 10-minute observations (KMDS ``KMDS__OPER_P___10M_OBS_L2``, KNMI open data;
CF-1.4 ``featureType = timeSeries``, 69 stations per file, one time) and the ARM surface
meteorology station ``sgpmetE13`` (ARM data policy; Lamont, Oklahoma; 1-minute steps, its
position as 0-d ``lat``/``lon``/``alt`` variables and a ``qc_`` flag per variable).

Both become the canonical station layout of :mod:`climbench.data.stations` (dims ``time,
station``; ``station``, ``lat``, ``lon``, ``elevation``, ``station_name`` coordinates); the
networks' names map through :func:`climbench.data.stations.network_names` and units are
converted by the schema (degC -> K, hPa and kPa -> Pa). ARM quality flags are applied: a
value whose flag has a bit the file assesses as ``Bad`` (missing, below ``valid_min``,
above ``valid_max``) is NaN; ``Indeterminate`` bits (a large step) keep the value. Text
variables and 0-d bookkeeping variables are not observations and are dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from climbench.data.schema import LAT_NAMES, LON_NAMES
from climbench.data.stations import DIM, network_names, station_coords
from climbench.errors import CoordinateError

from .base import SourceAdapter

ELEVATION_NAMES = ("elevation", "height", "alt", "altitude", "station_height", "elev")
NAME_VARIABLES = ("station_name", "stationname", "name")


def _variable(raw: xr.Dataset, names: tuple[str, ...], standard_name: str, ndim: int):
    for name, var in raw.variables.items():
        if var.ndim == ndim and (
            str(name).lower() in names or var.attrs.get("standard_name") == standard_name
        ):
            return str(name)
    return None


def _observations(ds: xr.Dataset, dims: set[str]) -> list[str]:
    """Numeric variables on the observation dims (not flags, ids or bookkeeping)."""
    return [
        str(n)
        for n, v in ds.data_vars.items()
        if v.dtype.kind in "fiu" and v.ndim and set(v.dims) <= dims and "time" in v.dims
    ]


class TimeSeriesAdapter(SourceAdapter):
    name = "cf-timeseries"
    description = "CF discrete sampling geometry station time series (featureType timeSeries)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        return str(raw.attrs.get("featureType", "")).lower() == "timeseries"

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        return {k: str(raw.attrs[k]) for k in ("institution", "title") if k in raw.attrs}

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        ids = next(
            (n for n, v in raw.variables.items() if v.attrs.get("cf_role") == "timeseries_id"),
            None,
        )
        if ids is None or raw[ids].ndim != 1:
            raise CoordinateError(
                "timeSeries file without a station id variable",
                path=path,
                expected="a 1-D variable with cf_role = 'timeseries_id'",
                found=f"variables {sorted(map(str, raw.variables))[:12]}",
                hint="mark the station id variable with cf_role = 'timeseries_id'",
            )
        dim = raw[ids].dims[0]
        lat = _variable(raw, LAT_NAMES, "latitude", 1)
        lon = _variable(raw, LON_NAMES, "longitude", 1)
        if lat is None or lon is None:
            raise CoordinateError(
                "timeSeries file without station positions",
                path=path,
                expected=f"1-D latitude and longitude variables on '{dim}'",
                found=f"variables {sorted(map(str, raw.variables))[:12]}",
            )
        elevation = _variable(raw, ELEVATION_NAMES, "height", 1)
        names = _variable(raw, NAME_VARIABLES, "platform_name", 1)
        ds = raw.rename({dim: DIM}) if dim != DIM else raw
        keep = _observations(ds, {"time", DIM})
        out = ds[keep].reset_coords(drop=True).drop_vars(DIM, errors="ignore")
        out = network_names(out)
        out = out.assign_coords(
            station_coords(
                raw[ids].values,
                raw[lat].values,
                raw[lon].values,
                raw[elevation].values if elevation else None,
                raw[names].values if names else None,
            )
        )
        if "time" in raw.coords:
            out = out.assign_coords(time=raw["time"])
        out = out.transpose("time", ...)
        out.attrs.update(raw.attrs)
        out.attrs["climbench_layout"] = "station"
        return out


class SingleStationAdapter(SourceAdapter):
    name = "station"
    description = "single-station time series with 0-d latitude/longitude (e.g. ARM)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        lat = _variable(raw, LAT_NAMES, "latitude", 0)
        lon = _variable(raw, LON_NAMES, "longitude", 0)
        return lat is not None and lon is not None and "time" in raw.dims and raw.sizes["time"] > 1

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        keys = ("site_id", "facility_id", "platform_id", "location_description")
        return {k: str(raw.attrs[k]) for k in keys if k in raw.attrs}

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        lat = _variable(raw, LAT_NAMES, "latitude", 0)
        lon = _variable(raw, LON_NAMES, "longitude", 0)
        elevation = _variable(raw, ELEVATION_NAMES, "altitude", 0)
        bad_bits = _bad_qc_bits(raw.attrs)
        ds = raw
        for name in list(ds.data_vars):
            flag = f"qc_{name}"
            if flag in ds.data_vars and bad_bits:
                bad = (ds[flag].astype(np.int64) & bad_bits) != 0
                ds[name] = ds[name].where(~bad).assign_attrs(ds[name].attrs)
        keep = [n for n in _observations(ds, {"time"}) if not n.startswith("qc_")]
        out = ds[keep].reset_coords(drop=True)
        out = network_names(out)
        site = "".join(str(raw.attrs.get(k, "")) for k in ("site_id", "facility_id"))
        station_id = site or Path(path).name.split(".")[0]
        name = str(raw.attrs.get("location_description", station_id))
        out = out.expand_dims({DIM: 1}, axis=-1).assign_coords(
            station_coords(
                np.array([station_id]),
                np.array([float(raw[lat].values)]),
                np.array([float(raw[lon].values)]),
                np.array([float(raw[elevation].values)]) if elevation else None,
                np.array([name]),
            )
        )
        out.attrs.update(raw.attrs)
        out.attrs["climbench_layout"] = "station"
        return out


def _bad_qc_bits(attrs: dict) -> int:
    """The bit mask of ARM QC bits whose global ``qc_bit_N_assessment`` is ``Bad``."""
    mask = 0
    for key, value in attrs.items():
        parts = key.split("_")
        is_bit = key.startswith("qc_bit_") and key.endswith("_assessment") and parts[2].isdigit()
        if is_bit and str(value).strip().lower() == "bad":
            mask |= 1 << (int(parts[2]) - 1)
    return mask
