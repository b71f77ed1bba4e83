"""Persistence: the state at the init time, forecast for every lead.

The no-skill floor of weather forecasting (WeatherBench 2's "persistence" baseline): any
forecast model must beat it at short leads. Built from the task's own data: the truth at
each test init, repeated over the leads.
"""

from __future__ import annotations

import xarray as xr

from climbench.tasks import forecast as fc


def persistence(task) -> tuple[xr.Dataset, dict]:
    """Persistence predictions of the test inits of a forecast ``task`` (lazy)."""
    template = task.template()
    store = fc.open_store(task)
    inits = template["init_time"].values
    out = {}
    for f in task.spec.targets:
        at_init = fc.field_array(store, f).sel(time=inits).rename(time="init_time")
        out[f.name] = at_init.expand_dims(lead_time=template["lead_time"].values, axis=1)
    return xr.Dataset(out, attrs=task.attrs()), {}
