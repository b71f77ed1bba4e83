"""Scoring time-indexed predictions: downscaling (``time, [member], lat, lon``) and
emulation (``scenario, year, lat, lon``).

Both return the per-sample statistics of :mod:`.statistics` (one sample per time step or
per scenario-year, so RMSE, MAE, bias and CRPS share the forecast scorer's aggregation and
bootstrap) plus the scores that are not means over samples, as extra table rows:

- downscaling: ``quantile_error_99``, the area-weighted mean absolute error of each cell's
  99th percentile over the test period (extremes), and ``spectral_ratio``, the forecast's
  zonal power over the truth's at scales the coarse grid cannot resolve (wavenumbers above
  the coarse grid's Nyquist); 1 is right, below 1 too smooth (the usual failure of
  regression-trained downscaling). It is computed over the first scored region (the test
  region of an out-of-region task).
- emulation: ClimateBench's ``nrmse_spatial``, ``nrmse_global`` and ``nrmse_total`` (and the
  std-normalised ``snrmse_*``) per test scenario over the test years, with bootstrap
  intervals from resampled years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.grids import cell_area_weights, is_periodic
from climbench.errors import DataValueError
from climbench.evaluation import validate
from climbench.evaluation.aggregate import SCORE_COLUMNS, resample_counts
from climbench.evaluation.forecast import SampleStatistics
from climbench.evaluation.regions import task_regions
from climbench.evaluation.statistics import field_statistics, region_weight_matrix, stat_names
from climbench.metrics import area_mean, climatebench_scores, quantile_error
from climbench.metrics.spectral import area_zonal_power_array
from climbench.metrics.weights import area_weights


def _weights(task, lat, lon):
    regions = task_regions(task.spec)
    w = [np.asarray(area_weights(lat, lon, r)) for r in regions]
    return regions, [getattr(r, "name", r) for r in regions], region_weight_matrix(w)


def _prepare(pred: xr.Dataset, task, path: str, sample_dims: tuple[str, ...]):
    notes = validate.check_task_attrs(pred, task, path)
    template = task.template()
    lat, lon = template["lat"].values, template["lon"].values
    pred = validate.check_grid(pred, lat, lon, path)
    for dim in sample_dims:
        pred = validate.check_times(pred, dim, pd.Index(template[dim].values), path)
    return pred, notes, lat, lon


def downscaling_statistics(
    pred: xr.Dataset, task, path: str = "<predictions>", resamples: int = 0
) -> tuple[SampleStatistics, pd.DataFrame]:
    """Per-time-step statistics and the extreme / spectral scores of a downscaling model
    (the latter without intervals, so ``resamples`` is not needed here)."""
    pred, notes, lat, lon = _prepare(pred, task, path, ("time",))
    truth = task.truth()
    regions, names, weights = _weights(task, lat, lon)
    members = int(pred.sizes["member"]) if "member" in pred.dims else 0
    ncell = lat.size * lon.size
    values, stats, extra = {}, {}, []
    cells = _spectral_cells(task, regions[0], lat, lon)
    for f in task.spec.targets:
        da = validate.field_of(pred, f, path)
        validate.check_dims(da, ("time",), path, f.name)
        validate.check_units(da, truth[f.name].attrs.get("units", ""), path, f.name)
        da = da.transpose("time", *(["member"] if members else []), "lat", "lon")
        with validate.reading(path, "the predictions"):
            x = np.asarray(da.values, dtype=np.float32)
        with validate.reading(str(task.data_dir), "the task's truth"):
            y = np.asarray(truth[f.name].values, dtype=np.float32)
        _check_values(x, y, f, path)
        xs = x.reshape(x.shape[0], *x.shape[1:-2], ncell)
        if members == 1:
            xs = xs[:, 0]
        values[f.name] = field_statistics(xs, y.reshape(-1, ncell), weights)[:, None]
        stats[f.name] = stat_names(False, members)
        mean = x.mean(axis=1) if members else x
        fm = xr.DataArray(mean, dims=("time", "lat", "lon"), coords={"lat": lat, "lon": lon})
        tr = truth[f.name].assign_coords(lat=lat, lon=lon)
        qmap = np.abs(_quantile_error_map(fm, tr, y, 0.99))
        for region, name in zip(regions, names, strict=True):
            q = float(area_mean(qmap, region=region))
            extra.append((f.variable, f.level, name, np.nan, "quantile_error_99", q))
        if cells is not None:
            rows, cols = cells
            w = cell_area_weights(lat[rows])
            pf = area_zonal_power_array(mean[:, rows][:, :, cols], w).mean(axis=0)
            pt = area_zonal_power_array(y[:, rows][:, :, cols], w).mean(axis=0)
            k = slice(_coarse_nyquist(task, cols.size) + 1, None)
            extra.append(
                (
                    f.variable,
                    f.level,
                    names[0],
                    np.nan,
                    "spectral_ratio",
                    float(pf[k].sum() / pt[k].sum()),
                )
            )
    stats_obj = SampleStatistics(
        "time",
        pd.Index(truth["time"].values).values,
        None,
        names,
        values,
        stats,
        members,
        {},
        notes,
    )
    rows = pd.DataFrame(
        [(*r, np.nan, np.nan, len(truth["time"])) for r in extra], columns=SCORE_COLUMNS
    )
    return stats_obj, rows


def _quantile_error_map(fm: xr.DataArray, tr: xr.DataArray, y: np.ndarray, q: float):
    """Per-cell ``Q_q(f) - Q_q(t)`` over time, as :func:`climbench.metrics.quantile_error`.

    Finite data (the predictions always are) take numpy's vectorised quantile: xarray's
    NaN-skipping one loops over every cell in Python (a minute for a global 1.4-degree
    grid). A truth with non-finite cells keeps the NaN-skipping metric.
    """
    if not np.isfinite(y).all():
        return quantile_error(fm, tr, q, spatial_mean=False)
    f = np.quantile(np.asarray(fm.values, dtype=np.float64), q, axis=0)
    t = np.quantile(np.asarray(y, dtype=np.float64), q, axis=0)
    return xr.DataArray(f - t, dims=("lat", "lon"), coords={"lat": fm["lat"], "lon": fm["lon"]})


def _spectral_cells(task, region, lat: np.ndarray, lon: np.ndarray):
    """``(rows, cols)`` of the cells the spectral ratio is computed over, or None.

    The cells of the first scored region: the whole grid, or the test region of an
    out-of-region task, which must not see the cells it was trained on. None when the grid
    is neither periodic nor a crop (no spectrum is defined).
    """
    mask = np.asarray(area_weights(lat, lon, region)) > 0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    regional = cols.size < lon.size or task.spec.downscaling.crop is not None
    if not (regional or is_periodic(lon)) or not rows.size or not cols.size:
        return None
    return rows, cols


def _coarse_nyquist(task, nlon: int) -> int:
    """Highest zonal wavenumber the coarse grid resolves, over ``nlon`` fine cells."""
    from climbench.data.grids import get_grid

    proto = task.spec.downscaling
    ratio = get_grid(proto.fine_grid).lon.size / get_grid(proto.coarse_grid).lon.size
    return int(nlon / ratio // 2)


def emulation_statistics(
    pred: xr.Dataset, task, path: str = "<predictions>", resamples: int = 200
) -> tuple[SampleStatistics, pd.DataFrame]:
    """Per-year RMSE statistics and ClimateBench scores (with year-bootstrap intervals)."""
    pred, notes, lat, lon = _prepare(pred, task, path, ("scenario", "year"))
    truth = task.truth()
    regions, names, weights = _weights(task, lat, lon)
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
        with validate.reading(path, "the predictions"):
            x = np.asarray(da.values, dtype=np.float32)
        with validate.reading(str(task.data_dir), "the task's truth"):
            y = np.asarray(
                truth[f.name].transpose("scenario", "year", "lat", "lon").values,
                dtype=np.float32,
            )
        _check_values(x, y, f, path)
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


def _check_values(x: np.ndarray, y: np.ndarray, f, path: str) -> None:
    """Refuse NaN, infinite or implausible predictions ``x`` of field ``f`` (truth ``y``),
    saying how many and where the first is (index along each dim)."""
    bad = ~np.isfinite(x)
    if bad.any():
        raise DataValueError(
            "predictions contain NaN or infinite values",
            path=path,
            variable=f.name,
            expected="finite values everywhere",
            found=f"{int(bad.sum())} such values, the first at index "
            f"{tuple(int(i) for i in np.argwhere(bad)[0])}",
        )
    bounds = validate.plausible_bounds(f.variable, y)
    for k in (int(x.argmin()), int(x.argmax())):
        where = f"at index {tuple(int(i) for i in np.unravel_index(k, x.shape))}"
        validate.check_plausible(f.name, float(x.flat[k]), bounds, path, where)
