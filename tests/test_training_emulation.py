"""Emulation under the training layer: forcing windows, CNN-LSTM train -> predict -> score,
on the synthetic task and on the real ACCESS-ESM1-5 files (closed-form ridge too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from climbench.baselines import fit as fit_closed_form
from climbench.evaluation.evaluate import evaluate
from climbench.tasks import Task
from climbench.tasks import emulation as em_task
from climbench.training import load_config, predict, train
from climbench.training.emulation_data import EmulationDataModule


def cnn_lstm_config(task: str, epochs: int = 1, batches: int | None = 4):
    """The baseline CNN-LSTM config, cut to a few batches for a test."""
    data = load_config("emulation-synthetic/cnn_lstm").to_dict()
    if task != data["task"]:  # the config's loss weights name the synthetic task's fields
        data["module"]["variable_weights"] = {}
    data["task"] = task
    data["trainer"] |= {"max_epochs": epochs, "limit_train_batches": batches}
    return load_config(data)


def headline(results, model: str, field: str = "2m_temperature") -> float:
    table = results.table
    row = table[
        (table.model == model) & (table.metric == "nrmse_total") & (table.variable == field)
    ]
    return float(row["value"].iloc[0])


def test_windows_hold_the_past_years_of_one_scenario(emulation_task: Task) -> None:
    datamodule = EmulationDataModule(emulation_task, batch_size=8)
    datamodule.setup(None)
    store = em_task.open_store(emulation_task)
    stats = em_task.statistics(emulation_task)
    history = emulation_task.spec.emulation.history_years
    train = datamodule.train_set
    scenarios = store["scenario"].values
    assert set(scenarios[train.rows[:, 0]]) == {
        "control",
        "ssp126",
        "ssp585",
        "ghg-only",
        "aer-only",
    }
    assert set(scenarios[datamodule.val_set.rows[:, 0]]) == {"ssp370"}

    picks = [int(np.flatnonzero(train.rows[:, 1] == y)[1]) for y in (0, 3, 120)]
    batch = train.get_batch(picks)
    assert batch["x"].shape == (3, history, 4, 32, 64) and batch["y"].shape == (3, 4, 32, 64)
    for k, (s, y) in enumerate(train.rows[picks]):
        so2 = (store["SO2"].values[s] - stats["SO2"]["mean"]) / stats["SO2"]["std"]
        years = np.maximum(np.arange(y - history + 1, y + 1), 0)  # before year 0: year 0
        np.testing.assert_allclose(batch["x"][k, :, 2].numpy(), so2[years], rtol=1e-5, atol=1e-6)
        co2 = (store["CO2"].values[s, y] - stats["CO2"]["mean"]) / stats["CO2"]["std"]
        assert torch.allclose(batch["x"][k, -1, 0], torch.tensor(co2, dtype=torch.float32))
        tas = store["2m_temperature"].values[s, y]
        expected = (tas - stats["2m_temperature"]["mean"]) / stats["2m_temperature"]["std"]
        np.testing.assert_allclose(batch["y"][k, 0].numpy(), expected, rtol=1e-5, atol=1e-5)

    test_rows = datamodule.predict_set
    assert test_rows.targets is None  # predicting never reads a test target
    assert set(scenarios[test_rows.rows[:, 0]]) == {"ssp245"}
    assert len(test_rows) == 21 and "y" not in test_rows.get_batch([0])


def test_cnn_lstm_trains_predicts_and_scores(emulation_task: Task, tmp_path: Path) -> None:
    config = cnn_lstm_config("emulation/synthetic")
    checkpoint = train(config, task=emulation_task, out_dir=tmp_path / "run", progress=False)
    ds = predict(emulation_task, checkpoint, out=tmp_path / "predictions.zarr")
    assert dict(ds["2m_temperature"].sizes) == {"scenario": 1, "year": 21, "lat": 32, "lon": 64}
    assert ds["year"].values.tolist() == list(range(2080, 2101))
    assert ds["precipitation_90th_percentile"].attrs["units"]
    results = evaluate(tmp_path / "predictions.zarr", emulation_task, resamples=0)
    assert np.isfinite(headline(results, "cnn_lstm"))


def test_emulation_datamodule_refuses_other_tasks(forecast_task: Task) -> None:
    with pytest.raises(Exception, match="needs a task of kind emulation"):
        EmulationDataModule(forecast_task)


# -- real files: ACCESS-ESM1-5 (../shared/data) -----------------------------------------


def test_access_rows_skip_missing_years_and_hold_out_validation(access_task: Task) -> None:
    datamodule = EmulationDataModule(access_task)
    datamodule.setup(None)
    store = em_task.open_store(access_task)
    scenario = store["scenario"].values
    year = store["year"].values
    train_rows = datamodule.train_set.rows
    abrupt = train_rows[scenario[train_rows[:, 0]] == "abrupt-4xCO2"]
    # abrupt-4xCO2 runs 101-125 in the files, and 121-125 are validation
    assert year[abrupt[:, 1]].min() == 101 and year[abrupt[:, 1]].max() == 120
    val = datamodule.val_set.rows
    assert sorted(set(year[val[:, 1]])) == [121, 122, 123, 124, 125]
    assert set(scenario[datamodule.predict_set.rows[:, 0]]) == {"1pctCO2"}


def test_access_ridge_beats_pattern_scaling_and_cnn_lstm_runs(
    access_task: Task, tmp_path: Path
) -> None:
    """The commands of the synthetic task on real CMIP6 output: closed-form ridge over
    forcing windows, and the CNN-LSTM under Lightning, scored beside pattern scaling."""
    ridge, _ = fit_closed_form(access_task, "ridge")
    config = cnn_lstm_config("emulation/access-esm1-5", epochs=3, batches=None)
    checkpoint = train(config, task=access_task, out_dir=tmp_path / "run", progress=False)
    cnn = predict(access_task, checkpoint, out=tmp_path / "cnn.zarr")
    assert dict(cnn["2m_temperature"].sizes) == {"scenario": 1, "year": 80, "lat": 19, "lon": 36}
    results = evaluate({"ridge": ridge, "cnn_lstm": cnn}, access_task, resamples=0)
    scores = {m: headline(results, m) for m in ("ridge", "cnn_lstm", "pattern_scaling")}
    assert all(np.isfinite(v) for v in scores.values()), scores
    # measured: ridge 1.26, pattern scaling 3.60 (1pctCO2 is never seen in training)
    assert scores["ridge"] < scores["pattern_scaling"], scores
