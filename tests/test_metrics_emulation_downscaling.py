"""ClimateBench emulation scores and downscaling scores."""

import numpy as np
import pytest
import xarray as xr

from climbench.data.grids import get_grid
from climbench.errors import CoordinateError
from climbench.metrics import (
    area_mean,
    climatebench_scores,
    nrmse_global,
    nrmse_spatial,
    quantile_error,
    radial_power_spectrum,
    variance_ratio,
)

GRID = get_grid("11.25")


def _target(seed=0, n=21):
    rng = np.random.default_rng(seed)
    base = 2.0 + np.cos(np.deg2rad(GRID.lat))[:, None] * np.ones(GRID.shape)
    trend = np.linspace(0, 1, n)[:, None, None]
    values = base + trend + 0.3 * rng.normal(size=(n, *GRID.shape))
    return xr.DataArray(
        values,
        dims=("time", "lat", "lon"),
        coords={"time": np.arange(2080, 2080 + n), "lat": GRID.lat, "lon": GRID.lon},
        name="tas",
    )


def _climatebench_reference(truth, pred):
    """ClimateBench's published implementation (utils.py), with cos(lat) weights."""
    weights = np.cos(np.deg2rad(truth.lat))

    def global_mean(ds):
        return ds.weighted(weights).mean(["lat", "lon"])

    def rmse(a, b):
        return np.sqrt(((a - b) ** 2).weighted(weights).mean(["lat", "lon"])).data.mean()

    norm = np.abs(global_mean(truth.mean("time")).data)
    nrmse_s = rmse(truth.mean("time"), pred.mean("time")) / norm
    nrmse_g = np.sqrt(((global_mean(truth) - global_mean(pred)) ** 2).mean("time")).data / norm
    return nrmse_s, nrmse_g


def test_constant_offset_golden():
    target = _target()
    scores = climatebench_scores(target + 0.5, target)
    norm = abs(
        float(
            (target.mean("time") * np.cos(np.deg2rad(target.lat))).sum()
            / (np.cos(np.deg2rad(target.lat)) * target.sizes["lon"]).sum()
        )
    )
    assert np.isclose(float(scores["NRMSE_s"]), 0.5 / norm, rtol=1e-3)
    assert np.isclose(float(scores["NRMSE_g"]), 0.5 / norm, rtol=1e-3)
    assert np.isclose(float(scores["NRMSE_total"]), 6 * 0.5 / norm, rtol=1e-3)


def test_matches_climatebench_reference_and_std_normalised_variants():
    target = _target(1)
    pred = (target * 0.9 + 0.3 * np.sin(np.deg2rad(target.lon))).rename("tas")
    ref_s, ref_g = _climatebench_reference(target, pred)
    assert np.isclose(float(nrmse_spatial(pred, target)), ref_s, rtol=2e-3)
    assert np.isclose(float(nrmse_global(pred, target)), ref_g, rtol=2e-3)
    scores = climatebench_scores(pred.to_dataset(), target.to_dataset())
    assert set(scores) == {
        "NRMSE_s_tas",
        "NRMSE_g_tas",
        "NRMSE_total_tas",
        "SNRMSE_s_tas",
        "SNRMSE_g_tas",
    }
    # near-zero global mean (like DTR changes): NRMSE explodes, SNRMSE stays finite
    centred = target - float(area_mean(target.mean("time")))
    blow = climatebench_scores(centred + 0.1, centred)
    assert float(blow["NRMSE_s"]) > 20 and float(blow["SNRMSE_s"]) < 1


def test_quantile_error_and_variance_ratio_golden():
    target = _target(2, n=200)
    assert np.isclose(float(quantile_error(target + 2.0, target, 0.99)), 2.0)
    qmap = quantile_error(target - 1.0, target, 0.99, spatial_mean=False)
    np.testing.assert_allclose(qmap.values, -1.0, atol=1e-12)
    anomalies = target - target.mean("time")
    assert np.isclose(float(variance_ratio(2 * anomalies, anomalies)), 4.0)
    np.testing.assert_allclose(variance_ratio(0.5 * target, target, spatial_mean=False), 0.25)
    with pytest.raises(CoordinateError, match="sample"):
        variance_ratio(target.isel(time=0), target.isel(time=0))


def test_radial_spectrum_parseval_and_peak():
    lat = np.arange(40.0, 50.0, 0.25)  # 40 x 48 regional grid
    lon = np.arange(5.0, 17.0, 0.25)
    rng = np.random.default_rng(3)
    noise = xr.DataArray(
        rng.normal(size=(3, lat.size, lon.size)),
        dims=("time", "lat", "lon"),
        coords={"lat": lat, "lon": lon},
    )
    spec = radial_power_spectrum(noise)
    np.testing.assert_allclose(
        spec.sum("wavenumber").values, (noise**2).mean(("lat", "lon")).values, rtol=1e-12
    )
    wave = np.cos(2 * np.pi * 6 * np.arange(lon.size) / lon.size)[None, :] * np.ones((lat.size, 1))
    peak = radial_power_spectrum(
        xr.DataArray(wave, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    )
    dx = 6_371_000 * np.cos(np.deg2rad(lat.mean())) * np.deg2rad(0.25)
    expected = lon.size * dx / 6
    best = float(peak["wavelength"][peak.argmax("wavenumber")])
    assert abs(best - expected) / expected < 0.2
    assert np.isclose(float(peak.sum()), 0.5)
