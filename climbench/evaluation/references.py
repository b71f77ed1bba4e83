"""Reference baselines, built from the task alone and scored by the same code path.

- ``persistence`` (forecasting): the state at the init time, for every lead.
- ``climatology`` (forecasting): the training-split climatology at the valid time.
- ``bilinear`` / ``conservative`` (downscaling): the coarse input interpolated to the fine
  grid (:func:`climbench.data.regrid.regrid`).
- ``pattern_scaling`` (emulation): :class:`climbench.models.PatternScaling` fitted in
  closed form on the training scenarios, predicting from the test forcings only.

Each returns a lazy predictions dataset in the task's predictions layout.
"""

from __future__ import annotations

import xarray as xr

from climbench.tasks import forecast as fc
from climbench.tasks.kinds import get_kind


def persistence(task) -> xr.Dataset:
    """Truth at each test init, repeated over the leads (lazy)."""
    template = task.template()
    store = fc.open_store(task)
    inits = template["init_time"].values
    out = {}
    for f in task.spec.targets:
        at_init = fc.field_array(store, f).sel(time=inits).rename(time="init_time")
        out[f.name] = at_init.expand_dims(lead_time=template["lead_time"].values, axis=1)
    return xr.Dataset(out, attrs=task.attrs())


def climatology(task) -> xr.Dataset:
    """The training-split climatology at each (init, lead) valid time (lazy)."""
    template = task.template()
    clim = fc.climatology(task)
    valid = template["init_time"] + template["lead_time"]
    index = {"dayofyear": valid.dt.dayofyear, "hour": valid.dt.hour}
    out = {
        f.name: clim[f.name].sel(index).drop_vars(["dayofyear", "hour"]) for f in task.spec.targets
    }
    return xr.Dataset(out, attrs=task.attrs()).transpose("init_time", "lead_time", "lat", "lon")


def build(task, name: str) -> xr.Dataset:
    """The reference baseline ``name`` for ``task`` (the builders are registered with the
    task's kind, :mod:`climbench.tasks.kinds`)."""
    return get_kind(task.kind).reference(task, name)
