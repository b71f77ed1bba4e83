"""Metrics for weather and climate forecasts, emulators and downscaling.

One definition per metric behind three entry points: xarray (this namespace: dims by
name, per lead time / level / region, lazy for dask), numpy/torch arrays (the ``*_array``
functions in the family modules) and torch losses (:mod:`climbench.metrics.torch`).
Conventions: docs/metrics.md and DESIGN.md (Metrics).
"""

from climbench.metrics._reduce import area_mean
from climbench.metrics.deterministic import (
    acc,
    bias,
    mae,
    mean_rmse,
    mse,
    rmse,
    wind_vector_rmse,
)
from climbench.metrics.downscaling import quantile_error, radial_power_spectrum, variance_ratio
from climbench.metrics.emulation import climatebench_scores, nrmse_global, nrmse_spatial
from climbench.metrics.layout import align_to_forecast, climatology_at, valid_time
from climbench.metrics.probabilistic import (
    brier_score,
    crps_ensemble,
    crps_ensemble_pointwise,
    crps_gaussian,
    crps_skill_score,
    energy_score,
    ensemble_mean_rmse,
    ensemble_spread,
    rank_histogram,
    spread_skill_ratio,
)
from climbench.metrics.spectral import (
    band_spectrum,
    effective_resolution,
    sh_power_spectrum,
    spectral_divergence,
    spectral_ratio,
    zonal_energy_spectrum,
)
from climbench.metrics.weights import (
    REGIONS,
    Region,
    area_weights,
    land_mask,
    latitude_weights,
    nan_mask,
    ocean_mask,
    region_mask,
)

__all__ = [
    "REGIONS",
    "Region",
    "acc",
    "align_to_forecast",
    "area_mean",
    "area_weights",
    "band_spectrum",
    "bias",
    "brier_score",
    "climatebench_scores",
    "climatology_at",
    "crps_ensemble",
    "crps_ensemble_pointwise",
    "crps_gaussian",
    "crps_skill_score",
    "effective_resolution",
    "energy_score",
    "ensemble_mean_rmse",
    "ensemble_spread",
    "land_mask",
    "latitude_weights",
    "mae",
    "mean_rmse",
    "mse",
    "nan_mask",
    "nrmse_global",
    "nrmse_spatial",
    "ocean_mask",
    "quantile_error",
    "radial_power_spectrum",
    "rank_histogram",
    "region_mask",
    "rmse",
    "sh_power_spectrum",
    "spectral_divergence",
    "spectral_ratio",
    "spread_skill_ratio",
    "valid_time",
    "variance_ratio",
    "wind_vector_rmse",
    "zonal_energy_spectrum",
]
