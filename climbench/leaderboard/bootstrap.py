"""Bootstrap distributions of one entry's scores, computed once and reused for every pair.

:func:`climbench.evaluation.aggregate.paired_difference` resamples both models for each
comparison; a board of ``n`` entries compares each with its group leader and with the
scorecard's reference for every field, lead and metric, so the resampled scores of each
entry are computed once here, with the scorer's own pieces (the same seeded resample
counts, per-sample statistics and registered scores), and a paired difference is then the
difference of two cached distributions: the same numbers ``paired_difference`` gives.
"""

from __future__ import annotations

import warnings

import numpy as np

from climbench.evaluation.aggregate import per_sample_statistics, resample_counts, resampled_means
from climbench.evaluation.forecast import SampleStatistics
from climbench.metrics.scores import scores_from_means


class Distributions:
    """Resampled scores per (entry id, field, metric), computed on first use."""

    def __init__(self, resamples: int) -> None:
        self.resamples = resamples
        self._counts: dict[int, np.ndarray] = {}
        self._cache: dict[tuple, np.ndarray | None] = {}
        self._means: dict[tuple, dict[str, np.ndarray]] = {}

    def get(self, key: str, stats: SampleStatistics, field: str, metric: str) -> np.ndarray | None:
        """(resamples, lead, region) bootstrap values of ``metric`` of ``field``, or None
        when the statistics cannot give that score."""
        item = (key, field, metric)
        if item not in self._cache:
            self._cache[item] = self._compute(stats, field, metric)
        return self._cache[item]

    def _compute(self, stats: SampleStatistics, field: str, metric: str) -> np.ndarray | None:
        if field not in stats.values:
            return None
        key = (id(stats), field)
        if key not in self._means:  # every statistic of the field in one product
            n = stats.samples.size
            if n not in self._counts:
                self._counts[n] = resample_counts(n, self.resamples) / n
            per = per_sample_statistics(stats.values[field], stats.stats[field])
            names = list(per)
            stacked = np.stack([per[k] for k in names], axis=-1)
            resampled = resampled_means(self._counts[n], stacked)
            self._means[key] = {k: resampled[..., i] for i, k in enumerate(names)}
        means = self._means[key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return scores_from_means(means, stats.members).get(metric)


def significant_rows(rows: np.ndarray, base: np.ndarray) -> list[bool]:
    """For each row of ``rows`` (k, resamples): whether the 95% interval of the paired
    difference ``row - base`` excludes zero; undefined resamples (NaN) are left out."""
    diff = np.asarray(rows, float) - np.asarray(base, float)[None, :]
    if np.isfinite(diff).all():
        low, high = np.percentile(diff, [2.5, 97.5], axis=1)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanpercentile(diff, [2.5, 97.5], axis=1)
    return [bool(lo > 0 or hi < 0) for lo, hi in zip(low, high, strict=True)]
