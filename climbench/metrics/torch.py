"""Torch entry point: the same metric formulas on tensors, differentiable, for losses.

Tensors are laid out ``(..., lat, lon)`` (batch, channels, ... first), ensembles carry the
member axis given by ``member_axis``. ``lat`` (degrees, 1-D) selects the cell-area weights
of :func:`climbench.data.grids.cell_area_weights`; every function returns the mean over
all leading dims of the per-field score, so it can be used directly as a loss. The
formulas are those of :mod:`climbench.metrics.deterministic`, :mod:`.probabilistic` and
:mod:`.spectral` (one definition behind numpy, xarray and torch).
"""

from __future__ import annotations

import numpy as np
import torch

from climbench.data.grids import cell_area_weights
from climbench.metrics._reduce import weighted_mean
from climbench.metrics.deterministic import absolute_error, acc_array, squared_error
from climbench.metrics.probabilistic import (
    crps_ensemble_array,
    crps_gaussian_array,
    energy_score_array,
)
from climbench.metrics.spectral import spectral_divergence_array


def latitude_weights(lat, like: torch.Tensor) -> torch.Tensor:
    """Cell-area weights (mean 1) for latitudes ``lat`` as a tensor shaped like ``like``."""
    w = cell_area_weights(np.asarray(lat, dtype=float))
    return torch.as_tensor(w, dtype=like.dtype, device=like.device)


def _field_weights(lat, like: torch.Tensor) -> torch.Tensor:
    return latitude_weights(lat, like)[:, None].expand(like.shape[-2], like.shape[-1])


def field_means(
    quantity: torch.Tensor,
    target: torch.Tensor,
    area_weights: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Area-weighted mean of ``quantity`` (..., lat, lon) over each field, shape (...).

    ``area_weights``: (lat,) cell-area weights (:func:`latitude_weights`); cells where
    ``target`` is not finite or ``mask`` (lat, lon) is 0 do not count (their weight and
    their value are zeroed, so a NaN target never reaches the gradient).
    """
    valid = torch.isfinite(target)
    weights = area_weights[:, None].expand(target.shape[-2:])
    if mask is not None:
        weights = weights * mask
    weights = weights * valid
    quantity = torch.where(valid, quantity, torch.zeros_like(quantity))
    return (quantity * weights).sum((-2, -1)) / weights.sum((-2, -1)).clamp_min(1e-12)


def field_losses(
    pred: torch.Tensor,
    target: torch.Tensor,
    area_weights: torch.Tensor,
    mask: torch.Tensor | None = None,
    member_axis: int | None = None,
) -> torch.Tensor:
    """The training loss of each field: its area-weighted squared error (the per-sample
    MSE of :func:`mse`) or, for an ensemble ``pred`` with ``member_axis``, its fair CRPS
    (:func:`crps_ensemble`); per leading index (batch, channel), NaN targets skipped."""
    finite = torch.where(torch.isfinite(target), target, torch.zeros_like(target))
    if member_axis is not None:
        error = crps_ensemble_array(pred, finite, axis=member_axis, fair=True)
    else:
        error = squared_error(pred, finite)
    return field_means(error, target, area_weights, mask)


def mse(pred: torch.Tensor, target: torch.Tensor, lat) -> torch.Tensor:
    """Area-weighted MSE, mean over leading dims (units^2). NaN targets are skipped."""
    return weighted_mean(squared_error(pred, target), _field_weights(lat, pred)).mean()


def rmse(pred: torch.Tensor, target: torch.Tensor, lat) -> torch.Tensor:
    """``sqrt`` of :func:`mse` (the WB2 RMSE: root after the mean over samples)."""
    return torch.sqrt(mse(pred, target, lat))


def mae(pred: torch.Tensor, target: torch.Tensor, lat) -> torch.Tensor:
    """Area-weighted MAE, mean over leading dims (units)."""
    return weighted_mean(absolute_error(pred, target), _field_weights(lat, pred)).mean()


def acc(
    pred: torch.Tensor, target: torch.Tensor, climatology: torch.Tensor, lat, centred: bool = False
) -> torch.Tensor:
    """Mean per-field anomaly correlation (uncentred as WB2 unless ``centred``)."""
    return acc_array(pred, target, climatology, _field_weights(lat, pred), centred).mean()


def crps_ensemble(
    pred: torch.Tensor, target: torch.Tensor, lat=None, member_axis: int = 1, fair: bool = True
) -> torch.Tensor:
    """Ensemble CRPS (fair by default), area-weighted when ``lat`` is given (units)."""
    crps = crps_ensemble_array(pred, target, axis=member_axis, fair=fair)
    if lat is None:
        return crps.mean()
    return weighted_mean(crps, _field_weights(lat, crps)).mean()


def crps_gaussian(
    mean: torch.Tensor, std: torch.Tensor, target: torch.Tensor, lat=None
) -> torch.Tensor:
    """Closed-form Gaussian CRPS, area-weighted when ``lat`` is given (units)."""
    crps = crps_gaussian_array(mean, std, target)
    if lat is None:
        return crps.mean()
    return weighted_mean(crps, _field_weights(lat, crps)).mean()


def energy_score(
    pred: torch.Tensor, target: torch.Tensor, lat, member_axis: int = 1, fair: bool = True
) -> torch.Tensor:
    """Fair energy score of each (lat, lon) field with area weights, mean over leading dims."""
    x = torch.movedim(pred, member_axis, -3)
    w = _field_weights(lat, target).reshape(-1)
    flat_x = x.reshape(*x.shape[:-2], -1)
    flat_y = target.reshape(*target.shape[:-2], -1)
    return energy_score_array(flat_x, flat_y, w, fair).mean()


def spectral_divergence(
    pred: torch.Tensor, target: torch.Tensor, lat, eps: float = 1e-12
) -> torch.Tensor:
    """Area-aware spectral I-divergence per field, mean over leading dims (dimensionless)."""
    return spectral_divergence_array(pred, target, latitude_weights(lat, pred), eps).mean()
