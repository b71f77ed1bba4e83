"""Results of scoring: the tidy table, the JSON summary, per-sample statistics, a rich table.

Files written by :meth:`Results.write` into a results folder (atomically, as one folder):

- ``results.parquet`` and ``results.csv``: one row per task, version, model, variable,
  level, region, lead time and metric, with ``value``, ``ci_low``, ``ci_high``;
- ``summary.json``: the task (``name@version`` and its protocol digest), the headline score
  of every model with its interval, notes from validation, library versions;
- ``samples/<model>.nc``: the per-sample statistics, so ``climbench compare`` can test two
  results against each other (paired bootstrap) without the predictions.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from rich.console import Console
from rich.table import Table

from climbench.errors import ConfigError
from climbench.evaluation.aggregate import SCORE_COLUMNS
from climbench.evaluation.forecast import SampleStatistics
from climbench.io import atomic_directory, write_json_atomic
from climbench.version import __version__

COLUMNS = ["task", "version", "model", *SCORE_COLUMNS]


@dataclass
class Results:
    """Scores of one or more models on one task (see the module docstring)."""

    task: object
    table: pd.DataFrame
    statistics: dict[str, SampleStatistics] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def headline(self) -> pd.DataFrame:
        """The headline score per model (one row each), with its interval."""
        h = self.task.spec.headline
        t = self.table
        field_var, field_level = _split_field(self.task, h.field)
        sel = (t.metric == h.metric) & (t.variable == field_var) & (t.region == h.region)
        sel &= t.level.isna() if field_level is None else (t.level == field_level)
        if h.lead_hours is not None:
            sel &= t.lead_hours == h.lead_hours
        return t[sel][["model", "value", "ci_low", "ci_high"]].reset_index(drop=True)

    def summary(self) -> dict:
        spec = self.task.spec
        head = self.headline()
        return {
            "task": spec.id,
            "task_digest": spec.digest(),
            "headline": {
                "metric": spec.headline.metric,
                "field": spec.headline.field,
                "region": spec.headline.region,
                "lead_hours": spec.headline.lead_hours,
                "higher_is_better": spec.headline.higher_is_better,
                "scores": {
                    r.model: {
                        "value": r.value,
                        "ci_low": _nan_none(r.ci_low),
                        "ci_high": _nan_none(r.ci_high),
                    }
                    for r in head.itertuples()
                },
            },
            "models": sorted(self.table.model.unique().tolist()),
            "notes": self.notes,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "climbench_version": __version__,
        }

    def write(
        self,
        out: str | os.PathLike,
        overwrite: bool = False,
        inputs: Sequence[str | os.PathLike] = (),
    ) -> Path:
        """Write the results folder (see the module docstring); returns its path.

        ``out`` must be a new path, or an earlier results folder with ``overwrite``; it may
        not be, contain or lie inside the task data or one of ``inputs`` (the predictions
        scored): :func:`climbench.io.atomic_directory`.
        """
        out = Path(out)
        inputs = [*inputs, self.task.data_dir]
        with atomic_directory(out, "results", overwrite=overwrite, inputs=inputs) as tmp:
            tmp.mkdir(parents=True)
            self.table.to_parquet(tmp / "results.parquet", index=False)
            self.table.to_csv(tmp / "results.csv", index=False)
            write_json_atomic(tmp / "summary.json", self.summary())
            (tmp / "samples").mkdir()
            for model, stats in self.statistics.items():
                statistics_to_dataset(stats).to_netcdf(tmp / "samples" / f"{safe_name(model)}.nc")
        return out

    def print(self, console: Console | None = None, metric: str | None = None) -> None:
        """A rich table: one row per field and lead, one column per model."""
        console = console or Console()
        spec = self.task.spec
        metric = metric or spec.headline.metric
        region = spec.headline.region
        if metric not in set(self.table.metric):
            raise ConfigError(
                "no such metric in the results",
                path=spec.id,
                variable=metric,
                expected="one of " + ", ".join(sorted(set(self.table.metric))),
                found=repr(metric),
            )
        t = self.table[(self.table.metric == metric) & (self.table.region == region)]
        models = list(dict.fromkeys(t.model))
        leads = _display_leads(t.lead_hours.dropna().unique())
        title = f"{spec.id}: {metric} ({region}); 95% bootstrap interval in brackets"
        table = Table(title=title)
        table.add_column("field")
        if leads:
            table.add_column("lead (h)", justify="right")
        for m in models:
            table.add_column(m, justify="right")
        fields = t[["variable", "level"]].drop_duplicates().itertuples(index=False)
        for variable, level in fields:
            name = variable if pd.isna(level) else f"{variable} {level:g}"
            rows = t[
                (t.variable == variable) & (t.level.isna() if pd.isna(level) else t.level == level)
            ]
            for lead in leads if len(leads) else [np.nan]:
                cells = []
                for m in models:
                    r = rows[
                        (rows.model == m)
                        & (
                            (rows.lead_hours == lead)
                            if not pd.isna(lead)
                            else rows.lead_hours.isna()
                        )
                    ]
                    cells.append(_cell(r))
                table.add_row(name, *([f"{lead:g}"] if leads else []), *cells)
        console.print(table)


def safe_name(model: str) -> str:
    """A model name usable as a file name (path separators and spaces replaced)."""
    return "".join(c if c.isalnum() or c in "-_.+@" else "_" for c in model)


def _cell(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "-"
    r = rows.iloc[0]
    text = f"{r.value:.4g}"
    if not pd.isna(r.ci_low):
        text += f" [{r.ci_low:.3g}, {r.ci_high:.3g}]"
    return text


def _display_leads(leads: np.ndarray) -> list[float]:
    """A few representative leads: 1, 3, 5, 10 days when present, else all (up to 6)."""
    leads = sorted(float(x) for x in leads)
    preferred = [x for x in (6.0, 24.0, 72.0, 120.0, 240.0) if x in leads]
    return preferred if len(preferred) >= 3 else leads[:6]


def _split_field(task, name: str) -> tuple[str, float | None]:
    for f in task.spec.targets:
        if f.name == name:
            return f.variable, f.level
    return name, None


def _nan_none(x: float) -> float | None:
    return None if pd.isna(x) else float(x)


def statistics_to_dataset(stats: SampleStatistics) -> xr.Dataset:
    """Per-sample statistics as a netCDF-ready dataset (one variable per field)."""
    leads = stats.leads if stats.leads is not None else np.array([0], dtype="timedelta64[ns]")
    data = {}
    for name, values in stats.values.items():
        data[name] = xr.DataArray(
            values,
            dims=(stats.sample_dim, "lead_time", "region", f"stat_{name}"),
            coords={f"stat_{name}": list(stats.stats[name])},
        )
    ds = xr.Dataset(
        data, coords={stats.sample_dim: stats.samples, "lead_time": leads, "region": stats.regions}
    )
    ds.attrs.update(members=stats.members, has_leads=int(stats.leads is not None))
    return ds


def statistics_from_dataset(ds: xr.Dataset) -> SampleStatistics:
    """Inverse of :func:`statistics_to_dataset`."""
    sample_dim = "init_time" if "init_time" in ds.dims else "time"
    return SampleStatistics(
        sample_dim=sample_dim,
        samples=ds[sample_dim].values,
        leads=ds["lead_time"].values if int(ds.attrs.get("has_leads", 1)) else None,
        regions=[str(r) for r in ds["region"].values],
        values={str(k): v.values for k, v in ds.data_vars.items()},
        stats={str(k): tuple(str(s) for s in ds[f"stat_{k}"].values) for k in ds.data_vars},
        members=int(ds.attrs.get("members", 0)),
        spectra={},
        notes=[],
    )
