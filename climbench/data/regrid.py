"""Regridding between regular lat-lon grids: exact conservative and bilinear, NaN-aware.

Both methods are separable on rectilinear grids: the output is ``W_lat @ x @ W_lon.T`` with
one small dense weight matrix per axis (Stephan Hoyer's factorisation, also used by
xarray-regrid). Computation runs in float64 on each time block through
``xarray.apply_ufunc`` and stays lazy on dask.

Conservative: ``W_lat[j, i]`` is the exact overlap of target row j and source row i in
``sin(latitude)`` (the spherical area factor) and ``W_lon[k, l]`` the overlap in degrees of
longitude, with periodic wrap-around on global grids. So the output is the exact
area-weighted mean of the source over each target cell, and the area-weighted global mean
is preserved to rounding error. Why not xarray-regrid's conservative method: it weights
partial overlaps by cell-centre latitude and gives pole rows of grids with pole points no
area, which moves the global mean of ERA-Interim z500 by 1.1e-6 (5.625 deg) and 2.2e-6
(1.5 deg) relative; we need below 1e-6. xarray-regrid is kept as a test oracle.

NaN-aware: masked (NaN) source cells get zero weight and each output is divided by the
valid weight it received, so masked cells never smear into their neighbours; a target cell
with no valid source area is NaN. For conservative regridding this preserves the mean over
valid cells weighted by each target cell's valid area. ``min_coverage`` (fraction of the
target cell that must be valid) trades coastal coverage against edge effects.

Bilinear: linear weights along each axis between the two neighbouring source centres,
periodic in longitude on global grids; targets outside the source centres but inside the
source cells (e.g. pole rows) take the edge value; targets outside the source are NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from climbench.data.grids import Grid, get_grid, is_periodic, lat_edges
from climbench.errors import RegridError

METHODS = ("conservative", "bilinear")


def resolve_grid(spec: str | float | Grid) -> Grid:
    """A :class:`Grid` from a grid spec (see :func:`get_grid`) or a data file's grid."""
    if isinstance(spec, str) and Path(spec).exists():
        from climbench.data.open import open_dataset

        return Grid.from_dataset(open_dataset(spec), name=Path(spec).name)
    return get_grid(spec)


def _lon_bounds(lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell bounds of ascending longitudes, each cell +/- half the regular spacing.

    A regional grid that crosses the prime meridian is stored as [0..E] then [W..360) after
    normalisation; per-cell bounds keep the gap between the two parts out of every cell.
    """
    if lon.size < 2:
        raise RegridError(
            "cannot regrid a single longitude",
            expected="at least 2 longitudes",
            found=f"{lon.size}",
            hint="point data cannot be regridded",
        )
    diffs = np.diff(lon)
    step = float(np.min(diffs))
    regular = np.allclose(diffs / step, np.round(diffs / step), atol=1e-6)
    if regular:
        return lon - step / 2, lon + step / 2
    mid = (lon[1:] + lon[:-1]) / 2
    lo = np.concatenate([[lon[0] - diffs[0] / 2], mid])
    hi = np.concatenate([mid, [lon[-1] + diffs[-1] / 2]])
    return lo, hi


def conservative_weights(src: Grid, tgt: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Overlap matrices ``(W_lat (nlat_t, nlat_s), W_lon (nlon_t, nlon_s))``.

    ``W_lat`` is in units of sin(latitude), ``W_lon`` in degrees; their outer product is
    the overlap area of target and source cells divided by R**2 * pi / 180.
    """
    s = np.sin(np.deg2rad(lat_edges(src.lat)))
    t = np.sin(np.deg2rad(lat_edges(tgt.lat)))
    w_lat = np.clip(
        np.minimum(t[1:, None], s[None, 1:]) - np.maximum(t[:-1, None], s[None, :-1]), 0.0, None
    )
    s_lo, s_hi = _lon_bounds(src.lon)
    t_lo, t_hi = _lon_bounds(tgt.lon)
    w_lon = np.zeros((tgt.lon.size, src.lon.size))
    for shift in (-360.0, 0.0, 360.0):
        w_lon += np.clip(
            np.minimum(t_hi[:, None], s_hi[None, :] + shift)
            - np.maximum(t_lo[:, None], s_lo[None, :] + shift),
            0.0,
            None,
        )
    return w_lat, w_lon


def _linear_1d(
    src: np.ndarray, tgt: np.ndarray, periodic: bool, lo_edge: float, hi_edge: float
) -> np.ndarray:
    """Linear interpolation weights (ntgt, nsrc) along one ascending axis."""
    n = src.size
    weights = np.zeros((tgt.size, n))
    if periodic:
        ext = np.concatenate([[src[-1] - 360.0], src, [src[0] + 360.0]])
        index = np.concatenate([[n - 1], np.arange(n), [0]])
        t = np.mod(tgt, 360.0)
    else:
        ext, index, t = src, np.arange(n), tgt
    spacing = np.min(np.diff(ext)) if ext.size > 1 else 0.0
    j = np.clip(np.searchsorted(ext, t, side="right") - 1, 0, ext.size - 2)
    left, right = ext[j], ext[j + 1]
    inside = (t >= left) & (t <= right) & ((right - left) <= 1.5 * spacing + 1e-9)
    frac = np.where(inside, (t - left) / np.where(right > left, right - left, 1.0), 0.0)
    rows = np.arange(tgt.size)
    np.add.at(weights, (rows[inside], index[j[inside]]), 1.0 - frac[inside])
    np.add.at(weights, (rows[inside], index[j[inside] + 1]), frac[inside])
    # outside the centres but inside the outermost cells: take the edge value
    nearest = np.argmin(np.abs(ext[None, :] - t[:, None]), axis=1)
    clamp = (
        ~inside
        & (t >= lo_edge)
        & (t <= hi_edge)
        & (np.abs(ext[nearest] - t) <= 0.5 * spacing + 1e-9)
    )
    weights[rows[clamp], index[nearest[clamp]]] = 1.0
    return weights


def bilinear_weights(src: Grid, tgt: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolation matrices ``(W_lat, W_lon)`` (rows sum to 1 or 0)."""
    edges = lat_edges(src.lat)
    w_lat = _linear_1d(src.lat, tgt.lat, False, edges[0], edges[-1])
    lo, hi = _lon_bounds(src.lon)
    w_lon = _linear_1d(src.lon, tgt.lon, is_periodic(src.lon), lo[0], hi[-1])
    return w_lat, w_lon


def _apply(
    x: np.ndarray, w_lat: np.ndarray, w_lon: np.ndarray, full: np.ndarray, min_valid: np.ndarray
) -> np.ndarray:
    """Regrid the last two axes of ``x``; NaN cells get no weight."""
    valid = np.isfinite(x)
    data = np.where(valid, x, 0.0).astype(np.float64, copy=False)
    # one einsum lets numpy order the two contractions as large matrix products
    # (2.5-3.5x faster than broadcasting `w_lat @ data @ w_lon.T` over leading dims)
    num = np.einsum("ij,...jk,lk->...il", w_lat, data, w_lon, optimize=True)
    if valid.all():
        den = np.broadcast_to(full, num.shape)
    else:
        den = np.einsum("ij,...jk,lk->...il", w_lat, valid.astype(np.float64), w_lon, optimize=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~(den > min_valid)] = np.nan
    return out.astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)


def regrid(
    ds: xr.Dataset | xr.DataArray,
    grid: str | float | Grid,
    method: str = "conservative",
    min_coverage: float = 0.0,
) -> xr.Dataset | xr.DataArray:
    """Regrid every variable with ``lat`` and ``lon`` dims of a canonical dataset.

    Args:
        ds: canonical dataset or data array (lat ascending, lon in [0, 360)).
        grid: target grid: a :class:`Grid`, a benchmark grid name (``"5.625"``), a
            resolution, a regional spec ``"lat=S:N:D,lon=W:E:D"`` or a data file.
        method: ``"conservative"`` (area-weighted, mean-preserving) or ``"bilinear"``.
        min_coverage: fraction of a target cell (conservative) or of its interpolation
            weight (bilinear) that must come from valid source cells; below it the output
            is NaN. 0 keeps every cell with any valid source.

    Returns:
        The same kind of object on the target grid, lazy when the input is dask-backed.
        Curvilinear, rotated-pole and projected sources (dims ``y, x``) are regridded by
        :func:`climbench.data.regrid_curvilinear.regrid_curvilinear`.
    """
    if "lat" in ds.coords and ds["lat"].ndim > 1:
        from climbench.data.regrid_curvilinear import regrid_curvilinear

        return regrid_curvilinear(ds, grid, method=method, min_coverage=min_coverage)
    if method not in METHODS:
        raise RegridError(
            "unknown regridding method", expected=f"one of {METHODS}", found=repr(method)
        )
    target = resolve_grid(grid)
    source = Grid.from_dataset(ds)
    for axis, values in (("lat", source.lat), ("lon", source.lon)):
        if values.size < 2:
            raise RegridError(
                f"cannot regrid data with a single {axis}",
                path=ds.attrs.get("climbench_path"),
                expected=f"at least 2 {axis} points",
                found=f"{values.size}",
                hint="point data (e.g. a MERRA-2 point subset) cannot be regridded; select "
                "points instead",
            )
    if (
        source.shape == target.shape
        and np.allclose(source.lat, target.lat)
        and np.allclose(source.lon, target.lon)
    ):
        return ds
    if method == "conservative":
        w_lat, w_lon = conservative_weights(source, target)
        area = np.diff(np.sin(np.deg2rad(lat_edges(target.lat))))[:, None] * np.diff(
            np.stack(_lon_bounds(target.lon)), axis=0
        )
    else:
        w_lat, w_lon = bilinear_weights(source, target)
        area = np.ones(target.shape)
    full = w_lat.sum(axis=1)[:, None] * w_lon.sum(axis=1)[None, :]
    if not (full > 0).any():
        raise RegridError(
            "target grid does not overlap the source grid",
            path=ds.attrs.get("climbench_path"),
            expected=f"overlap with lat {source.lat.min()}..{source.lat.max()}, lon "
            f"{source.lon.min()}..{source.lon.max()}",
            found=f"target lat {target.lat.min()}..{target.lat.max()}, lon "
            f"{target.lon.min()}..{target.lon.max()}",
        )
    min_valid = np.maximum(min_coverage * area, 1e-12 * area)

    def one(da: xr.DataArray) -> xr.DataArray:
        if "lat" not in da.dims or "lon" not in da.dims:
            return da
        if da.chunks is not None:
            da = da.chunk({"lat": -1, "lon": -1})
        out = xr.apply_ufunc(
            _apply,
            da,
            kwargs={"w_lat": w_lat, "w_lon": w_lon, "full": full, "min_valid": min_valid},
            input_core_dims=[["lat", "lon"]],
            output_core_dims=[["lat_out", "lon_out"]],
            dask="parallelized",
            output_dtypes=[da.dtype if da.dtype.kind == "f" else np.float32],
            dask_gufunc_kwargs={
                "output_sizes": {"lat_out": target.lat.size, "lon_out": target.lon.size}
            },
            keep_attrs=True,
        )
        out = out.rename(lat_out="lat", lon_out="lon").assign_coords(target.coords())
        return out.transpose(*da.dims)

    if isinstance(ds, xr.DataArray):
        return one(ds)
    spatial_coords = [
        c for c in ds.coords if c not in ("lat", "lon") and ({"lat", "lon"} & set(ds[c].dims))
    ]
    result = ds.drop_vars(spatial_coords).map(one, keep_attrs=True)
    result.attrs["climbench_regrid"] = (
        f"{method} to {target.name} ({target.shape[0]} x {target.shape[1]})"
    )
    return result
