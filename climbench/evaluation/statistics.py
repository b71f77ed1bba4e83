"""Per-sample statistics: the one pass over a predictions file that every score derives from.

WeatherBench-X style: for each sample (an init and lead time, or a time step) and region
the scorer computes area-weighted means of a few pointwise quantities, once, reading each
prediction value once. Every metric is then a cheap function of time means of these
statistics (see :mod:`climbench.evaluation.aggregate`), and bootstrap confidence intervals
resample the per-sample statistics instead of the data.

Statistics (area-weighted means over a region; ``f`` the forecast or ensemble mean, ``y``
the truth, ``c`` the climatology, members ``x_m``):

==========  ============================================  ==========================
``se``      ``(f - y)^2``                                 MSE, RMSE
``ae``      ``|f - y|``                                   MAE (= CRPS of one member)
``e``       ``f - y``                                     bias
``ff``      ``(f - c)^2``                                 ACC (uncentred, WB2)
``oo``      ``(y - c)^2``                                 ACC
``fo``      ``(f - c)(y - c)``                            ACC
``crps``    fair ensemble CRPS                            CRPS (ensembles)
``var``     unbiased member variance                      spread, spread-skill
``vse``     ``(u_f - u_y)^2 + (v_f - v_y)^2``             wind-vector RMSE
==========  ============================================  ==========================

Region weights are cell-area weights times the region mask, normalised to sum 1, so one
matrix product ``q @ W`` gives every region at once. Truth cells that are not finite (masked
data) are left out with their weight (the mean is renormalised per sample).
"""

from __future__ import annotations

import numpy as np

from climbench.metrics.probabilistic import crps_ensemble_array

DETERMINISTIC = ("se", "ae", "e")
ANOMALY = ("ff", "oo", "fo")
ENSEMBLE = ("crps", "var")
#: samples per inner block: (rows x cells) float32 temporaries stay in cache
_ROWS_BYTES = 1 << 19


def region_weight_matrix(weights: list[np.ndarray]) -> np.ndarray:
    """(ncell, nregion) float32 matrix of per-region weights, each column summing to 1."""
    w = np.stack([np.asarray(x, dtype=np.float64).ravel() for x in weights], axis=1)
    return (w / w.sum(axis=0, keepdims=True)).astype(np.float32)


def stat_names(anomalies: bool, members: int) -> tuple[str, ...]:
    """Statistics computed for one field (see the module table)."""
    names = DETERMINISTIC + (ANOMALY if anomalies else ())
    return names + (ENSEMBLE if members > 1 else ())


def field_statistics(
    forecast: np.ndarray,
    truth: np.ndarray,
    weights: np.ndarray,
    climatology: np.ndarray | None = None,
) -> np.ndarray:
    """Per-sample, per-region statistics of one field.

    Args:
        forecast: (samples, [members,] ncell) float32; with a members axis it is an
            ensemble (``forecast.ndim == 3``).
        truth: (samples, ncell).
        weights: (ncell, nregion) from :func:`region_weight_matrix`.
        climatology: (samples, ncell) or None (no anomaly statistics).

    Returns:
        (samples, nregion, nstat) float64, statistics ordered as :func:`stat_names`.
    """
    ensemble = forecast.ndim == 3
    members = forecast.shape[1] if ensemble else 1
    names = stat_names(climatology is not None, members)
    nsample, ncell = truth.shape
    out = np.empty((nsample, weights.shape[1], len(names)), dtype=np.float64)
    rows = max(1, _ROWS_BYTES // (4 * ncell * (members if ensemble else 1)))
    masked = not np.isfinite(truth).all()
    for start in range(0, nsample, rows):
        s = slice(start, min(start + rows, nsample))
        x = np.asarray(forecast[s], dtype=np.float32)
        y = np.asarray(truth[s], dtype=np.float32)
        f = x.mean(axis=1) if ensemble else x
        quantities = _pointwise(
            f, x if ensemble else None, y, None if climatology is None else climatology[s]
        )
        if masked:
            valid = np.isfinite(y)
            denom = valid.astype(np.float32) @ weights
            for k, q in enumerate(quantities):
                out[s, :, k] = np.where(valid, q, 0.0) @ weights / denom
        else:
            for k, q in enumerate(quantities):
                out[s, :, k] = q @ weights
    return out


def _pointwise(f, members, y, c) -> list[np.ndarray]:
    e = f - y
    quantities = [e * e, np.abs(e), e]
    if c is not None:
        fa = f - c
        oa = y - c
        quantities += [fa * fa, oa * oa, fa * oa]
    if members is not None:
        crps = crps_ensemble_array(members, y, axis=1)
        quantities += [crps.astype(np.float32), members.var(axis=1, ddof=1)]
    return quantities


def vector_statistics(
    u_forecast: np.ndarray,
    v_forecast: np.ndarray,
    u_truth: np.ndarray,
    v_truth: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """(samples, nregion, 1) wind-vector squared error ``vse`` (ensemble means if 3-D)."""
    if u_forecast.ndim == 3:
        u_forecast, v_forecast = u_forecast.mean(axis=1), v_forecast.mean(axis=1)
    du = u_forecast - u_truth
    dv = v_forecast - v_truth
    q = du * du + dv * dv
    valid = np.isfinite(q)
    if valid.all():
        return (q @ weights)[..., None].astype(np.float64)
    return ((np.where(valid, q, 0.0) @ weights) / (valid.astype(np.float32) @ weights))[
        ..., None
    ].astype(np.float64)
