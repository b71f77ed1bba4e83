"""Ranks with ties, scorecards and the noise floor, from entries of one task version.

Ranks (the headline score of the task spec: metric, field, region, lead). The ranked
entries are those neither retracted, superseded nor noise floors. They are sorted by
their headline value (best first). The best entry leads group 1; every entry whose paired
bootstrap difference from the leader (the scorer's
:func:`~climbench.evaluation.aggregate.paired_difference` on the entries' per-sample
statistics: same resamples of the same test samples, 95% interval) includes zero shares
its rank. The best entry not yet placed leads the next group, with the rank of its
position in the sorted list (competition ranking: 1, 1, 3), and so on. Where the headline
score is not computed from per-sample statistics (the emulation NRMSE, whose global term
needs the whole period) or samples differ, two entries tie when their 95% intervals
overlap, a conservative test, and the entry's notes say so.

Scorecards (WeatherBench 2 style): per entry, field and lead, the % difference of RMSE
from a reference entry (``(m - r) / r``; for ACC the difference of ``1 - ACC``, so
negative is better for both), the absolute value, and whether the paired difference is
significant (its interval excludes zero); the cells that are not significant are greyed.

Noise floor: the headline score of the task's ``noise-floor`` entry (the forced response
against the finite-ensemble target). An entry scoring better than it is flagged: no
emulator can be expected to beat the forced response, so a better score is chance or
leakage (Lütjens et al., ClimateBench).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from climbench.evaluation.forecast import SampleStatistics
from climbench.leaderboard.bootstrap import Distributions, significant_rows
from climbench.leaderboard.results_codec import decode_results
from climbench.leaderboard.samples import decode_samples

#: resamples of the paired bootstraps behind ranks and scorecards
RESAMPLES = 1000
#: scorecard metrics, when the task scores them
SCORECARD_METRICS = ("rmse", "acc")
#: scorecard columns of forecast tasks: the first lead and 1, 3, 5, 7 and 10 days (hours)
SCORECARD_LEADS = (24.0, 72.0, 120.0, 168.0, 240.0)
INTERVAL_NOTE = "tie test: 95% intervals overlap (no paired statistics for this score)"


def results_frame(entry: dict) -> pd.DataFrame:
    """An entry's results as the scorer's tidy table (with task, version and model)."""
    table = pd.DataFrame(decode_results(entry["results"]))
    for column in ("level", "lead_hours", "value", "ci_low", "ci_high"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    table.insert(0, "model", entry["model"]["name"])
    table.insert(0, "version", entry["task"]["version"])
    table.insert(0, "task", entry["task"]["name"])
    return table


def field_name(variable: str, level) -> str:
    """``geopotential_500`` for a level field, the variable otherwise (as ``Field.name``)."""
    return str(variable) if level is None or level != level else f"{variable}_{float(level):g}"


def score_index(entry: dict) -> dict[tuple, tuple[float, float | None, float | None]]:
    """``(field, metric, region, lead_hours or None) -> (value, ci_low, ci_high)`` of an
    entry: constant-time look-ups for tables, scorecards and charts."""
    cached = entry.get("_index")
    if cached is not None:
        return cached
    index = {}
    for s in entry["results"]:
        field = field_name(s["variable"], s["level"])
        for lead, *score in zip(
            s["lead_hours"], s["value"], s["ci_low"], s["ci_high"], strict=True
        ):
            key = (field, s["metric"], s["region"], None if lead is None else float(lead))
            index[key] = tuple(score)
    entry["_index"] = index
    return index


def lookup(entry: dict, field: str, metric: str, region: str, lead) -> tuple | None:
    """``(value, ci_low, ci_high)`` of one score of an entry, or None."""
    value = score_index(entry).get((field, metric, region, None if lead is None else float(lead)))
    return None if value is None or value[0] is None else value


@dataclass
class Ranked:
    """One entry's place on its task's board."""

    entry: dict
    value: float | None
    ci_low: float | None
    ci_high: float | None
    rank: int | None = None
    tied_with_leader: bool = False
    status: str = "ranked"  # ranked, retracted, superseded, noise-floor
    notes: list[str] = field(default_factory=list)


def _samples(entry: dict) -> SampleStatistics | None:
    section = entry.get("samples")
    return decode_samples(section, entry["id"]) if section else None


class Comparisons:
    """Paired tests between entries of one board, from cached bootstrap distributions."""

    def __init__(self) -> None:
        self.samples: dict[str, SampleStatistics | None] = {}
        self.distributions = Distributions(RESAMPLES)

    def stats(self, entry: dict) -> SampleStatistics | None:
        if entry["id"] not in self.samples:
            self.samples[entry["id"]] = _samples(entry)
        return self.samples[entry["id"]]

    def _distribution(self, entry: dict, ref: SampleStatistics, metric, field_name, lead, region):
        """(resamples,) bootstrap values of one score of ``entry``, or None when it is not
        comparable with ``ref`` (no or other samples, or a score the statistics cannot
        give)."""
        stats = self.stats(entry)
        if stats is None or ref is None or list(stats.regions) != list(ref.regions):
            return None
        if not np.array_equal(stats.samples, ref.samples) or region not in stats.regions:
            return None
        values = self.distributions.get(entry["id"], stats, field_name, metric)
        hours = [None] if stats.leads is None else [x / np.timedelta64(1, "h") for x in stats.leads]
        lead = None if lead is None else float(lead)
        if values is None or lead not in hours:
            return None
        return values[:, hours.index(lead), list(stats.regions).index(region)]

    def different_many(self, others: list[dict], b: dict, metric, field_name, lead, region):
        """For each of ``others``: whether it differs significantly from ``b`` at one
        score (None: not comparable). Vectorised over ``others``."""
        ref = self.stats(b)
        base = self._distribution(b, ref, metric, field_name, lead, region)
        out: list[bool | None] = [None] * len(others)
        if base is None:
            return out
        rows = [self._distribution(a, ref, metric, field_name, lead, region) for a in others]
        index = [i for i, r in enumerate(rows) if r is not None]
        if index:
            flags = significant_rows(np.stack([rows[i] for i in index]), base)
            for i, flag in zip(index, flags, strict=True):
                out[i] = flag
        return out

    def different(self, a: dict, b: dict, metric: str, field_name: str, lead, region: str):
        """:meth:`different_many` for one pair."""
        return self.different_many([a], b, metric, field_name, lead, region)[0]


def rank_entries(entries: list[dict], spec, retracted: dict[str, dict]) -> list[Ranked]:
    """Every entry of one task version with its status and rank (module docstring)."""
    h = spec.headline
    superseded = {e["supersedes"] for e in entries if e.get("supersedes")}
    out = []
    for e in entries:
        row = lookup(e, h.field, h.metric, h.region, h.lead_hours)
        item = Ranked(e, *(row if row is not None else (None, None, None)))
        if e["id"] in retracted:
            item.status = "retracted"
            item.notes.append("retracted: " + str(retracted[e["id"]].get("reason", "")))
        elif e["id"] in superseded:
            item.status = "superseded"
        elif e["model"].get("type") == "noise-floor":
            item.status = "noise-floor"
        out.append(item)
    sign = -1.0 if h.higher_is_better else 1.0
    ranked = sorted(
        (r for r in out if r.status == "ranked" and r.value is not None and np.isfinite(r.value)),
        key=lambda r: (sign * r.value, r.entry["model"]["name"], r.entry["id"]),
    )
    tests = Comparisons()
    position = {id(r): i + 1 for i, r in enumerate(ranked)}
    for r in ranked:
        if r.rank is not None:
            continue
        r.rank = position[id(r)]
        unplaced = [other for other in ranked if other.rank is None]
        flags = tests.different_many(
            [o.entry for o in unplaced], r.entry, h.metric, h.field, h.lead_hours, h.region
        )
        for other, differs in zip(unplaced, flags, strict=True):
            if differs is None:
                differs = _intervals_apart(other, r)
                if INTERVAL_NOTE not in other.notes:
                    other.notes.append(INTERVAL_NOTE)
            if differs is False:
                other.rank = r.rank
                other.tied_with_leader = True
    floor = next((r for r in out if r.status == "noise-floor" and r.value is not None), None)
    if floor is not None:
        for r in ranked:
            if sign * r.value < sign * floor.value:
                r.notes.append(
                    f"scores better than the noise floor ({floor.value:.4g}): chance or leakage"
                )
    return out


def _intervals_apart(a: Ranked, b: Ranked) -> bool:
    """The fallback tie test where no paired statistics exist: the two 95% intervals do
    not overlap (conservative: overlapping intervals may still differ significantly)."""
    if None in (a.ci_low, a.ci_high, b.ci_low, b.ci_high):
        return True
    return a.ci_low > b.ci_high or b.ci_low > a.ci_high


@dataclass
class Cell:
    """One scorecard cell."""

    value: float
    percent: float
    significant: bool | None


def scorecard(
    board: list[Ranked], spec, reference: dict
) -> tuple[list[str], list[tuple[str, str, float | None]], dict[tuple[str, str], dict]]:
    """``(metrics, columns, cells)``: columns are ``(field, metric, lead)``; cells are keyed
    by ``(entry id, column key)`` (``field|metric|lead``) and hold :class:`Cell`."""
    section = reference.get("samples") or {}
    stored = section.get("lead_hours") or [None]
    leads = [x for x in stored if x is None or x == stored[0] or x in SCORECARD_LEADS] or stored
    have = {key[1] for key in score_index(reference)}
    metrics = [m for m in SCORECARD_METRICS if m in have] or [spec.headline.metric]
    columns = []
    for metric in metrics:
        for f in spec.targets:
            for lead in leads:
                if lookup(reference, f.name, metric, "global", lead) is not None:
                    columns.append((f.name, metric, lead))
    tests = Comparisons()
    cells: dict = {}
    for item in board:
        if item.status not in ("ranked", "noise-floor"):
            continue
        for name, metric, lead in columns:
            row = lookup(item.entry, name, metric, "global", lead)
            ref = lookup(reference, name, metric, "global", lead)
            if row is None or ref is None:
                continue
            m, r = float(row[0]), float(ref[0])
            if metric == "acc":
                m_err, r_err = 1 - m, 1 - r
            else:
                m_err, r_err = m, r
            percent = 100.0 * (m_err - r_err) / r_err if r_err else float("nan")
            significant = None
            if item.entry["id"] != reference["id"]:
                significant = tests.different(item.entry, reference, metric, name, lead, "global")
            cells[(item.entry["id"], column_key(name, metric, lead))] = Cell(
                m, percent, significant
            )
    return metrics, columns, cells


def column_key(name: str, metric: str, lead) -> str:
    return f"{name}|{metric}|{'' if lead is None else f'{lead:g}'}"
