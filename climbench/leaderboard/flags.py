"""Flags an entry carries, computed at submission and never entered by the submitter.

- ``training_overlaps_test``: the card's training periods overlap the task's test split
  (time-split tasks) or its training scenarios include a test scenario (emulation); None
  when the card gives neither, so a reader sees that nobody knows;
- ``missing_fields`` / ``missing_leads``: target fields and lead times of the task that
  have no score in the results;
- ``nan_fraction``: the fraction of NaN values in the predictions' target fields;
- ``missing_card_fields``: recommended card fields left out
  (:data:`climbench.leaderboard.card.RECOMMENDED`).

A fifth, ``below the noise floor``, depends on other entries and is computed when the
site is built (:mod:`climbench.leaderboard.ranking`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.leaderboard.card import RECOMMENDED
from climbench.tasks.spec import Period


def training_overlaps_test(card: dict, spec) -> bool | None:
    """Whether the card's training data touch the test split (see the module docstring)."""
    answers = []
    if spec.emulation is not None and "training_scenarios" in card:
        answers.append(bool(set(card["training_scenarios"]) & set(spec.emulation.test_scenarios)))
    if "test" in spec.splits and "training_periods" in card:
        test = spec.splits["test"]
        answers.append(any(Period(a, b).overlaps(test) for a, b in card["training_periods"]))
    return any(answers) if answers else None


def compute_flags(card: dict, spec, table: pd.DataFrame, predictions: xr.Dataset) -> dict:
    """The entry's ``flags`` section (``table``: this model's tidy results)."""
    scored = {
        name
        for name in (
            f"{v}_{lv:g}" if not pd.isna(lv) else str(v)
            for v, lv in table[["variable", "level"]].drop_duplicates().itertuples(index=False)
        )
    }
    missing_fields = [f.name for f in spec.targets if f.name not in scored]
    missing_leads: list[float] = []
    if spec.forecast is not None:
        have = set(table.lead_hours.dropna().astype(float))
        missing_leads = [float(h) for h in spec.forecast.lead_hours if float(h) not in have]
    names = [f.name for f in spec.targets if f.name in predictions]
    total = sum(int(predictions[n].size) for n in names)
    nans = sum(int(np.isnan(predictions[n]).sum().compute()) for n in names)
    return {
        "training_overlaps_test": training_overlaps_test(card, spec),
        "missing_fields": missing_fields,
        "missing_leads": missing_leads,
        "nan_fraction": nans / total if total else 0.0,
        "missing_card_fields": [k for k in RECOMMENDED if k not in card],
    }
