"""From per-sample statistics to scores, bootstrap confidence intervals and paired tests.

Scores (per field, lead time and region; means are over the samples, i.e. init times) are
the registered :class:`~climbench.metrics.scores.Score` objects (``rmse = sqrt(mean se)``,
``acc = mean(fo / sqrt(ff oo))``, ...: their formulas and references are there), plus
``spectral_divergence``, the divergence of the time-mean zonal spectra (no interval).

Confidence intervals: a percentile bootstrap over samples. ``B`` resamples of the sample
indices with replacement (seeded: the same resamples for every model, so intervals and
paired differences are reproducible) give ``B`` values of each score, computed from the
resampled means of the statistics; the interval is their 2.5 and 97.5 percentiles. A
paired comparison applies the same resamples to both models and reports the interval of the
difference; it is significant when the interval excludes zero.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from climbench.evaluation.forecast import SampleStatistics
from climbench.metrics.scores import scores_from_means
from climbench.metrics.spectral import i_divergence_array

BOOTSTRAP_SEED = 20260101
#: columns of a score table (the results table adds task, version and model in front)
SCORE_COLUMNS = [
    "variable",
    "level",
    "region",
    "lead_hours",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n_samples",
]


def resample_counts(n: int, resamples: int, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """(resamples, n) counts of each sample in each bootstrap resample (multinomial)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)


def resampled_means(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(resamples, ...) means of ``values`` (sample, ...) under normalised ``counts``."""
    n = values.shape[0]
    return (counts @ values.reshape(n, -1)).reshape(-1, *values.shape[1:])


def per_sample_statistics(values: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Statistics by name, adding the per-sample ACC (values: (sample, lead, region, stat))."""
    s = {name: values[..., k] for k, name in enumerate(names)}
    if "fo" in s:
        with np.errstate(invalid="ignore", divide="ignore"):
            s["acc"] = s["fo"] / np.sqrt(s["ff"] * s["oo"])
    return s


def _scores(means: dict[str, np.ndarray], members: int) -> dict[str, np.ndarray]:
    """Scores from (resampled) sample means of the statistics: every registered score
    (:mod:`climbench.metrics.scores`) whose statistics are there."""
    return scores_from_means(means, members)


def score_table(
    stats: SampleStatistics,
    metrics: tuple[str, ...],
    field_meta: dict[str, tuple[str, float | None]],
    resamples: int = 1000,
) -> pd.DataFrame:
    """Tidy scores with bootstrap intervals: one row per field, level, region, lead, metric."""
    n = stats.samples.size
    counts = resample_counts(n, resamples) / n if resamples else None
    wanted = set(metrics) | ({"spread"} if "spread_skill" in metrics else set())
    rows = []
    for name, values in stats.values.items():
        # a derived field has no samples at some leads (a 24 h sum before 24 h): no rows there
        defined = np.isfinite(values).any(axis=tuple(k for k in range(values.ndim) if k != 1))
        per = per_sample_statistics(values, stats.stats[name])
        point = _scores({k: v.mean(axis=0) for k, v in per.items()}, stats.members)
        boot = (
            _scores({k: resampled_means(counts, v) for k, v in per.items()}, stats.members)
            if counts is not None
            else {}
        )
        if name in stats.spectra:
            power = stats.spectra[name]
            point["spectral_divergence"] = (
                i_divergence_array(power[:, 0], power[:, 1])[:, None]
                * np.ones(len(stats.regions))[None, :]
            )
        variable, level = field_meta.get(name, (name, None))
        for metric, value in point.items():
            if metric not in wanted:
                continue
            low = high = None
            if metric in boot:
                with warnings.catch_warnings():  # an undefined score (e.g. the ACC of the
                    warnings.simplefilter("ignore", RuntimeWarning)  # climatology) is NaN
                    low, high = np.nanpercentile(boot[metric], [2.5, 97.5], axis=0)
            for j, lead in enumerate(_lead_hours(stats)):
                if not defined[j]:
                    continue
                for r, region in enumerate(stats.regions):
                    if metric == "spectral_divergence" and region != "global":
                        continue
                    rows.append(
                        (
                            variable,
                            level,
                            region,
                            lead,
                            metric,
                            float(value[j, r]),
                            np.nan if low is None else float(low[j, r]),
                            np.nan if high is None else float(high[j, r]),
                            n,
                        )
                    )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _lead_hours(stats: SampleStatistics) -> list[float]:
    if stats.leads is None:
        return [np.nan]
    return [pd.Timedelta(x).total_seconds() / 3600 for x in stats.leads]


def paired_difference(
    a: SampleStatistics,
    b: SampleStatistics,
    metric: str,
    field: str,
    resamples: int = 1000,
) -> pd.DataFrame:
    """``metric(a) - metric(b)`` per lead and region with a paired bootstrap interval.

    Both must be scored on the same samples (the same task and protocol).
    """
    if not np.array_equal(a.samples, b.samples):
        raise ValueError("paired comparison needs the same samples (same task and protocol)")
    n = a.samples.size
    counts = resample_counts(n, resamples) / n
    results = []
    for stats in (a, b):
        per = per_sample_statistics(stats.values[field], stats.stats[field])
        point = _scores({k: v.mean(axis=0) for k, v in per.items()}, stats.members)[metric]
        boot = _scores({k: resampled_means(counts, v) for k, v in per.items()}, stats.members)[
            metric
        ]
        results.append((point, boot))
    diff = results[0][0] - results[1][0]
    low, high = np.nanpercentile(results[0][1] - results[1][1], [2.5, 97.5], axis=0)
    rows = []
    for j, lead in enumerate(_lead_hours(a)):
        for r, region in enumerate(a.regions):
            rows.append(
                (
                    field,
                    region,
                    lead,
                    metric,
                    float(diff[j, r]),
                    float(low[j, r]),
                    float(high[j, r]),
                    bool(low[j, r] > 0 or high[j, r] < 0),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "field",
            "region",
            "lead_hours",
            "metric",
            "difference",
            "ci_low",
            "ci_high",
            "significant",
        ],
    )
