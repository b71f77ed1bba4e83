"""Scoring emulation predictions (``scenario, year, [member], lat, lon``) against a task.

Returns the per-sample statistics of :mod:`.statistics` (one sample per scenario-year, so
RMSE and bias share the forecast scorer's aggregation and bootstrap) plus ClimateBench's
``nrmse_spatial``, ``nrmse_global`` and ``nrmse_total`` (and the std-normalised
``snrmse_*``) per test scenario over the test years, with bootstrap intervals from
resampled years, as extra table rows. An ensemble is scored as its member mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.formats import reading
from climbench.evaluation import validate
from climbench.evaluation.aggregate import SCORE_COLUMNS, resample_counts
from climbench.evaluation.forecast import SampleStatistics
from climbench.evaluation.sample_checks import check_values, region_weights, validated
from climbench.evaluation.statistics import field_statistics, stat_names
from climbench.metrics import climatebench_scores
from climbench.metrics.weights import area_weights


def emulation_statistics(
    pred: xr.Dataset, task, path: str = "<predictions>", resamples: int = 200
) -> tuple[SampleStatistics, pd.DataFrame]:
    """Per-year RMSE statistics and ClimateBench scores (with year-bootstrap intervals)."""
    pred, notes, lat, lon = validated(pred, task, path, ("scenario", "year"))
    truth = task.truth()
    regions, names, weights = region_weights(task, lat, lon)
    ncell = lat.size * lon.size
    values, stats, extra = {}, {}, []
    years = truth["year"].values
    counts = resample_counts(years.size, resamples)
    global_w = np.asarray(area_weights(lat, lon, "global"), dtype=np.float64).ravel()
    global_w /= global_w.sum()
    for f in task.spec.targets:
        da = validate.field_of(pred, f, path)
        validate.check_dims(da, ("scenario", "year"), path, f.name)
        validate.check_units(da, truth[f.name].attrs.get("units", ""), path, f.name)
        if "member" in da.dims:  # ClimateBench scores the ensemble mean of an emulator
            notes.append(f"{f.name}: the mean of {da.sizes['member']} members was scored")
            da = da.mean("member", keep_attrs=True)
        da = da.transpose("scenario", "year", "lat", "lon")
        with reading(path, "the predictions"):
            x = np.asarray(da.values, dtype=np.float32)
        with reading(str(task.data_dir), "the task's truth"):
            y = np.asarray(
                truth[f.name].transpose("scenario", "year", "lat", "lon").values,
                dtype=np.float32,
            )
        check_values(x, y, f, path)
        values[f.name] = field_statistics(x.reshape(-1, ncell), y.reshape(-1, ncell), weights)[
            :, None
        ]
        stats[f.name] = stat_names(False, 0)
        for s, scenario in enumerate(truth["scenario"].values):
            p_da = da.isel(scenario=s).rename(year="time").assign_coords(lat=lat, lon=lon)
            t_da = truth[f.name].isel(scenario=s).rename(year="time")
            point = climatebench_scores(p_da, t_da)
            boot = _climatebench_bootstrap(x[s], y[s], p_da, t_da, global_w, counts)
            for key, metric in (
                ("NRMSE_s", "nrmse_spatial"),
                ("NRMSE_g", "nrmse_global"),
                ("NRMSE_total", "nrmse_total"),
                ("SNRMSE_s", "snrmse_spatial"),
                ("SNRMSE_g", "snrmse_global"),
            ):
                low = high = np.nan
                if len(counts):
                    low, high = np.nanpercentile(boot[key], [2.5, 97.5])
                region = names[0] if len(truth["scenario"]) == 1 else f"{names[0]}:{scenario}"
                extra.append(
                    (
                        f.variable,
                        f.level,
                        region,
                        np.nan,
                        metric,
                        float(point[key]),
                        float(low),
                        float(high),
                        years.size,
                    )
                )
    samples = np.arange(values[task.spec.targets[0].name].shape[0])
    stats_obj = SampleStatistics("sample", samples, None, names, values, stats, 0, {}, notes)
    return stats_obj, pd.DataFrame(extra, columns=SCORE_COLUMNS)


def _indices(counts: np.ndarray) -> np.ndarray:
    """Sample indices of one bootstrap resample given its counts."""
    return np.repeat(np.arange(counts.size), counts.astype(int))


def _climatebench_bootstrap(
    x: np.ndarray,
    y: np.ndarray,
    p_da: xr.DataArray,
    t_da: xr.DataArray,
    w: np.ndarray,
    counts: np.ndarray,
) -> dict[str, np.ndarray]:
    """ClimateBench scores of every bootstrap resample of the years, at once.

    ``x``, ``y``: (year, lat, lon) prediction and truth of one scenario; ``w``: (ncell,)
    global area weights summing to 1; ``counts``: (resamples, year). The formulas of
    :func:`climbench.metrics.climatebench_scores` with the year means weighted by the counts
    (a resample repeats a year ``count`` times). A truth with non-finite cells (masked
    data) takes the per-resample path of the metric itself, which skips them.
    """
    keys = ("NRMSE_s", "NRMSE_g", "NRMSE_total", "SNRMSE_s", "SNRMSE_g")
    if not len(counts):
        return {k: np.empty(0) for k in keys}
    if not np.isfinite(y).all():
        boot = [
            climatebench_scores(p_da.isel(time=_indices(c)), t_da.isel(time=_indices(c)))
            for c in counts
        ]
        return {k: np.array([float(r[k]) for r in boot]) for k in keys}
    x = np.asarray(x, dtype=np.float64).reshape(x.shape[0], -1)
    y = np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1)
    c = counts / counts.sum(axis=1, keepdims=True)
    p_mean, t_mean = c @ x, c @ y
    rmse_s = np.sqrt(((p_mean - t_mean) ** 2) @ w)
    p_global, t_global = x @ w, y @ w
    rmse_g = np.sqrt(c @ (p_global - t_global) ** 2)
    t_area = t_mean @ w
    norm = np.abs(t_area)
    sigma_s = np.sqrt(((t_mean - t_area[:, None]) ** 2) @ w)
    sigma_g = np.sqrt(np.maximum(c @ t_global**2 - (c @ t_global) ** 2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "NRMSE_s": rmse_s / norm,
            "NRMSE_g": rmse_g / norm,
            "NRMSE_total": rmse_s / norm + 5.0 * rmse_g / norm,
            "SNRMSE_s": rmse_s / sigma_s,
            "SNRMSE_g": rmse_g / sigma_g,
        }
