"""The scorer's metrics as statistics plus aggregation (the WeatherBench-X pattern).

A :class:`Score` names the per-sample statistics it needs and how its value follows from
their means over samples. The scorer reduces each sample (an init time and lead, a time
step, a scenario-year) to region-weighted statistics once
(:mod:`climbench.evaluation.statistics`); every
score, its bootstrap interval (the same formula on resampled means) and a paired
comparison then come from those means. A new score is one :func:`register_score` line, in
this file or in a user's own module, and a task spec may name it at once.

Statistics available per sample (area-weighted means over a region's cells; ``f``
forecast, ``o`` truth, ``c`` climatology, members ``m = 1..M``):

- ``se`` = mean (f - o)^2, ``ae`` = mean |f - o|, ``e`` = mean (f - o) (the ensemble mean
  for ensembles);
- ``fo``, ``ff``, ``oo`` = means of (f - c)(o - c), (f - c)^2, (o - c)^2, and the per-sample
  ``acc`` = fo / sqrt(ff oo) (forecast tasks, against the training climatology);
- ``crps``: fair ensemble CRPS (Ferro 2014), ``var``: ensemble variance (ensembles);
- ``vse``: squared error of the wind vector (forecasts with both 10 m wind components).

Which statistics a task kind's scorer provides is part of the kind
(:attr:`climbench.tasks.kinds.TaskKind.provides`).

Beyond these, a :class:`Statistic` adds per-sample quantities the scorer computes in the
same pass from each block of forecasts and truth, with per-cell parameters fitted on the
training split (a :class:`Reference`: thresholds, dry fractions). A new metric that needs
its own statistic is then one module holding the statistic, its reference and its scores
(:mod:`climbench.metrics.extremes`, :mod:`climbench.metrics.seeps`), plus its import line in
:data:`BUILTIN_MODULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module

import numpy as np
import pandas as pd

from climbench.registry import Registry

#: ``value(means, members)``: a score from the sample means of its statistics
Aggregation = Callable[[Mapping[str, np.ndarray], int], np.ndarray]


@dataclass(frozen=True)
class Score:
    """A metric of the scorer.

    Attributes:
        name: how specs and results tables name it.
        statistics: the per-sample statistics it needs (see the module docstring).
        value: the score from the (weighted or resampled) means of those statistics and the
            ensemble size (0 for a deterministic forecast).
        description: the formula and its reference, for docs and ``climbench`` listings.
    """

    name: str
    statistics: tuple[str, ...]
    value: Aggregation
    description: str


SCORES: Registry[Score] = Registry("metric")


@dataclass(frozen=True)
class Reference:
    """Per-cell parameters of a field fitted on the training split, for a :class:`Statistic`.

    Attributes:
        name: names the cached fit (``<task data>/training-references/<name>/<field>.zarr``).
        fit: ``fit(values, times, units) -> {parameter: (entries, ncell) array}`` from the
            training split's ``values`` (time, ncell) at ``times``, in the field's ``units``.
        entry: ``entry(valid_times) -> (n,) int``: the row of the parameters that applies
            at each valid time (0 for a fixed parameter, the month for a monthly one).
    """

    name: str
    fit: Callable[[np.ndarray, pd.DatetimeIndex, str], dict[str, np.ndarray]]
    entry: Callable[[pd.DatetimeIndex], np.ndarray]


@dataclass(frozen=True)
class Sample:
    """A block of rows (samples) handed to :attr:`Statistic.pointwise`, each (rows, ncell).

    ``forecast`` is the deterministic forecast or the ensemble mean, ``members`` the
    (rows, members, ncell) ensemble or None, ``parameters`` the :class:`Reference`
    parameters at each row's valid time.
    """

    forecast: np.ndarray
    members: np.ndarray | None
    truth: np.ndarray
    parameters: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Statistic:
    """Per-sample statistics computed pointwise in the scorer's pass, then area-averaged.

    Attributes:
        name: the family's name.
        quantities: names of the statistics it produces (what :class:`Score` objects ask for).
        reference: the training-split parameters it needs.
        pointwise: ``pointwise(sample, out)`` fills ``out`` (len(quantities), rows, ncell)
            float32; NaN where a quantity is undefined (that cell is left out of that
            quantity's area mean, as masked truth is).
        applies: ``applies(variable)``: the canonical variables it is computed for.
    """

    name: str
    quantities: tuple[str, ...]
    reference: Reference
    pointwise: Callable[[Sample, np.ndarray], None]
    applies: Callable[[str], bool]


STATISTICS: Registry[Statistic] = Registry("statistic")
#: modules that register the statistics and scores beyond this file's (one line each)
BUILTIN_MODULES = ("climbench.metrics.extremes", "climbench.metrics.seeps")


def register_statistic(statistic: Statistic) -> Statistic:
    """Add a statistic: scorers that take registered statistics compute it for every field it
    applies to whenever a task's metrics need one of its quantities."""
    return STATISTICS.register(statistic)


def load_builtin() -> None:
    """Import the modules of :data:`BUILTIN_MODULES` (their import registers them)."""
    for module in BUILTIN_MODULES:
        import_module(module)


def registered_quantities() -> tuple[str, ...]:
    """Every quantity of a registered :class:`Statistic`."""
    load_builtin()
    return tuple(q for s in STATISTICS.values() for q in s.quantities)


def statistics_needed(metrics: tuple[str, ...], variable: str) -> list[Statistic]:
    """The registered statistics that ``variable`` needs for ``metrics``."""
    load_builtin()
    wanted = {q for m in metrics if m in SCORES for q in SCORES[m].statistics}
    return [s for s in STATISTICS.values() if s.applies(variable) and wanted & set(s.quantities)]


def register_score(score: Score) -> Score:
    """Add a score to the registry: ``evaluate`` reports it for every task whose spec
    names it and whose scorer provides its statistics."""
    return SCORES.register(score)


def scores_from_means(means: Mapping[str, np.ndarray], members: int) -> dict[str, np.ndarray]:
    """Every registered score whose statistics are in ``means``."""
    load_builtin()
    return {
        s.name: s.value(means, members)
        for s in SCORES.values()
        if all(k in means for k in s.statistics)
    }


def _spread_skill(means: Mapping[str, np.ndarray], members: int) -> np.ndarray:
    return np.sqrt((members + 1) / members) * np.sqrt(means["var"]) / np.sqrt(means["se"])


register_score(Score("mse", ("se",), lambda m, _: m["se"], "mean of se"))
register_score(
    Score(
        "rmse",
        ("se",),
        lambda m, _: np.sqrt(m["se"]),
        "sqrt(mean se): the root after the time mean (WeatherBench 2, Rasp et al. 2024)",
    )
)
register_score(Score("mae", ("ae",), lambda m, _: m["ae"], "mean of ae"))
register_score(Score("bias", ("e",), lambda m, _: m["e"], "mean of e (forecast - truth)"))
register_score(
    Score(
        "crps",
        ("ae",),
        lambda m, _: m.get("crps", m["ae"]),
        "mean fair CRPS (Ferro 2014); a deterministic forecast's CRPS is its MAE",
    )
)
register_score(
    Score(
        "acc",
        ("acc",),
        lambda m, _: m["acc"],
        "mean over samples of fo / sqrt(ff oo), the uncentred anomaly correlation against "
        "the training climatology (WeatherBench 2)",
    )
)
register_score(
    Score("spread", ("var",), lambda m, _: np.sqrt(m["var"]), "sqrt(mean ensemble variance)")
)
register_score(
    Score(
        "spread_skill",
        ("var", "se"),
        _spread_skill,
        "sqrt((M + 1) / M) spread / rmse (Fortin et al. 2014): 1 for a reliable ensemble",
    )
)
register_score(
    Score(
        "wind_vector_rmse",
        ("vse",),
        lambda m, _: np.sqrt(m["vse"]),
        "sqrt(mean vse), the RMSE of the 10 m wind vector (WeatherBench 2)",
    )
)
