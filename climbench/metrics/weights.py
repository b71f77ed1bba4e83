"""Area weights, named regions and masks for spatial means on a lat-lon grid.

Convention (DESIGN.md, WeatherBench 2): a spatial mean is ``sum(w x) / sum(w)`` over the
cells where ``x`` is finite, with ``w = cell-area weight x region/mask weight``. Cell-area
weights come from :func:`climbench.data.grids.cell_area_weights` (sin of cell-edge
latitudes, normalised to mean 1; normalised cos(lat) on grids without poles; pole rows of
grids with poles get a small non-zero weight). Non-finite cells (NaN land in an SST field,
Inf from a bad division) get zero weight, so a NaN-masked field is its own mask.

Regions are boxes ``[lat_min, lat_max] x [lon_min, lon_max]`` in degrees (cell centres,
bounds inclusive). Longitudes are taken modulo 360; a box with ``lon_min > lon_max`` wraps
through the Greenwich meridian (Europe is ``lon_min=-10 -> 350, lon_max=40``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from climbench.data.grids import cell_area_weights
from climbench.errors import CoordinateError, DataValueError


@dataclass(frozen=True)
class Region:
    """A lat-lon box in degrees; ``lon_min > lon_max`` (after modulo 360) wraps around 0."""

    name: str
    lat_min: float = -90.0
    lat_max: float = 90.0
    lon_min: float = 0.0
    lon_max: float = 360.0

    def mask(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Boolean (nlat, nlon) array: True for cell centres inside the box."""
        lat = np.asarray(lat, dtype=float)
        lon = np.mod(np.asarray(lon, dtype=float), 360.0)
        in_lat = (lat >= self.lat_min) & (lat <= self.lat_max)
        if self.lon_max - self.lon_min >= 360.0:
            in_lon = np.ones(lon.shape, dtype=bool)
        else:
            lo, hi = self.lon_min % 360.0, self.lon_max % 360.0
            in_lon = (lon >= lo) & (lon <= hi) if lo <= hi else (lon >= lo) | (lon <= hi)
        return in_lat[:, None] & in_lon[None, :]


#: Named regions: WeatherBench 2's latitude bands (tropics 20S-20N, extra-tropics poleward
#: of 20 degrees) plus polar caps (poleward of 60 degrees) and continental boxes.
REGIONS: dict[str, Region] = {
    r.name: r
    for r in [
        Region("global"),
        Region("tropics", -20.0, 20.0),
        Region("northern-extratropics", 20.0, 90.0),
        Region("southern-extratropics", -90.0, -20.0),
        Region("arctic", 60.0, 90.0),
        Region("antarctic", -90.0, -60.0),
        Region("europe", 35.0, 75.0, -12.5, 42.5),
        Region("north-america", 25.0, 60.0, -120.0, -75.0),
        Region("east-asia", 25.0, 60.0, 102.5, 150.0),
        Region("australia", -45.0, -12.5, 120.0, 155.0),
    ]
}


def _extratropics_mask(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return REGIONS["northern-extratropics"].mask(lat, lon) | REGIONS["southern-extratropics"].mask(
        lat, lon
    )


def region_mask(region: str | Region, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Boolean (nlat, nlon) mask of a named region or a :class:`Region`.

    Names: the keys of :data:`REGIONS` and ``"extratropics"`` (both hemispheres, |lat| >= 20).
    """
    if isinstance(region, Region):
        return region.mask(lat, lon)
    if region == "extratropics":
        return _extratropics_mask(np.asarray(lat, float), np.asarray(lon, float))
    if region not in REGIONS:
        raise CoordinateError(
            "unknown region",
            expected="one of " + ", ".join([*REGIONS, "extratropics"]) + " or a Region",
            found=repr(region),
            hint="pass Region(name, lat_min, lat_max, lon_min, lon_max) for a custom box",
        )
    return REGIONS[region].mask(lat, lon)


def region_name(region: str | Region) -> str:
    """The label a region gets on a ``region`` dimension."""
    return region.name if isinstance(region, Region) else str(region)


def latitude_weights(lat: np.ndarray | xr.DataArray) -> xr.DataArray:
    """Cell-area latitude weights (mean 1) as a DataArray on ``lat``.

    Formula: ``w_i = (sin e_{i+1} - sin e_i) / mean(...)`` over cell edges ``e`` (see
    :func:`climbench.data.grids.cell_area_weights`). Dimensionless. Reference:
    WeatherBench 2 ``get_lat_weights``.
    """
    values = np.asarray(lat, dtype=float)
    return xr.DataArray(cell_area_weights(values), dims="lat", coords={"lat": values})


def land_mask(land_sea_mask: xr.DataArray, threshold: float = 0.5) -> xr.DataArray:
    """Boolean land mask from an ERA5-style land-sea fraction (land where ``lsm >= threshold``)."""
    return land_sea_mask >= threshold


def ocean_mask(land_sea_mask: xr.DataArray, threshold: float = 0.5) -> xr.DataArray:
    """Boolean ocean mask from an ERA5-style land-sea fraction (ocean where ``lsm < threshold``)."""
    return land_sea_mask < threshold


def nan_mask(field: xr.DataArray) -> xr.DataArray:
    """Boolean mask of the finite cells of a (lat, lon) field, e.g. SST where land is NaN."""
    return xr.apply_ufunc(np.isfinite, field)


def area_weights(
    lat: np.ndarray | xr.DataArray,
    lon: np.ndarray | xr.DataArray,
    region: str | Region = "global",
    mask: xr.DataArray | np.ndarray | None = None,
) -> xr.DataArray:
    """2-D (lat, lon) weights: cell-area weight x region mask x optional mask.

    ``mask`` is boolean or a fraction in [0, 1] on (lat, lon) (e.g. :func:`land_mask`, or a
    land-sea fraction for fractional weighting). Units: dimensionless; only ratios matter
    because spatial means divide by the sum of weights.
    """
    lat_v = np.asarray(lat, dtype=float)
    lon_v = np.asarray(lon, dtype=float)
    w = cell_area_weights(lat_v)[:, None] * region_mask(region, lat_v, lon_v)
    if mask is not None:
        m = mask
        if isinstance(mask, xr.DataArray):
            if set(mask.dims) != {"lat", "lon"}:
                raise DataValueError(
                    "mask has the wrong dimensions",
                    variable=str(mask.name),
                    expected="dims (lat, lon)",
                    found=str(mask.dims),
                )
            m = mask.transpose("lat", "lon").values
        m = np.asarray(m, dtype=float)
        if m.shape != w.shape:
            raise DataValueError(
                "mask does not match the grid", expected=str(w.shape), found=str(m.shape)
            )
        w = w * np.nan_to_num(m, nan=0.0)
    if not np.any(w > 0):
        raise DataValueError(
            "no grid cell has positive weight",
            expected=f"region {region_name(region)!r} (and mask) to cover some cells",
            found="an empty selection",
            hint="check the region bounds and the grid's longitude convention [0, 360)",
        )
    return xr.DataArray(w, dims=("lat", "lon"), coords={"lat": lat_v, "lon": lon_v})


def regions_list(region: str | Region | Iterable[str | Region]) -> tuple[list, bool]:
    """Normalise ``region`` to a list; the flag says whether a ``region`` dim is wanted."""
    if isinstance(region, str | Region):
        return [region], False
    return list(region), True
