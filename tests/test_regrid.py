"""Regridding: exact conservation, NaN-awareness, bilinear accuracy, grids, bad requests."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import climbench
from climbench.data.grids import Grid, cell_area_weights, cell_areas, get_grid
from climbench.data.regrid import conservative_weights, regrid
from climbench.errors import RegridError

ERAINT = "pydata+xarray-data/eraint_uvz.nc"
ERSST = "xarray-contrib+xarray-tutorial/data/sst.mnmean.nc"
UK = "pydata+xarray-data/era5-2mt-2019-03-uk.grib"


def global_mean(da: xr.DataArray) -> float:
    weights = xr.DataArray(cell_area_weights(da["lat"].values), dims="lat")
    return float(da.weighted(weights).mean(("lat", "lon")))


def field(grid: Grid, values) -> xr.DataArray:
    return xr.DataArray(values, dims=("lat", "lon"), coords=grid.coords(), name="x")


@pytest.fixture(scope="module")
def z500(shared_file) -> xr.DataArray:
    ds = climbench.open_dataset(shared_file(ERAINT))
    return ds["geopotential"].sel(level=500).isel(month=0).load()


def test_named_grids_match_the_benchmark_conventions():
    g = get_grid("5.625")
    assert g.shape == (32, 64) and g.lat[0] == -87.1875 and g.lon[-1] == 354.375
    assert get_grid("2.8125").shape == (64, 128)
    assert get_grid("1.40625").shape == (128, 256)
    wb2 = get_grid("1.5")
    assert wb2.shape == (121, 240) and wb2.lat[0] == -90 and wb2.lat[-1] == 90
    regional = get_grid("lat=44:47:0.5,lon=-75:-72:0.5")
    assert regional.lat.size == 7 and regional.lon.min() >= 0


def test_cell_area_weights_golden_values():
    w = cell_area_weights(np.array([-75, -45, -15, 15, 45, 75.0]))
    np.testing.assert_allclose(w, [0.40192, 1.09808, 1.5, 1.5, 1.09808, 0.40192], atol=1e-5)
    poles = cell_area_weights(get_grid("1.5").lat)
    assert 0 < poles[0] < 0.01 and poles[0] == poles[-1]


def test_cell_areas_sum_to_the_sphere():
    for name in ("5.625", "1.5"):
        total = cell_areas(get_grid(name)).sum()
        assert total == pytest.approx(4 * np.pi * 6_371_000.0**2, rel=1e-12)


def test_conservative_weights_cover_each_target_cell_exactly():
    src, tgt = get_grid("1.40625"), get_grid("5.625")
    w_lat, w_lon = conservative_weights(src, tgt)
    np.testing.assert_allclose(
        w_lat.sum(1), np.diff(np.sin(np.deg2rad(np.arange(-90, 90.1, 5.625)))), rtol=1e-12
    )
    np.testing.assert_allclose(w_lon.sum(1), 5.625, rtol=1e-12)


@pytest.mark.parametrize("grid", ["5.625", "2.8125", "1.40625", "1.5"])
def test_conservative_preserves_the_global_mean_of_real_erainterim(z500, grid):
    out = regrid(z500, grid)
    assert out.shape == get_grid(grid).shape
    assert abs(global_mean(out) / global_mean(z500) - 1) < 1e-6
    # also on an anomaly field, where a relative error shows more
    anomaly = z500 - z500.mean()
    out_anomaly = regrid(anomaly, grid)
    assert abs(global_mean(out_anomaly) - global_mean(anomaly)) < 1e-6 * float(abs(z500).mean())


def test_conservative_agrees_with_xarray_regrid_away_from_the_poles(z500):
    xarray_regrid = pytest.importorskip("xarray_regrid")  # noqa: F841 (registers .regrid)
    target = xr.Dataset(coords=get_grid("5.625").coords())
    theirs = z500.regrid.conservative(target, latitude_coord="lat")
    ours = regrid(z500, "5.625")
    interior = slice(2, -2)
    np.testing.assert_allclose(ours.isel(lat=interior), theirs.isel(lat=interior), rtol=2e-4)


def test_nan_aware_conservative_preserves_valid_area_mean_on_ersst(shared_file):
    sst = climbench.open_dataset(shared_file(ERSST))["sea_surface_temperature"].isel(time=0)
    sst = sst.load()
    source = Grid.from_dataset(sst)
    valid = np.isfinite(sst.values)
    assert 0.25 < 1 - valid.mean() < 0.4  # land is NaN
    expected = np.nansum(sst.values * cell_areas(source)) / np.sum(cell_areas(source) * valid)
    for grid in ("5.625", "1.5"):
        out = regrid(sst, grid)
        w_lat, w_lon = conservative_weights(source, get_grid(grid))
        valid_area = w_lat @ valid.astype(float) @ w_lon.T
        got = np.nansum(out.values * valid_area) / valid_area.sum()
        assert abs(got / expected - 1) < 1e-6


@pytest.mark.parametrize("method", ["conservative", "bilinear"])
def test_masked_cells_do_not_smear(shared_file, method):
    sst = climbench.open_dataset(shared_file(ERSST))["sea_surface_temperature"].isel(time=0)
    ocean_is_one = xr.where(sst.notnull(), 1.0, np.nan)
    out = regrid(ocean_is_one, "5.625", method=method)
    finite = out.values[np.isfinite(out.values)]
    assert finite.size > 0.5 * out.size
    np.testing.assert_allclose(finite, 1.0, rtol=1e-12)


@pytest.mark.parametrize("method", ["conservative", "bilinear"])
def test_constant_field_stays_constant(method):
    src = get_grid("2.8125")
    out = regrid(field(src, np.full(src.shape, 7.5)), "1.5", method=method)
    np.testing.assert_allclose(out.values, 7.5, rtol=1e-12)


def test_bilinear_is_exact_for_a_linear_field_and_wraps_longitude():
    src = get_grid("2.8125")
    lat2d = np.broadcast_to(src.lat[:, None], src.shape)
    out = regrid(field(src, 2.0 * lat2d + 1.0), "1.40625", method="bilinear")
    interior = out.sel(lat=slice(-85, 85))
    expected = 2.0 * interior["lat"] + 1.0
    np.testing.assert_allclose(
        interior.values, np.broadcast_to(expected.values[:, None], interior.shape), rtol=1e-12
    )
    # a target longitude between the last source column and 360 uses both neighbours
    lon_values = np.where(src.lon < 180, 0.0, 1.0)
    lon_values[:] = 0.0
    lon_values[-1] = 1.0
    out = regrid(
        field(src, np.broadcast_to(lon_values, src.shape).copy()), "1.40625", method="bilinear"
    )
    between = out.sel(lon=358.59375).values  # half-way from 357.1875 to 360 (= 0)
    np.testing.assert_allclose(between, 0.5, atol=1e-12)


def test_regional_grid_across_the_prime_meridian(shared_file):
    uk = climbench.open_dataset(shared_file(UK))["2m_temperature"].isel(time=0).load()
    out = regrid(uk, "lat=50.5:57.5:1,lon=-9.5:1.5:1")
    assert not out.isnull().any()
    assert set(np.round(out["lon"].values, 3)) >= {0.5, 359.5, 350.5}
    # the 1-degree cell [50, 51] x [350, 351] holds 0.25-degree source cells whole, and the
    # halves of the boundary rows and columns: weights [0.5, 1, 1, 1, 0.5] (to cos-lat error)
    cell = uk.sel(lat=slice(50.0, 51.0), lon=slice(350.0, 351.0)).values
    w = np.array([0.5, 1, 1, 1, 0.5])
    expected = (w[:, None] * w[None, :] * cell).sum() / (w.sum() ** 2)
    assert float(out.sel(lat=50.5, lon=350.5)) == pytest.approx(expected, abs=0.005)


def test_dask_input_stays_lazy_and_equals_eager(z500):
    lazy = z500.expand_dims(time=4).chunk({"time": 1})
    out = regrid(lazy, "5.625")
    assert out.chunks is not None
    np.testing.assert_allclose(out.isel(time=2).values, regrid(z500, "5.625").values)


def test_point_data_cannot_be_regridded(shared_data):
    merra = climbench.open_dataset(
        sorted(shared_data.glob("KANISHKLEGENDARY*/merra_downloads/MERRA2_400.*.SUB.nc"))[0]
    )
    with pytest.raises(RegridError, match="single lat"):
        regrid(merra, "5.625")


def test_no_overlap_unknown_method_and_unknown_grid(shared_file):
    uk = climbench.open_dataset(shared_file(UK))["2m_temperature"].isel(time=0)
    with pytest.raises(RegridError, match="does not overlap"):
        regrid(uk, "lat=-40:-30:1,lon=100:110:1")
    with pytest.raises(RegridError, match="unknown regridding method"):
        regrid(uk, "5.625", method="nearest-ish")
    with pytest.raises(RegridError, match="unknown grid"):
        regrid(uk, "fine please")
    with pytest.raises(RegridError, match="resolution"):
        get_grid("7")
