"""CF files on curvilinear grids: rotated-pole regional models (CORDEX) and ocean models.

Sources: EURO-CORDEX (Jacob et al. 2014, Reg. Environ. Change 14, 563-578; e.g. the
GERICS-REMO2015 EUR-11 orography, 0.11 deg rotated pole) and NEMO (Madec et al., the NEMO
ocean engine; the ORCA2 tripolar grid as cf-plot ships it).

Recognised when latitude and longitude are 2-D, either as CF auxiliary coordinates (CORDEX:
``lat``/``lon`` on ``rlat, rlon`` with a ``rotated_latitude_longitude`` grid mapping and
``lat_vertices``/``lon_vertices`` corners) or as data variables named like latitudes and
longitudes (NEMO's ``nav_lat``/``nav_lon``; the ORCA2 sample's ``latitude``/``longitude``,
which carry no attributes at all: their names make them certain, their values are
checked). The two grid dims become ``y, x``; a CF grid mapping becomes the ``crs``
coordinate (its 1-D ``rlat``/``rlon`` or projection coordinates become ``y``/``x``), and
corners given by the ``bounds`` attribute become ``lat_vertices``/``lon_vertices``.
Variables without units are refused later by the schema, naming the ``units=`` override.
"""

from __future__ import annotations

import pyproj
import xarray as xr

from climbench.data.curvilinear import crs_coordinate
from climbench.data.schema import LAT_NAMES, LON_NAMES
from climbench.data.sources.base import SourceAdapter


def _two_d(raw: xr.Dataset, names: tuple[str, ...], standard_name: str) -> str | None:
    for name, var in raw.variables.items():
        if var.ndim == 2 and (
            str(name).lower() in names or var.attrs.get("standard_name") == standard_name
        ):
            return str(name)
    return None


class CurvilinearAdapter(SourceAdapter):
    name = "curvilinear"
    description = "CF files with 2-D latitude/longitude (CORDEX rotated pole, NEMO ocean grids)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        lat = _two_d(raw, LAT_NAMES, "latitude")
        lon = _two_d(raw, LON_NAMES, "longitude")
        return lat is not None and lon is not None and raw[lat].dims == raw[lon].dims

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        keys = ("project_id", "CORDEX_domain", "driving_model_id", "model_id", "institute_id")
        meta = {k: str(raw.attrs[k]) for k in keys if k in raw.attrs}
        lat = _two_d(raw, LAT_NAMES, "latitude")
        lon = _two_d(raw, LON_NAMES, "longitude")
        if not raw.attrs and not raw[lat].attrs and not raw[lon].attrs:
            meta["climbench_note"] = "the file has no attributes; grid taken from variable names"
        return meta

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        lat = _two_d(raw, LAT_NAMES, "latitude")
        lon = _two_d(raw, LON_NAMES, "longitude")
        ydim, xdim = raw[lat].dims
        ds = raw.set_coords([lat, lon]).rename({lat: "lat", lon: "lon"})
        bounds = {
            "lat_vertices": raw[lat].attrs.get("bounds"),
            "lon_vertices": raw[lon].attrs.get("bounds"),
        }
        for new, old in bounds.items():
            if old and old in ds.variables:
                ds = ds.set_coords(old).rename({old: new}) if old != new else ds.set_coords(old)
        mappings = [n for n, v in ds.variables.items() if "grid_mapping_name" in v.attrs]
        if mappings:
            crs = pyproj.CRS.from_cf(dict(ds[mappings[0]].attrs))
            ds = ds.drop_vars(mappings).assign_coords(crs=crs_coordinate(crs))
        renames = {ydim: "y", xdim: "x"}
        ds = ds.rename({k: v for k, v in renames.items() if k != v})
        vertex_dims = {d for n in bounds if n in ds.coords for d in ds[n].dims} - {"y", "x"}
        if vertex_dims:
            ds = ds.rename({vertex_dims.pop(): "vertices"})
        ds.attrs["climbench_layout"] = "curvilinear"
        return ds
