"""Baselines: one module per baseline, registered by name with the task kinds it serves.

- reference baselines, scored beside every model of the tasks that list them:
  :mod:`~climbench.baselines.persistence` and :mod:`~climbench.baselines.climatology`
  (forecasting), :mod:`~climbench.baselines.interpolation` (``bilinear``,
  ``conservative``; downscaling), :mod:`~climbench.baselines.pattern_scaling`
  (emulation);
- closed-form learned baselines: ``ridge`` (:mod:`~climbench.baselines.ridge` for
  emulation and downscaling, :mod:`~climbench.baselines.ridge_forecast` for forecasting);
- network baselines: the configs under ``climbench/baselines/configs`` (architectures in
  :mod:`climbench.models`, trained by :mod:`climbench.training`).

A new baseline is one module plus one :func:`register_baseline` line in
:mod:`climbench.baselines.registry`.
"""

from climbench.baselines.registry import (
    BASELINES,
    Baseline,
    config_path,
    fit,
    get_baseline,
    reference_predictions,
    register_baseline,
)

__all__ = [
    "BASELINES",
    "Baseline",
    "config_path",
    "fit",
    "get_baseline",
    "reference_predictions",
    "register_baseline",
]
