"""What the hardened scorer refuses, and the near misses it accepts.

Each test meets a defect as a user would (a file on disk through ``climbench evaluate``, or
a dataset through :func:`climbench.evaluate`) and checks the error class and that the
message names the file or variable and what was found: a model named like a reference
baseline or unusable as a name, finite but absurd values, units, damaged or unreadable
stores and files, a field given twice, time axes that are missing or scalar, bad bootstrap
counts, an unknown ``--metric``, emulation ensembles, strict JSON in ``summary.json``, and
checkpoints that are not Lightning checkpoints (never unpickled).

Runs on the small task variants of ``tests/small_tasks.py`` (session fixtures in conftest).
The CLI's task lookup is pointed at those variants, whose names are the registered ones.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from climbench.baselines import fit
from climbench.errors import (
    ClimbenchError,
    ConfigError,
    DataFileError,
    DataValueError,
    SchemaError,
    StoreError,
    TimeAxisError,
    UnitsError,
)
from climbench.evaluation import evaluate
from climbench.evaluation.validate import same_unit
from climbench.tasks import Task
from climbench.tasks import forecast as fc_tasks
from climbench.training.predict import load_module
from tests.test_evaluate import run_main, score, truth_at_valid_times

DOWNSCALING = "downscaling/synthetic-x4"


# ---------------------------------------------------------------------------------------
# predictions and helpers
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def perfect(forecast_task) -> dict[str, np.ndarray]:
    return truth_at_valid_times(forecast_task)


@pytest.fixture
def pred(forecast_task, perfect) -> xr.Dataset:
    """Valid forecast predictions (the truth), one variable per target field; a copy."""
    arrays = {name: a.copy() for name, a in perfect.items()}
    inits = forecast_task.template()["init_time"].values
    return fc_tasks.prediction_dataset(forecast_task, arrays, inits)


@pytest.fixture(scope="module")
def bilinear(downscaling_tasks) -> xr.Dataset:
    return fit(downscaling_tasks[DOWNSCALING], "bilinear")[0].load()


@pytest.fixture(scope="module")
def pattern_scaling(emulation_task) -> xr.Dataset:
    return fit(emulation_task, "pattern_scaling")[0].load()


@pytest.fixture
def evaluate_cli(monkeypatch, capsys):
    """``evaluate_cli(task, *args)``: ``climbench evaluate --task NAME *args`` on ``task``
    (a small variant, found under its registered name): (exit status, output)."""

    def run(task: Task, *args: str) -> tuple[int, str]:
        monkeypatch.setattr("climbench.tasks.get_task", lambda name, data_root=None: task)
        return run_main(monkeypatch, capsys, "evaluate", "--task", task.name, *args)

    return run


def refused_by_cli(code: int, out: str, *texts: str) -> None:
    """The CLI refused with one line (exit 2, no traceback) holding every one of ``texts``."""
    assert code == 2, out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1, out
    for text in texts:
        assert text in out, f"{text!r} not in {out!r}"


def write_zarr(ds: xr.Dataset, path: Path, **encoding) -> Path:
    """``ds`` as a Zarr store with one chunk per init time (``encoding`` for every
    variable: e.g. ``fill_value``)."""
    chunks = {v: {"chunks": (1, *ds[v].shape[1:]), **encoding} for v in ds.data_vars}
    ds.to_zarr(path, encoding=chunks)
    return path


def chunk_file(store: Path, variable: str, init: int) -> Path:
    """The file of the chunk of init ``init`` of ``variable`` in a :func:`write_zarr` store."""
    (path,) = [p for p in (store / variable / "c" / str(init)).rglob("*") if p.is_file()]
    return path


def bad_cell(ds: xr.Dataset, name: str, index: tuple[int, ...], value: float) -> xr.Dataset:
    """A deep copy of ``ds`` with ``ds[name]`` set to ``value`` at ``index``."""
    out = ds.copy(deep=True)
    out[name].values[index] = value
    return out


# ---------------------------------------------------------------------------------------
# model names
# ---------------------------------------------------------------------------------------


def test_model_named_like_a_reference_baseline_is_refused(forecast_task, pred) -> None:
    with pytest.raises(ConfigError) as info:
        evaluate(pred, forecast_task, model="persistence", resamples=0)
    assert info.value.variable == "model" and info.value.found == "persistence"
    assert "reference baseline" in str(info.value)


def test_file_whose_model_attribute_is_a_baseline_name_is_refused_by_the_cli(
    forecast_task, pred, tmp_path, evaluate_cli
) -> None:
    path = tmp_path / "mine.nc"
    pred.assign_attrs(model="persistence").to_netcdf(path)
    code, out = evaluate_cli(forecast_task, str(path), "--resamples", "0")
    refused_by_cli(code, out, str(path), "reference baseline", "persistence", "--no-baselines")


def test_baseline_name_is_accepted_without_the_baselines(forecast_task, pred) -> None:
    results = evaluate(pred, forecast_task, model="persistence", baselines=False, resamples=0)
    assert set(results.table.model) == {"persistence"}


@pytest.mark.parametrize("name", ["x" * 300, "my\nmodel"], ids=["300-characters", "newline"])
def test_unusable_model_name_is_refused(forecast_task, pred, name) -> None:
    with pytest.raises(ConfigError) as info:
        score(pred, forecast_task, model=name)
    assert info.value.variable == "model"
    assert "unusable model name" in str(info.value)


# ---------------------------------------------------------------------------------------
# implausible values
# ---------------------------------------------------------------------------------------


def test_forecast_with_a_huge_value_is_refused_naming_the_field_and_init(
    forecast_task, pred
) -> None:
    spoilt = bad_cell(pred, "2m_temperature", (5, 2, 3, 4), 1e30).chunk(init_time=1)
    with pytest.raises(DataValueError) as info:
        score(spoilt, forecast_task)
    err = info.value
    assert err.variable == "2m_temperature" and "implausible value" in str(err)
    assert "1e+30" in err.found
    assert str(pd.Timestamp(pred["init_time"].values[5])) in err.found


def test_downscaling_with_a_huge_value_is_refused(downscaling_tasks, bilinear) -> None:
    spoilt = bad_cell(bilinear, "2m_temperature", (2, 5, 7), 1e30)
    with pytest.raises(DataValueError) as info:
        score(spoilt, downscaling_tasks[DOWNSCALING])
    err = info.value
    assert err.variable == "2m_temperature" and "implausible value" in str(err)
    assert "1e+30" in err.found and "(2, 5, 7)" in err.found


def test_emulation_with_a_huge_value_is_refused(emulation_task, pattern_scaling) -> None:
    spoilt = bad_cell(pattern_scaling, "2m_temperature", (0, 3, 5, 7), 1e30)
    with pytest.raises(DataValueError) as info:
        score(spoilt, emulation_task)
    err = info.value
    assert err.variable == "2m_temperature" and "implausible value" in str(err)
    assert "1e+30" in err.found and "(0, 3, 5, 7)" in err.found


def test_precipitation_in_mm_labelled_m_is_refused(downscaling_tasks, bilinear) -> None:
    task = downscaling_tasks[DOWNSCALING]
    name = "total_precipitation_6hr"
    assert name in [f.name for f in task.spec.targets]
    assert task.truth()[name].attrs["units"] == "m"
    spoilt = bilinear.copy(deep=True)
    spoilt[name] = (spoilt[name] * 1000).assign_attrs(units="m")
    with pytest.raises(DataValueError) as info:
        score(spoilt, task)
    assert info.value.variable == name and "implausible value" in str(info.value)


# ---------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------


def test_summary_json_is_standard_json_without_intervals(forecast_task, tmp_path) -> None:
    results = evaluate(None, forecast_task, resamples=0)
    assert results.table["ci_low"].isna().all()
    out = results.write(tmp_path / "results")
    text = (out / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in summary.json"))
    scores = summary["headline"]["scores"]
    assert set(scores) == {"persistence", "climatology"}
    for s in scores.values():
        assert s["ci_low"] is None and s["ci_high"] is None
        assert np.isfinite(s["value"])


def test_unknown_metric_exits_2_after_writing_the_results(
    forecast_task, tmp_path, evaluate_cli
) -> None:
    out = tmp_path / "results"
    code, text = evaluate_cli(
        forecast_task, "--resamples", "0", "--metric", "nosuch", "--out", str(out)
    )
    refused_by_cli(code, text, "no such metric", "nosuch")
    assert (out / "summary.json").is_file() and (out / "results.parquet").is_file()


# ---------------------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------------------


def test_field_without_units_is_refused(forecast_task, pred) -> None:
    del pred["2m_temperature"].attrs["units"]
    with pytest.raises(UnitsError) as info:
        score(pred, forecast_task)
    assert info.value.variable == "2m_temperature"
    assert "do not declare their units" in str(info.value) and "'K'" in str(info.value)


@pytest.mark.parametrize(
    ("a", "b", "variable", "same"),
    [
        ("m/s", "m s-1", "10m_u_component_of_wind", True),
        ("m**2 s**-2", "m2 s-2", "geopotential", True),
        ("mm", "m", "total_precipitation_6hr", False),
        ("degC", "K", "2m_temperature", False),
    ],
)
def test_same_unit_takes_equivalent_spellings_only(a, b, variable, same) -> None:
    assert same_unit(a, b, variable) is same


def test_equivalent_unit_spelling_is_accepted(forecast_task, pred) -> None:
    expected = score(pred, forecast_task).table
    pred["geopotential_500"].attrs["units"] = "m**2 s**-2"
    pd.testing.assert_frame_equal(score(pred, forecast_task).table, expected)


# ---------------------------------------------------------------------------------------
# damaged and unreadable files
# ---------------------------------------------------------------------------------------


def test_predictions_store_missing_a_chunk_exits_2(
    forecast_task, pred, tmp_path, evaluate_cli
) -> None:
    store = write_zarr(pred, tmp_path / "p.zarr", fill_value=0)
    chunk_file(store, "2m_temperature", 3).unlink()
    code, out = evaluate_cli(forecast_task, str(store), "--resamples", "0")
    refused_by_cli(code, out, str(store), "2m_temperature", "lacks chunks", "1 missing")


def test_task_store_missing_a_shard_is_blamed_not_the_predictions(
    forecast_task, pred, tmp_path
) -> None:
    root = tmp_path / "root"  # a copy: the session's task data stay whole
    shutil.copytree(
        forecast_task.data_dir, root / forecast_task.data_dir.relative_to(forecast_task.data_root)
    )
    task = Task(forecast_task.spec, root)
    assert task.is_prepared()
    store = task.data_dir / fc_tasks.PREPARED
    shards = [p for p in (store / "2m_temperature" / "c").rglob("*") if p.is_file()]
    shards[0].unlink()
    predictions = write_zarr(pred, tmp_path / "p.zarr")
    with pytest.raises((DataFileError, StoreError)) as info:
        score(str(predictions), task)
    err = info.value
    assert err.path.startswith(str(store)) and err.variable == "2m_temperature"
    assert str(predictions) not in str(err)


def test_corrupt_chunk_is_reported_as_a_damaged_predictions_file(
    forecast_task, pred, tmp_path
) -> None:
    store = write_zarr(pred, tmp_path / "p.zarr")
    assert "zstd" in (store / "2m_temperature" / "zarr.json").read_text()
    chunk = chunk_file(store, "2m_temperature", 3)
    chunk.write_bytes(np.random.default_rng(0).bytes(chunk.stat().st_size))
    with pytest.raises(DataFileError) as info:
        score(str(store), forecast_task)
    assert info.value.path == str(store)
    assert "reading the predictions failed" in str(info.value)


def _empty_file(folder: Path, pred: xr.Dataset) -> Path:
    path = folder / "p.nc"
    path.touch()
    return path


def _random_bytes(folder: Path, pred: xr.Dataset) -> Path:
    path = folder / "p.nc"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return path


def _truncated_netcdf(folder: Path, pred: xr.Dataset) -> Path:
    path = folder / "p.nc"
    pred.to_netcdf(path, engine="netcdf4")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _empty_folder(folder: Path, pred: xr.Dataset) -> Path:
    path = folder / "p.zarr"
    path.mkdir()
    return path


def _array_folder(folder: Path, pred: xr.Dataset) -> Path:
    return write_zarr(pred, folder / "store.zarr") / "geopotential_500"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_empty_file, "file is empty"),
        (_random_bytes, "unknown or corrupt file format"),
        (_truncated_netcdf, "truncated"),
        (_empty_folder, "not a Zarr store"),
        (_array_folder, "one Zarr array"),
    ],
    ids=["empty-file", "random-bytes", "truncated-netcdf", "empty-folder", "array-folder"],
)
def test_unreadable_predictions_exit_2_naming_the_path(
    forecast_task, pred, tmp_path, evaluate_cli, make, message
) -> None:
    path = make(tmp_path, pred)
    code, out = evaluate_cli(forecast_task, str(path), "--resamples", "0")
    refused_by_cli(code, out, str(path), message)


# ---------------------------------------------------------------------------------------
# layout
# ---------------------------------------------------------------------------------------


def test_field_given_twice_is_refused(forecast_task, pred) -> None:
    stacked = pred["geopotential_500"].expand_dims(level=[500.0, 850.0], axis=2)
    with pytest.raises(SchemaError) as info:
        score(pred.assign(geopotential=stacked), forecast_task)
    assert info.value.variable == "geopotential_500"
    assert "given twice" in str(info.value)


def test_emulation_members_are_scored_as_their_mean(emulation_task, pattern_scaling) -> None:
    with xr.set_options(keep_attrs=True):
        members = [pattern_scaling * k for k in (0.9, 1.0, 1.1)]
    ensemble = xr.concat(members, dim="member").assign_attrs(pattern_scaling.attrs)
    results = score(ensemble, emulation_task)
    assert any("mean of 3 members" in n for n in results.notes["model"])
    pd.testing.assert_frame_equal(
        results.table, score(pattern_scaling, emulation_task).table, rtol=1e-4
    )


@pytest.mark.parametrize("how", ["missing", "scalar"])
@pytest.mark.parametrize(
    ("kind", "dim"), [("emulation", "scenario"), ("emulation", "year"), ("downscaling", "time")]
)
def test_missing_or_scalar_sample_coordinate_is_refused(
    emulation_task, downscaling_tasks, pattern_scaling, bilinear, kind, dim, how
) -> None:
    task, ds = (
        (emulation_task, pattern_scaling)
        if kind == "emulation"
        else (downscaling_tasks[DOWNSCALING], bilinear)
    )
    broken = ds.drop_vars(dim) if how == "missing" else ds.isel({dim: 0})
    with pytest.raises(TimeAxisError) as info:
        score(broken, task)
    assert info.value.variable == dim and f"`{dim}`" in str(info.value)


# ---------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------


def test_negative_resamples_are_refused(forecast_task) -> None:
    with pytest.raises(ConfigError) as info:
        evaluate(None, forecast_task, resamples=-5)
    assert info.value.variable == "resamples" and "-5" in str(info.value)


def test_negative_resamples_exit_2_on_the_cli(forecast_task, evaluate_cli) -> None:
    code, out = evaluate_cli(forecast_task, "--resamples", "-5")
    refused_by_cli(code, out, "resamples", "-5")


# ---------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------


class _Payload:
    """Unpickling this runs ``command`` in a shell: what a malicious checkpoint does."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _write_random_bytes(path: Path, payload: _Payload) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(4096))


def _write_nothing(path: Path, payload: _Payload) -> None:
    path.touch()


def _write_plain_dict(path: Path, payload: _Payload) -> None:
    torch.save({"a": 1}, path)


def _write_pickle(path: Path, payload: _Payload) -> None:
    with open(path, "wb") as f:
        pickle.dump(payload, f)


def _write_torch_pickle(path: Path, payload: _Payload) -> None:
    torch.save(payload, path)


@pytest.mark.parametrize(
    "write",
    [_write_random_bytes, _write_nothing, _write_plain_dict, _write_pickle, _write_torch_pickle],
    ids=["random-bytes", "empty", "plain-dict", "pickle-payload", "torch-saved-payload"],
)
def test_non_checkpoints_are_refused_without_unpickling(tmp_path, write) -> None:
    pwned = tmp_path / "pwned"
    path = tmp_path / "model.ckpt"
    write(path, _Payload(f"echo pwned > {pwned}"))
    with pytest.raises(ClimbenchError) as info:
        load_module(path)
    assert not pwned.exists()
    assert info.value.path == str(path)
    assert "weights_only" not in str(info.value)
