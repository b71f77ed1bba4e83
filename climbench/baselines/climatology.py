"""Climatology: the training-split climatology at each valid time.

WeatherBench 2's "climatology" baseline: the day-of-year x hour mean of the training
split (smoothed over the task's window), looked up at ``init_time + lead_time``. It is the
skill floor at long leads, where a forecast should converge to it.
"""

from __future__ import annotations

import xarray as xr

from climbench.tasks import forecast as fc


def climatology(task) -> tuple[xr.Dataset, dict]:
    """Climatology predictions of the test inits of a forecast ``task`` (lazy)."""
    template = task.template()
    clim = fc.climatology(task)
    valid = template["init_time"] + template["lead_time"]
    index = {"dayofyear": valid.dt.dayofyear, "hour": valid.dt.hour}
    out = {
        f.name: clim[f.name].sel(index).drop_vars(["dayofyear", "hour"]) for f in task.spec.targets
    }
    ds = xr.Dataset(out, attrs=task.attrs()).transpose("init_time", "lead_time", "lat", "lon")
    return ds, {}
