"""Scoring predictions against tasks: scores, intervals, validation, results and the CLI.

Runs on the small task variants of ``tests/small_tasks.py`` (session fixtures in conftest):
a three-month synthetic forecast task (12 test inits x leads 6, 24, 72, 240 h), one month
of the x4 downscaling pair, the registered synthetic emulation task, the real ACCESS-ESM1-5
CMIP6 files and the real ERA5 UK GRIB file (``../shared/data``, skipped when absent).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from climbench import cli
from climbench.baselines import fit
from climbench.data.grids import cell_area_weights
from climbench.errors import (
    CoordinateError,
    DataFileError,
    DataValueError,
    SchemaError,
    TimeAxisError,
    UnitsError,
)
from climbench.evaluation import compare, evaluate
from climbench.evaluation.results import statistics_from_dataset
from climbench.tasks import forecast as fc_tasks
from climbench.tasks import get_spec
from tests.small_tasks import SMALL_LEADS

ERA5_UK = "pydata+xarray-data/era5-2mt-2019-03-uk.grib"
OTHER_GRIB = "ecmwf+cfgrib/tests/sample-data/era5-levels-members.grib"
WIDE = {"COLUMNS": "250"}


def select(table: pd.DataFrame, **where) -> pd.DataFrame:
    """Rows of a results table matching every ``column=value`` (``level=None``: no level)."""
    sel = np.ones(len(table), dtype=bool)
    for column, wanted in where.items():
        if wanted is None:
            sel &= table[column].isna().to_numpy()
        else:
            sel &= (table[column] == wanted).to_numpy()
    return table[sel]


def value(table: pd.DataFrame, **where) -> float:
    rows = select(table, **where)
    assert len(rows) == 1, f"{len(rows)} rows for {where}"
    return float(rows["value"].iloc[0])


def score(pred: xr.Dataset, task, **kwargs):
    """The model alone, no intervals (fast)."""
    kwargs = {"baselines": False, "resamples": 0, "model": "model", **kwargs}
    return evaluate(pred, task, **kwargs)


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """The console-script entry point in-process: (exit status, stdout + stderr)."""
    monkeypatch.setattr(sys, "argv", ["climbench", *args])
    monkeypatch.setenv("COLUMNS", "250")
    with pytest.raises(SystemExit) as info:
        cli.main()
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else code), out.out + out.err


# ---------------------------------------------------------------------------------------
# forecast: predictions
# ---------------------------------------------------------------------------------------


def truth_at_valid_times(task) -> dict[str, np.ndarray]:
    """Per target field, the truth at every (init, lead) valid time: (init, lead, lat, lon)."""
    truth = task.truth().load()
    template = task.template()
    valid = xr.DataArray(
        template["init_time"].values[:, None] + template["lead_time"].values[None, :],
        dims=("init_time", "lead_time"),
    )
    return {name: truth[name].sel(time=valid).values for name in truth.data_vars}


@pytest.fixture(scope="module")
def perfect(forecast_task) -> dict[str, np.ndarray]:
    return truth_at_valid_times(forecast_task)


@pytest.fixture(scope="module")
def inits(forecast_task) -> np.ndarray:
    return forecast_task.template()["init_time"].values


@pytest.fixture
def good_pred(forecast_task, perfect, inits) -> xr.Dataset:
    """A valid predictions file (WeatherBench 2 layout: ``geopotential`` with a level dim)."""
    arrays = {name: a.copy() for name, a in perfect.items()}  # tests may write into it
    flat = fc_tasks.prediction_dataset(forecast_task, arrays, inits)
    out = {}
    for f in forecast_task.spec.targets:  # level fields as `variable` over levels 500, 850
        # (the target level's values at both levels: the scorer must select the right one)
        da = flat[f.name]
        if f.level is not None:
            da = xr.concat([da, da.copy()], dim="level").assign_coords(level=[500.0, 850.0])
            da = da.transpose("init_time", "lead_time", "level", "lat", "lon")
        out[f.variable] = da
    return xr.Dataset(out, attrs=flat.attrs)


@pytest.fixture(scope="module")
def baseline_results(forecast_task):
    return evaluate(None, forecast_task, resamples=200)


@pytest.fixture(scope="module")
def results_dir(baseline_results, tmp_path_factory) -> Path:
    return baseline_results.write(tmp_path_factory.mktemp("results") / "baselines")


# ---------------------------------------------------------------------------------------
# forecast scores
# ---------------------------------------------------------------------------------------


def test_persistence_beats_climatology_at_6h_and_loses_at_240h(baseline_results) -> None:
    t = baseline_results.table
    z500 = {"variable": "geopotential", "level": 500.0, "metric": "rmse", "region": "global"}
    persistence_6 = value(t, model="persistence", lead_hours=6.0, **z500)
    climatology_6 = value(t, model="climatology", lead_hours=6.0, **z500)
    persistence_240 = value(t, model="persistence", lead_hours=240.0, **z500)
    climatology_240 = value(t, model="climatology", lead_hours=240.0, **z500)
    assert persistence_6 < 0.6 * climatology_6
    assert persistence_240 > climatology_240
    # persistence degrades with lead time
    leads = [value(t, model="persistence", lead_hours=h, **z500) for h in (6.0, 24.0, 72.0)]
    assert leads == sorted(leads)


def test_rmse_of_persistence_matches_a_hand_computation(forecast_task, baseline_results) -> None:
    truth = forecast_task.truth()["geopotential_500"].load()
    inits = forecast_task.template()["init_time"].values
    lead = np.timedelta64(72, "h")
    forecast = truth.sel(time=inits).values.astype(np.float64)
    observed = truth.sel(time=inits + lead).values.astype(np.float64)
    w = cell_area_weights(truth["lat"].values)[:, None] * np.ones(truth.sizes["lon"])
    spatial = ((forecast - observed) ** 2 * w).sum(axis=(1, 2)) / w.sum()
    expected = np.sqrt(spatial.mean())
    got = value(
        baseline_results.table,
        model="persistence",
        variable="geopotential",
        level=500.0,
        metric="rmse",
        region="global",
        lead_hours=72.0,
    )
    assert got == pytest.approx(expected, rel=1e-6)


def test_perfect_forecast_has_acc_one_and_rmse_zero(forecast_task, good_pred) -> None:
    t = score(good_pred, forecast_task).table
    assert set(t.metric) >= {"rmse", "acc", "bias", "mae", "spectral_divergence"}
    np.testing.assert_allclose(select(t, metric="acc")["value"], 1.0, rtol=1e-5)
    assert (select(t, metric="rmse")["value"] == 0).all()
    assert (select(t, metric="mae")["value"] == 0).all()
    np.testing.assert_allclose(select(t, metric="spectral_divergence")["value"], 0.0, atol=1e-9)
    assert set(t.region) == {"global", "tropics", "extratropics"}
    assert set(t.lead_hours) == {6.0, 24.0, 72.0, 240.0}


def test_forecast_plus_a_constant_has_that_bias(forecast_task, perfect, inits) -> None:
    offsets = {"geopotential_500": 50.0, "temperature_850": -1.5, "2m_temperature": 2.0}
    arrays = {name: a + offsets[name] for name, a in perfect.items()}
    t = score(fc_tasks.prediction_dataset(forecast_task, arrays, inits), forecast_task).table
    for (variable, level), offset in zip(
        [("geopotential", 500.0), ("temperature", 850.0), ("2m_temperature", None)],
        offsets.values(),
        strict=True,
    ):
        rows = select(t, variable=variable, level=level)
        np.testing.assert_allclose(select(rows, metric="bias")["value"], offset, rtol=1e-4)
        np.testing.assert_allclose(select(rows, metric="rmse")["value"], abs(offset), rtol=1e-4)
        np.testing.assert_allclose(select(rows, metric="mae")["value"], abs(offset), rtol=1e-4)


def test_bootstrap_interval_contains_the_point_value(baseline_results) -> None:
    t = baseline_results.table
    # the ACC of the climatology itself is undefined (its anomalies are zero): NaN
    undefined = (t.model == "climatology") & (t.metric == "acc")
    assert t[undefined]["value"].isna().all() and t[undefined]["ci_low"].isna().all()
    rows = t[t.metric.isin(["rmse", "mae", "bias", "acc"]) & ~undefined]
    assert len(rows) > 0 and rows["ci_low"].notna().all()
    assert (rows["ci_low"] <= rows["value"] + 1e-9).all()
    assert (rows["value"] <= rows["ci_high"] + 1e-9).all()
    assert (rows["ci_high"] > rows["ci_low"]).all()
    assert (t["n_samples"] == 12).all()


def test_zero_resamples_gives_nan_intervals(forecast_task, good_pred) -> None:
    t = score(good_pred, forecast_task, resamples=0).table
    assert t["value"].notna().all()
    assert t["ci_low"].isna().all() and t["ci_high"].isna().all()


def test_results_folder_has_tables_summary_and_samples(baseline_results, results_dir) -> None:
    table = baseline_results.table
    parquet = pd.read_parquet(results_dir / "results.parquet")
    pd.testing.assert_frame_equal(parquet, table, check_dtype=False)
    assert len(pd.read_csv(results_dir / "results.csv")) == len(table)
    assert set(parquet.model) == {"persistence", "climatology"}
    version = baseline_results.task.version
    assert (parquet.task == "forecast/synthetic-5.625").all() and (parquet.version == version).all()
    summary = json.loads((results_dir / "summary.json").read_text())
    spec = baseline_results.task.spec
    assert summary["task"] == f"forecast/synthetic-5.625@{version}"
    assert summary["task_digest"] == spec.digest()
    head = summary["headline"]
    assert (head["metric"], head["field"], head["lead_hours"]) == ("rmse", "geopotential_500", 72)
    z500_72 = {"variable": "geopotential", "level": 500.0, "metric": "rmse", "lead_hours": 72.0}
    for model in ("persistence", "climatology"):
        expected = value(table, model=model, region="global", **z500_72)
        assert head["scores"][model]["value"] == pytest.approx(expected)
        assert head["scores"][model]["ci_low"] <= expected <= head["scores"][model]["ci_high"]
    for model in ("persistence", "climatology"):
        with xr.open_dataset(results_dir / "samples" / f"{model}.nc") as ds:
            stats = statistics_from_dataset(ds.load())
        original = baseline_results.statistics[model]
        np.testing.assert_array_equal(stats.samples, original.samples)
        np.testing.assert_allclose(
            stats.values["geopotential_500"], original.values["geopotential_500"]
        )


def test_compare_says_persistence_is_significantly_better_at_6h(results_dir) -> None:
    diff = compare(results_dir, results_dir, "persistence", "climatology", field="geopotential_500")
    glob = diff[diff.region == "global"].set_index("lead_hours")
    assert glob.loc[6.0, "difference"] < 0 and bool(glob.loc[6.0, "significant"])
    assert glob.loc[6.0, "ci_high"] < 0
    assert glob.loc[240.0, "difference"] > 0
    # a model against itself: zero difference, never significant
    same = compare(results_dir, results_dir, "persistence", "persistence", field="2m_temperature")
    assert (same["difference"] == 0).all() and not same["significant"].any()


def test_compare_cli_prints_the_paired_difference(results_dir) -> None:
    args = ["compare", str(results_dir), str(results_dir), "--a", "persistence"]
    args += ["--b", "climatology", "--field", "geopotential_500", "--resamples", "200"]
    result = CliRunner().invoke(cli.app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    assert "paired bootstrap" in result.output and "yes" in result.output


def test_compare_refuses_a_model_not_in_the_folder(results_dir) -> None:
    with pytest.raises(DataFileError) as info:
        compare(results_dir, results_dir, "persistence", "unet", field="geopotential_500")
    assert info.value.variable == "unet"
    assert "climatology" in str(info.value) and "persistence" in str(info.value)


# ---------------------------------------------------------------------------------------
# validation of predictions files
# ---------------------------------------------------------------------------------------


def refused(pred: xr.Dataset, task, error: type, variable: str) -> Exception:
    with pytest.raises(error) as info:
        score(pred, task)
    assert info.value.variable == variable
    assert variable in str(info.value)
    return info.value


def test_refuses_a_missing_target_variable(forecast_task, good_pred) -> None:
    err = refused(
        good_pred.drop_vars("2m_temperature"), forecast_task, SchemaError, "2m_temperature"
    )
    assert "missing" in str(err)


def test_refuses_a_missing_level(forecast_task, good_pred) -> None:
    pred = good_pred.sel(level=[850.0])  # the file has geopotential at 850 hPa only
    err = refused(pred, forecast_task, SchemaError, "geopotential")
    assert "level 500" in str(err)


def test_refuses_a_shifted_grid(forecast_task, good_pred) -> None:
    pred = good_pred.assign_coords(lat=good_pred["lat"] + 1.0)
    err = refused(pred, forecast_task, CoordinateError, "lat")
    assert "another grid" in str(err)


def test_refuses_a_missing_init_time(forecast_task, good_pred) -> None:
    err = refused(
        good_pred.isel(init_time=slice(1, None)), forecast_task, TimeAxisError, "init_time"
    )
    assert "2016-01-02" in str(err)


def test_refuses_a_duplicate_lead_time(forecast_task, good_pred) -> None:
    pred = good_pred.isel(lead_time=[0, 1, 1, 2, 3])
    err = refused(pred, forecast_task, TimeAxisError, "lead_time")
    assert "more than once" in str(err)


def test_refuses_integer_lead_times(forecast_task, good_pred) -> None:
    pred = good_pred.assign_coords(lead_time=[6, 24, 72, 240])
    err = refused(pred, forecast_task, TimeAxisError, "lead_time")
    assert "timedelta" in str(err)


@pytest.mark.parametrize(
    ("variable", "name"), [("2m_temperature", "2m_temperature"), ("temperature", "temperature_850")]
)
def test_refuses_temperature_in_degc(forecast_task, good_pred, variable, name) -> None:
    good_pred[variable].attrs["units"] = "degC"
    err = refused(good_pred, forecast_task, UnitsError, name)
    assert "degC" in str(err) and "K" in str(err)


def test_refuses_nan_in_predictions(forecast_task, good_pred) -> None:
    good_pred["2m_temperature"].values[3, 2, 5, 7] = np.nan
    err = refused(good_pred, forecast_task, DataValueError, "2m_temperature")
    assert "NaN" in str(err)


@pytest.mark.parametrize(
    ("key", "wrong"),
    [("task", "forecast/era5-5.625"), ("task_version", 1), ("task_digest", "0123456789abcdef")],
)
def test_refuses_a_file_made_for_another_protocol(forecast_task, good_pred, key, wrong) -> None:
    err = refused(good_pred.assign_attrs({key: wrong}), forecast_task, SchemaError, key)
    assert str(wrong) in str(err)


def test_undeclared_task_attributes_are_noted(forecast_task, good_pred) -> None:
    pred = good_pred.copy()
    pred.attrs = {}
    results = score(pred, forecast_task)
    notes = results.notes["model"]
    assert any("does not declare `task_digest`" in n for n in notes)


def test_descending_latitude_is_accepted(forecast_task, good_pred, perfect, inits) -> None:
    arrays = {name: a + 1.0 for name, a in perfect.items()}
    pred = fc_tasks.prediction_dataset(forecast_task, arrays, inits)
    upright = score(pred, forecast_task).table
    flipped = score(pred.isel(lat=slice(None, None, -1)), forecast_task).table
    assert pred.isel(lat=slice(None, None, -1))["lat"].values[0] > 0
    pd.testing.assert_frame_equal(flipped, upright)


def test_extra_init_times_are_ignored_with_a_note(forecast_task, good_pred) -> None:
    extra = good_pred.isel(init_time=[0]).assign_coords(
        init_time=[np.datetime64("2016-01-03T00:00")]  # not a protocol init (every 2 days)
    )
    pred = xr.concat([good_pred, extra], dim="init_time").sortby("init_time")
    results = score(pred, forecast_task)
    assert any("1 init times outside the protocol" in n for n in results.notes["model"])
    pd.testing.assert_frame_equal(results.table, score(good_pred, forecast_task).table)


def test_missing_predictions_file_exits_2_with_a_clear_message(
    monkeypatch, capsys, tmp_path
) -> None:
    missing = tmp_path / "nothing.zarr"
    code, out = run_main(
        monkeypatch,
        capsys,
        "evaluate",
        str(missing),
        "--task",
        "forecast/synthetic-5.625",
        "--data-root",
        str(tmp_path / "data"),
    )
    assert code == 2
    assert "predictions file not found" in out and "nothing.zarr" in out
    assert not (tmp_path / "data").exists()  # nothing was generated before the refusal


# ---------------------------------------------------------------------------------------
# ensembles
# ---------------------------------------------------------------------------------------


def test_calibrated_ensemble_gives_crps_and_spread_skill_near_one(
    forecast_task, perfect, inits
) -> None:
    rng = np.random.default_rng(0)
    members = 5
    sigma = {"geopotential_500": 100.0, "temperature_850": 1.0, "2m_temperature": 1.0}
    arrays = {}
    for name, a in perfect.items():
        # the truth and the members are draws around the same centre: calibrated
        centre = a + sigma[name] * rng.standard_normal(a.shape)
        noise = rng.standard_normal((*a.shape[:2], members, *a.shape[2:]))
        arrays[name] = (centre[:, :, None] + sigma[name] * noise).astype(np.float32)
    pred = fc_tasks.prediction_dataset(forecast_task, arrays, inits, members=members)
    t = score(pred, forecast_task).table
    for (variable, level), s in zip(
        [("geopotential", 500.0), ("temperature", 850.0), ("2m_temperature", None)],
        sigma.values(),
        strict=True,
    ):
        rows = select(t, variable=variable, level=level, region="global")
        crps = select(rows, metric="crps")["value"]
        assert len(crps) == len(SMALL_LEADS)
        # truth and members ~ N(centre, s^2): the fair CRPS is that of N(0, s^2), s / sqrt(pi);
        # the ensemble mean's error is N(0, s^2 (1 + 1/M)), so its MAE is sqrt(2/pi) times that
        np.testing.assert_allclose(crps, s / np.sqrt(np.pi), rtol=0.03)
        mae = select(rows, metric="mae")["value"]
        np.testing.assert_allclose(mae, s * np.sqrt(2 / np.pi * (1 + 1 / members)), rtol=0.03)
        spread_skill = select(rows, metric="spread_skill")["value"]
        assert len(spread_skill) == len(SMALL_LEADS)
        np.testing.assert_allclose(spread_skill, 1.0, atol=0.03)


def test_one_member_ensemble_crps_equals_its_mae(forecast_task, perfect, inits) -> None:
    arrays = {name: (a + 1.0)[:, :, None] for name, a in perfect.items()}
    pred = fc_tasks.prediction_dataset(forecast_task, arrays, inits, members=1)
    assert pred["2m_temperature"].sizes["member"] == 1
    t = score(pred, forecast_task).table
    crps = select(t, metric="crps").set_index(["variable", "level", "region", "lead_hours"])
    mae = select(t, metric="mae").set_index(["variable", "level", "region", "lead_hours"])
    assert len(crps) == 36
    pd.testing.assert_series_equal(crps["value"], mae["value"])
    assert select(t, metric="spread_skill").empty


# ---------------------------------------------------------------------------------------
# downscaling
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def downscaling_results(downscaling_tasks):
    return evaluate(None, downscaling_tasks["downscaling/synthetic-x4"], resamples=50)


def test_bilinear_beats_conservative_and_is_too_smooth(downscaling_results) -> None:
    t = select(downscaling_results.table, variable="2m_temperature", region="global")
    bilinear = value(t, model="bilinear", metric="rmse")
    conservative = value(t, model="conservative", metric="rmse")
    assert bilinear < conservative
    ratio = value(t, model="bilinear", metric="spectral_ratio")
    assert 0 < ratio < 1
    assert value(t, model="bilinear", metric="quantile_error_99") > 0
    assert set(downscaling_results.table.region) == {"global", "tropics", "extratropics"}
    assert (downscaling_results.table.n_samples == 24).all()  # 26-31 January, 6-hourly


def test_out_of_region_task_scores_only_its_test_region(downscaling_tasks) -> None:
    in_region = downscaling_tasks["downscaling/synthetic-x4"]
    out_region = downscaling_tasks["downscaling/synthetic-x4-out-of-region"]
    pred = fit(out_region, "bilinear")[0].load()
    west = pred["lon"] >= 180.5
    spoiled = pred.copy(deep=True)
    for name in spoiled.data_vars:
        # plausible but wrong (the scorer refuses implausible values anywhere)
        spoiled[name] = spoiled[name].where(~west, spoiled[name] * 1.1)
    clean = score(pred, out_region, model="bilinear").table
    spoilt = score(spoiled, out_region, model="bilinear").table
    assert set(clean.region) == {"eastern-hemisphere"}
    pd.testing.assert_frame_equal(clean, spoilt)  # the west is never scored
    in_clean = score(pred.assign_attrs(in_region.attrs()), in_region).table
    in_spoilt = score(spoiled.assign_attrs(in_region.attrs()), in_region).table
    assert value(in_spoilt, variable="2m_temperature", region="global", metric="rmse") > value(
        in_clean, variable="2m_temperature", region="global", metric="rmse"
    )


def test_europe_task_scores_the_cropped_grid_only(downscaling_tasks) -> None:
    europe = downscaling_tasks["downscaling/synthetic-x4-europe"]
    t = evaluate(None, europe, resamples=0).table
    rmse = select(t, variable="2m_temperature", metric="rmse")
    assert set(rmse.model) == {"bilinear", "conservative"}
    global_pred = fit(downscaling_tasks["downscaling/synthetic-x4"], "bilinear")[0]
    with pytest.raises(CoordinateError, match="another grid"):
        score(global_pred.assign_attrs(europe.attrs()), europe)


def test_downscaling_ensemble_gives_crps(downscaling_tasks) -> None:
    task = downscaling_tasks["downscaling/synthetic-x4"]
    pred = fit(task, "bilinear")[0].load()
    rng = np.random.default_rng(1)
    ens = xr.concat(
        [pred + 0.5 * float(rng.standard_normal()) for _ in range(3)], dim="member"
    ).assign_attrs(pred.attrs)
    t = score(ens, task).table
    crps = select(t, variable="2m_temperature", region="global", metric="crps")
    assert len(crps) == 1 and np.isfinite(crps["value"]).all()


# ---------------------------------------------------------------------------------------
# emulation
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pattern_scaling(emulation_task) -> xr.Dataset:
    return fit(emulation_task, "pattern_scaling")[0].load()


def test_pattern_scaling_emulates_synthetic_temperature(emulation_task, pattern_scaling) -> None:
    results = score(pattern_scaling, emulation_task, model="pattern_scaling", resamples=100)
    t = select(results.table, model="pattern_scaling", variable="2m_temperature")
    total = select(t, metric="nrmse_total")
    assert len(total) == 1
    assert 0 < total["value"].iloc[0] < 1
    assert total["ci_low"].iloc[0] <= total["value"].iloc[0] <= total["ci_high"].iloc[0]
    assert value(t, metric="nrmse_total") == pytest.approx(
        value(t, metric="nrmse_spatial") + 5 * value(t, metric="nrmse_global")
    )
    assert value(t, metric="rmse") > 0
    assert (select(t, metric="rmse")["n_samples"] == 21).all()  # ssp245, 2080-2100
    assert results.headline()["model"].tolist() == ["pattern_scaling"]


def test_emulation_without_resamples_has_no_intervals(emulation_task, pattern_scaling) -> None:
    t = score(pattern_scaling, emulation_task, resamples=0).table
    assert {"nrmse_total", "rmse"} <= set(t.metric)
    assert t["value"].notna().all()
    assert t["ci_low"].isna().all() and t["ci_high"].isna().all()


def test_emulation_predictions_in_the_wrong_layout_are_refused(
    emulation_task, pattern_scaling
) -> None:
    with pytest.raises(TimeAxisError) as info:
        score(pattern_scaling.rename(year="time"), emulation_task)
    assert info.value.variable == "year"
    with pytest.raises(SchemaError) as info:
        score(pattern_scaling.rename({"2m_temperature": "tas"}), emulation_task)
    assert info.value.variable == "2m_temperature"


def test_pattern_scaling_is_scored_on_access_esm1_5(access_task) -> None:
    t = evaluate(None, access_task, resamples=50).table
    t2m = select(t, model="pattern_scaling", variable="2m_temperature", region="global")
    assert set(t2m.metric) >= {"rmse", "nrmse_spatial", "nrmse_global", "nrmse_total"}
    assert np.isfinite(t2m["value"]).all()
    assert 0 < value(t2m, metric="rmse") < 3  # K, on 1pctCO2 years 101-180
    assert (select(t2m, metric="rmse")["n_samples"] == 80).all()


# ---------------------------------------------------------------------------------------
# real ERA5 over the UK, through the CLI
# ---------------------------------------------------------------------------------------


def test_era5_uk_prepare_and_evaluate_through_the_cli(shared_file, tmp_path) -> None:
    source = shared_file(ERA5_UK)
    root, out = tmp_path / "data", tmp_path / "results"
    runner = CliRunner()
    args = ["tasks", "prepare", "forecast/era5-uk-t2m", "--source", str(source)]
    result = runner.invoke(cli.app, [*args, "--data-root", str(root)], env=WIDE)
    assert result.exit_code == 0, result.output
    args = ["evaluate", "--task", "forecast/era5-uk-t2m", "--data-root", str(root)]
    result = runner.invoke(cli.app, [*args, "--out", str(out), "--resamples", "100"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "persistence" in result.output and "climatology" in result.output
    table = pd.read_parquet(out / "results.parquet")
    t2m_1h = {"variable": "2m_temperature", "metric": "rmse", "region": "global", "lead_hours": 1.0}
    assert value(table, model="persistence", **t2m_1h) < value(table, model="climatology", **t2m_1h)
    assert (table.n_samples == 12).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task"] == get_spec("forecast/era5-uk-t2m").id
    assert set(summary["headline"]["scores"]) == {"persistence", "climatology"}


def test_era5_uk_refuses_a_different_source_file(
    shared_file, monkeypatch, capsys, tmp_path
) -> None:
    other = shared_file(OTHER_GRIB)
    code, out = run_main(
        monkeypatch,
        capsys,
        "tasks",
        "prepare",
        "forecast/era5-uk-t2m",
        "--source",
        str(other),
        "--data-root",
        str(tmp_path),
    )
    assert code == 2
    assert "does not match the task's dataset" in out and "sha256" in out
    assert not list(tmp_path.glob("tasks/*/prepared.zarr"))
