"""Compare a new results table with the committed one: every shared score must agree.

After a change that must not move any score (a refactor, a faster scorer), rerun the
commands of ``baselines/README.md`` (or a subset of the models) and compare::

    python baselines/compare_results.py results/emulation-synthetic/results.csv \
        baselines/results/emulation-synthetic/results.csv --rtol 1e-6

Rows are matched on task, version, model, variable, level, region, lead and metric; the
value and both interval ends are compared. ``--any-version`` matches rows across task
versions (a new version that adds scores must leave the earlier ones unchanged). Prints
the number of rows compared per model and
the largest relative difference, lists the rows outside ``--rtol`` and exits 1 if any are.
Rows present in only one table (models not rerun, leads trimmed from the committed
forecast table) are counted, not compared.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

KEYS = ["task", "version", "model", "variable", "level", "region", "lead_hours", "metric"]
VALUES = ["value", "ci_low", "ci_high"]


def compare(
    new: pd.DataFrame, old: pd.DataFrame, rtol: float, any_version: bool = False
) -> pd.DataFrame:
    """Shared rows with their largest relative difference (``rel``) over :data:`VALUES`."""
    keyed = [
        t.assign(level=t.level.fillna(-1), lead_hours=t.lead_hours.fillna(-1)) for t in (new, old)
    ]
    keys = [k for k in KEYS if not (any_version and k == "version")]
    both = keyed[0].merge(keyed[1], on=keys, suffixes=("_new", "_old"))
    rel = np.zeros(len(both))
    for column in VALUES:
        a, b = both[f"{column}_new"].to_numpy(float), both[f"{column}_old"].to_numpy(float)
        same_nan = np.isnan(a) & np.isnan(b)
        scale = np.maximum(np.abs(b), np.finfo(float).tiny)
        diff = np.where(same_nan, 0.0, np.abs(a - b) / scale)
        rel = np.maximum(rel, np.nan_to_num(diff, nan=np.inf))
    return both.assign(rel=rel, ok=rel <= rtol)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new")
    parser.add_argument("old")
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--any-version", action="store_true", help="Match across versions.")
    args = parser.parse_args()
    new, old = pd.read_csv(args.new), pd.read_csv(args.old)
    both = compare(new, old, args.rtol, args.any_version)
    print(f"{len(both)} shared rows ({len(new)} new, {len(old)} committed)")
    for model, rows in both.groupby("model"):
        print(
            f"  {model:16s} {len(rows):5d} rows, largest relative difference {rows.rel.max():.2e}"
        )
    bad = both[~both.ok]
    if len(bad):
        shown = [k for k in KEYS if k in bad.columns]
        print(bad[[*shown, "value_new", "value_old", "rel"]].to_string(index=False))
        sys.exit(1)
    print(f"all shared scores agree to {args.rtol:g} relative")


if __name__ == "__main__":
    main()
