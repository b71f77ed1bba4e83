"""A generated planet: land-sea mask and orography, the same on every synthetic grid.

The geography is drawn once per seed on the finest synthetic grid (1.40625 degrees,
128 x 256) and area-averaged onto the coarser ones (2.8125, 5.625 degrees nest exactly in
it), so a fine field and its coarse counterpart see the same continents.

- Land: a smooth red-noise field (``gamma = 5``, ``k0 = 2``: continent-sized blobs) plus a
  northern-hemisphere bias ``0.5 sin(lat)`` and an Antarctic cap (south of 68 S), thresholded
  at the area-weighted quantile that leaves 29 % of the surface as land. On the fine grid the
  mask is 0/1; on coarser grids it is the land fraction.
- Orography (m): over land, ``min(200 + 900 max(r, 0)**1.5, 6000)`` with ``r`` a rougher
  red-noise field (``gamma = 3``: ridges and valleys at all scales), plus a 2500 m plateau
  on the Antarctic cap; zero over the sea. ``geopotential_at_surface = g * orography``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from climbench.data.grids import Grid, cell_area_weights, get_grid
from climbench.data.synthetic.fields import red_noise
from climbench.errors import RegridError

GRAVITY = 9.80665
LAND_FRACTION = 0.29
FINE_GRID = "1.40625"
SUPPORTED_GRIDS = ("5.625", "2.8125", "1.40625")
STREAM_GEOGRAPHY = 1


@dataclass(frozen=True)
class Geography:
    """Land fraction (0..1) and orography (m) on ``grid``, both ``(nlat, nlon)``."""

    grid: Grid
    land: np.ndarray
    orography: np.ndarray


def synthetic_grid(grid: str | float) -> Grid:
    """The grid for a synthetic dataset; only the nested WeatherBench grids are offered."""
    text = str(grid).strip()
    if text not in SUPPORTED_GRIDS:
        raise RegridError(
            "no synthetic data on this grid",
            expected=f"one of {', '.join(SUPPORTED_GRIDS)}",
            found=repr(text),
            hint="generate on a supported grid and regrid the result",
        )
    return get_grid(text)


def _fine_geography(seed: int) -> tuple[np.ndarray, np.ndarray]:
    grid = get_grid(FINE_GRID)
    nlat, nlon = grid.shape
    rng = np.random.default_rng([seed, STREAM_GEOGRAPHY])
    lat = grid.lat[:, None]
    score = red_noise(rng, nlat, nlon, gamma=5.0, k0=2.0) + 0.5 * np.sin(np.deg2rad(lat))
    score = score + 10.0 * (lat < -68.0)
    weights = np.broadcast_to(cell_area_weights(grid.lat)[:, None], score.shape).ravel()
    order = np.argsort(score.ravel())
    cumulative = np.cumsum(weights[order]) / weights.sum()
    threshold = score.ravel()[order][np.searchsorted(cumulative, 1.0 - LAND_FRACTION)]
    land = (score > threshold).astype(float)
    rough = red_noise(rng, nlat, nlon, gamma=3.0, k0=3.0)
    height = np.minimum(200.0 + 900.0 * np.maximum(rough, 0.0) ** 1.5, 6000.0)
    height = height + 2500.0 * (lat < -68.0)
    return land, land * height


def coarsen(field: np.ndarray, fine_lat: np.ndarray, factor: int) -> np.ndarray:
    """Area-weighted mean over ``factor x factor`` blocks of a nested fine grid.

    Works on any leading dims; the last two are ``(lat, lon)``.
    """
    if factor == 1:
        return field
    w = cell_area_weights(fine_lat).reshape(-1, factor)
    *lead, nlat, nlon = field.shape
    blocks = field.reshape(*lead, nlat // factor, factor, nlon // factor, factor)
    summed = np.einsum("...iajb,ia->...ij", blocks, w.astype(field.dtype))
    return summed / (w.sum(axis=1)[:, None] * factor).astype(field.dtype)


def make_geography(grid: str | float, seed: int) -> Geography:
    """Land fraction and orography of the planet drawn from ``seed``, on ``grid``."""
    target = synthetic_grid(grid)
    fine = get_grid(FINE_GRID)
    land, orography = _fine_geography(seed)
    factor = fine.shape[0] // target.shape[0]
    return Geography(target, coarsen(land, fine.lat, factor), coarsen(orography, fine.lat, factor))
