"""Deterministic scores: MSE, RMSE, MAE, bias, ACC and wind-vector RMSE.

Conventions (WeatherBench 2, Rasp et al. 2024, https://arxiv.org/abs/2308.15560):
- spatial means are area-weighted and NaN-aware (:mod:`climbench.metrics.weights`);
- time means run over the sample dims (``init_time`` or ``time``), never over
  ``lead_time``, ``level`` or ``region``, so scores come out per lead time, level and region;
- ``rmse = sqrt(time-mean(spatial-mean((f - t)^2)))``: the square root is taken *after* the
  time mean (WB2). The mean of per-sample RMSEs is :func:`mean_rmse`, a different number;
- ACC is computed per sample against a given climatology (from the training period) and
  then averaged over time; uncentred as WB2 by default, centred on request.

Every function takes DataArrays or Datasets (scored variable by variable) with canonical
dims; with ``spatial_mean=False`` it returns a (lat, lon) map of the time-mean score
instead. Inputs backed by dask stay lazy.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr

from climbench.metrics._reduce import per_region, spatial_means, time_mean, weighted_mean
from climbench.metrics._xp import namespace
from climbench.metrics.layout import (
    check_pair,
    climatology_at,
    climatology_for_forecast,
    sample_dims,
)
from climbench.metrics.weights import Region

Field = xr.DataArray | xr.Dataset
RegionArg = str | Region | Iterable[str | Region]


# -- pointwise formulas (numpy or torch) -------------------------------------------------


def error(forecast, truth):
    """``f - t`` (units of the variable); its mean is the bias."""
    return forecast - truth


def squared_error(forecast, truth):
    """``(f - t)^2`` (units squared)."""
    d = forecast - truth
    return d * d


def absolute_error(forecast, truth):
    """``|f - t|`` (units of the variable)."""
    return namespace(forecast, truth).abs(forecast - truth)


def vector_squared_error(u_forecast, v_forecast, u_truth, v_truth):
    """``(u_f - u_t)^2 + (v_f - v_t)^2``: squared length of the wind-vector error."""
    return squared_error(u_forecast, u_truth) + squared_error(v_forecast, v_truth)


def acc_from_moments(mf, mo, mff, moo, mfo, centred: bool = False):
    """ACC of one sample from weighted means of anomalies ``a_f``, ``a_o`` and products.

    Uncentred (WB2): ``mean(a_f a_o) / sqrt(mean(a_f^2) mean(a_o^2))``. Centred (Pearson
    correlation of anomalies): ``cov(a_f, a_o) / sqrt(var(a_f) var(a_o))`` with
    area-weighted moments. Dimensionless, in [-1, 1].
    """
    xp = namespace(mf, mo, mff, moo, mfo)
    if centred:
        return (mfo - mf * mo) / xp.sqrt((mff - mf * mf) * (moo - mo * mo))
    return mfo / xp.sqrt(mff * moo)


def acc_array(forecast, truth, climatology, weights, centred: bool = False):
    """Per-sample ACC over the last two axes (lat, lon) for numpy arrays or torch tensors."""
    fa, oa = forecast - climatology, truth - climatology
    moments = [weighted_mean(q, weights) for q in (fa, oa, fa * fa, oa * oa, fa * oa)]
    return acc_from_moments(*moments, centred=centred)


# -- numpy block kernels (the pointwise formulas above, applied block by block) ---------


def _k_squared(b, scratch):
    d = np.subtract(b[0], b[1], out=scratch(0))
    return [np.multiply(d, d, out=d)]


def _k_absolute(b, scratch):
    d = np.subtract(b[0], b[1], out=scratch(0))
    return [np.abs(d, out=d)]


def _k_error(b, scratch):
    return [np.subtract(b[0], b[1], out=scratch(0))]


def _k_vector(b, scratch):
    return [vector_squared_error(*b)]


def _k_anomalies(b, scratch):
    f, t, c = b
    return np.subtract(f, c, out=scratch(0)), np.subtract(t, c, out=scratch(1))


def _k_acc(b, scratch):
    fa, oa = _k_anomalies(b, scratch)
    products = [
        np.multiply(x, y, out=scratch(k))
        for k, (x, y) in enumerate([(fa, fa), (oa, oa), (fa, oa)], start=2)
    ]
    return [fa, oa, *products]


def _k_acc_uncentred(b, scratch):
    return _k_acc(b, scratch)[2:]


# -- xarray entry points ------------------------------------------------------------------


def _prepare(forecast: Field, truth: Field) -> Field:
    check_pair(forecast, truth)
    return truth.assign_coords(lat=forecast["lat"], lon=forecast["lon"])


def _pointwise_score(kernel, pointwise, forecast, truth, region, mask, spatial_mean, sqrt):
    truth = _prepare(forecast, truth)
    if not spatial_mean:
        field = time_mean(pointwise(forecast, truth), forecast)
        return np.sqrt(field) if sqrt else field

    def compute(w):
        (per_sample,) = spatial_means(kernel, [forecast, truth], w, ["score"])
        score = time_mean(per_sample, forecast)
        return np.sqrt(score) if sqrt else score

    return per_region(compute, forecast, region, mask, together=True)


def mse(
    forecast: Field,
    truth: Field,
    *,
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """Mean squared error ``mean_t mean_w (f - t)^2`` (units squared), per lead/level/region.

    ``region``: a name, :class:`Region`, or a list of them (adds a ``region`` dim);
    ``mask``: (lat, lon) boolean or fractional weights; ``spatial_mean=False``: the map of
    the time-mean squared error.
    """
    return _pointwise_score(
        _k_squared, squared_error, forecast, truth, region, mask, spatial_mean, sqrt=False
    )


def rmse(
    forecast: Field,
    truth: Field,
    *,
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """Root mean squared error ``sqrt(mean_t mean_w (f - t)^2)`` (units of the variable).

    WeatherBench 2 convention: square root *after* the time mean. Reference: Rasp et al.
    (2024), WeatherBench 2, section 4.1. See :func:`mean_rmse` for the mean of per-time RMSEs.
    """
    return _pointwise_score(
        _k_squared, squared_error, forecast, truth, region, mask, spatial_mean, sqrt=True
    )


def mean_rmse(forecast: Field, truth: Field, *, region: RegionArg = "global", mask=None) -> Field:
    """Mean over time of per-sample RMSEs ``mean_t sqrt(mean_w (f - t)^2)`` (units).

    Always <= :func:`rmse` (Jensen); reported by some papers (e.g. WeatherBench 1).
    """
    truth = _prepare(forecast, truth)

    def compute(w):
        (per_sample,) = spatial_means(_k_squared, [forecast, truth], w, ["mse"])
        return time_mean(np.sqrt(per_sample), forecast)

    return per_region(compute, forecast, region, mask, together=True)


def mae(
    forecast: Field,
    truth: Field,
    *,
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """Mean absolute error ``mean_t mean_w |f - t|`` (units of the variable)."""
    return _pointwise_score(
        _k_absolute, absolute_error, forecast, truth, region, mask, spatial_mean, sqrt=False
    )


def bias(
    forecast: Field,
    truth: Field,
    *,
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """Mean error ``mean_t mean_w (f - t)`` (units); positive when the forecast is too high."""
    return _pointwise_score(
        _k_error, error, forecast, truth, region, mask, spatial_mean, sqrt=False
    )


def wind_vector_rmse(
    u_forecast: xr.DataArray,
    v_forecast: xr.DataArray,
    u_truth: xr.DataArray,
    v_truth: xr.DataArray,
    *,
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> xr.DataArray:
    """Wind-vector RMSE ``sqrt(mean_t mean_w ((u_f - u_t)^2 + (v_f - v_t)^2))`` (m s-1).

    The RMSE of the vector error length, as WB2's ``WindVectorRMSE``; an error of
    (6, -8) m s-1 everywhere gives 10 m s-1.
    """
    u_truth, v_truth = _prepare(u_forecast, u_truth), _prepare(u_forecast, v_truth)
    v_forecast = v_forecast.assign_coords(lat=u_forecast["lat"], lon=u_forecast["lon"])
    inputs = [u_forecast, v_forecast, u_truth, v_truth]
    if not spatial_mean:
        return np.sqrt(time_mean(vector_squared_error(*inputs), u_forecast))

    def compute(w):
        (per_sample,) = spatial_means(_k_vector, inputs, w, ["mse"])
        return np.sqrt(time_mean(per_sample, u_forecast))

    return per_region(compute, u_forecast, region, mask, together=True)


def _climatology_for(climatology: Field, forecast: Field) -> Field:
    if "init_time" in forecast.dims and "lead_time" in forecast.dims:
        clim = climatology_for_forecast(climatology, forecast)
    else:
        clim = climatology_at(climatology, forecast["time"])
    return clim.assign_coords(lat=forecast["lat"], lon=forecast["lon"])


def acc(
    forecast: Field,
    truth: Field,
    climatology: Field,
    *,
    centred: bool = False,
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """Anomaly correlation coefficient against ``climatology``, averaged over time.

    Per sample, anomalies ``a_f = f - c``, ``a_o = t - c`` are correlated over the region
    with area weights (:func:`acc_from_moments`; uncentred as WeatherBench 2 by default,
    ``centred=True`` subtracts the area-weighted anomaly means), then averaged over time.
    ``climatology``: dims ``dayofyear`` (1-366) [x ``hour``] x [level] x lat x lon from the
    *training* period (picked at each valid time), or any field broadcastable to the truth.
    ``spatial_mean=False`` gives the map of temporal anomaly correlation per cell (same
    centring rule along time). Dimensionless.
    """
    truth = _prepare(forecast, truth)
    clim = _climatology_for(climatology, forecast)
    if not spatial_mean:
        fa, oa = forecast - clim, truth - clim
        dims = sample_dims(forecast)
        if centred:
            fa, oa = fa - fa.mean(dims), oa - oa.mean(dims)
        return (fa * oa).mean(dims) / np.sqrt((fa * fa).mean(dims) * (oa * oa).mean(dims))

    def compute(w):
        if centred:
            moments = spatial_means(
                _k_acc, [forecast, truth, clim], w, ["mf", "mo", "mff", "moo", "mfo"]
            )
        else:
            moments = [
                None,
                None,
                *spatial_means(_k_acc_uncentred, [forecast, truth, clim], w, ["mff", "moo", "mfo"]),
            ]
        return time_mean(acc_from_moments(*moments, centred=centred), forecast)

    return per_region(compute, forecast, region, mask, together=True)
