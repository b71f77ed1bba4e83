"""Closed-form ridge on the station history: anomalies of every lead from recent anomalies.

For each target variable one multi-output ridge regression, shared by all stations, maps
the features of an (init, station) pair to that variable's anomalies at every lead. The
features are the anomalies (observation minus the station's training-split climatology,
:class:`~climbench.baselines.station_reference.StationClimatology`) of every target
variable at every history step, each divided by that variable's training anomaly standard
deviation, a missing one replaced by the latest valid one before it in the history (0, the
climatology, where there is none), and a constant. The forecast is the
climatology at the valid time plus the predicted anomaly, so with no history it falls back
to the climatology. This is the linear autoregressive baseline of station forecasting
(the "LR" rows of Weather2K's tables).

Fit: rows from the training inits (every ``init_every_steps``-th step of the training
split whose every lead verifies inside it) with all leads observed; the penalty is chosen
from :data:`ALPHAS` by the mean squared anomaly error on the validation inits; the weights
come from the normal equations ``(X'X + alpha I) w = X'y`` (constant unpenalised).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.baselines.station_reference import climatologies
from climbench.errors import DataValueError
from climbench.tasks import station as st

ALPHAS = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)


class _History:
    """Anomalies of every target on the store's time axis (and their training scale)."""

    def __init__(self, task, clims) -> None:
        ds = st.open_store(task)
        self.times = pd.DatetimeIndex(ds["time"].values)
        self.anomalies = {}
        for f in task.spec.targets:
            values = np.asarray(ds[f.variable].values, dtype=np.float64)
            anomaly = values - clims[f.name].at(self.times)
            # a last row of NaN: times outside the store (index -1) read as unobserved
            self.anomalies[f.name] = np.concatenate(
                [anomaly, np.full((1, anomaly.shape[1]), np.nan)]
            )
        train = self.times.slice_indexer(*task.spec.splits["train"].bounds())
        self.scale = {name: float(np.nanstd(a[train])) or 1.0 for name, a in self.anomalies.items()}

    def rows(self, times: np.ndarray) -> np.ndarray:
        index = self.times.get_indexer(pd.DatetimeIndex(times.ravel()))
        return index.reshape(times.shape)

    def features(self, inits: pd.DatetimeIndex, offsets: pd.TimedeltaIndex) -> np.ndarray:
        """(init * station, variables * history + 1) features."""
        rows = self.rows(inits.values[:, None] + offsets.values[None, :])
        parts = []
        for name, a in self.anomalies.items():
            window = a[rows] / self.scale[name]  # (init, history, station)
            for k in range(1, window.shape[1]):  # a gap takes the last valid value before it
                window[:, k] = np.where(np.isfinite(window[:, k]), window[:, k], window[:, k - 1])
            parts.append(np.nan_to_num(window.transpose(0, 2, 1), nan=0.0))
        x = np.concatenate(parts, axis=2)
        x = x.reshape(-1, x.shape[-1])
        return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)

    def targets(self, name: str, inits: pd.DatetimeIndex, leads: pd.TimedeltaIndex) -> np.ndarray:
        """(init * station, lead) anomalies of ``name`` at the valid times."""
        rows = self.rows(inits.values[:, None] + leads.values[None, :])
        return self.anomalies[name][rows].transpose(0, 2, 1).reshape(-1, len(leads))


def _inits(task, split: str) -> pd.DatetimeIndex:
    """The split's inits whose every lead verifies inside the split."""
    spec = task.spec
    end = spec.splits[split].bounds()[1]
    inits = pd.DatetimeIndex(
        pd.date_range(
            *spec.splits[split].bounds(), freq=st.step(spec) * spec.station.init_every_steps
        )
    )
    return inits[inits + st.lead_times(spec).max() <= end]


def solve(gram: np.ndarray, moment: np.ndarray, alpha: float) -> np.ndarray:
    """Ridge weights ``(features, outputs)`` from ``X'X`` and ``X'y``; the last feature (the
    constant) unpenalised."""
    penalty = np.full(gram.shape[0], alpha)
    penalty[-1] = 0.0
    return np.linalg.solve(gram + np.diag(penalty), moment)


def station_ridge(task) -> tuple[xr.Dataset, dict]:
    """Fit on the training inits, choose alpha on the validation inits, forecast the test."""
    spec = task.spec
    clims = climatologies(task)
    history = _History(task, clims)
    offsets, leads = st.history_offsets(spec), st.lead_times(spec)
    train, validation, test = (
        _inits(task, "train"),
        _inits(task, "validation"),
        st.init_times(spec, "test"),
    )
    if train.empty or validation.empty:
        raise DataValueError(
            "the ridge baseline needs training and validation inits",
            path=str(task.data_dir / st.STORE),
            variable=task.id,
            expected="splits long enough for the history and every lead",
            found=f"{train.size} training and {validation.size} validation inits",
        )
    x_train, x_val = history.features(train, offsets), history.features(validation, offsets)
    x_test = history.features(test, offsets)
    valid_times = pd.DatetimeIndex((test.values[:, None] + leads.values[None, :]).ravel())
    arrays, info = {}, {"alpha": {}, "train_rows": {}, "validation_mse": {}}
    for f in spec.targets:
        y_train = history.targets(f.name, train, leads)
        y_val = history.targets(f.name, validation, leads)
        keep = np.isfinite(y_train).all(axis=1)
        check = np.isfinite(y_val)
        x = x_train[keep]
        gram, moment = x.T @ x, x.T @ y_train[keep]
        fits = {alpha: solve(gram, moment, alpha) for alpha in ALPHAS}
        errors = {a: float(np.mean((x_val @ w - y_val)[check] ** 2)) for a, w in fits.items()}
        alpha = min(errors, key=errors.get)
        w = fits[alpha]
        anomaly = (x_test @ w).reshape(test.size, -1, leads.size).transpose(0, 2, 1)
        clim = clims[f.name].at(valid_times).reshape(test.size, leads.size, -1)
        arrays[f.name] = clim + anomaly
        info["alpha"][f.name] = alpha
        info["train_rows"][f.name] = int(keep.sum())
        info["validation_mse"][f.name] = errors[alpha]
    return st.prediction_dataset(task, arrays), info
