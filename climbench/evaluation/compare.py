"""Paired comparison of two scored models from their results folders."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import xarray as xr

from climbench.errors import ConfigError, DataFileError, TaskError
from climbench.evaluation.aggregate import paired_difference
from climbench.evaluation.results import safe_name, statistics_from_dataset


def _load(folder: str | os.PathLike, model: str):
    path = Path(folder) / "samples" / f"{safe_name(model)}.nc"
    if not path.is_file():
        available = sorted(p.stem for p in (Path(folder) / "samples").glob("*.nc"))
        raise DataFileError(
            "no per-sample statistics for this model",
            path=path,
            variable=model,
            expected="a model scored into this folder",
            found="models " + ", ".join(available) if available else "none",
        )
    with xr.open_dataset(path) as ds:
        return statistics_from_dataset(ds.load())


def compare(
    results_a: str | os.PathLike,
    results_b: str | os.PathLike,
    model_a: str,
    model_b: str,
    *,
    field: str,
    metric: str = "rmse",
    resamples: int = 1000,
) -> pd.DataFrame:
    """``metric(A) - metric(B)`` per lead and region with a paired bootstrap 95% interval.

    Both folders must come from the same task and protocol (checked via summary.json).
    """
    import json

    tasks = []
    for folder in (results_a, results_b):
        summary = Path(folder) / "summary.json"
        if not summary.is_file():
            raise DataFileError(
                "not a results folder",
                path=folder,
                expected="summary.json from `climbench evaluate --out`",
                found="no summary.json",
            )
        tasks.append(json.loads(summary.read_text())["task_digest"])
    if tasks[0] != tasks[1]:
        raise TaskError(
            "results come from different task protocols",
            path=f"{results_a}, {results_b}",
            expected="the same task digest",
            found=f"{tasks[0]} and {tasks[1]}",
        )
    a, b = _load(results_a, model_a), _load(results_b, model_b)
    if field not in a.values:
        raise ConfigError(
            "unknown field", variable=field, expected="one of " + ", ".join(a.values), found=field
        )
    return paired_difference(a, b, metric, field, resamples)
