"""Small diagnostics an entry carries beside its scores: error maps and spectra.

- Error maps: the time-mean error (prediction minus truth, in the field's units) of each
  target field, averaged over the test samples (init times at the headline lead for
  forecasts; times for downscaling; scenarios and years for emulation) and over ensemble
  members. With it goes the task's land-sea mask (on the map's grid, nearest cell) so a
  map can draw the coastlines of the task's own world: the synthetic tasks have their own
  continents, which no Natural Earth file knows.
- Spectra: the scorer's time-mean zonal power spectra of forecast and truth at the
  headline lead, for the fields whose ``spectral_divergence`` the task scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.evaluation.forecast import SampleStatistics
from climbench.leaderboard import arrays
from climbench.metrics.layout import align_to_forecast

SAMPLE_DIMS = ("init_time", "time", "scenario", "year", "member")


def error_maps(predictions: xr.Dataset, task) -> dict | None:
    """The entry's ``maps`` section: time-mean error of every target field present, or
    None when the predictions have no lat/lon grid."""
    truth = task.truth()
    lead = task.spec.headline.lead_hours
    fields = {}
    lat = lon = None
    for f in task.spec.targets:
        if f.name not in predictions or f.name not in truth:
            continue
        pred = predictions[f.name]
        if not {"lat", "lon"} <= set(pred.dims):
            return None
        if "lead_time" in pred.dims:
            leads = pd.to_timedelta(pred["lead_time"].values)
            wanted = pd.Timedelta(hours=lead) if lead is not None else leads[0]
            pred = pred.isel(lead_time=int(np.argmin(np.abs(leads - wanted))))
            pred = pred.expand_dims("lead_time")
            target = align_to_forecast(pred, truth[f.name])
        else:
            target = truth[f.name]
        error = (pred - target).mean([d for d in pred.dims if d not in ("lat", "lon")])
        error = error.transpose("lat", "lon").compute()
        lat, lon = error["lat"].values, error["lon"].values
        fields[f.name] = {
            "units": str(predictions[f.name].attrs.get("units", "")),
            **arrays.encode(error.values),
        }
    if not fields:
        return None
    return {
        "lead_hours": lead if "lead_time" in predictions.dims else None,
        "lat": [float(x) for x in lat],
        "lon": [float(x) for x in lon],
        "land_sea_mask": _mask(task, lat, lon),
        "fields": fields,
    }


def _mask(task, lat: np.ndarray, lon: np.ndarray) -> dict | None:
    """The task's land-sea mask (1 land) on the map's grid, or None without one."""
    if "land_sea_mask" not in task.spec.constants:
        return None
    ds = task.load_split("test")
    if "land_sea_mask" not in ds:
        return None
    mask = ds["land_sea_mask"]
    mask = mask.isel({d: 0 for d in mask.dims if d not in ("lat", "lon")})
    mask = mask.reindex(lat=lat, lon=lon, method="nearest")
    return arrays.encode((mask.values > 0.5).astype(np.uint8), "uint8")


def spectra(stats: SampleStatistics, task) -> dict | None:
    """The entry's ``spectra`` section (fields with spectra), or None."""
    if not stats.spectra:
        return None
    lead = task.spec.headline.lead_hours
    index = 0
    if stats.leads is not None and lead is not None:
        hours = [pd.Timedelta(x).total_seconds() / 3600 for x in stats.leads]
        index = int(np.argmin(np.abs(np.asarray(hours) - lead)))
    return {
        "lead_hours": lead,
        "fields": {
            name: arrays.encode(np.asarray(power)[index]) for name, power in stats.spectra.items()
        },
    }
