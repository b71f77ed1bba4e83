"""Probabilistic scores: golden values, oracles (scoringrules, properscoring, xskillscore),
brute force, statistical checks, and the real ERA5 EDA 10-member file."""

import os
from pathlib import Path

import numpy as np
import properscoring as ps
import pytest
import scoringrules as sr
import xarray as xr
import xskillscore as xs

from climbench.data.grids import get_grid
from climbench.errors import SchemaError
from climbench.metrics import (
    brier_score,
    crps_ensemble,
    crps_gaussian,
    crps_skill_score,
    energy_score,
    ensemble_mean_rmse,
    ensemble_spread,
    latitude_weights,
    mae,
    rank_histogram,
    spread_skill_ratio,
)
from climbench.metrics.probabilistic import (
    brier_array,
    crps_ensemble_array,
    crps_gaussian_array,
    energy_score_array,
)

DATA = Path(
    os.environ.get(
        "CLIMBENCH_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
EDA = DATA / "ecmwf+cfgrib" / "tests" / "sample-data" / "era5-levels-members.grib"
GRID = get_grid("11.25")  # 16 x 32


def _brute_fair_crps(x, y):
    m = x.shape[-1]
    mae_term = np.abs(x - y[..., None]).mean(-1)
    pairs = np.abs(x[..., :, None] - x[..., None, :]).sum((-2, -1))
    return mae_term - pairs / (2 * m * (m - 1))


def test_crps_golden_values():
    x, y = np.array([0.0, 1.0, 3.0]), np.array(2.0)
    assert np.isclose(crps_ensemble_array(x, y), 1 / 3)
    assert np.isclose(crps_ensemble_array(x, y, fair=False), 2 / 3)
    assert np.isclose(crps_gaussian_array(1.0, 1.0, 1.02), 0.23385455, atol=1e-8)
    # one member: CRPS is the absolute error, for both estimators
    assert crps_ensemble_array(np.array([[5.0]]), np.array([2.0]))[0] == 3.0
    assert crps_ensemble_array(np.array([[5.0]]), np.array([2.0]), fair=False)[0] == 3.0


def test_crps_matches_oracles_and_brute_force():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 12)).astype(np.float32)
    y = rng.normal(size=5000).astype(np.float32)
    ours = crps_ensemble_array(x, y)
    np.testing.assert_allclose(ours, _brute_fair_crps(x.astype(float), y), atol=1e-5)
    np.testing.assert_allclose(ours, sr.crps_ensemble(y, x, estimator="fair"), atol=1e-5)
    biased = crps_ensemble_array(x, y, fair=False)
    np.testing.assert_allclose(biased, ps.crps_ensemble(y, x), atol=1e-5)
    np.testing.assert_allclose(biased, sr.crps_ensemble(y, x, estimator="nrg"), atol=1e-5)
    # member axis other than the last
    np.testing.assert_allclose(crps_ensemble_array(x.T, y, axis=0), ours, atol=1e-6)
    np.testing.assert_allclose(
        crps_gaussian_array(0.3, 1.7, y), sr.crps_normal(y, 0.3, 1.7), atol=1e-6
    )


def test_crps_nan_members_are_dropped():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 8))
    y = rng.normal(size=50)
    x_nan = x.copy()
    x_nan[::3, 2] = np.nan
    got = crps_ensemble_array(x_nan, y)
    for i in range(50):
        members = x_nan[i][np.isfinite(x_nan[i])]
        assert np.isclose(got[i], _brute_fair_crps(members[None], y[i : i + 1])[0])
    assert np.isnan(crps_ensemble_array(x, np.where(np.arange(50) == 4, np.nan, y))[4])


def test_crps_torch_is_differentiable_and_equal():
    import torch

    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 7))
    y = rng.normal(size=100)
    xt = torch.tensor(x, requires_grad=True)
    crps = crps_ensemble_array(xt, torch.tensor(y))
    crps.sum().backward()
    np.testing.assert_allclose(crps.detach().numpy(), crps_ensemble_array(x, y), atol=1e-12)
    assert torch.isfinite(xt.grad).all()
    mu = torch.tensor(0.2, requires_grad=True)
    crps_gaussian_array(mu, torch.tensor(1.0), torch.tensor(1.0)).backward()
    assert mu.grad < 0  # moving the mean towards the observation lowers the CRPS


def _ensemble(member_std, seed, m=10, n_time=60):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n_time, *GRID.shape))
    truth = signal + rng.normal(size=signal.shape)
    members = signal[:, None] + member_std * rng.normal(size=(n_time, m, *GRID.shape))
    coords = {"lat": GRID.lat, "lon": GRID.lon}
    fc = xr.DataArray(members, dims=("time", "member", "lat", "lon"), coords=coords)
    ob = xr.DataArray(truth, dims=("time", "lat", "lon"), coords=coords)
    return fc, ob


def test_reliable_ensemble_has_ssr_one_and_flat_rank_histogram():
    fc, ob = _ensemble(1.0, seed=3)
    ssr = float(spread_skill_ratio(fc, ob))
    assert abs(ssr - 1) < 0.03
    hist = rank_histogram(fc, ob, seed=0)
    assert hist.sizes["rank"] == 11 and np.isclose(float(hist.sum()), 1.0)
    assert np.abs(hist.values * 11 - 1).max() < 0.1


def test_under_dispersed_ensemble_is_u_shaped():
    fc, ob = _ensemble(0.4, seed=4)
    assert float(spread_skill_ratio(fc, ob)) < 0.6
    hist = rank_histogram(fc, ob, seed=0).values
    assert hist[0] > 2.5 * hist[5] and hist[-1] > 2.5 * hist[5]
    spread = float(ensemble_spread(fc))
    assert np.isclose(spread, 0.4, rtol=0.03)
    assert float(ensemble_mean_rmse(fc, ob)) > 1.0


def test_rank_histogram_breaks_ties_at_random_reproducibly():
    coords = {"lat": GRID.lat, "lon": GRID.lon}
    fc = xr.DataArray(
        np.zeros((20, 4, *GRID.shape)), dims=("time", "member", "lat", "lon"), coords=coords
    )
    ob = xr.DataArray(np.zeros((20, *GRID.shape)), dims=("time", "lat", "lon"), coords=coords)
    a = rank_histogram(fc, ob, seed=1)
    np.testing.assert_allclose(a.values, 0.2, atol=0.03)  # all tied: uniform over 5 ranks
    np.testing.assert_array_equal(a.values, rank_histogram(fc, ob, seed=1).values)
    lazy = rank_histogram(fc.chunk({"time": 5}), ob.chunk({"time": 5}), seed=1)
    np.testing.assert_allclose(lazy.values, 0.2, atol=0.03)


def test_xarray_crps_is_area_weighted_mean_and_matches_xskillscore():
    fc, ob = _ensemble(1.0, seed=5, m=6, n_time=5)
    w = latitude_weights(GRID.lat).broadcast_like(ob.isel(time=0, drop=True))
    ref = xs.crps_ensemble(ob, fc, member_dim="member", dim=["lat", "lon"], weights=w)
    got = crps_ensemble(fc, ob, fair=False)
    assert np.isclose(float(got), float(ref.mean("time")), rtol=1e-6)
    lazy = crps_ensemble(fc.chunk({"time": 2}), ob.chunk({"time": 2}))
    assert lazy.chunks is not None or lazy.data.__class__.__module__.startswith("dask")
    assert np.isclose(float(lazy), float(crps_ensemble(fc, ob)))
    one = crps_ensemble(fc.isel(member=[0]), ob)
    assert np.isclose(float(one), float(mae(fc.isel(member=0, drop=True), ob)), rtol=1e-6)
    gauss = crps_gaussian(fc.mean("member"), fc.std("member"), ob)
    assert 0 < float(gauss) < 1.5
    ref_crps = crps_ensemble(fc * 0 + ob.mean("time"), ob)
    assert float(crps_skill_score(got, ref_crps)) > 0
    with pytest.raises(SchemaError, match="member"):
        crps_ensemble(fc.rename(member="number"), ob)


def test_energy_score_matches_scoringrules():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(30, 8, 40))
    y = rng.normal(size=(30, 40))
    np.testing.assert_allclose(
        energy_score_array(x, y), sr.es_ensemble(y, x, estimator="fair"), rtol=1e-7
    )
    np.testing.assert_allclose(
        energy_score_array(x, y, fair=False), sr.es_ensemble(y, x, estimator="nrg"), rtol=1e-7
    )
    fc, ob = _ensemble(1.0, seed=7, m=5, n_time=4)
    es = float(energy_score(fc, ob))
    w = latitude_weights(GRID.lat).values[:, None] * np.ones(GRID.shape)
    scale = np.sqrt(w / w.mean()).reshape(-1)
    xf = fc.values.reshape(4, 5, -1) * scale
    yf = ob.values.reshape(4, -1) * scale
    assert np.isclose(es, sr.es_ensemble(yf, xf, estimator="fair").mean())


def test_brier_score_against_xskillscore():
    fc, ob = _ensemble(1.0, seed=8, m=8, n_time=6)
    p = brier_array(fc.values, ob.values, 0.5, axis=1)
    ref = xs.brier_score(ob > 0.5, (fc > 0.5).mean("member"), dim=[])
    np.testing.assert_allclose(p, ref.values)
    assert 0 < float(brier_score(fc, ob, 0.5)) < 0.5


@pytest.fixture(scope="module")
def eda():
    if not EDA.exists():
        pytest.skip(f"real data not found at {EDA} (set CLIMBENCH_TEST_DATA)")
    import climbench

    return climbench.open_dataset(EDA).load()


def test_real_era5_eda_crps_and_spread(eda):
    z = eda["geopotential"]
    truth, members = z.isel(member=0, drop=True), z.isel(member=slice(1, None))
    ours = crps_ensemble(members, truth, spatial_mean=False)
    x = members.transpose("time", "level", "lat", "lon", "member").values
    y = truth.transpose("time", "level", "lat", "lon").values
    ref = sr.crps_ensemble(y, x, estimator="fair").mean(0)
    np.testing.assert_allclose(
        ours.transpose("level", "lat", "lon").values, ref, rtol=1e-4, atol=1e-3
    )
    biased = crps_ensemble(members, truth, fair=False, spatial_mean=False)
    np.testing.assert_allclose(
        biased.transpose("level", "lat", "lon").values,
        ps.crps_ensemble(y, x).mean(0),
        rtol=1e-4,
        atol=1e-3,
    )
    w = latitude_weights(z.lat).broadcast_like(truth.isel(time=0, level=0, drop=True))
    xref = xs.crps_ensemble(truth, members, dim=["lat", "lon"], weights=w).mean("time")
    np.testing.assert_allclose(
        crps_ensemble(members, truth, fair=False).values, xref.values, rtol=1e-5
    )
    spread = ensemble_spread(z).sel(level=500)
    assert 3 < float(spread) < 100  # z500 EDA spread is of the order of 10 m2 s-2
    # members of an EDA are exchangeable: one of them as truth gives a reliable ratio
    ssr = spread_skill_ratio(members, truth)
    assert ((ssr > 0.6) & (ssr < 1.6)).all()
