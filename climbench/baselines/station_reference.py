"""Reference baselines of station tasks: persistence and the training-split climatology.

- ``persistence``: each station's latest valid observation at or before the init (within
  the protocol's history steps), for every lead. Where a station observed nothing in that
  window it falls back to its training-split mean, then to the mean of the stations
  observed at the init, so every prediction is finite (the scorer verifies only where an
  observation exists).
- ``climatology``: per station, the training-split mean at the valid time's hour of day
  over a window of ``climatology_window_days`` days of year centred on its day of year
  (circular over the year); a station-hour without training data in the window takes the
  station's training mean. Computed from the training split only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.errors import DataValueError
from climbench.tasks import station as st

DAYS = 366


def _doy_hour(times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(times.day_of_year - 1), np.asarray(times.hour)


class StationClimatology:
    """Training-split climatology of one variable: ``(366, 24, station)`` means."""

    def __init__(self, values: np.ndarray, times: pd.DatetimeIndex, window_days: int) -> None:
        """``values``: (time, station) training observations (NaN: missing)."""
        doy, hour = _doy_hour(times)
        valid = np.isfinite(values)
        sums = np.zeros((DAYS, 24, values.shape[1]))
        counts = np.zeros_like(sums)
        np.add.at(sums, (doy, hour), np.where(valid, values, 0.0))
        np.add.at(counts, (doy, hour), valid)
        half = window_days // 2
        kernel = np.arange(-half, half + 1)
        wsum = sum(np.roll(sums, k, axis=0) for k in kernel)
        wcount = sum(np.roll(counts, k, axis=0) for k in kernel)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean = np.where(valid, values, 0.0).sum(0) / valid.sum(0)
            table = wsum / wcount
        self.table = np.where(wcount > 0, table, self.mean[None, None, :])

    def at(self, times: pd.DatetimeIndex) -> np.ndarray:
        """(time, station) climatology at ``times``."""
        doy, hour = _doy_hour(times)
        return self.table[doy, hour]


def climatologies(task) -> dict[str, StationClimatology]:
    """The training-split climatology of every target, refused when a target has no
    training observations at all."""
    train = st.load_split(task, "train")
    times = pd.DatetimeIndex(train["time"].values)
    out = {}
    for f in task.spec.targets:
        values = np.asarray(train[f.variable].values, dtype=np.float64)
        if not np.isfinite(values).any():
            raise DataValueError(
                "the training split holds no observations of a target",
                path=str(task.data_dir / st.STORE),
                variable=f.name,
                expected=f"observations in {task.spec.splits['train']}",
                found=f"{times.size} times, none observed",
                hint="this baseline needs a training split; score persistence only",
            )
        out[f.name] = StationClimatology(values, times, task.spec.climatology_window_days)
    return out


def climatology(task) -> tuple[xr.Dataset, dict]:
    """Climatology predictions of the test inits at their valid times."""
    inits = st.init_times(task.spec, "test")
    leads = st.lead_times(task.spec)
    valid = pd.DatetimeIndex((inits.values[:, None] + leads.values[None, :]).ravel())
    arrays = {
        name: c.at(valid).reshape(inits.size, leads.size, -1)
        for name, c in climatologies(task).items()
    }
    return st.prediction_dataset(task, arrays), {}


def persistence(task) -> tuple[xr.Dataset, dict]:
    """Persistence predictions: the latest valid observation in each init's history."""
    spec = task.spec
    inits = st.init_times(spec, "test")
    offsets = st.history_offsets(spec).sort_values()
    inputs = st.load_split(task, "test")
    train = st.load_split(task, "train")
    index = pd.DatetimeIndex(inputs["time"].values)
    rows = index.get_indexer((inits.values[:, None] + offsets.values[None, :]).ravel())
    arrays = {}
    for f in spec.targets:
        values = np.asarray(inputs[f.variable].values, dtype=np.float64)
        window = values[rows].reshape(inits.size, offsets.size, -1)
        latest = window[:, -1]
        for k in range(offsets.size - 2, -1, -1):  # back through the history
            latest = np.where(np.isfinite(latest), latest, window[:, k])
        trained = np.asarray(train[f.variable].values, dtype=np.float64)
        station_mean = _nan_mean(trained, axis=0) if trained.size else np.nan
        network_mean = _nan_mean(window[:, -1], axis=1)[:, None]
        latest = np.where(np.isfinite(latest), latest, station_mean)
        latest = np.where(np.isfinite(latest), latest, network_mean)
        arrays[f.name] = np.repeat(latest[:, None], len(spec.station.lead_steps), axis=1)
    return st.prediction_dataset(task, arrays), {}


def _nan_mean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over the finite values along ``axis`` (NaN where there are none)."""
    valid = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, values, 0.0).sum(axis) / valid.sum(axis)
