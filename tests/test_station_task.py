"""The station-forecasting task kind: synthetic stations, the station/synthetic task end to
end (prepare, splits, baselines, scores checked against an independent computation), the
scorer's refusals, the spec checks, and the real KNMI data path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

from climbench import cli
from climbench.baselines import fit, reference_predictions
from climbench.baselines.station_reference import climatology
from climbench.data.synthetic import weather
from climbench.data.synthetic.stations import station_weather
from climbench.errors import (
    ConfigError,
    CoordinateError,
    DataFileError,
    DataValueError,
    SchemaError,
    TaskError,
    UnitsError,
)
from climbench.evaluation import evaluate
from climbench.evaluation.station_scorer import station_statistics
from climbench.evaluation.stations import interpolate_to_stations
from climbench.tasks import TaskSpec, get_spec, get_task
from climbench.tasks import station as st
from climbench.tasks.kinds import get_kind
from climbench.tasks.registry import SPEC_DIR

KNMI = Path(__file__).resolve().parents[1] / (
    "../shared/data/tintin10q+KNMI.nl-Dataloader/data_engineering_project/data_engineering_project"
)
KNMI_FILES = sorted(KNMI.glob("KMDS__OPER_P___10M_OBS_L2_20240516*.nc"))


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    t = get_task("station/synthetic", tmp_path_factory.mktemp("station-data"))
    t.prepare_data()
    return t


@pytest.fixture(scope="module")
def results(task):
    return evaluate(None, task, resamples=50)


def _rmse(results, model: str, variable: str, lead: float, region: str = "all-stations"):
    t = results.table
    row = t[
        (t.model == model)
        & (t.variable == variable)
        & (t.lead_hours == lead)
        & (t.metric == "rmse")
        & (t.region == region)
    ]
    assert len(row) == 1
    return float(row.value.iloc[0])


# ---------------------------------------------------------------------------------------
# synthetic stations
# ---------------------------------------------------------------------------------------


def test_synthetic_stations_are_hourly_physical_noisy_and_gappy() -> None:
    ds = station_weather((2016, 2016), seed=3, n_stations=8)
    assert ds.sizes["station"] == 8 and set(ds.dims) == {"time", "station"}
    assert (np.diff(ds["time"].values) == np.timedelta64(1, "h")).all()
    t = ds["2m_temperature"]
    assert float(t.min()) > 220 and float(t.max()) < 320  # K
    # at the weather model's own 6-hourly steps the stations observe its fields, bilinear
    # at the station (an independent interpolation), plus the observation noise
    fields = weather("5.625", (2016, 2016), 3, ["2m_temperature", "mean_sea_level_pressure"])
    model = interpolate_to_stations(fields.isel(time=slice(0, 120)), ds).compute()
    obs = ds.sel(time=model["time"])
    dt = (obs["2m_temperature"] - model["2m_temperature"]).values
    assert abs(np.nanmean(dt)) < 0.03 and 0.25 < np.nanstd(dt) < 0.35  # noise 0.3 K
    z = ds["elevation"]
    mean_t = model["2m_temperature"] + 0.0065 * z / 2
    reduced = model["mean_sea_level_pressure"] * np.exp(-9.80665 * z / (287.0 * mean_t))
    dp = (obs["surface_pressure"] - reduced).values
    assert abs(np.nanmean(dp)) < 3 and 25 < np.nanstd(dp) < 35  # noise 30 Pa
    assert float(z.max()) > 100  # some stations are high enough for the reduction to matter
    assert float(ds["10m_wind_speed"].min()) >= 0
    missing = float(t.isnull().mean())
    assert 0.02 <= missing < 0.15  # random losses (2 %) plus outages
    # a diurnal cycle at every hour, not only at the weather model's 6-hourly steps
    hourly = t.groupby("time.hour").mean().mean("station")
    assert float(hourly.max() - hourly.min()) > 0.5
    assert float(abs(hourly.sel(hour=3) - hourly.sel(hour=[0, 6]).mean())) > 0.02
    # seeded: the same arguments give the same values, another seed others
    again = station_weather((2016, 2016), seed=3, n_stations=8)
    xr.testing.assert_identical(ds, again)


# ---------------------------------------------------------------------------------------
# the task
# ---------------------------------------------------------------------------------------


def test_station_field_leaves_every_other_digest_unchanged() -> None:
    spec = get_spec("forecast/synthetic-5.625")
    assert spec.station is None and "station" not in spec.to_dict()
    station = get_spec("station/synthetic")
    assert station.to_dict()["station"]["lead_steps"][-1] == 24
    data = yaml.safe_load((SPEC_DIR / "station/synthetic.yaml").read_text())
    assert TaskSpec.from_dict(data).digest() == station.digest()


def test_spec_checks_of_the_station_protocol() -> None:
    data = yaml.safe_load((SPEC_DIR / "station/synthetic.yaml").read_text())
    for section, value, match in [
        ("headline", {**data["headline"], "lead_hours": 25}, "headline lead"),
        ("station", {**data["station"], "history_steps": [0, 1]}, "history steps"),
        ("station", {**data["station"], "lead_steps": [0, 1]}, "positive lead"),
    ]:
        with pytest.raises(TaskError, match=match):
            TaskSpec.from_dict({**data, section: value}, source="candidate.yaml")
    with pytest.raises(TaskError, match="station"):
        TaskSpec.from_dict({k: v for k, v in data.items() if k != "station"})


def test_splits_template_and_truth(task) -> None:
    spec = task.spec
    template = task.template()
    assert dict(template.sizes) == {"init_time": 1456, "lead_time": 24, "station": 30}
    assert template.attrs["task_digest"] == spec.digest()
    inits = pd.DatetimeIndex(template["init_time"].values)
    assert (inits.hour % 6 == 0).all() and inits[0] == pd.Timestamp("2018-01-01")
    test = task.load_split("test")
    assert test.attrs["contents"] == "inputs only"
    assert pd.Timestamp(test["time"].values.max()) == inits[-1]  # nothing after the last init
    train = task.load_split("train")
    assert pd.Timestamp(train["time"].values.max()) < pd.Timestamp(spec.splits["validation"].start)
    truth = task.truth()
    assert pd.Timestamp(truth["time"].values[-1]) == inits[-1] + pd.Timedelta(hours=24)


def test_baselines_rank_as_expected(results) -> None:
    """Persistence is best at 1 h and loses to climatology by far less than at no lead;
    the ridge on the station history beats persistence at 6 h and 24 h."""
    for variable in ("2m_temperature", "10m_wind_speed"):
        assert _rmse(results, "persistence", variable, 1) < _rmse(
            results, "climatology", variable, 1
        )
        for lead in (6, 24):
            assert _rmse(results, "ridge", variable, lead) < _rmse(
                results, "persistence", variable, lead
            )
    # errors grow with lead
    assert _rmse(results, "ridge", "2m_temperature", 1) < _rmse(
        results, "ridge", "2m_temperature", 24
    )
    t = results.table
    assert set(t.region) == {"all-stations", *(f"S{k:03d}" for k in range(1, 31))}
    headline = t[(t.model == "ridge") & (t.region == "all-stations") & (t.lead_hours == 24)]
    row = headline[(headline.variable == "2m_temperature") & (headline.metric == "rmse")]
    assert row.ci_low.iloc[0] < row.value.iloc[0] < row.ci_high.iloc[0]


def test_scores_match_an_independent_computation(task, results) -> None:
    """RMSE over all stations: per init the mean squared error over the observed stations,
    then the mean over inits; per station: over the inits it was observed at."""
    pred = xr.open_zarr(reference_predictions(task, "persistence"))
    truth = task.truth()
    lead = pd.Timedelta(hours=6)
    one = pred["surface_pressure"].sel(lead_time=lead)
    valid = one["init_time"].values + lead
    obs = truth["surface_pressure"].sel(time=valid).values
    se = (one.values - obs) ** 2
    per_init = np.nanmean(se, axis=1)
    expected = np.sqrt(np.mean(per_init[np.isfinite(per_init)]))
    assert _rmse(results, "persistence", "surface_pressure", 6) == pytest.approx(expected, 1e-9)
    station = list(pred["station"].values).index("S007")
    expected = np.sqrt(np.nanmean(se[:, station]))
    got = _rmse(results, "persistence", "surface_pressure", 6, region="S007")
    assert got == pytest.approx(expected, 1e-9)


def test_the_scorer_refuses_bad_predictions(task) -> None:
    good, _ = fit(task, "persistence")
    good = good.load()
    bad = {
        CoordinateError: good.isel(station=slice(1, None)),
        DataValueError: good.assign(
            surface_pressure=good["surface_pressure"].where(
                good["lead_time"] != good["lead_time"][3]
            )
        ),
        UnitsError: good.assign(
            surface_pressure=good["surface_pressure"].assign_attrs(units="hPa") / 100
        ),
        SchemaError: good.assign_attrs(task_digest="0" * 16),
    }
    for error, pred in bad.items():
        with pytest.raises(error) as info:
            station_statistics(pred, task, "bad.zarr")
        assert "bad.zarr" in str(info.value)


def test_networks_are_refused_with_what_to_use_instead(task) -> None:
    with pytest.raises(ConfigError, match="--model ridge"):
        get_kind("station").datamodule_class()(task)


def test_cli_lists_shows_and_trains_the_ridge(task, tmp_path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["tasks", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "station/synthetic" in listed.output
    shown = runner.invoke(cli.app, ["tasks", "show", "station/knmi"])
    assert shown.exit_code == 0 and "station" in shown.output
    out = tmp_path / "ridge.zarr"
    args = ["train", "--task", "station/synthetic", "--model", "ridge"]
    args += ["--data-root", str(task.data_root), "--predictions", str(out)]
    trained = runner.invoke(cli.app, args)
    assert trained.exit_code == 0, trained.output
    scored = evaluate(out, task, model="mine", baselines=False, resamples=0)
    assert set(scored.table.model) == {"mine"}


# ---------------------------------------------------------------------------------------
# the real KNMI data path
# ---------------------------------------------------------------------------------------

needs_knmi = pytest.mark.skipif(len(KNMI_FILES) != 2, reason="shared KNMI files not present")


@needs_knmi
def test_knmi_task_prepares_the_real_files_and_scores_persistence(tmp_path) -> None:
    knmi = get_task("station/knmi", tmp_path)
    knmi.prepare_data(KNMI_FILES)
    truth = knmi.truth()
    t = truth["2m_temperature"] - 273.15
    assert t.sizes["station"] == 69
    europe = t.where(t["lat"] > 50)  # the Netherlands and the North Sea in mid May
    assert float(europe.min()) > 0 and float(europe.max()) < 30  # degC
    caribbean = t.where(t["lat"] < 20)
    assert float(caribbean.min()) > 20 and float(caribbean.max()) < 35
    assert float(truth["mean_sea_level_pressure"].min()) > 95_000  # Pa, not hPa
    scores = evaluate(None, knmi, resamples=0).table
    row = scores[
        (scores.region == "all-stations")
        & (scores.variable == "2m_temperature")
        & (scores.metric == "rmse")
    ]
    assert row.n_samples.iloc[0] == 1 and 0 < row.value.iloc[0] < 1.0  # K over 10 minutes
    assert (scores.region != "all-stations").any()  # per-station rows
    with pytest.raises(DataValueError, match="no observations"):
        climatology(knmi)


@needs_knmi
def test_knmi_task_refuses_other_or_missing_files(tmp_path) -> None:
    knmi = get_task("station/knmi", tmp_path)
    with pytest.raises(DataFileError, match="not among the sources"):
        knmi.prepare_data(KNMI_FILES[:1])
    other = tmp_path / KNMI_FILES[1].name
    other.write_bytes(KNMI_FILES[0].read_bytes())
    with pytest.raises(DataFileError, match="sha256"):
        knmi.prepare_data([KNMI_FILES[0], other])
    assert not st.is_prepared(knmi)
