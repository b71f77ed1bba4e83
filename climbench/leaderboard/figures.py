"""``climbench leaderboard figure``: the site's figures, drawn from the entries with
:mod:`climbench.plot` (so every figure on the site can be reproduced and restyled)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from climbench.errors import ConfigError
from climbench.leaderboard import arrays, ranking, store
from climbench.plot import error_map, lead_time_curves, save, scorecard, spectra
from climbench.tasks.registry import get_spec

KINDS = ("curves", "scorecard", "map", "spectra")


def _board(spec, root: Path) -> list[ranking.Ranked]:
    entries = [
        e
        for e in store.load_entries(root)
        if e["task"]["name"] == spec.name and e["task"]["version"] == spec.version
    ]
    if not entries:
        raise ConfigError(
            "no entries for this task",
            path=root,
            variable=spec.id,
            expected="committed entries of the task version",
            found="none",
        )
    board = ranking.rank_entries(entries, spec, store.retractions(root))
    return [r for r in board if r.status in ("ranked", "noise-floor")]


def figure(
    kind: str,
    task: str,
    out: str | os.PathLike,
    *,
    field: str | None = None,
    metric: str | None = None,
    entry: str | None = None,
    relative_to: str | None = None,
    root: str | os.PathLike | None = None,
) -> Path:
    """Draw figure ``kind`` (:data:`KINDS`) of ``task``'s entries to ``out`` (PNG/SVG)."""
    if kind not in KINDS:
        raise ConfigError(
            "unknown figure", variable="kind", expected=", ".join(KINDS), found=repr(kind)
        )
    root = Path(root) if root is not None else store.default_root()
    spec = get_spec(task)
    field = field or spec.headline.field
    metric = metric or spec.headline.metric
    board = _board(spec, root)
    variable, level = next(
        ((f.variable, f.level) for f in spec.targets if f.name == field), (field, None)
    )
    if kind in ("curves", "scorecard"):
        table = pd.concat([ranking.results_frame(r.entry) for r in board], ignore_index=True)
    if kind == "curves":
        floor = next((r.value for r in board if r.status == "noise-floor"), None)
        table = table[
            table.model.isin([r.entry["model"]["name"] for r in board if r.status == "ranked"])
        ]
        fig = lead_time_curves(
            table,
            variable,
            metric,
            level=level,
            region=spec.headline.region,
            relative_to=relative_to,
            floor=floor,
            title=f"{spec.id}: {field}",
        )
    elif kind == "scorecard":
        reference = relative_to or next(
            (n for n in spec.baselines if n in set(table.model)), board[0].entry["model"]["name"]
        )
        fig = scorecard(table, reference, metric, title=f"{spec.id}: {metric} vs {reference}")
    elif kind == "map":
        chosen = [r for r in board if entry in (None, r.entry["id"])][:1]
        if (
            not chosen
            or not chosen[0].entry.get("maps")
            or field not in chosen[0].entry["maps"]["fields"]
        ):
            raise ConfigError(
                "no error map for this entry and field",
                variable=f"{entry} {field}",
                expected="an entry id of the task whose maps include the field",
                found="none",
            )
        maps = chosen[0].entry["maps"]
        mask = maps.get("land_sea_mask")
        fig = error_map(
            arrays.decode(maps["fields"][field]),
            maps["lat"],
            maps["lon"],
            land_sea_mask=arrays.decode(mask) if mask else None,
            title=f"{chosen[0].entry['model']['name']}: time-mean error of {field}",
            units=maps["fields"][field].get("units", ""),
        )
    else:
        powers = {
            r.entry["model"]["name"]: arrays.decode(r.entry["spectra"]["fields"][field])
            for r in board
            if (r.entry.get("spectra") or {}).get("fields", {}).get(field)
        }
        if not powers:
            raise ConfigError(
                "no spectra for this field", variable=field, expected="a spectral task field",
                found="none",
            )  # fmt: skip
        truth = next(iter(powers.values()))[1]
        fig = spectra(truth, {k: v[0] for k, v in powers.items()}, title=f"{spec.id}: {field}")
    return save(fig, out)
