"""WRF (Weather Research and Forecasting model) output: ``wrfout`` files.

Source: NCAR; Skamarock et al. (2019), "A Description of the Advanced Research WRF Model
Version 4", NCAR/TN-556+STR. Sample files: wrf-python's CI file (Apache-2.0) and salem's
test grids (public domain).

What is particular to WRF and undone here:
- times only as the characters ``Times`` (``2005-08-28_12:00:00``) on dim ``Time``: they
  become the ``time`` coordinate (``times=`` overrides them);
- a projected grid (Lambert conformal ``MAP_PROJ=1``, polar stereographic ``2``, Mercator
  ``3``) described only by global attributes (``TRUELAT1/2``, ``STAND_LON``, ``POLE_LAT``)
  on WRF's sphere of radius 6 370 km, with 2-D ``XLAT``/``XLONG``: dims ``south_north`` /
  ``west_east`` become ``y, x``, the projection a CF ``crs`` coordinate (pyproj) with ``x``
  / ``y`` in metres, and cell corners (``lat_vertices``/``lon_vertices``) follow from it.
  The projected XLAT/XLONG must sit on a regular ``DX`` x ``DY`` lattice (checked, so a
  wrong reading of the attributes cannot pass);
- a vortex-following (moving) nest has time-dependent XLAT/XLONG: the grid keeps its time
  dim (``lat`` on ``time, y, x``) and each step is regridded on its own cells;
- staggered fields (``U``, ``V`` on ``west_east_stag``/``south_north_stag``) and model-level
  fields (``bottom_top``: ``T`` is perturbation potential temperature, full pressure is
  ``P + PB``) are not canonical variables: only fields on the mass grid ``(Time, y, x)`` are
  kept, and the dropped names are listed in ``attrs["wrf_dropped"]``;
- 10 m winds are grid-relative: they are named as earth-relative components only on
  Mercator grids, where grid and earth axes agree; elsewhere they keep WRF's names.
"""

from __future__ import annotations

import numpy as np
import pyproj
import xarray as xr

from climbench.data.curvilinear import crs_coordinate
from climbench.data.sources.base import SourceAdapter
from climbench.data.times import wrf_times
from climbench.errors import CoordinateError

WRF_EARTH_RADIUS_M = 6_370_000.0
#: WRF names -> vocabulary names (the schema converts units)
NAMES = {"T2": "2m_temperature", "PSFC": "surface_pressure", "HGT": "surface_altitude"}
EARTH_RELATIVE_WINDS = {"U10": "10m_u_component_of_wind", "V10": "10m_v_component_of_wind"}
#: largest allowed distance (fraction of DX) of a projected cell centre from the lattice
LATTICE_TOLERANCE = 0.02


def wrf_crs(attrs: dict, path: str | None = None) -> pyproj.CRS:
    """The projection of a WRF domain from its global attributes (WRF's 6370 km sphere)."""
    sphere = f"+a={WRF_EARTH_RADIUS_M:.0f} +b={WRF_EARTH_RADIUS_M:.0f} +units=m +no_defs"
    proj = int(attrs.get("MAP_PROJ", -1))
    lat1, lat2 = float(attrs.get("TRUELAT1", 0.0)), float(attrs.get("TRUELAT2", 0.0))
    lon0 = float(attrs.get("STAND_LON", 0.0))
    if proj == 1:
        lat0 = float(attrs.get("MOAD_CEN_LAT", lat1))
        text = f"+proj=lcc +lat_1={lat1} +lat_2={lat2} +lat_0={lat0} +lon_0={lon0}"
    elif proj == 2:
        pole = 90.0 if float(attrs.get("POLE_LAT", 90.0)) > 0 else -90.0
        text = f"+proj=stere +lat_0={pole} +lat_ts={lat1} +lon_0={lon0}"
    elif proj == 3:
        text = f"+proj=merc +lat_ts={lat1} +lon_0={lon0}"
    else:
        raise CoordinateError(
            "unsupported WRF map projection",
            path=path,
            variable="MAP_PROJ",
            expected="1 (Lambert conformal), 2 (polar stereographic) or 3 (Mercator)",
            found=str(attrs.get("MAP_PROJ")),
            hint="regrid the file with WRF's own tools (e.g. wrf-python) first",
        )
    return pyproj.CRS.from_proj4(f"{text} {sphere}")


class WRFAdapter(SourceAdapter):
    name = "wrf"
    description = "WRF model output (wrfout: Times, XLAT/XLONG, projection attributes)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        return "XLAT" in raw.variables and ("Times" in raw.variables or "Time" in raw.dims)

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        keys = ("TITLE", "GRID_ID", "PARENT_ID", "DX", "DY", "MAP_PROJ", "SIMULATION_START_DATE")
        return {f"wrf_{k.lower()}": str(raw.attrs[k]).strip() for k in keys if k in raw.attrs}

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        ds = raw
        if "Time" in ds.coords and np.issubdtype(ds["Time"].dtype, np.datetime64):
            times = ds["Time"].values  # given with times=
        elif "Times" in ds.variables:
            times = wrf_times(ds["Times"].values, path)
        else:
            times = None  # the schema refuses the time dim, naming the candidates
        lat, lon = _positions(ds, "XLAT"), _positions(ds, "XLONG")
        grid_vars = [
            n
            for n, v in ds.data_vars.items()
            if v.dims[-2:] == ("south_north", "west_east")
            and set(v.dims) <= {"Time", "south_north", "west_east"}
            and v.dtype.kind in "fiu"
        ]
        dropped = sorted(str(n) for n in ds.data_vars if n not in grid_vars and n not in ("Times",))
        renames = dict(NAMES)
        if int(ds.attrs.get("MAP_PROJ", -1)) == 3:
            renames.update(EARTH_RELATIVE_WINDS)
        out = xr.Dataset(
            {renames.get(str(n), str(n)): ds[n].reset_coords(drop=True) for n in grid_vars},
            attrs=dict(ds.attrs),
        )
        out = out.rename({"south_north": "y", "west_east": "x"})
        if "Time" in out.dims:
            out = out.rename(Time="time")
        if times is not None and "time" in out.dims:
            out = out.assign_coords(time=("time", times))
        moving = lat.ndim == 3 and float(np.abs(lat - lat[:1]).max()) > 1e-4
        terrain = "surface_altitude"
        if not moving and terrain in out and "time" in out[terrain].dims:
            out[terrain] = out[terrain].isel(time=0, drop=True)  # a fixed grid's terrain
        crs = wrf_crs(ds.attrs, path)
        out = out.assign_coords(crs=crs_coordinate(crs))
        if not moving:
            lat, lon = lat[0], lon[0]
        dims = ("time", "y", "x") if moving else ("y", "x")
        out = out.assign_coords(lat=(dims, lat), lon=(dims, lon))
        x, y = _lattice(crs, lat, lon, float(ds.attrs["DX"]), float(ds.attrs["DY"]), path)
        if not moving:
            out = out.assign_coords(
                x=("x", x[0], {"units": "m", "standard_name": "projection_x_coordinate"}),
                y=("y", y[0], {"units": "m", "standard_name": "projection_y_coordinate"}),
            )
        corner_lat, corner_lon = _corners(crs, x, y, float(ds.attrs["DX"]), float(ds.attrs["DY"]))
        if not moving:
            corner_lat, corner_lon = corner_lat[0], corner_lon[0]
        out = out.assign_coords(
            lat_vertices=((*dims, "vertices"), corner_lat, {"units": "degrees_north"}),
            lon_vertices=((*dims, "vertices"), corner_lon, {"units": "degrees_east"}),
        )
        out.attrs.update(climbench_layout="curvilinear", wrf_dropped=", ".join(dropped))
        return out


def _positions(ds: xr.Dataset, name: str) -> np.ndarray:
    """XLAT or XLONG as (steps, ny, nx) floats (WRF writes them per time step)."""
    values = np.asarray(ds[name].values, dtype=float)
    return values[None] if values.ndim == 2 else values


def _lattice(
    crs: pyproj.CRS, lat: np.ndarray, lon: np.ndarray, dx: float, dy: float, path: str
) -> tuple[np.ndarray, np.ndarray]:
    """Projected centre coordinates ``x (steps, nx)``, ``y (steps, ny)`` of the WRF lattice.

    Fitted to the projected XLAT/XLONG of each step (a moving nest has its own origin per
    step); refuses a projection that does not put them on a ``dx`` x ``dy`` lattice.
    """
    lat3, lon3 = (lat[None], lon[None]) if lat.ndim == 2 else (lat, lon)
    to_xy = pyproj.Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
    px, py = to_xy.transform(lon3, lat3)
    nx, ny = lat3.shape[2], lat3.shape[1]
    ix, iy = np.arange(nx) * dx, np.arange(ny) * dy
    x0 = np.mean(px - ix[None, None, :], axis=(1, 2))
    y0 = np.mean(py - iy[None, :, None], axis=(1, 2))
    x = x0[:, None] + ix[None, :]
    y = y0[:, None] + iy[None, :]
    error = max(
        float(np.abs(px - x[:, None, :]).max()) / dx, float(np.abs(py - y[:, :, None]).max()) / dy
    )
    if error > LATTICE_TOLERANCE:
        raise CoordinateError(
            "WRF projection attributes do not reproduce XLAT/XLONG",
            path=path,
            variable="XLAT/XLONG",
            expected=f"projected centres on a {dx:g} m x {dy:g} m lattice (within "
            f"{LATTICE_TOLERANCE:.0%} of a cell)",
            found=f"{error:.2f} cells off with {crs.to_proj4()}",
            hint="check MAP_PROJ, TRUELAT1/2 and STAND_LON in the global attributes",
        )
    return x, y


def _corners(
    crs: pyproj.CRS, x: np.ndarray, y: np.ndarray, dx: float, dy: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cell-corner latitudes and longitudes ``(steps, ny, nx, 4)``, counter-clockwise from
    the lower left (CF ``vertices`` order), from the projection."""
    to_lonlat = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    xs = x[:, None, :, None] + np.array([-0.5, 0.5, 0.5, -0.5]) * dx
    ys = y[:, :, None, None] + np.array([-0.5, -0.5, 0.5, 0.5]) * dy
    xs, ys = np.broadcast_arrays(xs, ys)
    lon, lat = to_lonlat.transform(xs, ys)
    return np.asarray(lat), np.asarray(lon)
