"""Interpolation baselines for downscaling: the coarse input on the fine grid.

``bilinear`` and ``conservative`` regridding (:func:`climbench.data.regrid.regrid`) of the
coarse test inputs to the task's fine grid, cropped like the targets: what a downscaling
model must beat (a learned model adds the fine-scale detail interpolation cannot).
"""

from __future__ import annotations

import xarray as xr

from climbench.data.grids import Grid
from climbench.data.prepare import open_prepared
from climbench.data.regrid import regrid
from climbench.tasks import downscaling as ds_task


def _interpolated(task, method: str) -> xr.Dataset:
    period = task.spec.splits["test"].slice()
    if method == "bilinear":
        ds = ds_task.bilinear(task).sel(time=period)
    else:
        coarse = open_prepared(task.data_dir / ds_task.COARSE).sel(time=period)
        target = open_prepared(task.data_dir / ds_task.FINE)
        ds = regrid(coarse, Grid(target["lat"].values, target["lon"].values), method=method)
        ds = ds.isel(ds_task.crop_index(task.spec, ds["lat"].values, ds["lon"].values))
    return xr.Dataset({f.name: ds[f.variable] for f in task.spec.targets}, attrs=task.attrs())


def bilinear(task) -> tuple[xr.Dataset, dict]:
    """The coarse test inputs interpolated bilinearly to the fine grid (lazy)."""
    return _interpolated(task, "bilinear"), {}


def conservative(task) -> tuple[xr.Dataset, dict]:
    """The coarse test inputs regridded conservatively to the fine grid (lazy)."""
    return _interpolated(task, "conservative"), {}
