"""Regular latitude-longitude grids: the benchmark grids, cell edges and cell areas.

Conventions (DESIGN.md): ``lat`` ascending in degrees north, ``lon`` in [0, 360) ascending.
Cells are centred on the coordinates; a cell's edges lie half-way between neighbouring
centres and are clipped to [-90, 90], so a grid with pole points (WeatherBench 2's 1.5 and
0.25 degree grids) has half-width pole rows whose area is small but not zero.

Cell area on the sphere between latitudes a and b and longitudes c and d is
``R**2 * (sin b - sin a) * (d - c)`` (angles in radians). Area weights are the
``sin`` differences normalised to mean 1, which equals normalised cos(lat) on grids
without poles (WeatherBench 2's ``get_lat_weights``).

Named benchmark grids:
- ``5.625``, ``2.8125``, ``1.40625``: WeatherBench 1 / ClimateLearn, no pole points
  (32 x 64, 64 x 128, 128 x 256), first latitude at -90 + res / 2.
- ``1.5``, ``0.25``: WeatherBench 2 / ERA5 equiangular grids with poles (121 x 240, 721 x 1440).
Any other number is a global grid of that resolution without pole points; a string
``"lat=S:N:D,lon=W:E:D"`` is a regional grid with centres from S to N (and W to E) inclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import xarray as xr

from climbench.errors import RegridError

EARTH_RADIUS_M = 6_371_000.0

_WITH_POLES = {"1.5": 1.5, "0.25": 0.25, "1.0": 1.0}
_WITHOUT_POLES = {"5.625": 5.625, "2.8125": 2.8125, "1.40625": 1.40625}


@dataclass(frozen=True)
class Grid:
    """A regular (rectilinear) lat-lon grid given by its cell centres."""

    lat: np.ndarray
    lon: np.ndarray
    name: str = "custom"

    @property
    def shape(self) -> tuple[int, int]:
        return (self.lat.size, self.lon.size)

    @property
    def is_global_lon(self) -> bool:
        """True when the cells cover all 360 degrees of longitude."""
        return is_periodic(self.lon)

    def coords(self) -> dict[str, xr.DataArray]:
        """Canonical ``lat`` / ``lon`` coordinates with CF attributes."""
        return {
            "lat": xr.DataArray(
                self.lat,
                dims="lat",
                attrs={
                    "units": "degrees_north",
                    "standard_name": "latitude",
                    "long_name": "latitude",
                },
            ),
            "lon": xr.DataArray(
                self.lon,
                dims="lon",
                attrs={
                    "units": "degrees_east",
                    "standard_name": "longitude",
                    "long_name": "longitude",
                },
            ),
        }

    def to_dict(self) -> dict:
        """JSON-ready description (for manifests)."""
        return {
            "name": self.name,
            "nlat": int(self.lat.size),
            "nlon": int(self.lon.size),
            "lat_first": float(self.lat[0]),
            "lat_last": float(self.lat[-1]),
            "lon_first": float(self.lon[0]),
            "lon_last": float(self.lon[-1]),
        }

    @classmethod
    def from_dataset(cls, ds: xr.Dataset | xr.DataArray, name: str = "source") -> Grid:
        """The grid of a canonical dataset (1-D ``lat`` and ``lon`` coordinates)."""
        return cls(
            np.asarray(ds["lat"].values, dtype=float),
            np.asarray(ds["lon"].values, dtype=float),
            name,
        )


def global_grid(resolution: float, poles: bool = False, name: str | None = None) -> Grid:
    """A global grid of ``resolution`` degrees, with or without pole points."""
    if not 0 < resolution <= 90 or not np.isclose(360 / resolution, round(360 / resolution)):
        raise RegridError(
            "unusable grid resolution",
            expected="a positive number of degrees dividing 360",
            found=str(resolution),
        )
    nlon = round(360 / resolution)
    lon = np.arange(nlon) * resolution
    if poles:
        lat = np.linspace(-90.0, 90.0, round(180 / resolution) + 1)
    else:
        nlat = round(180 / resolution)
        lat = -90 + resolution / 2 + np.arange(nlat) * resolution
    return Grid(lat, lon, name or f"{resolution:g}")


_REGIONAL = re.compile(
    r"^lat=(?P<s>-?[\d.]+):(?P<n>-?[\d.]+):(?P<dlat>[\d.]+),"
    r"lon=(?P<w>-?[\d.]+):(?P<e>-?[\d.]+):(?P<dlon>[\d.]+)$"
)


def get_grid(spec: str | float | Grid) -> Grid:
    """Resolve a grid spec: a :class:`Grid`, a named benchmark grid, a resolution in
    degrees, or ``"lat=S:N:D,lon=W:E:D"`` for a regional grid."""
    if isinstance(spec, Grid):
        return spec
    text = str(spec).strip()
    if text in _WITH_POLES:
        return global_grid(_WITH_POLES[text], poles=True, name=text)
    if text in _WITHOUT_POLES:
        return global_grid(_WITHOUT_POLES[text], poles=False, name=text)
    match = _REGIONAL.match(text.replace(" ", ""))
    if match:
        g = {k: float(v) for k, v in match.groupdict().items()}
        lat = np.arange(g["s"], g["n"] + g["dlat"] / 2, g["dlat"])
        lon = np.arange(g["w"], g["e"] + g["dlon"] / 2, g["dlon"]) % 360
        if lat.min() < -90 or lat.max() > 90 or lat.size < 1 or lon.size < 1:
            raise RegridError(
                "regional grid outside the sphere", found=text, expected="-90 <= S <= N <= 90"
            )
        return Grid(lat, np.sort(lon), text)
    try:
        resolution = float(text)
    except ValueError:
        raise RegridError(
            "unknown grid",
            expected="5.625, 2.8125, 1.40625, 1.5, 0.25, a resolution in "
            "degrees, or 'lat=S:N:D,lon=W:E:D'",
            found=repr(text),
        ) from None
    return global_grid(resolution, poles=False)


def lat_edges(lat: np.ndarray) -> np.ndarray:
    """Cell edges (degrees) of ascending cell-centre latitudes, clipped to [-90, 90]."""
    lat = np.asarray(lat, dtype=float)
    if lat.size == 1:
        raise RegridError(
            "cannot infer cell edges from a single latitude",
            expected="at least 2 latitudes",
            found="1",
        )
    mid = (lat[1:] + lat[:-1]) / 2
    first = lat[0] - (lat[1] - lat[0]) / 2
    last = lat[-1] + (lat[-1] - lat[-2]) / 2
    return np.clip(np.concatenate([[first], mid, [last]]), -90.0, 90.0)


def lon_edges(lon: np.ndarray) -> np.ndarray:
    """Cell edges (degrees) of ascending cell-centre longitudes, not wrapped (may pass 360)."""
    lon = np.asarray(lon, dtype=float)
    if lon.size == 1:
        raise RegridError(
            "cannot infer cell edges from a single longitude",
            expected="at least 2 longitudes",
            found="1",
        )
    mid = (lon[1:] + lon[:-1]) / 2
    return np.concatenate(
        [[lon[0] - (lon[1] - lon[0]) / 2], mid, [lon[-1] + (lon[-1] - lon[-2]) / 2]]
    )


def is_periodic(lon: np.ndarray) -> bool:
    """True when regularly spaced longitudes cover the full circle."""
    lon = np.asarray(lon, dtype=float)
    if lon.size < 2:
        return False
    step = np.diff(lon)
    return bool(np.allclose(step, step[0]) and np.isclose(step[0] * lon.size, 360.0))


def contiguous_lon_order(lon: np.ndarray) -> np.ndarray | None:
    """The column order that makes a regional grid's longitudes contiguous, or None.

    Canonical longitudes ascend in [0, 360) (DESIGN.md), so a region across the prime
    meridian, such as the UK's 10 W to 2 E, is stored as [0, 2] then [350, 360): in store
    order a convolution would treat 2 E and 10 W as neighbours. The order returned starts
    after the largest gap (``[350, ..., 359.75, 0, ..., 2]``). None when the columns are
    already contiguous or the grid is periodic (global).
    """
    lon = np.asarray(lon, dtype=float)
    if lon.size < 3 or is_periodic(lon):
        return None
    gaps = np.diff(np.concatenate([lon, [lon[0] + 360.0]]))
    start = (int(np.argmax(gaps)) + 1) % lon.size
    return None if start == 0 else np.roll(np.arange(lon.size), -start)


def cell_area_weights(lat: np.ndarray | xr.DataArray) -> np.ndarray:
    """Latitude weights proportional to cell area, normalised to mean 1.

    ``w_i = (sin e_{i+1} - sin e_i)`` over cell edges ``e``, divided by its mean. For
    latitudes [-75, -45, -15, 15, 45, 75] this is [0.40192, 1.09808, 1.5, 1.5, 1.09808,
    0.40192]; pole rows of a grid with poles get a small non-zero weight.
    """
    lat = np.asarray(lat, dtype=float)
    order = np.argsort(lat)
    edges = np.deg2rad(lat_edges(lat[order]))
    w_sorted = np.diff(np.sin(edges))
    w = np.empty_like(w_sorted)
    w[order] = w_sorted
    return w / w.mean()


def cell_areas(grid: Grid) -> np.ndarray:
    """Cell areas in m2, shape (nlat, nlon)."""
    dlat = np.diff(np.sin(np.deg2rad(lat_edges(grid.lat))))
    dlon = np.deg2rad(np.diff(lon_edges(grid.lon)))
    return EARTH_RADIUS_M**2 * np.outer(dlat, dlon)
