"""Per-sample statistics in an entry: what paired comparisons between entries need.

The scorer's :class:`~climbench.evaluation.forecast.SampleStatistics` hold every field,
lead, region and statistic per sample (init time, time or year); for a 40-lead forecast
task that is megabytes. An entry keeps a subset that is enough to rank models and grey
scorecard cells: the statistics of the headline and scorecard scores, the headline region
and ``global``, and at most :data:`MAX_LEADS` leads (every lead when there are few, else the
daily ones, the first and the headline lead), as float32. Paired bootstraps on them use the
scorer's own pieces (:mod:`climbench.leaderboard.bootstrap`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from climbench.evaluation.forecast import SampleStatistics
from climbench.leaderboard import arrays
from climbench.metrics.scores import SCORES, load_builtin

MAX_LEADS = 12


def kept_leads(lead_hours: list[float], headline_lead: float | None) -> list[float]:
    """The leads an entry keeps (see the module docstring), ascending."""
    if len(lead_hours) <= MAX_LEADS:
        return sorted(lead_hours)
    keep = {lead_hours[0], *(x for x in lead_hours if x % 24 == 0)}
    if headline_lead is not None:
        keep.add(float(headline_lead))
    keep = sorted(keep)
    if len(keep) > MAX_LEADS:  # thin evenly, keeping the headline lead
        picks = np.unique(np.linspace(0, len(keep) - 1, MAX_LEADS).round().astype(int))
        keep = sorted({keep[i] for i in picks} | ({headline_lead} if headline_lead else set()))
    return keep


def needed_statistics(metrics: tuple[str, ...]) -> set[str]:
    """The per-sample statistics the scores ``metrics`` are computed from (the per-sample
    ACC from ``fo``, ``ff``, ``oo``, as the scorer derives it)."""
    load_builtin()
    wanted = {q for m in metrics if m in SCORES for q in SCORES[m].statistics}
    return (wanted - {"acc"}) | ({"fo", "ff", "oo"} if "acc" in wanted else set())


def encode_samples(
    stats: SampleStatistics, headline_region: str, headline_lead, metrics: tuple[str, ...]
) -> dict:
    """The entry's ``samples`` section from the scorer's statistics: the statistics of
    ``metrics`` (the headline and scorecard scores) only."""
    wanted = needed_statistics(metrics)
    regions = [r for r in dict.fromkeys(["global", headline_region]) if r in stats.regions]
    r_index = [stats.regions.index(r) for r in regions]
    if stats.leads is None:
        lead_hours, l_index = None, [0]
    else:
        hours = [pd.Timedelta(x).total_seconds() / 3600 for x in stats.leads]
        lead_hours = kept_leads(hours, headline_lead)
        l_index = [hours.index(x) for x in lead_hours]
    fields = {}
    for name, values in stats.values.items():
        keep = [k for k, q in enumerate(stats.stats[name]) if q in wanted]
        if not keep:
            continue
        subset = values[:, l_index][:, :, r_index][..., keep]
        fields[name] = {"stats": [stats.stats[name][k] for k in keep], **arrays.encode(subset)}
    samples = stats.samples
    labels = (
        [pd.Timestamp(x).isoformat() for x in samples]
        if np.issubdtype(np.asarray(samples).dtype, np.datetime64)
        else [str(x) for x in samples]
    )
    return {
        "sample_dim": stats.sample_dim,
        "samples": labels,
        "lead_hours": lead_hours,
        "regions": regions,
        "members": int(stats.members),
        "fields": fields,
    }


def decode_samples(section: dict, where: str = "<entry>") -> SampleStatistics:
    """The ``samples`` section as :class:`SampleStatistics` (float64), for
    :func:`~climbench.evaluation.aggregate.paired_difference`."""
    leads = section["lead_hours"]
    return SampleStatistics(
        sample_dim=section["sample_dim"],
        samples=np.asarray(section["samples"]),
        leads=None
        if leads is None
        else np.array([np.timedelta64(int(h * 3600), "s") for h in leads]),
        regions=list(section["regions"]),
        values={
            name: arrays.decode(item, where).astype(np.float64)
            for name, item in section["fields"].items()
        },
        stats={name: tuple(item["stats"]) for name, item in section["fields"].items()},
        members=int(section["members"]),
        spectra={},
        notes=[],
    )
