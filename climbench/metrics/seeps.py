"""SEEPS: the stable equitable error in probability space of 24 h precipitation.

Rodwell, Richardson, Hewson and Haiden (2010), "A new equitable score suitable for
verifying precipitation in numerical weather prediction", QJRMS 136, 1344-1363, as
WeatherBench 2 scores it (``weatherbench2.metrics.SEEPS``; Rasp et al. 2024, section 4.2).

Each 24 h accumulation falls in one of three categories: *dry* (below 0.25 mm), *light*
and *heavy*, split at the cell's wet threshold: the value that makes light days twice as
frequent as heavy ones in the climatology (the 2/3 quantile of its wet days). With ``p1``
the climatological dry fraction of the cell, the score of a forecast in category ``i``
when the truth is in category ``j`` is ``0.5 S[i, j]`` with

    S = [[0,                   1 / (1 - p1),  4 / (1 - p1)],
         [1 / p1,              0,             3 / (1 - p1)],
         [1 / p1 + 3 / (2 + p1), 3 / (2 + p1), 0           ]]

(rows the forecast, columns the truth: WeatherBench 2's orientation). 0 is perfect; a
forecast no better than climatology scores about 1. Cells whose ``p1`` is below 0.1 or above
0.85 (deserts, and places where it rains nearly every day) are left out, as in both
references: there SEEPS is not stable.

The climatology (``p1`` and the wet threshold) is fitted per calendar month and cell on the
training split's 24 h accumulations (Rodwell et al. use monthly climatologies; WeatherBench
2 a day-of-year one from 30 years of ERA5, which a 3-year training split cannot support).
Differences from WeatherBench 2: a value of exactly 0.25 mm counts as light here (WeatherBench
2's strict inequalities leave it in no category, scored 0). Ensembles are scored by their
mean. The score applies to ``total_precipitation_24hr``; forecast tasks derive it from
6-hour accumulations (``forecast.derived_fields`` in the spec).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from climbench.data.units import conversion
from climbench.errors import DataValueError
from climbench.metrics.scores import (
    Reference,
    Sample,
    Score,
    Statistic,
    register_score,
    register_statistic,
)

VARIABLE = "total_precipitation_24hr"
#: accumulations below this are dry (WeatherBench 2: 0.25 mm)
DRY_MM = 0.25
#: cells outside this range of dry fractions are not scored (WeatherBench 2's defaults)
MIN_P1, MAX_P1 = 0.1, 0.85


def dry_threshold(units: str) -> float:
    """0.25 mm in ``units`` (a precipitation amount: m, mm or kg m-2)."""
    factor = conversion(units, "precipitation_amount")
    if factor is None:
        raise DataValueError(
            "SEEPS needs a precipitation amount",
            variable=VARIABLE,
            expected="units m, mm or kg m-2",
            found=repr(units),
        )
    return DRY_MM * 1e-3 / factor[0]


def _fit_climatology(values: np.ndarray, times: pd.DatetimeIndex, units: str) -> dict:
    """Per month and cell: ``p1`` (the dry fraction) and ``wet_threshold`` (the 2/3
    quantile of wet accumulations), (12, ncell) each; NaN where a month has no wet value."""
    dry = dry_threshold(units)
    months = times.month.to_numpy()
    p1 = np.full((12, values.shape[1]), np.nan, dtype=np.float32)
    wet_threshold = np.full_like(p1, np.nan)
    for m in range(1, 13):
        v = values[months == m]
        if not len(v):
            continue
        finite = np.isfinite(v)
        wet = np.where(finite & (v >= dry), v, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            p1[m - 1] = ((v < dry) & finite).sum(axis=0) / finite.sum(axis=0)
        has_wet = np.isfinite(wet).any(axis=0)
        wet_threshold[m - 1, has_wet] = np.nanquantile(wet[:, has_wet], 2 / 3, axis=0)
    return {"p1": p1, "wet_threshold": wet_threshold, "dry": np.full_like(p1, dry)}


MONTHLY_CLIMATOLOGY = Reference(
    name="seeps-climatology",
    fit=_fit_climatology,
    entry=lambda times: pd.DatetimeIndex(times).month.to_numpy() - 1,
)


def categories(x: np.ndarray, dry: np.ndarray, wet_threshold: np.ndarray) -> np.ndarray:
    """0 (dry), 1 (light) or 2 (heavy) for each value (NaN values give 0; masked later)."""
    return (x >= dry).astype(np.int8) + (x >= wet_threshold)


def scoring_matrix(p1: np.ndarray) -> np.ndarray:
    """``0.5 S`` (3, 3, ...) for dry fractions ``p1`` (see the module docstring)."""
    zero = np.zeros_like(p1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = [
            [zero, 1 / (1 - p1), 4 / (1 - p1)],
            [1 / p1, zero, 3 / (1 - p1)],
            [1 / p1 + 3 / (2 + p1), 3 / (2 + p1), zero],
        ]
    return 0.5 * np.array(s, dtype=np.float32)


def seeps_array(
    forecast: np.ndarray,
    truth: np.ndarray,
    p1: np.ndarray,
    wet_threshold: np.ndarray,
    dry: float | np.ndarray,
) -> np.ndarray:
    """Pointwise SEEPS (broadcasting arrays); NaN where the truth is missing or ``p1`` lies
    outside [0.1, 0.85]."""
    fc = categories(forecast, dry, wet_threshold)
    tc = categories(truth, dry, wet_threshold)
    s = scoring_matrix(np.broadcast_to(p1, np.broadcast_shapes(fc.shape, tc.shape)))
    score = np.take_along_axis(
        np.take_along_axis(s, fc[None, None].astype(np.intp), axis=0)[0],
        tc[None].astype(np.intp),
        axis=0,
    )[0]
    usable = (p1 >= MIN_P1) & (p1 <= MAX_P1) & np.isfinite(truth) & np.isfinite(wet_threshold)
    return np.where(usable, score, np.nan).astype(np.float32)


def _pointwise(sample: Sample, out: np.ndarray) -> None:
    par = sample.parameters
    out[0] = seeps_array(sample.forecast, sample.truth, par["p1"], par["wet_threshold"], par["dry"])


register_statistic(
    Statistic(
        name="seeps",
        quantities=("seeps",),
        reference=MONTHLY_CLIMATOLOGY,
        pointwise=_pointwise,
        applies=lambda variable: variable == VARIABLE,
    )
)
register_score(
    Score(
        "seeps",
        ("seeps",),
        lambda m, _: m["seeps"],
        "stable equitable error in probability space of 24 h precipitation (Rodwell et al. "
        "2010), WeatherBench 2's three-category matrix, monthly training climatology",
    )
)
