"""Scoring station-forecast predictions (``init_time, lead_time, station``) against a task.

The truth is each station's observation at the valid time ``init + lead``; where it is
missing the pair is not scored. Per-sample statistics (one sample per test init, as the
forecast scorer): ``se``, ``ae`` and ``e`` per lead, averaged over the stations observed
at that valid time, as the region ``all-stations``; so RMSE, MAE and bias aggregated over
stations share the scorer's aggregation and its bootstrap intervals over init times. An
init with a lead at which no station was observed has no statistic there and is left out
(with a note).

Per-station scores are extra rows with the station id as ``region``: RMSE, MAE and bias
over the inits at which the station was observed, with a percentile bootstrap interval
over inits drawn with the same seeded resamples as the aggregate
(:func:`climbench.evaluation.aggregate.resample_counts`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.formats import reading
from climbench.errors import CoordinateError, SchemaError
from climbench.evaluation import validate
from climbench.evaluation.aggregate import SCORE_COLUMNS, resample_counts
from climbench.evaluation.forecast import SampleStatistics
from climbench.evaluation.sample_checks import check_values
from climbench.tasks import station as st

AGGREGATE = "all-stations"
STATS = ("se", "ae", "e")
DIMS = ("init_time", "lead_time", "station")


def _check_stations(pred: xr.Dataset, ids: np.ndarray, path: str) -> xr.Dataset:
    """Every task station present once; the predictions put in the template's order."""
    if "station" not in pred.dims or "station" not in pred.coords:
        raise SchemaError(
            "station predictions need a `station` dimension with the station ids",
            path=path,
            variable="station",
            expected=f"dims {DIMS}",
            found=f"dims {tuple(map(str, pred.dims))}",
            hint="start from the task's template (task.template())",
        )
    have = pd.Index(np.array(pred["station"].values.tolist(), dtype=str))
    missing = pd.Index(ids).difference(have)
    if have.has_duplicates or len(missing):
        raise CoordinateError(
            "predictions do not have the task's stations",
            path=path,
            variable="station",
            expected=f"{len(ids)} stations, each once",
            found=f"missing {list(missing[:3])}" if len(missing) else "repeated station ids",
        )
    return pred.assign_coords(station=have.values).sel(station=ids)


def station_statistics(
    pred: xr.Dataset, task, path: str = "<predictions>", resamples: int = 0
) -> tuple[SampleStatistics, pd.DataFrame]:
    """Per-init statistics over all stations, and per-station scores as extra rows."""
    notes = validate.check_task_attrs(pred, task, path)
    template = task.template()
    ids = template["station"].values
    pred = _check_stations(pred, ids, path)
    inits = pd.DatetimeIndex(template["init_time"].values)
    leads = pd.TimedeltaIndex(template["lead_time"].values)
    pred = validate.check_times(pred, "init_time", inits, path)
    pred = validate.check_times(pred, "lead_time", leads, path)
    truth = task.truth()
    rows = st.valid_times(task.spec).get_indexer((inits.values[:, None] + leads.values).ravel())
    quantities, keep = {}, np.ones(inits.size, dtype=bool)
    for f in task.spec.targets:
        da = validate.field_of(pred, f, path)
        if set(map(str, da.dims)) != set(DIMS):
            raise SchemaError(
                "station predictions have other dimensions",
                path=path,
                variable=f.name,
                expected=f"dims {DIMS}",
                found=f"dims {tuple(map(str, da.dims))}",
            )
        validate.check_units(da, truth[f.name].attrs.get("units", ""), path, f.name)
        with reading(path, "the predictions"):
            x = np.asarray(da.transpose(*DIMS).values, dtype=np.float64)
        with reading(str(task.data_dir), "the task's truth"):
            y = np.asarray(truth[f.name].values, dtype=np.float64)[rows].reshape(x.shape)
        check_values(x, y, f, path)
        error = x - y
        quantities[f.name] = np.stack([error**2, np.abs(error), error])  # (stat, i, l, s)
        keep &= np.isfinite(y).any(axis=2).all(axis=1)
    if not keep.any():
        raise SchemaError(
            "no test init has an observation at every lead",
            path=str(task.data_dir / st.STORE),
            variable=task.id,
            expected="observed stations at the valid times",
            found=f"{inits.size} inits, none fully verifiable",
        )
    if not keep.all():
        notes.append(
            f"{int((~keep).sum())} of {inits.size} test inits have a lead with no observed "
            "station and are not scored"
        )
    values, stats, extra = {}, {}, []
    for f in task.spec.targets:
        q = quantities[f.name]
        valid = np.isfinite(q[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(valid, q, 0.0).sum(axis=3) / valid.sum(axis=2)  # (stat, i, l)
        values[f.name] = mean.transpose(1, 2, 0)[keep][:, :, None, :]
        stats[f.name] = STATS
        extra += _per_station_rows(q, valid, f, ids, leads, task.spec.metrics, resamples)
    sample_stats = SampleStatistics(
        "init_time", inits.values[keep], leads.values, [AGGREGATE], values, stats, 0, {}, notes
    )
    return sample_stats, pd.DataFrame(extra, columns=SCORE_COLUMNS)


def _per_station_rows(q, valid, f, ids, leads, metrics, resamples: int) -> list[tuple]:
    """RMSE, MAE and bias per station and lead over its observed inits, with intervals."""
    n_init = q.shape[1]
    filled = np.where(valid, q, 0.0).reshape(3, n_init, -1)  # (stat, init, lead * station)
    count = valid.reshape(n_init, -1).astype(np.float64)
    weights = [np.ones((1, n_init))]
    if resamples:
        weights.append(resample_counts(n_init, resamples))
    results = []
    for w in weights:
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.stack([w @ part for part in filled]) / (w @ count)[None]
        results.append({"rmse": np.sqrt(means[0]), "mae": means[1], "bias": means[2]})
    shape = (len(leads), len(ids))
    n = count.sum(axis=0).reshape(shape)
    hours = leads / pd.Timedelta(hours=1)
    rows = []
    for metric in ("rmse", "mae", "bias"):
        if metric not in metrics:
            continue
        value = results[0][metric][0].reshape(shape)
        if resamples:
            with warnings.catch_warnings():  # a station observed at no resampled init: NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                low, high = np.nanpercentile(results[1][metric], [2.5, 97.5], axis=0)
            low, high = low.reshape(shape), high.reshape(shape)
        else:
            low = high = np.full(shape, np.nan)
        for j, lead in enumerate(hours):
            for k, station in enumerate(ids):
                if n[j, k]:
                    rows.append(
                        (
                            f.variable,
                            f.level,
                            str(station),
                            float(lead),
                            metric,
                            float(value[j, k]),
                            float(low[j, k]),
                            float(high[j, k]),
                            int(n[j, k]),
                        )
                    )
    return rows
