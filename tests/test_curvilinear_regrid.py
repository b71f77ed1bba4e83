"""Regridding curvilinear, rotated-pole and projected grids, checked independently.

The three must-show checks of the issue (WRF T2 conservative to 0.25 deg keeps its area
mean to 1e-4 relative; rotated pole -> regular -> rotated pole returns a smooth field
within interpolation error; ORCA2 SST to 2 deg keeps land NaN without smearing), each
against a computation that does not share the code under test (pyproj's geodesic cell
areas, shapely's polygon overlays, the regular-grid regridder, analytic fields).
"""

from __future__ import annotations

import warnings

import numpy as np
import pyproj
import pytest
import shapely
import xarray as xr

import climbench
from climbench.data.grids import Grid, get_grid
from climbench.data.regrid import regrid
from climbench.data.regrid_curvilinear import (
    clipped_area,
    conservative_matrix,
    regrid_curvilinear,
    regular_to_curvilinear,
)
from climbench.errors import RegridError
from tests.test_open_real_files import CORDEX_OROG, ORCA2, SALEM_WRF, WRF_MERCATOR

GEOD = pyproj.Geod(a=6_370_000.0, b=6_370_000.0)  # WRF's sphere


def open_quiet(path, **kwargs) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return climbench.open_dataset(path, **kwargs)


def geodesic_areas(lat_v: np.ndarray, lon_v: np.ndarray) -> np.ndarray:
    """Cell areas (m2) from the corners, by pyproj's geodesic polygon area."""
    lat, lon = lat_v.reshape(-1, 4), lon_v.reshape(-1, 4)
    areas = [abs(GEOD.polygon_area_perimeter(lo, la)[0]) for lo, la in zip(lon, lat, strict=True)]
    return np.array(areas).reshape(lat_v.shape[:-1])


def test_wrf_t2_conservative_to_quarter_degree_keeps_area_mean(shared_file) -> None:
    """Must show: the real WRF T2 field (Katrina, first step) regridded conservatively to
    the 0.25 deg grid keeps its area mean to 1e-4 relative. The source mean uses pyproj's
    geodesic areas of the cells; the target mean weights each 0.25 deg cell by the area it
    received, and that total must equal the source area (independently) too."""
    ds = open_quiet(shared_file(WRF_MERCATOR)).isel(time=[0])
    step = ds.assign_coords(
        {c: ds[c].isel(time=0, drop=True) for c in ("lat", "lon", "lat_vertices", "lon_vertices")}
    )
    t2 = step["2m_temperature"].isel(time=0).values.astype(float)
    lat_v, lon_v = step["lat_vertices"].values, step["lon_vertices"].values
    source_area = geodesic_areas(lat_v, lon_v)
    source_mean = (t2 * source_area).sum() / source_area.sum()

    out = regrid(ds, "0.25", method="conservative")["2m_temperature"].isel(time=0).values
    grid = get_grid("0.25")
    weights, _ = conservative_matrix(lat_v, lon_v, grid)
    received = np.asarray(weights.sum(axis=1)).reshape(grid.shape) * 6_370_000.0**2
    covered = np.isfinite(out)
    target_mean = (out[covered] * received[covered]).sum() / received[covered].sum()
    assert abs(target_mean - source_mean) / source_mean < 1e-4
    assert abs(received.sum() / source_area.sum() - 1) < 1e-4
    assert np.nanmin(out) > 295 and np.nanmax(out) < 305
    assert covered.sum() > 150  # about 4.5 x 4.5 degrees of 0.25 deg cells


def test_overlap_areas_match_shapely() -> None:
    """The vectorised Sutherland-Hodgman clip against GEOS (shapely.intersection)."""
    rng = np.random.default_rng(3)
    centre = rng.uniform(0, 1, (500, 1, 2))
    angle = np.sort(rng.uniform(0, 2 * np.pi, (500, 4)), axis=1)
    polygons = centre + 0.3 * np.stack([np.cos(angle), np.sin(angle)], -1)  # convex quads
    low = rng.uniform(-0.2, 1.0, (500, 2))
    boxes = np.concatenate([low, low + rng.uniform(0.05, 0.6, (500, 2))], axis=1)
    ours = clipped_area(polygons, boxes)
    theirs = shapely.area(shapely.intersection(shapely.polygons(polygons), shapely.box(*boxes.T)))
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    assert (ours == 0).any() and (ours > 0).any()


def _as_curvilinear(ds: xr.Dataset) -> xr.Dataset:
    """A regular-grid dataset written as a curvilinear one (2-D lat/lon and corners)."""
    lat, lon = ds["lat"].values, ds["lon"].values
    dlat, dlon = lat[1] - lat[0], lon[1] - lon[0]
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    corner_lat = lat2[..., None] + np.array([-0.5, -0.5, 0.5, 0.5]) * dlat
    corner_lon = lon2[..., None] + np.array([-0.5, 0.5, 0.5, -0.5]) * dlon
    out = ds.rename(lat="y", lon="x").drop_vars(["y", "x"])
    return out.assign_coords(
        lat=(("y", "x"), lat2),
        lon=(("y", "x"), lon2),
        lat_vertices=(("y", "x", "vertices"), corner_lat),
        lon_vertices=(("y", "x", "vertices"), corner_lon),
    )


def _smooth(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.deg2rad(lat), np.deg2rad(lon)
    return 280 + 10 * np.cos(phi) ** 2 * np.cos(2 * lam) + 5 * np.sin(3 * phi)


def test_curvilinear_methods_agree_with_the_regular_regridder() -> None:
    """A regular grid in curvilinear form: conservative weights equal the separable exact
    ones of climbench.data.regrid to rounding; bilinear in the gnomonic plane agrees with
    lat-lon bilinear to the size of the map's curvature (0.5 deg cells)."""
    lat = np.arange(30.25, 50.0, 0.5)
    lon = np.arange(350.25, 370.0, 0.5) % 360
    lon = np.sort(lon)
    field = _smooth(*np.meshgrid(lat, lon, indexing="ij"))
    field[3:6, 4:9] = np.nan  # a masked patch
    regular = xr.Dataset({"f": (("lat", "lon"), field)}, coords={"lat": lat, "lon": lon})
    curvi = _as_curvilinear(regular)
    target = Grid(np.arange(31.0, 49.0, 1.5), np.sort(np.arange(352.0, 368.0, 1.5) % 360))
    for method, tolerance in (("conservative", 1e-9), ("bilinear", 2e-3)):
        ours = regrid_curvilinear(curvi, target, method)["f"].values
        reference = regrid(regular, target, method)["f"].values
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference))
        np.testing.assert_allclose(ours, reference, atol=tolerance)


def test_rotated_pole_round_trip_within_interpolation_error(shared_file) -> None:
    """Must show: a smooth field on the CORDEX EUR-11 rotated grid (0.11 deg), regridded
    bilinearly to a regular grid and back, returns within interpolation error.

    Two bilinear steps err by at most ``|f''| (h_rot**2 + h**2) / 8`` (radians; |f''| is
    below 60 K per rad**2 for this field), and the error falls as the regular grid is
    refined. Within 5 cells of the domain edge, where the regular cells are partly outside
    the rotated domain, the NaN-aware weights extrapolate by up to one cell's gradient."""
    ds = open_quiet(shared_file(CORDEX_OROG)).isel(y=slice(150, 230), x=slice(180, 260))
    exact = _smooth(ds["lat"].values, ds["lon"].values)
    field = ds.assign(f=(("y", "x"), exact))[["f"]]
    lat, lon = ds["lat"].values, ds["lon"].values
    errors = []
    for step in (0.2, 0.1):
        grid = Grid(
            np.arange(np.floor(lat.min()), np.ceil(lat.max()) + step / 2, step),
            np.arange(np.floor(lon.min()), np.ceil(lon.max()) + step / 2, step) % 360,
        )
        there = regrid(field, grid, method="bilinear")
        back = regular_to_curvilinear(there, ds["lat"], ds["lon"])["f"].values
        assert np.isfinite(back).all()
        error = np.abs(back - exact)
        bound = 60.0 * np.deg2rad(np.hypot(0.11, step)) ** 2 / 8
        assert error[5:-5, 5:-5].max() < bound, (step, error[5:-5, 5:-5].max(), bound)
        assert error.max() < 30.0 * np.deg2rad(step)  # |f'| < 30 K per rad at the edges
        errors.append(error[5:-5, 5:-5].max())
    assert errors[1] < errors[0] / 1.8, errors


def test_orca2_sst_to_two_degrees_keeps_land_nan(shared_file) -> None:
    """Must show: ORCA2 SST (tripolar, ~39 % land NaN) bilinear to 2 deg: land stays NaN,
    no ocean value smears onto land and none leaves the source's range. The ocean values
    are checked against an analytic field carried on the same mask (exact answer known)."""
    ds = open_quiet(shared_file(ORCA2), units={"sst": "degC"})
    sst = ds["sea_surface_temperature"]
    out = regrid(ds, "2.0", method="bilinear")["sea_surface_temperature"]
    assert out.dims == ("lat", "lon") and out.shape == (90, 180)
    values = out.values
    source_land = float(sst.isnull().mean())
    assert abs(float(np.isnan(values).mean()) - source_land) < 0.08
    assert np.nanmin(values) >= float(sst.min()) - 1e-4
    assert np.nanmax(values) <= float(sst.max()) + 1e-4
    # independent land check: a target whose nearest ocean-model centres (the 8 nearest,
    # found by brute force on the sphere) are all land must be NaN
    lat2, lon2 = np.meshgrid(out["lat"].values, out["lon"].values, indexing="ij")
    src = np.deg2rad(np.stack([ds["lat"].values.ravel(), ds["lon"].values.ravel()], -1))
    land = np.isnan(sst.values.ravel())
    sample = np.random.default_rng(0).choice(lat2.size, 600, replace=False)
    for k in sample:
        phi, lam = np.deg2rad(lat2.flat[k]), np.deg2rad(lon2.flat[k])
        cos_d = np.sin(phi) * np.sin(src[:, 0]) + np.cos(phi) * np.cos(src[:, 0]) * np.cos(
            lam - src[:, 1]
        )
        nearest = np.argsort(-cos_d)[:8]
        if land[nearest].all():
            assert np.isnan(values.flat[k]), (lat2.flat[k], lon2.flat[k])
    # the ocean values: an analytic field on the same mask comes out right
    analytic = _smooth(ds["lat"].values, ds["lon"].values)
    masked = ds.assign(f=(("y", "x"), np.where(np.isnan(sst.values), np.nan, analytic)))
    full = regrid(masked, "2.0", method="bilinear", min_coverage=1.0)["f"].values
    exact = _smooth(lat2, lon2)
    ocean = np.isfinite(full)
    assert ocean.mean() > 0.4
    assert np.abs(full - exact)[ocean].max() < 0.5  # 2 deg ocean cells, |f''| ~ 15 K / rad2
    assert not np.isfinite(full[np.isnan(values)]).any()  # min_coverage=1 is stricter


def test_regridding_is_lazy_on_dask(shared_file) -> None:
    ds = open_quiet(shared_file(SALEM_WRF.format(2)), chunks={"time": 1})
    out = regrid(ds, "lat=30:37:0.25,lon=80:92:0.25", method="conservative")
    t2 = out["2m_temperature"]
    assert t2.chunks is not None  # nothing computed yet
    eager = regrid(ds.load(), "lat=30:37:0.25,lon=80:92:0.25", method="conservative")
    np.testing.assert_allclose(t2.values, eager["2m_temperature"].values, rtol=1e-6)
    assert float(t2.min()) > 250 and float(t2.max()) < 305  # Tibet, September morning


def test_conservative_needs_cell_corners(shared_file) -> None:
    ds = open_quiet(shared_file(ORCA2), units={"sst": "degC"})
    with pytest.raises(RegridError) as info:
        regrid(ds, "2.0", method="conservative")
    assert "corners" in str(info.value) and "bilinear" in str(info.value)


def test_cli_prepare_takes_wrf_and_orca2(shared_file, tmp_path, monkeypatch, capsys) -> None:
    """`climbench data prepare` regrids curvilinear sources like any other; without
    --grid it refuses them in one line naming the option."""
    from tests.test_cli_data_info import run_main

    wrf = tmp_path / "wrf.zarr"
    code, text = run_main(
        monkeypatch,
        capsys,
        *("data", "prepare", str(shared_file(WRF_MERCATOR)), "--out", str(wrf)),
        *("--grid", "lat=20:32:0.25,lon=265:280:0.25", "--variable", "t2m"),
    )
    assert code == 0, text
    store = xr.open_zarr(wrf)
    t2 = store["2m_temperature"]
    assert t2.dims == ("time", "lat", "lon") and store.sizes["time"] == 4
    assert float(t2.min()) > 295 and float(t2.max()) < 305
    orca = tmp_path / "orca.zarr"
    code, text = run_main(
        monkeypatch,
        capsys,
        *("data", "prepare", str(shared_file(ORCA2)), "--out", str(orca)),
        *("--grid", "2.0", "--method", "bilinear", "--units", "sst=degC"),
    )
    assert code == 0, text
    sst = xr.open_zarr(orca)["sea_surface_temperature"]
    assert sst.shape == (90, 180) and 0.3 < float(sst.isnull().mean()) < 0.5
    code, text = run_main(
        monkeypatch,
        capsys,
        *("data", "prepare", str(shared_file(ORCA2)), "--out", str(tmp_path / "no.zarr")),
        *("--units", "sst=degC"),
    )
    assert code == 2 and text.startswith("error:") and "--grid" in text
    assert not (tmp_path / "no.zarr").exists()
