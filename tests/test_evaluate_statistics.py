"""The scorer's one-pass statistics against the reference metrics (``climbench.metrics``).

The scorer reduces each prediction value once to per-sample, per-region area-weighted means
(:mod:`climbench.evaluation.statistics`) and derives every score from their time means
(:mod:`climbench.evaluation.aggregate`); ``climbench.metrics`` computes each score on its
own from xarray fields. On small random forecasts both must agree to 1e-6 relative: RMSE,
MSE, MAE, bias, ACC and wind-vector RMSE, with masked (NaN) truth cells, and CRPS and
spread-skill for an ensemble. The reference gets float64 copies of the float32 data, so it
is exact and the tolerance bounds the scorer's float32 sums alone. The scorer reads the
truth with :func:`climbench.data.prepare.load_prepared`, whose shard reader must give what
zarr gives. Last, the scorer runs end to end on the small forecast task of
``tests/test_tasks.py``, where it reads the truth and the climatology from the prepared
stores and picks them by index at each valid time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from climbench import metrics
from climbench.data import prepare as prepare_module
from climbench.data import shard_reader
from climbench.data.grids import get_grid
from climbench.errors import StoreError
from climbench.evaluation.aggregate import score_table
from climbench.evaluation.evaluate import evaluate
from climbench.evaluation.forecast import SampleStatistics
from climbench.evaluation.statistics import (
    field_statistics,
    stat_names,
    vector_statistics,
)
from climbench.metrics._reduce import region_weight_matrix
from climbench.metrics.weights import area_weights
from climbench.tasks import forecast as fc_tasks
from tests.small_tasks import small_forecast_task, small_root

REGIONS = ["global", "tropics", "extratropics"]
RTOL = 1e-6
LAT = np.arange(-84.375, 90, 11.25)  # 16 rows, no poles
LON = np.arange(0, 360, 11.25)  # 32 columns
INITS = pd.date_range("2018-01-01", periods=6, freq="12h")
LEADS = pd.to_timedelta([6, 24, 72], unit="h")
NCELL = LAT.size * LON.size


def _weights() -> np.ndarray:
    return region_weight_matrix([np.asarray(area_weights(LAT, LON, r)) for r in REGIONS])


def _field(values: np.ndarray, member: bool = False) -> xr.DataArray:
    """A float64 forecast-layout DataArray of float32 ``values`` (the reference's input)."""
    dims = ("init_time", "lead_time", *(("member",) if member else ()), "lat", "lon")
    coords = {"init_time": INITS, "lead_time": LEADS, "lat": LAT, "lon": LON}
    return xr.DataArray(values.astype(np.float64), dims=dims, coords=coords)


def _random_case(seed: int, members: int = 0) -> dict[str, np.ndarray]:
    """Float32 truth, climatology and a forecast (or ensemble) with a bias and a signal."""
    rng = np.random.default_rng(seed)
    shape = (INITS.size, LEADS.size, LAT.size, LON.size)
    clim = (280 + 10 * rng.standard_normal(shape)).astype(np.float32)
    truth = (clim + 3 * rng.standard_normal(shape)).astype(np.float32)
    spread = 1 + np.arange(LEADS.size).reshape(1, -1, 1, 1)
    mean = truth + 0.5 + 0.6 * (truth - clim) + spread * rng.standard_normal(shape)
    if members:
        noise = rng.standard_normal((*shape[:2], members, *shape[2:]))
        forecast = mean[:, :, None] + 1.5 * spread[:, :, None] * noise
    else:
        forecast = mean
    return {
        "forecast": forecast.astype(np.float32),
        "truth": truth,
        "climatology": clim,
    }


def _statistics(values: dict[str, np.ndarray], stats: dict, members: int) -> SampleStatistics:
    return SampleStatistics(
        "init_time", INITS.values, LEADS.values, REGIONS, values, stats, members, {}, []
    )


def _scores(stats: SampleStatistics, metric_names: tuple[str, ...]) -> pd.DataFrame:
    """The scorer's table (no bootstrap) indexed by field, metric, region and lead (h)."""
    table = score_table(stats, metric_names, {}, resamples=0)
    return table.set_index(["variable", "metric", "region", "lead_hours"])["value"]


def _assert_matches(ours: pd.Series, field: str, metric: str, reference: xr.DataArray) -> None:
    for region in REGIONS:
        for lead in LEADS:
            want = float(reference.sel(region=region, lead_time=lead))
            have = float(ours[(field, metric, region, lead / pd.Timedelta(hours=1))])
            assert have == pytest.approx(want, rel=RTOL), (field, metric, region, lead)


def _gathered(array: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``array`` (samples, ncell) shuffled, and the row of each sample in it."""
    order = np.random.default_rng(seed).permutation(array.shape[0])
    return array[order], np.argsort(order)


def _deterministic_check(case: dict[str, np.ndarray], gather: bool) -> None:
    x = case["forecast"].reshape(-1, NCELL)
    y = case["truth"].reshape(-1, NCELL)
    c = case["climatology"].reshape(-1, NCELL)
    if gather:
        y, truth_rows = _gathered(y, 1)
        c, clim_rows = _gathered(c, 2)
        values = field_statistics(
            x, y, _weights(), c, truth_rows=truth_rows, climatology_rows=clim_rows
        )
    else:
        values = field_statistics(x, y, _weights(), c)
    shape = (INITS.size, LEADS.size, len(REGIONS), -1)
    stats = _statistics({"t": values.reshape(shape)}, {"t": stat_names(True, 0)}, 0)
    ours = _scores(stats, ("rmse", "mse", "mae", "bias", "acc"))
    f, t, cl = (_field(case[k]) for k in ("forecast", "truth", "climatology"))
    _assert_matches(ours, "t", "rmse", metrics.rmse(f, t, region=REGIONS))
    _assert_matches(ours, "t", "mse", metrics.mse(f, t, region=REGIONS))
    _assert_matches(ours, "t", "mae", metrics.mae(f, t, region=REGIONS))
    _assert_matches(ours, "t", "bias", metrics.bias(f, t, region=REGIONS))
    _assert_matches(ours, "t", "acc", metrics.acc(f, t, cl, region=REGIONS))


def test_deterministic_scores_match_the_metrics() -> None:
    _deterministic_check(_random_case(0), gather=False)


def test_truth_and_climatology_picked_by_row_give_the_same_scores() -> None:
    _deterministic_check(_random_case(0), gather=True)


def test_masked_truth_cells_are_left_out_as_in_the_metrics() -> None:
    case = _random_case(3)
    rng = np.random.default_rng(4)
    land = rng.random((LAT.size, LON.size)) < 0.3  # a fixed mask, as NaN land in an SST field
    case["truth"][..., land] = np.nan
    case["truth"][rng.random(case["truth"].shape) < 0.02] = np.nan  # and scattered gaps
    _deterministic_check(case, gather=True)


def test_wind_vector_rmse_matches_the_metric_with_and_without_a_mask() -> None:
    u, v = _random_case(5), _random_case(6)
    for masked in (False, True):
        if masked:
            u["truth"][0, 1, 2:5] = np.nan
            v["truth"][3, 0, :, 7] = np.nan
        truth_u, rows = _gathered(u["truth"].reshape(-1, NCELL), 7)
        truth_v = v["truth"].reshape(-1, NCELL)[np.argsort(rows)]
        values = vector_statistics(
            u["forecast"].reshape(-1, NCELL),
            v["forecast"].reshape(-1, NCELL),
            truth_u,
            truth_v,
            _weights(),
            truth_rows=rows,
        )
        shape = (INITS.size, LEADS.size, len(REGIONS), 1)
        stats = _statistics({"10m_wind": values.reshape(shape)}, {"10m_wind": ("vse",)}, 0)
        reference = metrics.wind_vector_rmse(
            _field(u["forecast"]),
            _field(v["forecast"]),
            _field(u["truth"]),
            _field(v["truth"]),
            region=REGIONS,
        )
        _assert_matches(
            _scores(stats, ("wind_vector_rmse",)), "10m_wind", "wind_vector_rmse", reference
        )


def test_ensemble_crps_spread_skill_and_mean_scores_match_the_metrics() -> None:
    members = 5
    case = _random_case(8, members=members)
    x = case["forecast"].reshape(INITS.size * LEADS.size, members, NCELL)
    y, rows = _gathered(case["truth"].reshape(-1, NCELL), 9)
    c = case["climatology"].reshape(-1, NCELL)
    values = field_statistics(x, y, _weights(), c, truth_rows=rows)
    shape = (INITS.size, LEADS.size, len(REGIONS), -1)
    names = stat_names(True, members)
    assert names[-2:] == ("crps", "var")
    stats = _statistics({"t": values.reshape(shape)}, {"t": names}, members)
    ours = _scores(stats, ("rmse", "acc", "crps", "spread_skill"))
    f, t = _field(case["forecast"], member=True), _field(case["truth"])
    cl = _field(case["climatology"])
    _assert_matches(ours, "t", "acc", metrics.acc(f.mean("member"), t, cl, region=REGIONS))
    _assert_matches(ours, "t", "crps", metrics.crps_ensemble(f, t, region=REGIONS))
    _assert_matches(ours, "t", "spread_skill", metrics.spread_skill_ratio(f, t, region=REGIONS))
    _assert_matches(ours, "t", "rmse", metrics.ensemble_mean_rmse(f, t, region=REGIONS))


def test_one_member_crps_is_the_mae() -> None:
    case = _random_case(10, members=1)
    x = case["forecast"].reshape(-1, 1, NCELL)
    y = case["truth"].reshape(-1, NCELL)
    one = field_statistics(x[:, 0], y, _weights())
    assert stat_names(False, 1) == ("se", "ae", "e")
    np.testing.assert_array_equal(one, field_statistics(x.mean(axis=1), y, _weights()))


# ---------------------------------------------------------------------------------------
# the truth reader
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[1, 4], ids=["time_chunk=1", "time_chunk=4"])
def small_store(request, tmp_path_factory):
    """A prepared store with shards of a few steps (so reads cross shard and chunk edges)
    and one all-NaN step of ``2m_temperature`` (an inner chunk zarr never writes)."""
    grid = get_grid("5.625")
    rng = np.random.default_rng(12)
    time = pd.date_range("2000-01-01", periods=41, freq="6h")
    t2m = (280 + 10 * rng.standard_normal((time.size, *grid.shape))).astype(np.float32)
    t2m[7] = np.nan
    z = (5e4 + 1e3 * rng.standard_normal((time.size, 2, *grid.shape))).astype(np.float32)
    ds = xr.Dataset(
        {
            "2m_temperature": (("time", "lat", "lon"), t2m, {"units": "K"}),
            "geopotential": (("time", "level", "lat", "lon"), z, {"units": "m2 s-2"}),
        },
        coords={"time": time, "level": ("level", [500.0, 850.0], {"units": "hPa"})} | grid.coords(),
    )
    patch = pytest.MonkeyPatch()
    patch.setattr(prepare_module, "SHARD_BYTES", 10 * NCELL * 4)  # 10 steps of t2m a shard
    out = tmp_path_factory.mktemp("store") / "s.zarr"
    try:
        prepare_module.prepare(ds, out, time_chunk=request.param)
    finally:
        patch.undo()
    return out


@pytest.mark.parametrize(
    "time_range",
    [
        None,
        ("2000-01-01T06", "2000-01-01T18"),  # inside one shard
        ("2000-01-02T06", "2000-01-09T18"),  # across shards, from and to mid-chunk
        ("2000-01-03T00", "2000-01-03T00"),  # one step
        ("2000-01-09", "2000-12-31"),  # to the end, a partly filled last shard
    ],
)
def test_load_prepared_reads_what_zarr_reads(small_store, time_range) -> None:
    variables = ["2m_temperature", "geopotential"]
    for name in variables:  # the shard reader, not the zarr fallback
        assert shard_reader._read_time_steps(small_store / name, 0, 1) is not None
    got = prepare_module.load_prepared(small_store, variables, time_range)
    want = xr.open_zarr(small_store, chunks=None)[variables]
    if time_range is not None:
        want = want.sel(time=slice(*time_range))
    xr.testing.assert_identical(got, want.load())


def test_load_prepared_refuses_a_corrupt_shard_index(small_store, tmp_path) -> None:
    import shutil

    copy = tmp_path / "s.zarr"
    shutil.copytree(small_store, copy)
    shard = copy / "2m_temperature" / "c" / "0" / "0" / "0"
    raw = bytearray(shard.read_bytes())
    raw[-10] ^= 0xFF  # a byte of the index, before its checksum
    shard.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="checksum"):
        prepare_module.load_prepared(copy, ["2m_temperature"])


# ---------------------------------------------------------------------------------------
# end to end: the scorer on a prepared task
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forecast_task(tmp_path_factory):
    return small_forecast_task(small_root(tmp_path_factory))


def test_scorer_matches_the_metrics_on_a_prepared_task(forecast_task) -> None:
    """Truth + noise in the WeatherBench 2 layout, its fields chunked differently."""
    task = forecast_task
    template = task.template()
    aligned = metrics.align_to_forecast(template, task.truth()).load()
    rng = np.random.default_rng(11)
    arrays = {}
    for f in task.spec.targets:
        y = aligned[f.name].values
        noise = rng.standard_normal(y.shape) * (0.02 * np.nanstd(y) + 0.1)
        arrays[f.name] = (y + noise + 0.01 * np.nanstd(y)).astype(np.float32)
    pred = fc_tasks.prediction_dataset(task, arrays, template["init_time"].values)
    for k, name in enumerate(pred.data_vars):  # uneven and different init chunks per field
        pred[name] = pred[name].chunk({"init_time": 2 + k})
    table = evaluate(pred, task, baselines=False, resamples=0).table
    clim = fc_tasks.climatology(task)
    for f in task.spec.targets:
        rows = table[table.variable == f.variable]
        rows = rows[rows.level.isna() if f.level is None else rows.level == f.level]
        ours = rows.set_index(["metric", "region", "lead_hours"])["value"]
        fc = xr.DataArray(
            arrays[f.name].astype(np.float64),
            dims=("init_time", "lead_time", "lat", "lon"),
            coords=aligned[f.name].coords,
        )
        t = aligned[f.name].astype(np.float64)
        reference = {
            "rmse": metrics.rmse(fc, t, region=REGIONS),
            "mae": metrics.mae(fc, t, region=REGIONS),
            "bias": metrics.bias(fc, t, region=REGIONS),
            "acc": metrics.acc(fc, t, clim[f.name].astype(np.float64), region=REGIONS),
        }
        for metric, ref in reference.items():
            for region in REGIONS:
                for lead in fc["lead_time"].values:
                    key = (metric, region, lead / np.timedelta64(1, "h"))
                    want = float(ref.sel(region=region, lead_time=lead))
                    assert ours[key] == pytest.approx(want, rel=RTOL), (f.name, *key)


def test_the_engine_leaves_out_cells_as_the_scorer_and_the_api_need() -> None:
    """``block_means``: shared quantities over one set of cells (where all are finite, or
    where the truth is), further quantities each over their own finite cells."""
    from climbench.metrics._reduce import block_means

    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 1, NCELL)).astype(np.float32)
    y = rng.standard_normal((3, 1, NCELL)).astype(np.float32)
    x[0, 0, 0] = np.nan  # a NaN prediction cell
    y[0, 0, 1] = np.nan  # a masked truth cell
    w = _weights()

    def mean(q, valid):
        return (np.where(valid, q, 0) @ w) / (valid.astype(np.float32) @ w)

    def run(**rules):
        return block_means(lambda b, s: [b[0], b[1], b[1]], 3, [x, y], w, threads=False, **rules)

    both = np.isfinite(x[:, 0]) & np.isfinite(y[:, 0])
    joint = run(shared_cells=2)  # the API's rule: the cells where x and y are finite
    np.testing.assert_allclose(joint[0, :, 0], mean(x[0, 0], both[0]), atol=1e-6)
    np.testing.assert_allclose(joint[0, :, 1], mean(y[0, 0], both[0]), atol=1e-6)
    own = np.isfinite(y[0, 0])  # the third quantity: over its own cells (only cell 1 out)
    np.testing.assert_allclose(joint[0, :, 2], mean(y[0, 0], own), atol=1e-6)
    scorer = run(shared_cells=2, cells_of=1)  # the truth's cells: the NaN prediction stays
    assert np.isnan(scorer[0, :, 0]).all() and np.isfinite(scorer[0, :, 1:]).all()
    np.testing.assert_allclose(scorer[0, :, 1], mean(y[0, 0], own), atol=1e-6)
    np.testing.assert_allclose(scorer[1:], joint[1:], rtol=0)  # unmasked rows: the same
