"""Benchmark tasks: the registry, spec checks, splits, climatologies and prepared data.

The data-backed tests run on small variants of the registered synthetic tasks
(``tests/small_tasks.py``; session fixtures in ``tests/conftest.py``, built once and shared
with ``tests/test_evaluate.py``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields, replace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

from climbench import cli
from climbench.data.prepare import read_manifest
from climbench.errors import StoreError, TaskError
from climbench.tasks import Field, Period, TaskSpec, get_spec, get_task, task_names
from climbench.tasks import downscaling as ds_tasks
from climbench.tasks import emulation as emu_tasks
from climbench.tasks import forecast as fc_tasks
from climbench.tasks.climatology import compute_climatology
from climbench.tasks.registry import SPEC_DIR
from climbench.tasks.spec import DownscalingProtocol, EmulationProtocol, StationProtocol
from tests.small_tasks import SMALL_LEADS

REGISTERED = [
    "downscaling/era5-land-quebec",
    "downscaling/synthetic-x4",
    "downscaling/synthetic-x4-europe",
    "downscaling/synthetic-x4-out-of-region",
    "emulation/access-esm1-5",
    "emulation/synthetic",
    "forecast/era5-5.625",
    "forecast/era5-uk-t2m",
    "forecast/synthetic-5.625",
    "station/knmi",
    "station/synthetic",
]

# ---------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------


def test_every_yaml_spec_is_registered_under_its_file_name() -> None:
    files = sorted(
        p.relative_to(SPEC_DIR).with_suffix("").as_posix() for p in SPEC_DIR.rglob("*.yaml")
    )
    assert [f for f in files if "@" not in f] == REGISTERED
    assert task_names() == REGISTERED
    for stem in files:
        name, _, version = stem.partition("@")
        spec = get_spec(stem)
        assert spec.name == name
        assert spec.kind == name.split("/")[0]
        assert spec.id == (stem if version else f"{name}@{spec.version}")
        # an earlier version is kept beside the current one, which is the highest
        assert spec.version <= get_spec(name).version
        # the YAML file itself, not only the cached registry, gives the same protocol
        data = yaml.safe_load((SPEC_DIR / f"{stem}.yaml").read_text())
        assert TaskSpec.from_dict(data).digest() == spec.digest()


def test_get_spec_accepts_the_registered_versions() -> None:
    spec = get_spec("forecast/synthetic-5.625")
    assert get_spec(f"forecast/synthetic-5.625@{spec.version}") is spec
    assert get_spec(f"forecast/synthetic-5.625@v{spec.version}") is spec
    old = get_spec("forecast/synthetic-5.625@1")
    assert old.version == 1 < spec.version and old.name == spec.name


def test_get_spec_refuses_another_version() -> None:
    with pytest.raises(TaskError) as info:
        get_spec("forecast/synthetic-5.625@3")
    err = info.value
    assert err.variable == "forecast/synthetic-5.625"
    assert "version 1 or 2" in str(err) and "version 3" in str(err)
    with pytest.raises(TaskError, match="version 2"):
        get_spec("emulation/synthetic@2")


def test_get_spec_refuses_an_unknown_task_and_lists_the_known_ones() -> None:
    with pytest.raises(TaskError) as info:
        get_spec("forecast/no-such-task")
    text = str(info.value)
    assert "unknown task" in text and "forecast/no-such-task" in text
    assert "forecast/synthetic-5.625" in text and "climbench tasks list" in text
    with pytest.raises(TaskError, match="unknown task"):
        get_task("nope@1")


def _changed_fields(spec: TaskSpec) -> dict[str, TaskSpec]:
    """One variant of ``spec`` per top-level field, each changing only that field."""
    return {
        "name": replace(spec, name="forecast/other"),
        "version": replace(spec, version=spec.version + 1),
        "kind": replace(spec, kind="downscaling"),
        "title": replace(spec, title=spec.title + "!"),
        "description": replace(spec, description=spec.description + " More."),
        "dataset": replace(
            spec, dataset=replace(spec.dataset, params={**spec.dataset.params, "seed": 1})
        ),
        "grid": replace(spec, grid="2.8125"),
        "targets": replace(spec, targets=spec.targets[:-1]),
        "inputs": replace(spec, inputs=spec.inputs[:-1]),
        "constants": replace(spec, constants=()),
        "splits": replace(spec, splits={**spec.splits, "test": Period("2018-01-01", "2018-06-30")}),
        "metrics": replace(spec, metrics=spec.metrics[:-1]),
        "regions": replace(spec, regions=("global",)),
        "headline": replace(spec, headline=replace(spec.headline, lead_hours=24)),
        "baselines": replace(spec, baselines=("persistence",)),
        "forecast": replace(spec, forecast=replace(spec.forecast, init_every_days=1)),
        "downscaling": replace(spec, downscaling=DownscalingProtocol("5.625", "1.40625")),
        "emulation": replace(spec, emulation=EmulationProtocol(("a",), (), ("b",), ("CO2",))),
        "climatology_window_days": replace(spec, climatology_window_days=31),
        "station": replace(spec, station=StationProtocol((1, 2))),
    }


def test_digest_changes_when_any_field_changes() -> None:
    spec = get_spec("forecast/synthetic-5.625")
    variants = _changed_fields(spec)
    # every field of the protocol is covered (a new field must be added above)
    assert set(variants) == {f.name for f in fields(TaskSpec)}
    nested = [
        replace(spec, forecast=replace(spec.forecast, lead_hours=spec.forecast.lead_hours[:-1])),
        replace(spec, dataset=replace(spec.dataset, id="other")),
        replace(spec, headline=replace(spec.headline, metric="acc")),
        replace(spec, splits={**spec.splits, "train": Period("2014-01-02", "2016-12-31")}),
    ]
    digests = [spec.digest()] + [v.digest() for v in (*variants.values(), *nested)]
    assert len(set(digests)) == len(digests)
    # and is stable: an equal spec has the same digest
    assert replace(spec).digest() == spec.digest()
    assert len(spec.digest()) == 16


# ---------------------------------------------------------------------------------------
# spec checks (from YAML-like dicts)
# ---------------------------------------------------------------------------------------


def _spec_dict(name: str) -> dict:
    return yaml.safe_load((SPEC_DIR / f"{name}.yaml").read_text())


def _refused(data: dict) -> TaskError:
    with pytest.raises(TaskError) as info:
        TaskSpec.from_dict(data, source="candidate.yaml")
    assert "candidate.yaml" in str(info.value)
    return info.value


def test_spec_dict_of_a_registered_task_is_accepted() -> None:
    for name in REGISTERED:
        assert TaskSpec.from_dict(_spec_dict(name)).name == name


def test_spec_refuses_overlapping_splits() -> None:
    data = _spec_dict("forecast/synthetic-5.625")
    data["splits"]["validation"] = ["2016-12-31", "2017-12-31"]  # train ends 2016-12-31
    err = _refused(data)
    assert "overlaps" in str(err) and "train" in str(err) and "validation" in str(err)


def test_spec_refuses_a_split_ending_within_the_next_one_by_hours() -> None:
    data = _spec_dict("forecast/era5-uk-t2m")
    data["splits"]["test"] = ["2019-03-24T18:00", "2019-03-30T12:00"]  # validation: whole 24th
    assert "overlaps" in str(_refused(data))


def test_spec_refuses_a_missing_split() -> None:
    data = _spec_dict("forecast/synthetic-5.625")
    del data["splits"]["validation"]
    assert "validation" in str(_refused(data))


def test_spec_refuses_a_test_scenario_also_in_train() -> None:
    data = _spec_dict("emulation/synthetic")
    data["emulation"]["train_scenarios"].append("ssp245")
    err = _refused(data)
    assert "ssp245" in str(err) and "held-out test scenario" in str(err)


def test_spec_refuses_a_test_scenario_also_in_validation() -> None:
    data = _spec_dict("emulation/synthetic")
    data["emulation"]["validation_scenarios"] = ["ssp370", "ssp245"]
    assert "ssp245" in str(_refused(data))


def test_spec_refuses_a_misspelt_metric_and_lists_the_known_ones() -> None:
    data = _spec_dict("forecast/synthetic-5.625")
    data["metrics"] = [*data["metrics"], "rsme"]
    err = _refused(data)
    assert "'rsme'" in str(err) and "'rmse'" in str(err)
    data = _spec_dict("emulation/synthetic")
    data["metrics"] = [*data["metrics"], "quantile_error_99"]  # a downscaling score
    assert "quantile_error_99" in str(_refused(data))


def test_every_metric_of_a_kind_is_reported_by_its_scorer(forecast_task, emulation_task) -> None:
    """The kind's metric list (what a spec may name) and the scorer agree."""
    from climbench.evaluation import evaluate
    from climbench.tasks import Task
    from climbench.tasks.kinds import get_kind
    from climbench.tasks.spec import kind_metrics

    for task in (forecast_task, emulation_task):
        metrics = kind_metrics(get_kind(task.kind))
        every = Task(replace(task.spec, metrics=metrics), task.data_root)
        reported = set(evaluate(None, every, resamples=0).table.metric)
        # spread and spread_skill need an ensemble, which no reference baseline is; the
        # small forecast task has no 10 m wind targets for wind_vector_rmse and no
        # precipitation for seeps (tests/test_extremes_scores.py scores it)
        assert set(metrics) - reported <= {"spread", "spread_skill", "wind_vector_rmse", "seeps"}


def test_a_metric_registered_in_a_users_module_is_scored(forecast_task, tmp_path, monkeypatch):
    """A new metric is one register_score line in any module; a spec may then name it and
    evaluate reports it, with its bootstrap interval, beside the built-in ones."""
    from climbench.evaluation import evaluate
    from climbench.metrics.scores import SCORES
    from climbench.tasks import Task

    (tmp_path / "my_scores.py").write_text(
        "import numpy as np\n"
        "from climbench.metrics.scores import Score, register_score\n"
        "register_score(Score('half_rmse', ('se',), lambda m, _: np.sqrt(m['se']) / 2,\n"
        "                     'half the RMSE (a test metric)'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        __import__("my_scores")
        spec = replace(forecast_task.spec, metrics=(*forecast_task.spec.metrics, "half_rmse"))
        spec.check("a spec naming the new metric")
        table = evaluate(None, Task(spec, forecast_task.data_root), resamples=50).table
        keys = ["model", "variable", "level", "region", "lead_hours"]
        half = table[table.metric == "half_rmse"].set_index(keys)
        rmse = table[table.metric == "rmse"].set_index(keys)
        assert len(half) == len(rmse) > 0
        np.testing.assert_allclose(half["value"], rmse["value"] / 2, rtol=1e-12)
        np.testing.assert_allclose(half["ci_high"], rmse["ci_high"] / 2, rtol=1e-12)
    finally:
        SCORES.pop("half_rmse", None)
        sys.modules.pop("my_scores", None)


def test_spec_refuses_a_headline_field_that_is_not_a_target() -> None:
    data = _spec_dict("forecast/synthetic-5.625")
    data["headline"]["field"] = "mean_sea_level_pressure"  # an input only
    err = _refused(data)
    assert "mean_sea_level_pressure" in str(err) and "target" in str(err)


def test_spec_refuses_a_headline_lead_or_region_that_is_not_scored() -> None:
    data = _spec_dict("forecast/synthetic-5.625")
    data["headline"]["lead_hours"] = 73
    assert "73" in str(_refused(data))
    data = _spec_dict("forecast/synthetic-5.625")
    data["headline"]["region"] = "europe"
    assert "europe" in str(_refused(data))


def test_spec_refuses_the_same_region_for_train_and_test() -> None:
    data = _spec_dict("downscaling/synthetic-x4-out-of-region")
    data["downscaling"]["test_regions"].append(dict(data["downscaling"]["train_regions"][0]))
    err = _refused(data)
    assert "western-hemisphere" in str(err) and "disjoint" in str(err)


def test_spec_refuses_overlapping_train_and_test_boxes_with_other_names() -> None:
    data = _spec_dict("downscaling/synthetic-x4-out-of-region")
    # the east box widened to 270 E overlaps the west box (180.5-359.5 E)
    data["downscaling"]["test_regions"] = [
        {"name": "wide-east", "lat_min": -90, "lat_max": 90, "lon_min": 0.0, "lon_max": 270.0}
    ]
    data["regions"] = ["wide-east"]
    data["headline"]["region"] = "wide-east"
    err = _refused(data)
    assert "overlaps" in str(err) and "wide-east" in str(err)


def test_spec_accepts_disjoint_boxes_that_wrap_around_greenwich() -> None:
    data = _spec_dict("downscaling/synthetic-x4-out-of-region")
    data["downscaling"]["train_regions"] = [
        {"name": "around-0", "lat_min": -90, "lat_max": 90, "lon_min": 300.0, "lon_max": 60.0}
    ]
    data["downscaling"]["test_regions"] = [
        {"name": "east", "lat_min": -90, "lat_max": 90, "lon_min": 90.0, "lon_max": 270.0}
    ]
    data["regions"] = ["east"]
    data["headline"]["region"] = "east"
    assert TaskSpec.from_dict(data).downscaling.test_regions[0].name == "east"
    data["downscaling"]["test_regions"][0]["lon_min"] = 50.0  # now inside 300..60 E
    assert "overlaps" in str(_refused(data))


def test_spec_refuses_a_missing_key_with_a_task_error() -> None:
    data = _spec_dict("forecast/synthetic-5.625")
    del data["metrics"]
    err = _refused(data)
    assert "invalid task specification" in str(err) and "metrics" in str(err)


# ---------------------------------------------------------------------------------------
# forecast protocol: init times, climatology
# ---------------------------------------------------------------------------------------


def test_init_times_every_seventh_day_at_00_and_12_utc_inside_the_split() -> None:
    spec = get_spec("forecast/synthetic-5.625")
    inits = fc_tasks.init_times(spec, "test")
    assert len(inits) == 106  # 53 days x 2, as the spec says
    assert inits[0] == pd.Timestamp("2018-01-01T00:00")
    assert inits[-1] == pd.Timestamp("2018-12-31T12:00")
    assert set(inits.hour) == {0, 12} and set(inits.minute) == {0}
    days = inits.normalize().unique()
    assert set(np.diff(days).astype("timedelta64[D]").astype(int)) == {7}
    assert inits.is_monotonic_increasing and inits.is_unique
    assert (inits >= pd.Timestamp("2018-01-01")).all() and (
        inits < pd.Timestamp("2019-01-01")
    ).all()


def test_init_times_stop_at_a_split_end_given_as_a_time() -> None:
    spec = get_spec("forecast/era5-uk-t2m")
    inits = fc_tasks.init_times(spec, "test")
    assert len(inits) == 12
    assert inits[0] == pd.Timestamp("2019-03-25T00:00")
    assert inits[-1] == pd.Timestamp("2019-03-30T12:00")
    validation = fc_tasks.init_times(spec, "validation")
    assert validation[0] == pd.Timestamp("2019-03-20") and validation[-1] == pd.Timestamp(
        "2019-03-24T12:00"
    )


def _six_hourly(values: np.ndarray, times: pd.DatetimeIndex) -> xr.Dataset:
    return xr.Dataset(
        {"2m_temperature": (("time", "lat", "lon"), values.astype(np.float32), {"units": "K"})},
        coords={"time": times, "lat": [-45.0, 45.0], "lon": [0.0, 120.0, 240.0]},
    )


def test_climatology_is_the_train_mean_and_ignores_test_values() -> None:
    times = pd.date_range("2001-01-01", "2001-12-31T18:00", freq="6h")
    pattern = np.array([[250.0, 260.0, 270.0], [280.0, 290.0, 300.0]])
    cycle = times.hour.to_numpy()[:, None, None] / 6.0  # 0, 1, 2, 3 K by hour of day
    values = pattern[None] + cycle
    train = Period("2001-01-01", "2001-08-31")
    in_test = times >= pd.Timestamp("2001-09-01")
    shifted = values + 1000.0 * in_test[:, None, None]  # test values differ by a constant
    field = [Field("2m_temperature")]
    clim = compute_climatology(_six_hourly(shifted, times), field, train, window_days=61)
    c = clim["2m_temperature"]
    assert c.dims == ("dayofyear", "hour", "lat", "lon")
    assert list(clim["hour"].values) == [0, 6, 12, 18]
    # every day with a training day within 30 days is exactly the training value
    for doy in (1, 100, 243, 260, 366):
        for k, hour in enumerate((0, 6, 12, 18)):
            np.testing.assert_allclose(c.sel(dayofyear=doy).values[k], pattern + hour / 6.0)
    # days whose window holds no training day are NaN (31 Aug is day 243: 274 is too far)
    assert np.isnan(c.sel(dayofyear=300).values).all()
    assert clim.attrs["climatology_period"] == "2001-01-01..2001-08-31"
    # the same data without the test shift give the same climatology
    plain = compute_climatology(_six_hourly(values, times), field, train, window_days=61)
    xr.testing.assert_identical(plain, clim)


def test_climatology_window_is_a_circular_moving_mean_over_days() -> None:
    times = pd.date_range("2001-01-01", "2001-12-31", freq="D")  # 00 UTC, days 1..365
    doy = times.day_of_year.to_numpy().astype(float)
    values = np.broadcast_to(doy[:, None, None], (doy.size, 2, 3))
    year = Period("2001-01-01", "2001-12-31")
    field = [Field("2m_temperature")]
    c3 = compute_climatology(_six_hourly(values, times), field, year, 3)["2m_temperature"]
    got = c3.isel(hour=0, lat=0, lon=0).values
    assert got[0] == pytest.approx((1 + 2) / 2)  # day 366 has no data, day 365 is not near
    np.testing.assert_allclose(got[1:364], doy[1:364])  # (d-1 + d + d+1) / 3 = d
    assert got[364] == pytest.approx((364 + 365) / 2)  # day 365: 364, 365, (366 empty)
    assert got[365] == pytest.approx((365 + 1) / 2)  # day 366: 365, (366), and day 1 wraps
    c1 = compute_climatology(_six_hourly(values, times), field, year, 1)["2m_temperature"]
    np.testing.assert_allclose(c1.isel(hour=0, lat=1, lon=2).values[:365], doy)
    assert np.isnan(c1.isel(hour=0).sel(dayofyear=366).values).all()


# ---------------------------------------------------------------------------------------
# the small forecast task's data
# ---------------------------------------------------------------------------------------


def test_forecast_test_split_holds_only_inputs_at_init_and_history_times(forecast_task) -> None:
    test = forecast_task.load_split("test")
    assert set(test.data_vars) == {
        "geopotential",
        "2m_temperature",
        "land_sea_mask",
        "geopotential_at_surface",
    }
    assert "temperature" not in test  # a target only
    assert list(test["level"].values) == [500.0]  # z850, t850 are not inputs
    inits = fc_tasks.init_times(forecast_task.spec, "test")
    expected = sorted({t + pd.Timedelta(hours=h) for t in inits for h in (-6, 0)})
    assert list(pd.DatetimeIndex(test["time"].values)) == expected
    assert pd.Timestamp(test["time"].values.max()) == inits[-1]  # nothing after the last init
    assert test.attrs["contents"] == "inputs only"


def test_forecast_train_split_has_targets_within_its_period(forecast_task) -> None:
    train = forecast_task.load_split("train")
    assert {"geopotential", "temperature", "2m_temperature"} <= set(train.data_vars)
    times = pd.DatetimeIndex(train["time"].values)
    assert times[0] == pd.Timestamp("2016-02-01") and times[-1] == pd.Timestamp("2016-03-31T18:00")
    with pytest.raises(TaskError, match="unknown split"):
        forecast_task.load_split("testing")


def test_forecast_truth_runs_from_the_first_init_to_the_last_valid_time(forecast_task) -> None:
    truth = forecast_task.truth()
    assert set(truth.data_vars) == {"geopotential_500", "temperature_850", "2m_temperature"}
    times = pd.DatetimeIndex(truth["time"].values)
    assert times[0] == pd.Timestamp("2016-01-02")
    assert times[-1] == pd.Timestamp("2016-01-12T12:00") + pd.Timedelta(hours=240)
    template = forecast_task.template()
    assert template.sizes["init_time"] == 12 and template.sizes["lead_time"] == len(SMALL_LEADS)
    assert template.attrs == forecast_task.attrs()


def test_forecast_statistics_and_climatology_come_from_the_train_split(forecast_task) -> None:
    manifest = read_manifest(forecast_task.data_dir / fc_tasks.PREPARED)
    period = manifest["stats_period"]
    assert pd.Timestamp(period["start"]) == pd.Timestamp("2016-02-01")
    assert pd.Timestamp(period["end"]) == pd.Timestamp("2016-03-31T18:00")
    assert period["steps"] == 60 * 4
    t2m = forecast_task.load_split("train")["2m_temperature"].values.astype(np.float64)
    assert manifest["stats"]["2m_temperature"]["mean"] == pytest.approx(t2m.mean(), rel=1e-6)
    everything = fc_tasks.open_store(forecast_task)["2m_temperature"].values.astype(np.float64)
    assert abs(everything.mean() - t2m.mean()) > 0.01  # January would show (0.2 K)
    clim = fc_tasks.climatology(forecast_task)
    assert clim.attrs["climatology_period"] == "2016-02-01..2016-03-31"
    assert clim.attrs["window_days"] == 91


def test_files_task_without_sources_refuses_to_prepare(tmp_path) -> None:
    task = get_task("forecast/era5-uk-t2m", tmp_path)
    assert not task.is_prepared()
    with pytest.raises(StoreError, match="need source files"):
        task.prepare_data()
    with pytest.raises(StoreError, match="not prepared"):
        task.load_split("train")


# ---------------------------------------------------------------------------------------
# downscaling: crop and region split
# ---------------------------------------------------------------------------------------


def test_downscaling_variants_share_one_data_folder(downscaling_tasks) -> None:
    dirs = {t.data_dir for t in downscaling_tasks.values()}
    assert len(dirs) == 1
    assert all(t.is_prepared() for t in downscaling_tasks.values())


def test_downscaling_splits_pair_coarse_inputs_with_fine_targets(downscaling_tasks) -> None:
    task = downscaling_tasks["downscaling/synthetic-x4"]
    train = task.load_split("train")
    assert train.sizes["coarse_lat"] * 4 == train.sizes["lat"] == 128
    assert {"coarse_2m_temperature", "2m_temperature", "land_sea_mask"} <= set(train.data_vars)
    test = task.load_split("test")
    assert set(test.data_vars) == {"2m_temperature", "total_precipitation_6hr"}
    assert test.sizes["lat"] == 32  # coarse inputs only
    assert pd.Timestamp(test["time"].values[0]) == pd.Timestamp("2017-01-26")


def test_europe_template_is_the_cropped_fine_grid(downscaling_tasks) -> None:
    task = downscaling_tasks["downscaling/synthetic-x4-europe"]
    template = task.template()
    lat, lon = template["lat"].values, template["lon"].values
    box = task.spec.downscaling.crop
    assert box.lat_min <= lat.min() and lat.max() <= box.lat_max
    lon180 = np.where(lon > 180, lon - 360, lon)
    assert box.lon_min <= lon180.min() and lon180.max() <= box.lon_max
    assert 0 < lat.size < 128 and 0 < lon.size < 256
    assert np.allclose(np.diff(lat), 1.40625)
    full = ds_tasks.fine(downscaling_tasks["downscaling/synthetic-x4"])
    inside = box.mask(full["lat"].values, full["lon"].values)
    assert inside.sum() == lat.size * lon.size  # every fine cell centred in the box
    # the box's bounds are coarse cell edges: the fine crop is exactly 4x the coarse crop
    coarse = ds_tasks.coarse(task)
    assert coarse.sizes["lat"] * 4 == lat.size
    assert coarse.sizes["lon"] * 4 == lon.size
    assert box.mask(coarse["lat"].values, coarse["lon"].values).all()
    assert ds_tasks.truth(task)["2m_temperature"].shape[1:] == (lat.size, lon.size)


def test_out_of_region_loss_mask_covers_only_the_west(downscaling_tasks) -> None:
    task = downscaling_tasks["downscaling/synthetic-x4-out-of-region"]
    mask = ds_tasks.loss_mask(task)
    lon = ds_tasks.fine(task)["lon"].values
    assert mask.shape == (128, 256)
    columns = mask.any(axis=0)
    assert (lon[columns] >= 180.5).all() and (lon[~columns] < 180.5).all()
    assert mask[:, columns].all()  # whole columns: every latitude
    assert 0.45 < mask.mean() < 0.55
    in_region = ds_tasks.loss_mask(downscaling_tasks["downscaling/synthetic-x4"])
    assert in_region.all()


# ---------------------------------------------------------------------------------------
# emulation
# ---------------------------------------------------------------------------------------


def test_emulation_test_split_has_forcings_only_and_truth_the_scored_years(emulation_task) -> None:
    test = emulation_task.load_split("test")
    assert set(test.data_vars) == {"CO2", "CH4", "SO2", "BC"}
    assert list(test["scenario"].values) == ["ssp245"]
    truth = emulation_task.truth()
    assert list(truth["year"].values) == list(range(2080, 2101))
    assert truth["2m_temperature"].dims == ("scenario", "year", "lat", "lon")
    train = emulation_task.load_split("train")
    assert "ssp245" not in set(train["scenario"].values)
    assert set(emulation_task.load_split("validation")["scenario"].values) == {"ssp370"}


def test_emulation_statistics_are_over_the_training_scenarios(emulation_task) -> None:
    stats = emu_tasks.statistics(emulation_task)
    train = emulation_task.load_split("train")["2m_temperature"].values
    assert stats["2m_temperature"]["mean"] == pytest.approx(float(np.nanmean(train)), rel=1e-5)
    # the anomaly reference (control) is centred on its training mean
    control = train[list(emulation_task.load_split("train")["scenario"].values).index("control")]
    assert abs(float(np.nanmean(control))) < 1e-3


def test_access_esm1_5_prepares_from_the_cmip6_folder(access_task) -> None:
    truth = access_task.truth()
    assert list(truth["scenario"].values) == ["1pctCO2"]
    assert list(truth["year"].values) == list(range(101, 181))
    assert truth.sizes["lat"] == 19 and truth.sizes["lon"] == 36
    test = access_task.load_split("test")
    assert set(test.data_vars) == {"co2_forcing", "co2_forcing_cumulative"}
    # 1 % per year: F = 5.35 ln(1.01) t, t years since the start (mid-year)
    forcing = test["co2_forcing"].sel(scenario="1pctCO2").values
    assert forcing[0] == pytest.approx(5.35 * np.log(1.01) * 0.5)
    assert forcing[-1] == pytest.approx(5.35 * np.log(1.01) * 79.5)
    validation = access_task.load_split("validation")
    assert list(validation["year"].values) == [121, 122, 123, 124, 125]
    assert 121 not in set(access_task.load_split("train")["year"].values)


def test_access_esm1_5_transient_warming_is_about_two_kelvin(access_task) -> None:
    from climbench.metrics import area_mean

    late = slice(161, 180)  # years 61-80 of 1pctCO2: CO2 near doubling
    pct = area_mean(access_task.truth()["2m_temperature"].sel(scenario="1pctCO2", year=late))
    control = access_task.load_split("train")["2m_temperature"].sel(scenario="piControl")
    pi = area_mean(control.sel(year=late))
    warming = float(pct.mean() - pi.mean())
    assert 1.5 < warming < 2.5
    # targets are anomalies from the piControl training mean: its mean is zero
    assert abs(float(area_mean(control).mean())) < 1e-3


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------

WIDE = {"COLUMNS": "250"}


def test_cli_tasks_list_shows_every_task() -> None:
    result = CliRunner().invoke(cli.app, ["tasks", "list"], env=WIDE)
    assert result.exit_code == 0, result.output
    for name in REGISTERED:
        assert get_spec(name).id in result.output


def test_cli_tasks_show_prints_the_protocol() -> None:
    result = CliRunner().invoke(cli.app, ["tasks", "show", "forecast/synthetic-5.625"], env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "train: 2014-01-01 .. 2016-12-31" in out
    assert "validation: 2017-01-01 .. 2017-12-31" in out
    assert "test: 2018-01-01 .. 2018-12-31" in out
    assert get_spec("forecast/synthetic-5.625").digest() in out
    result = CliRunner().invoke(
        cli.app, ["tasks", "show", "emulation/synthetic", "--json"], env=WIDE
    )
    assert result.exit_code == 0
    assert json.loads(result.output)["emulation"]["test_scenarios"] == ["ssp245"]


def test_cli_tasks_show_unknown_task_exits_2(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["climbench", "tasks", "show", "forecast/nope"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown task" in err and "forecast/nope" in err


def test_missing_protocol_times_are_refused_with_the_first_missing_and_the_span(tmp_path):
    from climbench.tasks.coverage import require_times

    times = pd.date_range("2018-01-01", periods=8, freq="6h")
    ds = xr.Dataset(coords={"time": times.delete(3)})
    require_times(ds, times.delete(3), "the test inputs", tmp_path / "prepared.zarr")
    with pytest.raises(StoreError, match="lack times needed for the test inputs") as err:
        require_times(ds, times, "the test inputs", tmp_path / "prepared.zarr", "6h")
    message = str(err.value)
    assert str(tmp_path / "prepared.zarr") in message and "every 6h" in message
    assert "1 missing, first 2018-01-01 18:00:00" in message
