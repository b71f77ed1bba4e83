"""Scoring downscaling predictions (``time, [member], lat, lon``) against a task.

Returns the per-sample statistics of :mod:`.statistics` (one sample per time step, so RMSE,
MAE, bias and CRPS share the forecast scorer's aggregation and bootstrap) plus two scores
that are not means over samples, as extra table rows: ``quantile_error_99``, the
area-weighted mean absolute error of each cell's 99th percentile over the test period
(extremes), and ``spectral_ratio``, the forecast's zonal power over the truth's at scales
the coarse grid cannot resolve (wavenumbers above the coarse grid's Nyquist); 1 is right,
below 1 too smooth (the usual failure of regression-trained downscaling). It is computed
over the first scored region (the test region of an out-of-region task).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.formats import reading
from climbench.data.grids import cell_area_weights, is_periodic
from climbench.evaluation import validate
from climbench.evaluation.aggregate import SCORE_COLUMNS
from climbench.evaluation.forecast import SampleStatistics
from climbench.evaluation.sample_checks import check_values, region_weights, validated
from climbench.evaluation.statistics import field_statistics, stat_names
from climbench.metrics import area_mean, quantile_error
from climbench.metrics.spectral import area_zonal_power_array
from climbench.metrics.weights import area_weights


def downscaling_statistics(
    pred: xr.Dataset, task, path: str = "<predictions>", resamples: int = 0
) -> tuple[SampleStatistics, pd.DataFrame]:
    """Per-time-step statistics and the extreme / spectral scores of a downscaling model
    (the latter without intervals, so ``resamples`` is not needed here)."""
    pred, notes, lat, lon = validated(pred, task, path, ("time",))
    truth = task.truth()
    regions, names, weights = region_weights(task, lat, lon)
    members = int(pred.sizes["member"]) if "member" in pred.dims else 0
    ncell = lat.size * lon.size
    values, stats, extra = {}, {}, []
    cells = _spectral_cells(task, regions[0], lat, lon)
    for f in task.spec.targets:
        da = validate.field_of(pred, f, path)
        validate.check_dims(da, ("time",), path, f.name)
        validate.check_units(da, truth[f.name].attrs.get("units", ""), path, f.name)
        da = da.transpose("time", *(["member"] if members else []), "lat", "lon")
        with reading(path, "the predictions"):
            x = np.asarray(da.values, dtype=np.float32)
        with reading(str(task.data_dir), "the task's truth"):
            y = np.asarray(truth[f.name].values, dtype=np.float32)
        check_values(x, y, f, path)
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
