"""Climate-emulation scores of ClimateBench (Watson-Parris et al. 2022, JAMES 14,
e2021MS002954, https://doi.org/10.1029/2021MS002954).

With ``<.>_w`` the area-weighted spatial mean, ``<.>_t`` the mean over the evaluation
years (dim ``time``) and ``T``, ``P`` the target and the prediction::

    N       = |< <T>_t >_w|                                (absolute global mean, units)
    NRMSE_s = sqrt(< (<P>_t - <T>_t)^2 >_w) / N            (spatial pattern of the mean)
    NRMSE_g = sqrt(< (<P>_w - <T>_w)^2 >_t) / N            (global-mean time series)
    total   = NRMSE_s + 5 NRMSE_g

The normaliser N is near zero for some targets (diurnal temperature range, precipitation
changes), which makes NRMSE explode; the std-normalised variants divide the same RMSEs by
the target's spatial standard deviation of ``<T>_t`` (``SNRMSE_s``) and by the standard
deviation over time of ``<T>_w`` (``SNRMSE_g``) instead. All are dimensionless, 0 perfect.
Area weights are cell areas (ClimateBench's cos(lat) on its grid without poles).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from climbench.metrics._reduce import area_mean
from climbench.metrics.layout import check_pair

Field = xr.DataArray | xr.Dataset


def _parts(prediction: Field, target: Field, time_dim: str):
    check_pair(prediction, target)
    target = target.assign_coords(lat=prediction["lat"], lon=prediction["lon"])
    p_mean, t_mean = prediction.mean(time_dim), target.mean(time_dim)
    rmse_s = np.sqrt(area_mean((p_mean - t_mean) ** 2))
    t_global = area_mean(target)
    rmse_g = np.sqrt(((area_mean(prediction) - t_global) ** 2).mean(time_dim))
    norm = np.abs(area_mean(t_mean))
    return rmse_s, rmse_g, norm, t_mean, t_global


def nrmse_spatial(prediction: Field, target: Field, time_dim: str = "time") -> Field:
    """ClimateBench NRMSE_s (module docstring): RMSE of the time-mean maps over N."""
    rmse_s, _, norm, _, _ = _parts(prediction, target, time_dim)
    return rmse_s / norm


def nrmse_global(prediction: Field, target: Field, time_dim: str = "time") -> Field:
    """ClimateBench NRMSE_g (module docstring): RMSE over time of global means over N."""
    _, rmse_g, norm, _, _ = _parts(prediction, target, time_dim)
    return rmse_g / norm


def climatebench_scores(prediction: Field, target: Field, time_dim: str = "time") -> xr.Dataset:
    """NRMSE_s, NRMSE_g, total = NRMSE_s + 5 NRMSE_g, SNRMSE_s and SNRMSE_g in one pass.

    For a Dataset the result has one ``{score}_{variable}`` entry per variable and score.
    """
    rmse_s, rmse_g, norm, t_mean, t_global = _parts(prediction, target, time_dim)
    sigma_s = np.sqrt(area_mean((t_mean - area_mean(t_mean)) ** 2))
    sigma_g = t_global.std(time_dim)
    scores = {
        "NRMSE_s": rmse_s / norm,
        "NRMSE_g": rmse_g / norm,
        "NRMSE_total": rmse_s / norm + 5.0 * rmse_g / norm,
        "SNRMSE_s": rmse_s / sigma_s,
        "SNRMSE_g": rmse_g / sigma_g,
    }
    if isinstance(prediction, xr.DataArray):
        return xr.Dataset(scores)
    return xr.Dataset({f"{name}_{var}": ds[var] for name, ds in scores.items() for var in ds})
