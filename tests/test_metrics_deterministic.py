"""Deterministic scores: golden values, brute force, xskillscore, layout and laziness."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import xskillscore as xs

from climbench.data.grids import get_grid
from climbench.errors import CoordinateError, DataValueError, SchemaError
from climbench.metrics import (
    acc,
    align_to_forecast,
    bias,
    climatology_at,
    latitude_weights,
    mae,
    mean_rmse,
    mse,
    rmse,
    valid_time,
    wind_vector_rmse,
)
from climbench.metrics.torch import acc as torch_acc
from climbench.metrics.torch import rmse as torch_rmse

GRID = get_grid("22.5")  # 8 x 16, no poles


def _layout(seed=0, n_init=6, n_lead=3):
    rng = np.random.default_rng(seed)
    init = pd.date_range("2020-01-01", periods=n_init, freq="12h")
    lead = pd.to_timedelta([6 * (i + 1) for i in range(n_lead)], unit="h")
    time = pd.date_range("2020-01-01", periods=n_init * 2 + n_lead + 2, freq="6h")
    coords = {"lat": GRID.lat, "lon": GRID.lon, "level": [500, 850]}
    truth = xr.DataArray(
        rng.normal(280, 10, (time.size, 2, *GRID.shape)).astype(np.float32),
        dims=("time", "level", "lat", "lon"),
        coords={"time": time, **coords},
        name="t",
    )
    aligned = align_to_forecast(xr.Dataset(coords={"init_time": init, "lead_time": lead}), truth)
    noise = rng.normal(0, 2, aligned.shape).astype(np.float32)
    forecast = (aligned + noise + 0.5).rename("t")
    return forecast, truth, aligned


def _brute_spatial(err2d_fn, f, t):
    w = latitude_weights(GRID.lat).values[:, None] * np.ones(GRID.shape)
    e = err2d_fn(f.values - t.values)
    return (e * w).sum((-2, -1)) / w.sum()


def test_alignment_by_valid_time():
    forecast, truth, aligned = _layout()
    assert aligned.dims == ("init_time", "lead_time", "level", "lat", "lon")
    vt = valid_time(forecast)
    i, j = 4, 2
    np.testing.assert_array_equal(aligned[i, j].values, truth.sel(time=vt[i, j]).values)
    with pytest.raises(CoordinateError, match="valid time"):
        align_to_forecast(forecast, truth.isel(time=slice(0, 5)))
    filled = align_to_forecast(forecast, truth.isel(time=slice(0, 5)), missing="nan")
    assert np.isnan(filled.values).any() and np.isfinite(filled.values).any()
    # dask path: chunked like the forecast, same values, for DataArrays and Datasets
    lazy = align_to_forecast(forecast.chunk({"init_time": 4}), truth.chunk({"time": 5}))
    assert lazy.chunks[:2] == ((4, 2), (3,))
    np.testing.assert_array_equal(lazy.values, aligned.values)
    lazy_ds = align_to_forecast(
        forecast.to_dataset().chunk({"init_time": 4}), truth.to_dataset().chunk({"time": 5})
    )
    np.testing.assert_array_equal(lazy_ds["t"].values, aligned.values)


def test_rmse_is_root_of_time_mean_mse_and_differs_from_mean_rmse():
    forecast, _, aligned = _layout()
    per_sample = _brute_spatial(np.square, forecast, aligned)  # (init, lead, level)
    got = rmse(forecast, aligned)
    assert got.dims == ("lead_time", "level")
    np.testing.assert_allclose(got.values, np.sqrt(per_sample.mean(0)), rtol=1e-5)
    np.testing.assert_allclose(mse(forecast, aligned).values, per_sample.mean(0), rtol=1e-5)
    np.testing.assert_allclose(
        mean_rmse(forecast, aligned).values, np.sqrt(per_sample).mean(0), rtol=1e-5
    )
    assert (mean_rmse(forecast, aligned) < got).all()
    np.testing.assert_allclose(
        mae(forecast, aligned).values, _brute_spatial(np.abs, forecast, aligned).mean(0), rtol=1e-5
    )
    np.testing.assert_allclose(
        bias(forecast, aligned).values,
        _brute_spatial(lambda e: e, forecast, aligned).mean(0),
        rtol=1e-4,
    )


def test_rmse_matches_xskillscore_per_sample():
    forecast, _, aligned = _layout(seed=1)
    w = latitude_weights(GRID.lat).broadcast_like(
        forecast.isel(init_time=0, lead_time=0, level=0, drop=True)
    )
    ref = xs.rmse(forecast, aligned, dim=["lat", "lon"], weights=w)
    # xskillscore gives per-sample RMSE; WB2 RMSE is the root of their mean square
    got = np.sqrt((ref**2).mean("init_time"))
    np.testing.assert_allclose(rmse(forecast, aligned).values, got.values, rtol=1e-5)


def test_spatial_maps_regions_and_dataset_input():
    forecast, _, aligned = _layout(seed=2)
    emap = rmse(forecast, aligned, spatial_mean=False)
    assert emap.dims == ("lead_time", "level", "lat", "lon")
    np.testing.assert_allclose(
        emap.values, np.sqrt(((forecast - aligned) ** 2).mean("init_time")).values, rtol=1e-5
    )
    by_region = rmse(forecast, aligned, region=["global", "tropics", "extratropics"])
    assert list(by_region["region"].values) == ["global", "tropics", "extratropics"]
    trop = forecast.where(np.abs(forecast.lat) <= 20, drop=True)
    trop_t = aligned.where(np.abs(aligned.lat) <= 20, drop=True)
    np.testing.assert_allclose(
        by_region.sel(region="tropics").values, rmse(trop, trop_t).values, rtol=1e-5
    )
    ds = rmse(forecast.to_dataset(), aligned.to_dataset())
    np.testing.assert_allclose(ds["t"].values, by_region.sel(region="global").values)


def test_wind_vector_rmse_golden():
    shape = (2, 1, *GRID.shape)
    dims = ("init_time", "lead_time", "lat", "lon")
    coords = {"lat": GRID.lat, "lon": GRID.lon}

    def da(value):
        return xr.DataArray(np.full(shape, value), dims=dims, coords=coords)

    got = wind_vector_rmse(da(6.0), da(-8.0), da(0.0), da(0.0))
    np.testing.assert_allclose(got.values, [10.0])


def _anomaly_setup(seed=3):
    forecast, truth, aligned = _layout(seed=seed)
    doy = np.arange(1, 367)
    clim = xr.DataArray(
        np.random.default_rng(seed).normal(280, 1, (366, 2, *GRID.shape)),
        dims=("dayofyear", "level", "lat", "lon"),
        coords={"dayofyear": doy, "level": [500, 850], "lat": GRID.lat, "lon": GRID.lon},
    )
    return forecast, aligned, clim


def test_acc_uncentred_and_centred_against_brute_force_and_xskillscore():
    forecast, aligned, clim = _anomaly_setup()
    c = climatology_at(clim, valid_time(forecast))
    fa, oa = forecast - c, aligned - c
    w = latitude_weights(GRID.lat).values[:, None] * np.ones(GRID.shape)
    num = (fa * oa * w).sum(("lat", "lon"))
    den = np.sqrt((fa**2 * w).sum(("lat", "lon")) * (oa**2 * w).sum(("lat", "lon")))
    np.testing.assert_allclose(
        acc(forecast, aligned, clim).values, (num / den).mean("init_time").values, rtol=1e-5
    )
    wda = latitude_weights(GRID.lat).broadcast_like(
        c.isel(init_time=0, lead_time=0, level=0, drop=True)
    )
    ref = xs.pearson_r(fa, oa, dim=["lat", "lon"], weights=wda).mean("init_time")
    np.testing.assert_allclose(
        acc(forecast, aligned, clim, centred=True).values, ref.values, rtol=1e-4
    )
    perfect = acc(aligned, aligned, clim)
    np.testing.assert_allclose(perfect.values, 1.0, rtol=1e-6)
    amap = acc(forecast, aligned, clim, spatial_mean=False)
    assert amap.dims == ("lead_time", "level", "lat", "lon") and (np.abs(amap) <= 1).all()


def test_dask_inputs_stay_lazy_and_agree():
    (
        forecast,
        _,
        aligned,
    ) = _layout(seed=4)
    fd, td = forecast.chunk({"init_time": 2}), aligned.chunk({"init_time": 3})
    lazy = rmse(fd, td)
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.compute().values, rmse(forecast, aligned).values, rtol=1e-6)
    _, _, clim = _anomaly_setup(seed=4)
    a = acc(fd, td, clim.chunk({"dayofyear": 100}), centred=True)
    assert a.chunks is not None
    np.testing.assert_allclose(
        a.values, acc(forecast, aligned, clim, centred=True).values, rtol=1e-5
    )


def test_inputs_chunked_along_lat_or_lon_are_scored() -> None:
    """WeatherBench 2 ships climatologies chunked along lat: that used to be a raw dask
    error about core dimensions; the fields are now rechunked whole, with the same scores."""
    forecast, _, aligned = _layout(seed=5)
    _, _, clim = _anomaly_setup(seed=5)
    fd = forecast.chunk({"init_time": 2, "lon": 16})
    lazy = acc(fd, aligned.chunk({"lat": 4}), clim.chunk({"dayofyear": 100, "lat": 8}))
    np.testing.assert_allclose(lazy.values, acc(forecast, aligned, clim).values, rtol=1e-12)
    np.testing.assert_allclose(rmse(fd, aligned).values, rmse(forecast, aligned).values, rtol=1e-12)


def test_large_block_path_matches_small():
    rng = np.random.default_rng(5)
    grid = get_grid("5.625")
    dims = ("init_time", "lead_time", "lat", "lon")
    f = xr.DataArray(
        rng.normal(size=(40, 9, *grid.shape)).astype(np.float32),
        dims=dims,
        coords={"lat": grid.lat, "lon": grid.lon},
    )
    t = f * 0.5
    f[3, 2, 5, 7] = np.nan  # one NaN row goes through the finite-cell path
    w = latitude_weights(grid.lat).values[:, None] * np.ones(grid.shape)
    e = (f.values - t.values) ** 2
    ok = np.isfinite(e)
    brute = (np.where(ok, e, 0) * w).sum((-2, -1)) / (w * ok).sum((-2, -1))
    np.testing.assert_allclose(mse(f, t).values, brute.mean(0), rtol=1e-5)


def test_torch_entry_point_matches_and_differentiates():
    import torch

    forecast, aligned, clim = _anomaly_setup(seed=6)
    c = climatology_at(clim, valid_time(forecast))
    p = torch.tensor(forecast.values, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(aligned.values, dtype=torch.float64)
    loss = torch_rmse(p, t, GRID.lat)
    loss.backward()
    assert p.grad is not None and torch.isfinite(p.grad).all()
    per_sample = _brute_spatial(np.square, forecast, aligned)
    assert np.isclose(loss.item(), np.sqrt(per_sample.mean()), rtol=1e-5)
    a = torch_acc(p, t, torch.tensor(c.values), GRID.lat)
    assert np.isclose(a.item(), float(acc(forecast, aligned, clim).mean()), rtol=1e-5)


def test_bad_inputs_raise_clear_errors():
    forecast, truth, aligned = _layout(seed=7)
    with pytest.raises(DataValueError, match="align truth first"):
        rmse(forecast, truth)
    with pytest.raises(CoordinateError, match="different grids"):
        rmse(forecast, aligned.assign_coords(lat=aligned.lat + 1))
    with pytest.raises(SchemaError, match="spatial"):
        rmse(forecast.rename(lat="y"), aligned.rename(lat="y"))


def _real(relative):
    import os
    from pathlib import Path

    root = Path(
        os.environ.get(
            "CLIMBENCH_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
        )
    )
    path = root / relative
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set CLIMBENCH_TEST_DATA)")
    import climbench

    return climbench.open_dataset(path)


def test_real_era5_eda_rmse_and_acc_with_pole_rows_match_xskillscore():
    ds = _real("ecmwf+cfgrib/tests/sample-data/era5-levels-members.grib").load()
    assert ds["lat"].values[0] == -90.0  # pole rows: small non-zero weight
    forecast = ds.isel(member=1, drop=True)
    truth = ds.isel(member=0, drop=True)
    w = latitude_weights(ds.lat).broadcast_like(
        ds["geopotential"].isel(time=0, member=0, level=0, drop=True)
    )
    ref = np.sqrt((xs.rmse(forecast, truth, dim=["lat", "lon"], weights=w) ** 2).mean("time"))
    got = rmse(forecast, truth)
    for var in ("geopotential", "temperature"):
        np.testing.assert_allclose(got[var].values, ref[var].values, rtol=1e-5)
    clim = ds.mean(("time", "member"))
    fa, oa = forecast - clim, truth - clim
    ref_acc = xs.pearson_r(fa, oa, dim=["lat", "lon"], weights=w).mean("time")
    got_acc = acc(forecast, truth, clim, centred=True)
    np.testing.assert_allclose(
        got_acc["temperature"].values, ref_acc["temperature"].values, rtol=1e-4
    )
    assert (got_acc["geopotential"] > 0.5).all()  # two EDA members agree closely
