"""What the downscaling and emulation scorers share: validation of time-indexed
predictions against the task template, region weights, and the value checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.errors import DataValueError
from climbench.evaluation import validate
from climbench.evaluation.regions import task_regions
from climbench.metrics._reduce import region_weight_matrix
from climbench.metrics.weights import area_weights


def region_weights(task, lat, lon):
    """The task's regions, their names, and their (cell, region) weight matrix."""
    regions = task_regions(task.spec)
    w = [np.asarray(area_weights(lat, lon, r)) for r in regions]
    return regions, [getattr(r, "name", r) for r in regions], region_weight_matrix(w)


def validated(pred: xr.Dataset, task, path: str, sample_dims: tuple[str, ...]):
    """``pred`` checked against the task (attributes, grid, sample times): (predictions,
    notes, lat, lon)."""
    notes = validate.check_task_attrs(pred, task, path)
    template = task.template()
    lat, lon = template["lat"].values, template["lon"].values
    pred = validate.check_grid(pred, lat, lon, path)
    for dim in sample_dims:
        pred = validate.check_times(pred, dim, pd.Index(template[dim].values), path)
    return pred, notes, lat, lon


def check_values(x: np.ndarray, y: np.ndarray, f, path: str) -> None:
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
