"""``build_site``: the static leaderboard site, from the entries and nothing else.

Pages (relative links only, no CDN, no network: it works from ``file://`` and from any
static HTTP server)::

    index.html                        tasks and versions, entries, leaders
    methodology.html                  metrics, regions, weights, intervals, ranks, scorecards
    tasks/<task>-v<version>.html      ranking table, lead-time curves, scorecard, error maps,
                                      spectra, noise floor
    entries/<id>.html                 card, provenance, flags, downloads, figure commands
    data/<id>.json, data/<id>.csv     the entry file itself and its results table
    figures/...                       PNG maps and spectra (climbench.plot)
    static/site.css, static/site.js   the site's own style and script

Every number shown comes from an entry's results (the official scorer's): the charts read
a JSON copy embedded in the page (:func:`climbench.leaderboard.render.script_json`). The
site is written atomically as one folder (kind ``leaderboard-site``), replacing only an
earlier site with ``overwrite``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
from collections import defaultdict
from importlib import resources
from pathlib import Path

import numpy as np

from climbench.evaluation.aggregate import SCORE_COLUMNS
from climbench.io import atomic_directory
from climbench.leaderboard import arrays, ranking, store
from climbench.leaderboard.card import FIELDS
from climbench.leaderboard.render import environment
from climbench.leaderboard.results_codec import decode_results
from climbench.leaderboard.schema import validate_entry
from climbench.plot import save, spectra
from climbench.plot.maps import map_png, symmetric_limit
from climbench.tasks.registry import get_spec
from climbench.version import __version__

SITE_KIND = "leaderboard-site"
#: models drawn in the spectra figure (the best-ranked ones)
SPECTRA_MODELS = 6
#: error maps on a task page: the best-ranked entries (and the local run's); every entry's
#: own page has its maps
TASK_MAPS = 12
#: colour-blind-safe diverging ends (PuOr): blue better, orange worse; grey not significant
BETTER, WORSE, GREY = (33, 102, 172), (179, 88, 6), "#d9d9d9"


def task_slug(name: str, version: int) -> str:
    return f"{store.slug(name.replace('/', '-'), 80)}-v{version}"


def build_site(
    out: str | os.PathLike,
    root: str | os.PathLike | None = None,
    *,
    extra_entries: list[dict] = (),
    overwrite: bool = False,
) -> Path:
    """Write the site to ``out`` from the entries under ``root`` plus ``extra_entries``
    (entries not committed, such as the models of a local ``climbench run``, marked
    "local"); returns the path of ``index.html``."""
    root = Path(root) if root is not None else store.default_root()
    files = {}
    entries = []
    for path in store.entry_files(root):
        data = store.read_entry(path).data
        files[data["id"]] = path
        entries.append(validate_entry(data, path))
    local = {e["id"] for e in extra_entries}
    entries += list(extra_entries)
    retracted = store.retractions(root)
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for e in entries:
        groups[(e["task"]["name"], e["task"]["version"])].append(e)
    env = environment()
    built = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    common = {"climbench_version": __version__, "built": built}
    out = Path(out)
    with atomic_directory(out, SITE_KIND, overwrite=overwrite) as tmp:
        for sub in ("tasks", "entries", "data", "figures", "static"):
            (tmp / sub).mkdir(parents=True)
        for name in ("site.css", "site.js", "favicon.svg"):
            source = resources.files("climbench.leaderboard").joinpath("static", name)
            (tmp / "static" / name).write_bytes(source.read_bytes())
        index_rows = []
        for (name, version), items in sorted(groups.items()):
            spec = get_spec(f"{name}@{version}")
            page = _task_page(tmp, env, spec, items, retracted, local, files, common)
            index_rows.append(page)
        (tmp / "index.html").write_text(
            env.get_template("index.html").render(base="", tasks=index_rows, **common),
            encoding="utf-8",
        )
        specs = [get_spec(f"{n}@{v}") for n, v in sorted(groups)]
        (tmp / "methodology.html").write_text(
            env.get_template("methodology.html").render(
                base="", specs=specs, resamples=ranking.RESAMPLES, **common
            ),
            encoding="utf-8",
        )
    return out / "index.html"


def _task_page(tmp, env, spec, items, retracted, local, files, common) -> dict:
    slug = task_slug(spec.name, spec.version)
    board = ranking.rank_entries(items, spec, retracted)
    order = {"ranked": 0, "noise-floor": 1, "superseded": 2, "retracted": 3}
    sign = -1 if spec.headline.higher_is_better else 1
    board.sort(
        key=lambda r: (
            order[r.status],
            r.rank if r.rank is not None else 10**9,
            sign * r.value if r.value is not None else np.inf,
            r.entry["model"]["name"],
        )
    )
    reference = _reference(board, spec)
    card = None
    if reference is not None:
        metrics, columns, cells = ranking.scorecard(board, spec, reference)
        card = _scorecard_view(board, spec, reference, metrics, columns, cells)
    figure_dir = tmp / "figures" / slug
    figure_dir.mkdir()
    maps = _task_maps(board, spec, figure_dir, slug, local)
    spectra_png = _spectra_figure(board, spec, figure_dir, slug)
    chart = _chart_data(board, spec)
    rows = []
    for r in board:
        e = r.entry
        rows.append(
            {
                "id": e["id"],
                "name": e["model"]["name"],
                "type": e["model"].get("type", ""),
                "revision": e["model"]["revision"],
                "parameters": e["model"].get("parameters"),
                "value": r.value,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "rank": r.rank,
                "status": r.status,
                "local": e["id"] in local,
                "notes": r.notes + _flag_notes(e),
                "submitted": e["provenance"]["submitted"][:10],
            }
        )
        _entry_page(tmp, env, spec, r, slug, reference, e["id"] in local, files, common)
    h = spec.headline
    headline = f"{h.metric} of {h.field}" + (f" at {h.lead_hours} h" if h.lead_hours else "")
    headline += f", {h.region} ({'higher' if h.higher_is_better else 'lower'} is better)"
    context = {
        "base": "../",
        "spec": spec,
        "slug": slug,
        "headline": headline,
        "rows": rows,
        "chart": chart,
        "card": card,
        "maps": maps,
        "spectra_png": spectra_png,
        "reference": reference["model"]["name"] if reference else None,
        **common,
    }
    html = env.get_template("task.html").render(**context)
    (tmp / "tasks" / f"{slug}.html").write_text(html, encoding="utf-8")
    leader = next((row for row in rows if row["status"] == "ranked"), None)
    return {
        "spec": spec,
        "href": f"tasks/{slug}.html",
        "entries": len(rows),
        "leader": leader,
        "headline": headline,
    }


def _reference(board, spec) -> dict | None:
    """The scorecard's reference: the task's first reference baseline when it has an
    entry, else the best-ranked baseline, else the leader."""
    live = [r for r in board if r.status == "ranked"]
    for name in spec.baselines:
        for r in live:
            if r.entry["model"]["name"] == name:
                return r.entry
    candidates = [r for r in live if r.entry["model"].get("type") == "baseline"] or live
    return candidates[0].entry if candidates else None


def _colour(percent: float, significant: bool | None) -> tuple[str, str]:
    """Background and text colour of a scorecard cell."""
    if significant is False:
        return GREY, "#000"
    if not np.isfinite(percent):
        return "#ffffff", "#000"
    t = min(abs(percent) / 20.0, 1.0)
    end = BETTER if percent < 0 else WORSE
    rgb = tuple(round(255 + (c - 255) * t) for c in end)
    return "#{:02x}{:02x}{:02x}".format(*rgb), "#fff" if t > 0.6 else "#000"


def _scorecard_view(board, spec, reference, metrics, columns, cells) -> dict:
    tables = []
    for metric in metrics:
        cols = [c for c in columns if c[1] == metric]
        leads = list(dict.fromkeys(c[2] for c in cols))
        fields = list(dict.fromkeys(c[0] for c in cols))
        rows = []
        for r in board:
            if r.status not in ("ranked", "noise-floor") or r.entry["id"] == reference["id"]:
                continue
            row_cells = []
            for name, _, lead in cols:
                cell = cells.get((r.entry["id"], ranking.column_key(name, metric, lead)))
                if cell is None:
                    row_cells.append(None)
                    continue
                background, text = _colour(cell.percent, cell.significant)
                row_cells.append(
                    {
                        "value": cell.value,
                        "percent": cell.percent,
                        "significant": cell.significant,
                        "style": f"background:{background}"
                        + (";color:#fff" if text == "#fff" else ""),
                    }
                )
            rows.append({"id": r.entry["id"], "name": r.entry["model"]["name"], "cells": row_cells})
        ref_cells = [ranking.lookup(reference, n, metric, "global", lead) for n, _, lead in cols]
        tables.append(
            {
                "metric": metric,
                "fields": fields,
                "leads": leads,
                "columns": cols,
                "rows": rows,
                "reference": [c[0] if c else None for c in ref_cells],
            }
        )
    return {"reference": reference["model"]["name"], "tables": tables}


def _map_entries(board) -> list:
    return [r for r in board if r.status in ("ranked", "noise-floor") and r.entry.get("maps")]


def _task_maps(board, spec, folder: Path, slug: str, local: set) -> dict | None:
    """One PNG of the headline field's time-mean error per entry, on one colour scale, for
    the :data:`TASK_MAPS` best-ranked entries and the local run's models (a page of
    hundreds of maps would be unreadable and heavy)."""
    field = spec.headline.field
    candidates = [r for r in _map_entries(board) if field in r.entry["maps"]["fields"]]
    items = [r for i, r in enumerate(candidates) if i < TASK_MAPS or r.entry["id"] in local]
    if not items:
        return None
    values = [arrays.decode(r.entry["maps"]["fields"][field], r.entry["id"]) for r in items]
    limit = symmetric_limit(*values)
    pictures = []
    for r, v in zip(items, values, strict=False):
        mask = r.entry["maps"].get("land_sea_mask")
        mask = arrays.decode(mask, r.entry["id"]) if mask else None
        name = f"board-{r.entry['id']}-{store.slug(field, 60)}.png"
        map_png(v, folder / name, limit=limit, land_sea_mask=mask, width=192)
        pictures.append({"name": r.entry["model"]["name"], "id": r.entry["id"], "src": name})
    units = items[0].entry["maps"]["fields"][field].get("units", "")
    lead = items[0].entry["maps"].get("lead_hours")
    coastlines = any(r.entry["maps"].get("land_sea_mask") for r in items)
    return {"field": field, "limit": limit, "units": units, "lead": lead, "pictures": pictures,
            "folder": f"../figures/{slug}/", "coastlines": coastlines,
            "left_out": len(candidates) - len(items)}  # fmt: skip


def _spectra_figure(board, spec, folder: Path, slug: str) -> str | None:
    field = spec.headline.field
    live = [r for r in board if r.status in ("ranked", "noise-floor")]
    items = [r for r in live if (r.entry.get("spectra") or {}).get("fields", {}).get(field)]
    items = items[:SPECTRA_MODELS]
    if not items:
        return None
    powers = {
        r.entry["model"]["name"]: arrays.decode(r.entry["spectra"]["fields"][field], r.entry["id"])
        for r in items
    }
    truth = next(iter(powers.values()))[1]
    fig = spectra(
        truth, {k: v[0] for k, v in powers.items()}, title=f"{field}: zonal power spectrum"
    )
    name = f"spectra-{store.slug(field, 60)}.png"
    save(fig, folder / name, dpi=80)
    return f"../figures/{slug}/{name}"


def _round(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(f"{x:.4g}")


def _chart_data(board, spec) -> dict:
    """What the page's script draws: per entry, field and metric, the value and interval
    ends at each of ``leads`` (``{"v": [...], "lo": [...], "hi": [...]}``, null where not
    scored): the leads once for all, so a page of hundreds of entries stays light."""
    region = spec.headline.region
    metrics = list(dict.fromkeys([spec.headline.metric, *ranking.SCORECARD_METRICS]))
    fields = [f.name for f in spec.targets]
    leads = [float(h) for h in spec.forecast.lead_hours] if spec.forecast else [None]
    models = []
    have_metrics = set()
    for r in board:
        if r.status not in ("ranked", "noise-floor"):
            continue
        index = ranking.score_index(r.entry)
        series = {}
        for name in fields:
            for metric in metrics:
                got = [index.get((name, metric, region, lead)) or (None,) * 3 for lead in leads]
                if any(g[0] is not None for g in got):
                    v, lo, hi = ([_round(g[k]) for g in got] for k in range(3))
                    series.setdefault(name, {})[metric] = {"v": v, "lo": lo, "hi": hi}
                    have_metrics.add(metric)
        models.append(
            {
                "id": r.entry["id"],
                "name": r.entry["model"]["name"],
                "status": r.status,
                "rank": r.rank,
                "series": series,
            }
        )
    return {
        "task": spec.id,
        "region": region,
        "leads": leads if spec.forecast else None,
        "fields": fields,
        "metrics": [m for m in metrics if m in have_metrics],
        "headline": {"field": spec.headline.field, "metric": spec.headline.metric},
        "models": models,
    }


def _flag_notes(e: dict) -> list[str]:
    f = e["flags"]
    notes = []
    if f["training_overlaps_test"]:
        notes.append("training data overlap the test split")
    elif f["training_overlaps_test"] is None:
        notes.append("training period not given")
    if f["missing_fields"]:
        notes.append("missing fields: " + ", ".join(f["missing_fields"]))
    if f["missing_leads"]:
        notes.append(f"{len(f['missing_leads'])} lead times missing")
    if f["nan_fraction"]:
        notes.append(f"NaN fraction {f['nan_fraction']:.2%}")
    return notes


def _results_csv(e: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["task", "version", "model", *SCORE_COLUMNS])
    r = decode_results(e["results"])
    n = len(r["value"])
    head = [[e["task"]["name"]] * n, [e["task"]["version"]] * n, [e["model"]["name"]] * n]
    writer.writerows(zip(*head, *(r[c] for c in SCORE_COLUMNS), strict=True))  # None: ""
    return buffer.getvalue()


def _entry_page(tmp, env, spec, r, slug, reference, local, files, common) -> None:
    e = r.entry
    eid = e["id"]
    if eid in files:
        shutil.copyfile(files[eid], tmp / "data" / f"{eid}.json")
    else:
        (tmp / "data" / f"{eid}.json").write_text(store.entry_text(e), encoding="utf-8")
    (tmp / "data" / f"{eid}.csv").write_text(_results_csv(e), encoding="utf-8")
    maps = []
    if e.get("maps"):
        mask = e["maps"].get("land_sea_mask")
        mask = arrays.decode(mask, eid) if mask else None
        for name, item in e["maps"]["fields"].items():
            values = arrays.decode(item, eid)
            png = f"{eid}-{store.slug(name, 60)}.png"
            limit = symmetric_limit(values)
            map_png(
                values, tmp / "figures" / slug / png, limit=limit, land_sea_mask=mask, width=128
            )
            maps.append({"field": name, "src": f"../figures/{slug}/{png}", "limit": limit,
                         "units": item.get("units", "")})  # fmt: skip
    card_rows = [(key, e["model"][key]) for key in FIELDS if key in e["model"]]
    html = env.get_template("entry.html").render(
        base="../",
        e=e,
        r=r,
        spec=spec,
        slug=slug,
        local=local,
        card_rows=card_rows,
        url_fields=("code_url", "weights_url", "paper_url"),
        maps=maps,
        notes=r.notes + _flag_notes(e),
        reference=reference["model"]["name"] if reference else None,
        **common,
    )
    (tmp / "entries" / f"{eid}.html").write_text(html, encoding="utf-8")
