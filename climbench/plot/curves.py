"""Lead-time curves: one score against lead time per model, with its interval band."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from climbench.errors import ConfigError
from climbench.plot.figure import OKABE_ITO, new_figure


def select(
    table: pd.DataFrame, variable: str, metric: str, region: str = "global", level=None
) -> pd.DataFrame:
    """Rows of one field, metric and region of a tidy results table."""
    sel = (table.variable == variable) & (table.metric == metric) & (table.region == region)
    sel &= table.level.isna() if level is None or pd.isna(level) else table.level == level
    rows = table[sel]
    if rows.empty:
        raise ConfigError(
            "no such scores in the results table",
            variable=f"{variable}{'' if level is None else f' {level:g}'} {metric} {region}",
            expected="a variable, level, metric and region of the table",
            found=f"metrics {sorted(set(table.metric))}, variables {sorted(set(table.variable))}",
        )
    return rows


def lead_time_curves(
    table: pd.DataFrame,
    variable: str,
    metric: str = "rmse",
    *,
    level: float | None = None,
    region: str = "global",
    relative_to: str | None = None,
    floor: float | None = None,
    title: str | None = None,
) -> Figure:
    """``metric`` against lead time (days) for every model of ``table``, with the 95%
    interval as a band; ``relative_to`` a model name plots ``value / reference - 1`` in %;
    ``floor`` draws a noise floor as a dashed line."""
    rows = select(table, variable, metric, region, level)
    fig = new_figure()
    ax = fig.add_subplot()
    ref = None
    if relative_to is not None:
        ref = rows[rows.model == relative_to].set_index("lead_hours").value
        if ref.empty:
            raise ConfigError(
                "relative_to names no model of the table",
                variable="relative_to",
                expected="one of " + ", ".join(sorted(set(rows.model))),
                found=repr(relative_to),
            )
    for i, (model, group) in enumerate(rows.groupby("model", sort=False)):
        group = group.sort_values("lead_hours")
        x = group.lead_hours.to_numpy(float) / 24
        y, lo, hi = (group[c].to_numpy(float) for c in ("value", "ci_low", "ci_high"))
        if ref is not None:
            base = ref.reindex(group.lead_hours).to_numpy(float)
            y, lo, hi = (100 * (v / base - 1) for v in (y, lo, hi))
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(x, y, marker="o" if len(x) < 3 else None, color=colour, label=str(model))
        if np.isfinite(lo).any():
            ax.fill_between(x, lo, hi, color=colour, alpha=0.2, linewidth=0)
    if floor is not None and ref is None:
        ax.axhline(floor, color="0.3", linestyle="--", label="noise floor")
    ax.set_xlabel("lead time (days)")
    ax.set_ylabel(f"{metric} (% vs {relative_to})" if ref is not None else metric)
    name = variable if level is None else f"{variable} {level:g}"
    ax.set_title(title or f"{name}, {region}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig
