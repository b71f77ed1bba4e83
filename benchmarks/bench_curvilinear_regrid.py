"""Curvilinear regridding benchmark: times on the real WRF and CORDEX grids, each beside
its reference.

1. Cell overlaps of the WRF Tibetan Plateau parent domain (200 x 200 Lambert cells of
   30 km) with the 0.25 deg grid: the vectorised Sutherland-Hodgman clip of
   ``climbench.data.regrid_curvilinear.clipped_area`` / shapely's GEOS overlay
   (``shapely.intersection`` + ``shapely.area``) on the same cell pairs, and the largest
   difference of the areas.
2. Whole regrids (weights + application, computed): WRF d1 T2 conservative and bilinear to
   0.25 deg, and the CORDEX EUR-11 orography (412 x 424 rotated-pole cells) conservative to
   0.25 deg over Europe, beside the regular-grid conservative regridder on a regular grid of
   the same size (``climbench.data.regrid.regrid``, separable weights) as the reference of
   what a regrid of that many cells costs when the grid is regular.

Run: ``python benchmarks/bench_curvilinear_regrid.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import shapely
import xarray as xr

import climbench
from climbench.data.grids import get_grid
from climbench.data.regrid import regrid
from climbench.data.regrid_curvilinear import (
    _target_cells,
    clipped_area,
    source_polygons,
    target_window,
)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
WRF_D1 = DATA / "fmaussion+salem-sample-data/salem-test/grid/wrf_tip_d1.nc"
CORDEX = (
    DATA / "euro-cordex+py-cordex/examples/plots/data/"
    "orog_EUR-11_ECMWF-ERAINT_evaluation_r0i0p0_GERICS-REMO2015_v1_fx.nc"
)


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def overlaps() -> None:
    ds = climbench.open_dataset(WRF_D1)
    lat_v, lon_v = ds["lat_vertices"].values, ds["lon_vertices"].values
    grid = get_grid("0.25")
    sources = source_polygons(lat_v, lon_v)
    cells = target_window(grid, lat_v.reshape(-1, 4), lon_v.reshape(-1, 4))
    boxes, _ = _target_cells(grid, cells)
    src, tgt = shapely.STRtree(boxes).query(sources, predicate="intersects")
    corners = shapely.get_coordinates(sources).reshape(sources.size, -1, 2)[:, :4]
    ours_s, ours = timed(clipped_area, corners[src], shapely.bounds(boxes)[tgt])
    geos_s, geos = timed(lambda: shapely.area(shapely.intersection(sources[src], boxes[tgt])))
    print(f"1. overlaps of {src.size} WRF d1 cell pairs with 0.25 deg cells")
    print(f"   clipped_area {ours_s:6.2f} s | shapely/GEOS {geos_s:6.2f} s | ", end="")
    print(f"{geos_s / ours_s:.1f}x faster, max area difference {np.abs(ours - geos).max():.1e}")


def regrids() -> None:
    print("2. whole regrids, computed (weights + application)")
    d1 = climbench.open_dataset(WRF_D1)
    for method in ("conservative", "bilinear"):
        seconds, _ = timed(lambda m=method: regrid(d1, "0.25", method=m).compute())
        print(f"   WRF d1 (200 x 200, 2 steps) {method:12s} to 0.25 deg: {seconds:6.2f} s")
    cordex = climbench.open_dataset(CORDEX)
    target = "lat=30:70:0.25,lon=-20:40:0.25"
    seconds, _ = timed(lambda: regrid(cordex, target, method="conservative").compute())
    print(f"   CORDEX EUR-11 (412 x 424) conservative to 0.25 deg Europe: {seconds:6.2f} s")
    regular = xr.Dataset(
        {"z": (("lat", "lon"), np.random.default_rng(0).normal(size=(412, 424)))},
        coords={"lat": np.linspace(20, 65, 412), "lon": np.linspace(340, 359.9, 424)},
    )
    seconds_ref, _ = timed(lambda: regrid(regular, target, method="conservative").compute())
    print(f"   reference: a regular 412 x 424 grid, separable conservative: {seconds_ref:6.2f} s")


if __name__ == "__main__":
    warnings.simplefilter("ignore", UserWarning)
    overlaps()
    regrids()
