"""Closed-form ridge for forecasting: a linear 3 x 3 stencil from the inputs to every lead.

For each grid cell, the features are the 3 x 3 neighbourhood of every input channel at every
history step (ClimaX / WeatherBench inputs at t and t - 6 h), plus the constants at the cell;
the outputs are every target at every lead at that cell. One multi-output
:class:`~climbench.models.Ridge` is shared by all cells (a linear 3 x 3 convolution per
lead), so one solve fits all leads. It is the linear member of the WeatherBench baseline
family (Rasp et al. 2020 fitted linear regressions per lead) and a floor any network should
clear.

Data come from the task's tensor caches (normalised with the training statistics) through
:class:`~climbench.training.forecast_data.ForecastDataModule`: training rows are all cells of
a seeded sample of training inits (whose leads all verify inside the training split), the
penalty is chosen on the validation inits, and the test inits are predicted from their
inputs only. A regional grid stored across 0 degrees is patched in contiguous column order.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from climbench.baselines.ridge import patches, select_alpha
from climbench.data.grids import contiguous_lon_order, is_periodic
from climbench.tasks.forecast import prediction_dataset
from climbench.training.forecast_data import ForecastDataModule

TRAIN_INITS = 160  # inits sampled for training; every cell of each is a row
VALIDATION_INITS = 40


def _features(
    data: np.ndarray,
    inits: np.ndarray,
    channels: list[int],
    history: list[int],
    constants: np.ndarray | None,
    order: np.ndarray | None,
    periodic: bool,
) -> np.ndarray:
    """``(init * lat * lon, features)`` float32: 3 x 3 patches of the input channels at each
    history step, then the constants at the cell."""
    times = inits[:, None] + np.asarray(history)[None, :]  # (init, history)
    fields = data[times.ravel()][:, channels]  # (init * history, C, lat, lon)
    n, h, w = len(inits), fields.shape[-2], fields.shape[-1]
    fields = fields.reshape(n, len(history) * len(channels), h, w)
    if order is not None:
        fields = fields[..., order]
    feats = patches(fields, periodic).reshape(n * h * w, -1)
    if constants is not None:
        c = constants if order is None else constants[..., order]
        c = np.broadcast_to(c.reshape(len(c), -1).T[None], (n, h * w, len(c)))
        feats = np.concatenate([feats, c.reshape(n * h * w, -1)], axis=1)
    return np.ascontiguousarray(feats, dtype=np.float32)


def _targets(
    data: np.ndarray, inits: np.ndarray, channels: list[int], leads: list[int], order
) -> np.ndarray:
    """``(init * lat * lon, lead * target)``: every target at every lead, per cell."""
    times = inits[:, None] + np.asarray(leads)[None, :]
    values = data[times.ravel()][:, channels]  # (init * lead, T, lat, lon)
    n, h, w = len(inits), values.shape[-2], values.shape[-1]
    if order is not None:
        values = values[..., order]
    values = values.reshape(n, len(leads) * len(channels), h * w).transpose(0, 2, 1)
    return np.ascontiguousarray(values.reshape(n * h * w, -1), dtype=np.float32)


def ridge_forecast(task, seed: int = 0) -> tuple[xr.Dataset, dict]:
    """Fit on training inits, choose alpha on validation inits, forecast the test inits."""
    datamodule = ForecastDataModule(task)
    datamodule.prepare_data()
    datamodule.setup(None)
    args = datamodule.module_args()
    fit, test = datamodule.fit_cache, datamodule.predict_cache
    lon = np.asarray(fit.lon)
    order, periodic = contiguous_lon_order(lon), is_periodic(lon)
    history, leads = datamodule.history, datamodule.lead_steps
    spec = task.spec
    inputs = [fit.channel_index(f.name) for f in spec.inputs]
    targets = [fit.channel_index(f.name) for f in spec.targets]
    rng = np.random.default_rng(seed)

    def rows(inits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = _features(fit.data, inits, inputs, history, fit.constants, order, periodic)
        return x, _targets(fit.data, inits, targets, leads, order)

    train_inits = datamodule.train_set.init_indices
    train_inits = np.sort(rng.choice(train_inits, min(TRAIN_INITS, len(train_inits)), False))
    val_inits = datamodule.val_set.init_indices
    val_inits = np.sort(rng.choice(val_inits, min(VALIDATION_INITS, len(val_inits)), False))
    x_train, y_train = rows(train_inits)
    x_val, y_val = rows(val_inits)
    model, alpha = select_alpha(x_train, y_train, x_val, y_val)
    del x_train, y_train, x_val, y_val

    test_inputs = [test.channel_index(f.name) for f in spec.inputs]
    init_index = test.indices_of(datamodule.predict_inits.values.astype("datetime64[ns]"))
    h, w = len(fit.lat), len(lon)
    n_leads, n_targets = len(spec.forecast.lead_hours), len(targets)
    pred = np.empty((len(init_index), n_leads, n_targets, h, w), np.float32)
    inverse = None if order is None else np.argsort(order)
    for start in range(0, len(init_index), 8):
        block = init_index[start : start + 8]
        x = _features(test.data, block, test_inputs, history, test.constants, order, periodic)
        out = model.predict(torch.from_numpy(x)).numpy().reshape(len(block), h, w, -1)
        out = out.transpose(0, 3, 1, 2).reshape(len(block), n_leads, n_targets, h, w)
        pred[start : start + len(block)] = out if inverse is None else out[..., inverse]
    arrays = {
        f.name: pred[:, :, k] * args["std"][f.name] + args["mean"][f.name]
        for k, f in enumerate(spec.targets)
    }
    ds = prediction_dataset(task, arrays, datamodule.predict_inits)
    return ds.assign_attrs(model="ridge"), {"alpha": alpha, "train_rows": len(train_inits) * h * w}
