"""``climbench.evaluate``: score a predictions file (or dataset) against a task.

The model and the task's reference baselines go through the same validation and the same
statistics pass, so the results table always has the baselines beside the model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import xarray as xr

from climbench.baselines import reference_predictions
from climbench.data import formats
from climbench.errors import ConfigError, DataFileError, TaskError
from climbench.evaluation import validate
from climbench.evaluation.aggregate import score_table
from climbench.evaluation.results import COLUMNS, Results
from climbench.tasks import Task, get_task
from climbench.tasks.kinds import get_kind


def open_predictions(path: str | os.PathLike) -> xr.Dataset:
    """Open a predictions Zarr store or netCDF file lazily, after the integrity checks of
    ``climbench data info`` (format from the magic bytes, truncation) and, for Zarr, a
    check that no chunk is missing (a lost chunk would read as the fill value)."""
    p = Path(path)
    if not p.exists():
        raise DataFileError(
            "predictions file not found",
            path=p,
            expected="a Zarr store or netCDF file",
            found="nothing at this path",
        )
    fmt = formats.detect_format(p)
    if fmt not in ("zarr", "netcdf4", "netcdf3"):
        raise DataFileError(
            "predictions must be Zarr or netCDF",
            path=p,
            expected="a Zarr store or a netCDF file",
            found=f"a {fmt} file",
        )
    formats.check_integrity(p, fmt)
    if fmt == "zarr":
        formats.refuse_missing_chunks(p, "predictions store")
    # the scorer reads blocks of inits itself: no dask chunks for Zarr
    return formats.open_raw(p, fmt, None if fmt == "zarr" else {})


def _check_task_stores(task: Task) -> None:
    """Every Zarr store of the task's data folder must be complete."""
    for store in sorted(task.data_dir.glob("*.zarr")):
        formats.refuse_missing_chunks(store, f"task data of {task.id}")


def evaluate(
    predictions: xr.Dataset | str | os.PathLike | Mapping | None,
    task: Task | str,
    *,
    model: str | None = None,
    baselines: bool | list[str] = True,
    resamples: int = 1000,
) -> Results:
    """Score ``predictions`` (and the task's reference baselines) on ``task``.

    Args:
        predictions: a predictions dataset or file in the task's layout, a mapping of model
            names to datasets or files (several models in one table), or None to score only
            the baselines.
        task: a :class:`Task` or its name (data under ``$CLIMBENCH_DATA``).
        model: the model's name in the table (default: the file's ``model`` attribute, or
            its file name).
        baselines: score the task's reference baselines too (True), none (False), or a list.
        resamples: bootstrap resamples for the confidence intervals (0: none).
    """
    task = get_task(task) if isinstance(task, str) else task
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 0:
        raise ConfigError(
            "bootstrap resamples must be a count",
            variable="resamples",
            expected="an integer >= 0 (0: no intervals)",
            found=repr(resamples),
        )
    runs: list[tuple[str, xr.Dataset, str]] = []
    items = (
        list(predictions.items())
        if isinstance(predictions, Mapping) and not isinstance(predictions, xr.Dataset)
        else ([] if predictions is None else [(model, predictions)])
    )
    for name, pred in items:  # a missing file is reported before any data are built
        path = "<dataset>"
        if not isinstance(pred, xr.Dataset):
            path = str(pred)
            pred = open_predictions(pred)
        name = (
            name or pred.attrs.get("model") or (Path(path).stem if path != "<dataset>" else "model")
        )
        runs.append((validate.check_model_name(name, path), pred, path))
    task.require_prepared()
    _check_task_stores(task)
    kind = get_kind(task.kind)
    wanted = task.spec.baselines if baselines is True else (baselines or [])
    unknown = [b for b in wanted if b not in task.spec.baselines]
    if unknown:
        raise TaskError(
            "not a reference baseline of this task",
            variable=unknown[0],
            expected="one of " + ", ".join(task.spec.baselines),
            found=unknown[0],
        )
    for name, _, path in runs:
        if name in wanted:
            raise ConfigError(
                "the model has the name of a reference baseline scored beside it",
                path=path,
                variable="model",
                expected="a name other than " + ", ".join(wanted),
                found=name,
                hint="pass --model NAME (model=...), or score without the baselines "
                "(--no-baselines, baselines=False)",
            )
    for b in wanted:
        runs.append((b, open_predictions(reference_predictions(task, b)), f"<reference {b}>"))
    meta = {f.name: (f.variable, f.level) for f in task.spec.targets}
    meta["10m_wind"] = ("10m_wind", None)
    tables, stats, notes = [], {}, {}
    for name, ds, path in runs:
        s, extra = kind.sample_statistics(ds, task, path, resamples)
        table = score_table(s, task.spec.metrics, meta, resamples)
        if extra is not None:
            table = pd.concat(
                [
                    table,
                    extra[
                        extra.metric.isin(task.spec.metrics) | extra.metric.str.startswith("snrmse")
                    ],
                ],
                ignore_index=True,
            )
        table.insert(0, "model", name)
        tables.append(table)
        stats[name] = s
        if s.notes:
            notes[name] = s.notes
    table = pd.concat(tables, ignore_index=True)
    table.insert(0, "version", task.version)
    table.insert(0, "task", task.name)
    return Results(task, table[COLUMNS], stats, notes)
