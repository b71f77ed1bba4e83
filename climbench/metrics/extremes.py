"""Scores of extremes: Brier score and equitable threat score above training percentiles.

An *event* at a cell is the value exceeding that cell's 90th (or 99th) percentile of the
training split (all training times, per cell: a fixed threshold, so the events of a warm
field fall mostly in its warm season, as for a user asking "above the 90th percentile").
The thresholds come from the training split only and are cached beside the task data.

Per sample the scorer takes area-weighted means (fractions of the area) of

- ``brier_qNN`` = mean (p - o)^2, with ``o = 1[y > t]`` and ``p = 1[f > t]`` for a
  deterministic forecast or the fraction of members above ``t`` for an ensemble (the Brier
  score, Brier 1950);
- ``hit_qNN``, ``false_alarm_qNN``, ``miss_qNN`` = fractions of the area where the forecast
  (the ensemble mean for ensembles) and the truth exceed ``t``: both, only the forecast,
  only the truth.

From their means over samples (the area-and-time contingency table, as fractions ``a, b,
c`` of all cells) the equitable threat score (Gilbert skill score; Wilks 2011, Statistical
Methods in the Atmospheric Sciences, 8.2.2) is

    ETS = (a - a_r) / (a + b + c - a_r),   a_r = (a + b)(a + c)

(``a_r`` the hits expected by chance; 1 is perfect, 0 no skill, at least -1/3). ETS is
undefined (NaN) when neither forecast nor truth has an event.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from climbench.metrics.scores import (
    Reference,
    Sample,
    Score,
    Statistic,
    register_score,
    register_statistic,
)

#: the percentiles scored, as metric-name suffixes
PERCENTILES = {"q90": 0.90, "q99": 0.99}


def _fit_percentiles(values: np.ndarray, times: pd.DatetimeIndex, units: str) -> dict:
    """Per-cell percentiles of the training values, (1, ncell) each (NaN cells ignored)."""
    return {
        key: np.nanquantile(values, q, axis=0).astype(np.float32)[None]
        for key, q in PERCENTILES.items()
    }


TRAINING_PERCENTILES = Reference(
    name="training-percentiles",
    fit=_fit_percentiles,
    entry=lambda times: np.zeros(len(times), dtype=np.int64),
)


def _pointwise(sample: Sample, out: np.ndarray) -> None:
    """``brier, hit, false_alarm, miss`` for each percentile, in :data:`QUANTITIES` order."""
    y = sample.truth
    missing = ~np.isfinite(y)
    for k, key in enumerate(PERCENTILES):
        t = sample.parameters[key]
        observed = y > t
        forecast = sample.forecast > t
        if sample.members is None:
            probability = forecast.astype(np.float32)
        else:
            probability = (sample.members > t[:, None]).mean(axis=1, dtype=np.float32)
        q = out[4 * k : 4 * k + 4]
        np.subtract(probability, observed, out=q[0])
        np.multiply(q[0], q[0], out=q[0])
        q[1] = forecast & observed
        q[2] = forecast & ~observed
        q[3] = ~forecast & observed
        q[:, missing] = np.nan


QUANTITIES = tuple(
    f"{name}_{key}" for key in PERCENTILES for name in ("brier", "hit", "false_alarm", "miss")
)


def _ets(key: str):
    def value(means: Mapping[str, np.ndarray], members: int) -> np.ndarray:
        a, b, c = (means[f"{n}_{key}"] for n in ("hit", "false_alarm", "miss"))
        chance = (a + b) * (a + c)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (a - chance) / (a + b + c - chance)

    return value


register_statistic(
    Statistic(
        name="training-percentile-exceedance",
        quantities=QUANTITIES,
        reference=TRAINING_PERCENTILES,
        pointwise=_pointwise,
        applies=lambda variable: True,
    )
)
for _key, _q in PERCENTILES.items():
    register_score(
        Score(
            f"brier_{_key}",
            (f"brier_{_key}",),
            lambda m, _, k=_key: m[f"brier_{k}"],
            f"Brier score of exceeding the training split's {_q:.0%} percentile per cell "
            "(Brier 1950); the ensemble's probability is its fraction of members above",
        )
    )
    register_score(
        Score(
            f"ets_{_key}",
            tuple(f"{n}_{_key}" for n in ("hit", "false_alarm", "miss")),
            _ets(_key),
            f"equitable threat score of exceeding the training split's {_q:.0%} percentile "
            "(Gilbert skill score, Wilks 2011 8.2.2), from the area-and-time contingency table",
        )
    )
