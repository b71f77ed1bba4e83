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

from climbench.data.formats import harmless_warnings_silenced
from climbench.errors import DataFileError
from climbench.evaluation import references
from climbench.evaluation.aggregate import score_table
from climbench.evaluation.results import COLUMNS, Results
from climbench.tasks import Task, get_task


def open_predictions(path: str | os.PathLike) -> xr.Dataset:
    """Open a predictions Zarr store or netCDF file lazily (dask)."""
    p = Path(path)
    if not p.exists():
        raise DataFileError(
            "predictions file not found",
            path=p,
            expected="a Zarr store or netCDF file",
            found="nothing at this path",
        )
    with harmless_warnings_silenced():
        if p.is_dir():
            return xr.open_zarr(p, chunks=None)  # the scorer reads blocks of inits itself
        return xr.open_dataset(p, chunks={})


def _statistics(kind: str):
    if kind == "forecast":
        from climbench.evaluation.forecast import sample_statistics
    elif kind == "downscaling":
        from climbench.evaluation.fields import downscaling_statistics as sample_statistics
    else:
        from climbench.evaluation.fields import emulation_statistics as sample_statistics
    return sample_statistics


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
        runs.append((str(name), pred, path))
    task.require_prepared()
    sample_statistics = _statistics(task.kind)
    wanted = task.spec.baselines if baselines is True else (baselines or [])
    for b in wanted:
        runs.append((b, references.build(task, b), f"<reference baseline {b}>"))
    meta = {f.name: (f.variable, f.level) for f in task.spec.targets}
    meta["10m_wind"] = ("10m_wind", None)
    tables, stats, notes = [], {}, {}
    for name, ds, path in runs:
        result = (
            sample_statistics(ds, task, path, resamples=resamples)
            if task.kind == "emulation"
            else sample_statistics(ds, task, path)
        )
        s, extra = result if isinstance(result, tuple) else (result, None)
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
