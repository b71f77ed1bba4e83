"""WeatherBench-2-style scorecards: % difference of each model from a reference.

``percent = 100 (m - r) / r`` for error scores (RMSE, MAE, CRPS, ...); for ACC the same on
``1 - ACC`` (Rasp et al. 2024, WeatherBench 2), so negative is better everywhere. Cells
whose paired difference is not significant are grey; each cell shows the model's
absolute value.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from climbench.errors import ConfigError
from climbench.plot.figure import DIVERGING, new_figure

#: the colour scale saturates at this % difference
LIMIT = 20.0
NOT_SIGNIFICANT = "#d9d9d9"
#: scores where higher is better, compared on 1 - value
SKILL_SCORES = ("acc",)


def percent_difference(
    table: pd.DataFrame,
    reference: str,
    metrics: tuple[str, ...] = ("rmse", "acc"),
    region: str = "global",
) -> pd.DataFrame:
    """One row per model (other than ``reference``), field, metric and lead: ``value``,
    ``reference_value`` and ``percent`` (module docstring)."""
    t = table[(table.region == region) & table.metric.isin(metrics)]
    if reference not in set(t.model):
        raise ConfigError(
            "reference model not in the results table",
            variable="reference",
            expected="one of " + ", ".join(sorted(set(table.model))),
            found=repr(reference),
        )
    keys = ["variable", "level", "metric", "lead_hours"]
    ref = t[t.model == reference][[*keys, "value"]].rename(columns={"value": "reference_value"})
    merged = t[t.model != reference].merge(ref, on=keys, how="inner")
    m, r = merged.value.to_numpy(float), merged.reference_value.to_numpy(float)
    skill = merged.metric.isin(SKILL_SCORES).to_numpy()
    m, r = np.where(skill, 1 - m, m), np.where(skill, 1 - r, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        merged["percent"] = 100 * (m - r) / r
    return merged[["model", *keys, "value", "reference_value", "percent"]]


def scorecard(
    table: pd.DataFrame,
    reference: str,
    metric: str = "rmse",
    *,
    region: str = "global",
    significant: Mapping[tuple, bool] | None = None,
    title: str | None = None,
) -> Figure:
    """A scorecard of ``metric``: rows model x field, columns lead times; ``significant``
    maps ``(model, variable, level, lead_hours)`` to whether the difference from the
    reference is significant (missing: shown as significant)."""
    diff = percent_difference(table, reference, (metric,), region)
    if diff.empty:
        raise ConfigError(
            "nothing to compare with the reference",
            variable=metric,
            expected="scores of other models at the reference's fields and leads",
            found="none",
        )
    diff = diff.assign(
        field=[
            v if pd.isna(lv) else f"{v} {lv:g}"
            for v, lv in zip(diff.variable, diff.level, strict=False)
        ]
    )
    rows = list(dict.fromkeys(zip(diff.model, diff.field, strict=False)))
    leads = sorted(diff.lead_hours.dropna().unique()) or [np.nan]
    grid = np.full((len(rows), len(leads)), np.nan)
    values = np.full_like(grid, np.nan)
    grey = np.zeros_like(grid, dtype=bool)
    for r in diff.itertuples():
        i = rows.index((r.model, r.field))
        j = 0 if pd.isna(r.lead_hours) else leads.index(r.lead_hours)
        grid[i, j], values[i, j] = r.percent, r.value
        key = (r.model, r.variable, None if pd.isna(r.level) else r.level, r.lead_hours)
        grey[i, j] = significant is not None and significant.get(key) is False
    fig = new_figure(1.6 + 0.7 * len(leads), 0.9 + 0.32 * len(rows))
    ax = fig.add_subplot()
    shown = np.ma.masked_where(grey | np.isnan(grid), np.clip(grid, -LIMIT, LIMIT))
    ax.imshow(np.where(grey, 1, np.nan), cmap="Greys", vmin=0, vmax=6, aspect="auto")
    image = ax.imshow(shown, cmap=DIVERGING, norm=TwoSlopeNorm(0, -LIMIT, LIMIT), aspect="auto")
    for i in range(len(rows)):
        for j in range(len(leads)):
            if np.isfinite(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.3g}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(leads)), [f"{x / 24:g} d" if np.isfinite(x) else "" for x in leads])
    ax.set_yticks(range(len(rows)), [f"{m}: {f}" for m, f in rows], fontsize=7)
    ax.set_title(title or f"{metric}: % difference from {reference} ({region})", fontsize=9)
    fig.colorbar(image, ax=ax, label="% (negative: better)", shrink=0.8)
    return fig
