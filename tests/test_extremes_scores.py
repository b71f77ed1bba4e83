"""SEEPS and the extremes scores (Brier, ETS) through the scorer, checked independently.

A small forecast task with 6-hour precipitation and 2 m temperature (synthetic weather,
January-March 2016) scores SEEPS on the derived 24 h accumulation and Brier / ETS above the
training percentiles. The checks recompute every number from the predictions, the truth
and the training split with plain numpy written from the formulas (WeatherBench 2's SEEPS
as one-hot categories and a matrix product; the contingency table for ETS).
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import climbench
from climbench.data.grids import cell_area_weights
from climbench.data.prepare import open_prepared
from climbench.errors import TaskError
from climbench.metrics import seeps as seeps_module
from climbench.tasks import Field, Task, get_spec
from climbench.tasks.spec import DatasetRef, Period, TaskSpec

LEADS = (6, 12, 18, 24, 30, 36, 48, 60)
#: the training split covers part of January, the test month (SEEPS's climatology is monthly)
SPLITS = {
    "train": Period("2016-01-21", "2016-03-31"),
    "validation": Period("2016-01-14", "2016-01-20"),
    "test": Period("2016-01-02", "2016-01-12"),
}
METRICS = ("rmse", "seeps", "brier_q90", "ets_q90", "brier_q99", "ets_q99")


def precip_spec() -> TaskSpec:
    spec = get_spec("forecast/synthetic-5.625")
    small = replace(
        spec,
        dataset=DatasetRef(
            id="synthetic-weather-5.625-2016q1-precip",
            kind="files",
            params={},
            description="climbench.data.synthetic.weather seed 0, January-March 2016",
        ),
        targets=(Field.parse("total_precipitation_6hr"), Field.parse("2m_temperature")),
        inputs=(Field.parse("total_precipitation_6hr"), Field.parse("2m_temperature")),
        metrics=METRICS,
        splits=SPLITS,
        forecast=replace(spec.forecast, lead_hours=LEADS, init_every_days=2),
        headline=replace(spec.headline, field="2m_temperature", lead_hours=24),
        climatology_window_days=91,
    )
    small.check("small precipitation spec")
    return small


@pytest.fixture(scope="module")
def task(tmp_path_factory) -> Task:
    from climbench.data.synthetic import weather

    root = tmp_path_factory.mktemp("precip")
    source = root / "weather.zarr"
    variables = [
        "total_precipitation_6hr",
        "2m_temperature",
        "land_sea_mask",
        "geopotential_at_surface",
    ]
    data = weather("5.625", (2016, 2016), seed=0, variables=variables)
    data.sel(time=slice("2016-01-01", "2016-03-31")).to_zarr(source, mode="w")
    task = Task(precip_spec(), root)
    task.prepare_data([source])
    return task


def _noisy(task: Task, scale: float) -> xr.Dataset:
    """The truth at each valid time, times a random factor (precipitation stays >= 0)."""
    template = task.template()
    truth = task.truth()
    valid = template["init_time"] + template["lead_time"]
    rng = np.random.default_rng(1)
    out = {}
    for f in task.spec.targets:
        y = truth[f.name].sel(time=valid).values
        factor = np.exp(scale * rng.standard_normal(y.shape)).astype(np.float32)
        out[f.name] = (("init_time", "lead_time", "lat", "lon"), (y * factor).astype(np.float32))
        if f.variable == "2m_temperature":
            noise = rng.standard_normal(y.shape).astype(np.float32)
            out[f.name] = (out[f.name][0], (y + 3 * scale * noise).astype(np.float32))
    ds = xr.Dataset(out, coords=template.coords)
    for f in task.spec.targets:
        ds[f.name].attrs["units"] = truth[f.name].attrs["units"]
    ds.attrs.update(task.attrs())
    return ds


def _scores(task, pred, tmp_path, name="model"):
    path = tmp_path / f"{name}.zarr"
    pred.to_zarr(path, mode="w")
    res = climbench.evaluate(path, task, baselines=False, resamples=0)
    t = res.table
    return t[t.region == "global"]


def _weights(task):
    lat = task.template()["lat"].values
    nlon = task.template().sizes["lon"]
    w = np.repeat(cell_area_weights(lat)[:, None], nlon, axis=1).ravel()
    return w / w.sum()


def _store(task) -> xr.Dataset:
    return open_prepared(task.data_dir / "prepared.zarr")


def _truth24(task) -> xr.DataArray:
    tp = task.truth()["total_precipitation_6hr"]
    return tp.rolling(time=4).sum()


def _oracle_seeps(forecast, truth, p1, threshold, dry):
    """WeatherBench 2's SEEPS, written as one-hot categories contracted with the matrix."""

    def onehot(x):
        return np.stack([x < dry, (x >= dry) & (x < threshold), x >= threshold], axis=0)

    fc, tc = onehot(forecast), onehot(truth)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 0.5 * np.array(
            [
                [np.zeros_like(p1), 1 / (1 - p1), 4 / (1 - p1)],
                [1 / p1, np.zeros_like(p1), 3 / (1 - p1)],
                [1 / p1 + 3 / (2 + p1), 3 / (2 + p1), np.zeros_like(p1)],
            ]
        )
    score = np.einsum("i...,j...,ij...->...", fc, tc, s)
    return np.where((p1 >= 0.1) & (p1 <= 0.85), score, np.nan)


def test_seeps_matches_weatherbench2_formula(task, tmp_path):
    pred = _noisy(task, 0.6)
    scores = _scores(task, pred, tmp_path)
    seeps = scores[scores.metric == "seeps"]
    assert set(seeps.variable) == {"total_precipitation_24hr"}
    assert sorted(seeps.lead_hours) == [24.0, 30.0, 36.0]  # a 24 h sum needs 4 leads

    # climatology of the training split's 24 h sums, per month and cell, from scratch
    truth24 = _truth24(task)
    tp = _store(task)["total_precipitation_6hr"].sel(time=task.spec.splits["train"].slice())
    train24 = tp.rolling(time=4).sum().isel(time=slice(3, None)).load()
    dry = 0.25e-3
    w = _weights(task)
    template = task.template()
    ncell = w.size
    for lead_hours in (24, 36):
        lead = np.timedelta64(lead_hours, "h")
        parts = [lead - np.timedelta64(h, "h") for h in (18, 12, 6, 0)]
        f24 = sum(pred["total_precipitation_6hr"].sel(lead_time=p).values for p in parts)
        valid = template["init_time"].values + lead
        y24 = truth24.sel(time=valid).values.reshape(valid.size, ncell)
        per_sample = []
        for i, t in enumerate(pd.DatetimeIndex(valid)):
            month = train24.sel(time=train24.time.dt.month == t.month).values.reshape(-1, ncell)
            p1 = (month < dry).mean(axis=0)
            wet = np.where(month >= dry, month, np.nan)
            with warnings.catch_warnings():  # cells without a wet day: no threshold
                warnings.simplefilter("ignore", RuntimeWarning)
                threshold = np.nanquantile(wet, 2 / 3, axis=0)
            s = _oracle_seeps(f24[i].ravel(), y24[i], p1, threshold, dry)
            ok = np.isfinite(s)
            per_sample.append((s[ok] * w[ok]).sum() / w[ok].sum())
        got = seeps[seeps.lead_hours == lead_hours].value.item()
        assert got == pytest.approx(np.mean(per_sample), rel=1e-5)
        assert 0.05 < got < 1.5  # a noisy forecast: skill between perfect (0) and none (~1)


def test_extremes_match_contingency_table(task, tmp_path):
    pred = _noisy(task, 0.4)
    scores = _scores(task, pred, tmp_path)
    train = _store(task)["2m_temperature"].sel(time=task.spec.splits["train"].slice())
    ncell = _weights(task).size
    train = train.values.reshape(-1, ncell)
    truth = task.truth()["2m_temperature"]
    template = task.template()
    w = _weights(task)
    for key, q in (("q90", 0.9), ("q99", 0.99)):
        t = np.quantile(train, q, axis=0)
        for lead_hours in (6, 48):
            lead = np.timedelta64(lead_hours, "h")
            f = pred["2m_temperature"].sel(lead_time=lead).values.reshape(-1, ncell) > t
            valid = template["init_time"].values + lead
            o = truth.sel(time=valid).values.reshape(-1, ncell) > t
            a, b, c = ((x * w).sum(axis=1).mean() for x in (f & o, f & ~o, ~f & o))
            chance = (a + b) * (a + c)
            ets = (a - chance) / (a + b + c - chance)
            brier = (((f.astype(float) - o) ** 2) * w).sum(axis=1).mean()
            row = scores[(scores.variable == "2m_temperature") & (scores.lead_hours == lead_hours)]
            assert row[row.metric == f"ets_{key}"].value.item() == pytest.approx(ets, rel=1e-5)
            assert row[row.metric == f"brier_{key}"].value.item() == pytest.approx(brier, rel=1e-5)


def test_perfect_forecast_scores(task, tmp_path):
    pred = _noisy(task, 0.0)
    scores = _scores(task, pred, tmp_path, "perfect")
    by = scores.groupby("metric").value
    assert by.max()["seeps"] == pytest.approx(0.0, abs=1e-6)
    assert by.max()["brier_q90"] == pytest.approx(0.0, abs=1e-6)
    assert by.min()["ets_q90"] == pytest.approx(1.0, abs=1e-6)


def test_thresholds_are_cached_from_the_training_split(task, tmp_path):
    _scores(task, _noisy(task, 0.3), tmp_path)
    cached = task.data_dir / "training-references"
    stores = sorted(p.relative_to(cached).as_posix() for p in cached.glob("*/*.zarr"))
    assert "seeps-climatology/total_precipitation_24hr.zarr" in stores
    assert "training-percentiles/2m_temperature.zarr" in stores
    ds = xr.open_zarr(cached / "seeps-climatology/total_precipitation_24hr.zarr")
    assert ds.sizes["entry"] == 12
    p1 = ds["p1"].values[1]  # February: inside the training split
    assert np.nanmin(p1) >= 0 and np.nanmax(p1) <= 1
    assert np.isnan(ds["p1"].values[5]).all()  # June: no training data, no climatology


def test_seeps_dry_threshold_follows_units():
    assert seeps_module.dry_threshold("m") == pytest.approx(2.5e-4)
    assert seeps_module.dry_threshold("mm") == pytest.approx(0.25)
    with pytest.raises(climbench.errors.DataValueError, match="precipitation amount"):
        seeps_module.dry_threshold("K")


def test_derived_field_needs_its_source():
    spec = precip_spec()
    bad = replace(spec, targets=(Field.parse("2m_temperature"),), inputs=spec.inputs[1:])
    bad = replace(bad, forecast=replace(bad.forecast, derived_fields=("total_precipitation_24hr",)))
    with pytest.raises(TaskError, match="needs the target total_precipitation_6hr"):
        bad.check("bad spec")
    unknown = replace(spec, forecast=replace(spec.forecast, derived_fields=("snowfall_24hr",)))
    with pytest.raises(TaskError, match="derived field 'snowfall_24hr'"):
        unknown.check("bad spec")


def test_earlier_version_is_kept_with_its_digest():
    old = get_spec("forecast/synthetic-5.625@1")
    new = get_spec("forecast/synthetic-5.625")
    assert (old.version, new.version) == (1, 2)
    assert old.digest() == "964f93f286d6182a"  # the digest recorded with version 1 results
    assert "seeps" in new.metrics and "seeps" not in old.metrics
    assert set(old.metrics) <= set(new.metrics)
    with pytest.raises(TaskError, match="version 1 or 2"):
        get_spec("forecast/synthetic-5.625@3")


def test_a_statistic_registered_in_a_users_module_is_scored(task, tmp_path, monkeypatch):
    """A metric with a statistic of its own is one module (statistic, reference, score)."""
    from climbench.metrics.scores import SCORES, STATISTICS

    module = tmp_path / "my_exceedance.py"
    module.write_text(
        "import numpy as np\n"
        "from climbench.metrics.scores import (Reference, Score, Statistic, register_score,\n"
        "    register_statistic)\n"
        "MEDIAN = Reference('training-median', lambda v, t, u: {'m': np.median(v, 0)[None]},\n"
        "    lambda times: np.zeros(len(times), dtype=int))\n"
        "def pointwise(sample, out):\n"
        "    m = sample.parameters['m']\n"
        "    out[0] = (sample.forecast > m) != (sample.truth > m)\n"
        "register_statistic(Statistic('median-miss', ('median_miss',), MEDIAN, pointwise,\n"
        "    lambda variable: variable == '2m_temperature'))\n"
        "register_score(Score('median_miss', ('median_miss',), lambda m, _: m['median_miss'],\n"
        "    'fraction of the area on the wrong side of the training median'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    before_scores, before_stats = dict(SCORES), dict(STATISTICS)
    try:
        __import__("my_exceedance")
        spec = replace(task.spec, metrics=(*task.spec.metrics, "median_miss"))
        spec.check("spec naming the new metric")
        mine = Task(spec, task.data_root)
        scores = _scores(mine, _noisy(mine, 0.4), tmp_path)
        rows = scores[scores.metric == "median_miss"]
        assert set(rows.variable) == {"2m_temperature"}
        assert ((rows.value > 0) & (rows.value < 0.5)).all()
    finally:
        SCORES.clear(), SCORES.update(before_scores)
        STATISTICS.clear(), STATISTICS.update(before_stats)
        import sys

        sys.modules.pop("my_exceedance", None)
